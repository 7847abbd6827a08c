"""``envlock schema``: print the lockfile's JSON Schema."""

from __future__ import annotations

import argparse

from envlock import schema
from envlock.commands import out


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    sub.add_parser(
        name,
        parents=[common],
        help="print the lockfile's JSON Schema",
        description="Print the JSON Schema (draft 2020-12) of the lockfile format.",
    )


def run(args: argparse.Namespace) -> int:
    out(schema.text())
    return 0
