"""``envlock verify``: compare the environment with the lockfile."""

from __future__ import annotations

import argparse
import sys

from envlock import api, target
from envlock.commands import add_target_options, lockfile_path, say, use_colour, warn
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
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="report format (default: text)"
    )
    add_target_options(p)


def run(args: argparse.Namespace) -> int:
    path = lockfile_path(args.lockfile)
    lock = api.load(path)
    where = target.resolve(python=args.python, prefix=args.prefix)
    say(args, where.describe())
    runtime = not args.no_runtime and api.needs_runtime(lock)
    live = api.capture(target=where, base_dir=path.absolute().parent, runtime=runtime)
    for message in live.warnings:
        warn(message)
    result = api.verify(lock, env=args.env, live=live)
    shown = display_path(path)
    if args.format == "json":
        from envlock.report import jsonfmt

        sys.stdout.write(jsonfmt.render(result, shown))
    else:
        from envlock.report import text

        sys.stdout.write(text.render(result, shown, colour=use_colour(sys.stdout)))
    return result.exit_code
