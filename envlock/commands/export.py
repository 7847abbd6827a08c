"""``envlock export``: one lockfile environment as the input another tool installs from."""

from __future__ import annotations

import argparse
from pathlib import Path

from envlock import api
from envlock.commands import lockfile_path, out, policy_from, refuse_overwrite, say
from envlock.errors import LockfileError, UsageError
from envlock.export import FORMATS
from envlock.redact import display_path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.model import Lockfile


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        parents=[common],
        help="write a lockfile environment as requirements, pylock.toml, a conda explicit spec "
        "or environment.yml",
        description="Write one environment of a lockfile in another tool's install format: "
        "a pip requirements file, a PEP 751 pylock.toml (name it pylock.toml), a conda "
        "@EXPLICIT spec or a conda environment.yml. Relative paths stay relative to the "
        "lockfile's directory. Exit 2: the format cannot express the environment.",
    )
    p.add_argument("lockfile", nargs="?", help="lockfile to read (default: envlock.yaml)")
    p.add_argument("--to", required=True, choices=FORMATS, help="the format to write")
    p.add_argument(
        "--env",
        metavar="NAME",
        help="environment to export (default: the only one, or the one for this platform)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout"
    )


def run(args: argparse.Namespace) -> int:
    from envlock.export import export
    from envlock.lockfile import write_atomic

    path = lockfile_path(args.lockfile, policy=None if args.lockfile else policy_from(args))
    lock = api.load(path)
    try:
        name = select(lock, args.env)
    except UsageError as e:  # which environment: name the file
        raise UsageError(f"{display_path(path)}: {e}") from None
    try:
        text = export(lock.environments[name], args.to, name=name)
    except LockfileError as e:
        raise LockfileError(f"{display_path(path)}: {e}") from None
    if not args.output:
        out(text)
        return 0
    refuse_overwrite(args.output, "-o", path)
    output = Path(args.output)
    write_atomic(output, text)
    say(args, f"wrote {display_path(output)} ({args.to}, environment {name})")
    return 0


def select(lock: Lockfile, name: str | None) -> str:
    """``--env``, else the only environment, else the one for the running machine's
    platform, as ``envlock verify`` chooses."""
    import platform

    from envlock.model import Environment, Platform, Python

    system = platform.system().lower()
    here = Platform(
        os={"darwin": "macos"}.get(system, system) or None,
        machine=platform.machine().lower() or None,
        method="host",
    )
    return api.select(lock, Environment(python=Python(method="unknown"), platform=here), name)
