"""``envlock capture``: snapshot the environment into the lockfile.

The lockfile is read again and written while its directory is locked (an advisory lock, where
the system has one), so that two captures at once into one file both land; the write is
atomic (:func:`envlock.lockfile.write_atomic`), and skipped when nothing changed."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from envlock import api, lockfile, target
from envlock.commands import add_target_options, fleet, lockfile_path, policy_from, say, warn
from envlock.errors import UsageError
from envlock.model import Lockfile
from envlock.redact import display_path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Iterator

    from envlock.model import Environment
    from envlock.policy import Policy


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        parents=[common],
        help="write the environment into the lockfile",
        description="Snapshot an environment (the active one by default) into a lockfile. "
        "Other environments in the file are kept.",
    )
    p.add_argument("lockfile", nargs="?", help="lockfile to write (default: envlock.yaml)")
    p.add_argument("--format", choices=("yaml", "toml"), help="default: from the file name")
    p.add_argument(
        "--name", help="environment name in the lockfile (default: the platform, e.g. linux-64)"
    )
    add_target_options(p)
    fleet.add_options(p, "record the environment every worker of a Dask cluster shares")


def run(args: argparse.Namespace) -> int:
    if args.name is not None:
        api.check_name(args.name)  # before the capture, not after
    policy = policy_from(args)
    path = lockfile_path(args.lockfile, args.format, policy)
    if args.format and lockfile.format_for(path) != args.format:  # every reader goes by name
        raise UsageError(
            f"{display_path(path)}: --format {args.format} does not match the file's name, by "
            f"which every other command reads it: name it *.{args.format}"
        )
    _read(path, args.format)  # a broken lockfile fails now, not after the capture
    env = fleet.capture(args, policy, path) if args.dask else _capture(args, policy, path)
    for message in env.warnings:
        warn(message)
    name = args.name or api.default_name(env)
    with _locked(path):
        existing = _read(path, args.format)  # as it is now: another capture may have written
        written = lockfile.dump(api.record(existing, name, env), path, args.format)
    from envlock.report.text import package_counts

    conda = len(env.conda.packages) if env.conda is not None else None
    summary = f"{display_path(path)} [{name}]: {package_counts(len(env.packages), conda)}"
    say(args, f"wrote {summary}" if written else f"unchanged, not rewritten: {summary}")
    replaced, series = existing.environments.get(name), api.python_series(env)
    if args.name is None and replaced is not None and series and api.other_python(replaced, env):
        warn(
            f"{display_path(path)} [{name}] was recorded for {api.python_label(replaced)} and "
            f"now holds {api.python_label(env)}'s; to keep one environment per Python, name "
            f"each: `envlock capture --name py{series[1]}`"
        )
    return 0


def _capture(args: argparse.Namespace, policy: Policy, path: Path) -> Environment:
    where = target.resolve(python=args.python, prefix=args.prefix)
    say(args, where.describe())
    return api.capture(
        target=where,
        base_dir=lockfile.directory(path),
        runtime=not args.no_runtime,
        variables=policy.variables,
        announce=lambda line: say(args, line, now=True),
    )


def _read(path: Path, fmt: str | None) -> Lockfile:
    # (os.path's: one we may not look at is new to us, and writing it says why it cannot be)
    return api.load(path, fmt) if os.path.exists(path) else Lockfile()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on the directory the lockfile is replaced in (its
    target's, for a symbolic link). Best-effort: without ``fcntl`` (Windows), or where a
    directory cannot be locked, there is no lock and the last writer wins, whole."""
    try:
        import fcntl

        fd = os.open(Path(os.path.realpath(path)).parent, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
