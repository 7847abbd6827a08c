"""``--dask ADDRESS`` of ``envlock verify`` and ``envlock capture``: every member of a Dask
cluster instead of one environment (see :mod:`envlock.cluster`)."""

from __future__ import annotations

import argparse
import sys

from envlock.commands import emit, say, warn
from envlock.errors import UsageError
from envlock.redact import display_path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from pathlib import Path

    from envlock.model import Environment
    from envlock.policy import Policy


def add_options(p: argparse.ArgumentParser, what: str) -> None:
    group = p.add_argument_group("Dask clusters")
    group.add_argument(
        "--dask",
        metavar="ADDRESS",
        help=f"{what} through the Dask scheduler at ADDRESS (needs distributed)",
    )
    group.add_argument(
        "--dask-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long each member has to answer (default: 60)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _check_options(args: argparse.Namespace) -> None:
    given = [
        flag
        for flag, value in (
            ("--python", args.python),
            ("--prefix", args.prefix),
            ("--against", getattr(args, "against", None)),
        )
        if value
    ]
    if given:
        raise UsageError(f"--dask checks the cluster's own environments: drop {given[0]}")


def verify(args: argparse.Namespace, policy: Policy, path: Path) -> int:
    from envlock import api, cluster, lockfile, remote

    _check_options(args)
    lock = api.load(path)
    client = remote.connect(args.dask, args.dask_timeout)
    try:
        workers = _count(len(remote.workers(client)), "worker")
        say(args, f"Dask cluster at {args.dask}: probing the client, the scheduler and {workers}")
        result = cluster.verify_cluster(
            client,
            lock,
            env=args.env,
            policy=policy,
            timeout=args.dask_timeout,
            base_dir=lockfile.directory(path),
        )
    finally:
        client.close()
    for group in result.groups:
        for message in group.result.live.warnings:
            warn(f"{group.members[0].label}: {message}")
    for note in result.notes:
        say(args, f"not checked: {note}")
    emit(result, display_path(path), args)
    return result.exit_code


def capture(args: argparse.Namespace, policy: Policy, path: Path) -> Environment:
    from envlock import cluster, lockfile, remote
    from envlock.report.cluster import render_text

    _check_options(args)
    client = remote.connect(args.dask, args.dask_timeout)
    try:
        workers = _count(len(remote.workers(client)), "worker")
        say(args, f"Dask cluster at {args.dask}: probing {workers}")
        env = cluster.capture_cluster(
            client, policy=policy, timeout=args.dask_timeout, base_dir=lockfile.directory(path)
        )
    except cluster.WorkersDisagree as e:
        sys.stderr.write(render_text(e.result, "reference"))
        raise
    finally:
        client.close()
    say(args, "the workers agree; recording the first one's environment (no BLAS or CUDA)")
    return env
