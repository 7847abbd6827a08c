"""``envlock capture``: snapshot the environment into the lockfile."""

from __future__ import annotations

import argparse

from envlock import api, target
from envlock.commands import add_target_options, lockfile_path, policy_from, say, warn
from envlock.model import Lockfile
from envlock.redact import display_path


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


def run(args: argparse.Namespace) -> int:
    policy = policy_from(args)
    path = lockfile_path(args.lockfile, args.format, policy)
    existing = api.load(path, args.format) if path.exists() else Lockfile()
    where = target.resolve(python=args.python, prefix=args.prefix)
    say(args, where.describe())
    if not args.no_runtime and where.method != "static":
        say(args, "importing numpy (and scipy) in a child process to see which BLAS loads")
    env = api.capture(
        target=where,
        base_dir=path.absolute().parent,
        runtime=not args.no_runtime,
        variables=policy.variables,
    )
    for message in env.warnings:
        warn(message)
    name = args.name or api.default_name(env)
    api.dump(api.record(existing, name, env), path, args.format)
    say(args, f"wrote {display_path(path)} [{name}]: {len(env.packages)} packages")
    return 0
