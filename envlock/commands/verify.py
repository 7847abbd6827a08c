"""``envlock verify``: compare the environment with the lockfile."""

from __future__ import annotations

import argparse
from pathlib import Path

from envlock import api, lockfile, target
from envlock.commands import (
    add_report_options,
    add_target_options,
    emit,
    fleet,
    from_stdin,
    lockfile_path,
    policy_from,
    refuse_report_over,
    say,
    warn,
)
from envlock.errors import UsageError
from envlock.foreign import FORMATS
from envlock.foreign import read as read_foreign
from envlock.redact import display_path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.policy import Policy


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
    foreign = p.add_argument_group(
        "foreign lockfiles",
        "check against another tool's lockfile instead of envlock's: pylock.toml, "
        "requirements, conda explicit spec, conda-lock.yml, pixi.lock, environment.yml, uv.lock",
    )
    foreign.add_argument("--against", metavar="FILE", help="the foreign lockfile to check")
    foreign.add_argument(
        "--against-format",
        choices=tuple(FORMATS),
        help="its format (default: read from its content)",
    )
    foreign.add_argument(
        "--against-env",
        metavar="NAME",
        help="environment within it (pixi.lock: default 'default'; uv.lock: a workspace member)",
    )
    foreign.add_argument(
        "--against-groups",
        metavar="GROUPS",
        help="uv.lock: the dependency groups synced, comma-separated, or 'none' "
        "(default: dev, as uv sync)",
    )
    foreign.add_argument(
        "--platform",
        metavar="SUBDIR",
        help="platform within it (conda subdir such as linux-64; default: this machine's)",
    )
    add_report_options(p)
    add_target_options(p)
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="check even when nothing the last identical check depended on has changed "
        "(by default its result is repeated, and said so)",
    )
    fleet.add_options(p, "check the client, the scheduler and every worker of a Dask cluster")


def run(args: argparse.Namespace) -> int:
    if from_stdin(args.lockfile):  # a repeated check could not know its input changed
        raise UsageError(
            "verify reads a lockfile file, not standard input: `envlock diff -` compares "
            "the lockfile piped into it with the live environment"
        )
    policy = policy_from(args)
    if args.dask:
        return fleet.verify(args, policy, lockfile_path(args.lockfile, policy=policy))
    if args.against:
        return _against(args, policy)
    if args.against_format or args.against_env or args.platform or args.against_groups:
        raise UsageError(
            "--against-format, --against-env, --against-groups and --platform go with "
            "--against FILE"
        )
    path = lockfile_path(args.lockfile, policy=policy)
    refuse_report_over(args, path)
    lock = api.load(path)
    where = target.resolve(python=args.python, prefix=args.prefix)
    say(args, where.describe())
    static = args.no_runtime or where.method == "static"
    runtime = frozenset() if static else api.needs_runtime(lock)
    base_dir = lockfile.directory(path)
    live = api.capture(
        target=where,
        base_dir=base_dir,
        runtime=runtime,
        variables=policy.variables,
        announce=lambda line: say(args, line, now=True),
    )
    for message in live.warnings:
        warn(message)
    try:
        result = api.verify(lock, env=args.env, live=live, base_dir=base_dir, policy=policy)
        result = result.fixes_for(where)
    except UsageError as e:  # which environment: name the file
        raise UsageError(f"{display_path(path)}: {e}") from None
    emit(result, display_path(path), args)
    return result.exit_code


def _against(args: argparse.Namespace, policy: Policy) -> int:
    if args.lockfile or args.env:
        raise UsageError("give either a lockfile (and --env) or --against FILE, not both")
    refuse_report_over(args, args.against)
    text = read_foreign(Path(args.against))  # a bad file is said first, as for a lockfile
    where = target.resolve(python=args.python, prefix=args.prefix)
    say(args, where.describe())
    result = api.verify_against(
        args.against,
        fmt=args.against_format,
        platform=args.platform,
        environment=args.against_env,
        groups=_groups(args.against_groups),
        target=where,
        policy=policy,
        text=text,
    )
    for message in result.live.warnings:
        warn(message)
    for note in result.notes:
        say(args, f"not checked: {note}")
    emit(result, display_path(args.against), args)
    return result.exit_code


def _groups(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value.strip().lower() == "none":
        return ()
    return tuple(g.strip() for g in value.split(",") if g.strip())
