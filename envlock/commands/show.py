"""``envlock show``: a short summary of a lockfile."""

from __future__ import annotations

import argparse

from envlock.commands import load_given, lockfile_path, out, policy_from, shown


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        parents=[common],
        help="summarise a lockfile",
        description="Environments, package counts, Python, platform, BLAS, CUDA and channels.",
    )
    p.add_argument(
        "lockfile", nargs="?", help="lockfile (default: envlock.yaml; -: standard input)"
    )


def run(args: argparse.Namespace) -> int:
    from envlock.report import summary

    given = args.lockfile or lockfile_path(None, policy=policy_from(args))
    out(summary.render(load_given(given), shown(given)))
    return 0
