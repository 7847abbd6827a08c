"""``envlock show``: a short summary of a lockfile."""

from __future__ import annotations

import argparse

from envlock import api
from envlock.commands import lockfile_path, out, policy_from
from envlock.redact import display_path


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        parents=[common],
        help="summarise a lockfile",
        description="Environments, package counts, Python, platform, BLAS, CUDA and channels.",
    )
    p.add_argument("lockfile", nargs="?", help="lockfile (default: envlock.yaml)")


def run(args: argparse.Namespace) -> int:
    from envlock.report import summary

    path = lockfile_path(args.lockfile, policy=None if args.lockfile else policy_from(args))
    out(summary.render(api.load(path), display_path(path)))
    return 0
