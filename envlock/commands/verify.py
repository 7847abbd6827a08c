"""``envlock verify``: compare the environment with the lockfile."""

from __future__ import annotations

import argparse

from envlock import api, target
from envlock.commands import (
    add_report_options,
    add_target_options,
    emit,
    lockfile_path,
    policy_from,
    say,
    warn,
)
from envlock.redact import display_path


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        parents=[common],
        help="check the environment against the lockfile",
        description="Compare an environment (the active one by default) with a lockfile. "
        "Exit 0: matches (warnings allowed); 1: drift at error severity; 2: usage error or "
        "invalid lockfile; 3: the environment could not be inspected.",
    )
    p.add_argument("lockfile", nargs="?", help="lockfile to check (default: envlock.yaml)")
    p.add_argument("--env", metavar="NAME", help="environment in the lockfile to check against")
    add_report_options(p)
    add_target_options(p)


def run(args: argparse.Namespace) -> int:
    policy = policy_from(args)
    path = lockfile_path(args.lockfile, policy=policy)
    lock = api.load(path)
    where = target.resolve(python=args.python, prefix=args.prefix)
    say(args, where.describe())
    static = args.no_runtime or where.method == "static"
    runtime = frozenset() if static else api.needs_runtime(lock)
    if "blas" in runtime:
        say(args, "importing numpy (and scipy) in a child process to see which BLAS loads")
    live = api.capture(
        target=where,
        base_dir=path.absolute().parent,
        runtime=runtime,
        variables=policy.variables,
    )
    for message in live.warnings:
        warn(message)
    result = api.verify(lock, env=args.env, live=live, policy=policy)
    emit(result, display_path(path), args)
    return result.exit_code
