"""One module per command: ``add_parser(subparsers, name, common)`` and ``run(args)``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from envlock.api import DEFAULT_LOCKFILE


def add_target_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--python", metavar="PATH", help="probe the environment of this interpreter")
    group.add_argument(
        "--prefix",
        metavar="PATH",
        help="read this environment's files without running anything in it",
    )
    p.add_argument(
        "--no-runtime",
        action="store_true",
        help="do not import numpy or load CUDA libraries (BLAS: static hints only; no CUDA)",
    )


def lockfile_path(given: str | None, fmt: str | None = None) -> Path:
    """The lockfile: as given; else envlock.toml when asked for TOML or when only it exists."""
    if given:
        return Path(given)
    if fmt == "toml" or (not Path(DEFAULT_LOCKFILE).exists() and Path("envlock.toml").exists()):
        return Path("envlock.toml")
    return Path(DEFAULT_LOCKFILE)


def say(args: argparse.Namespace, message: str) -> None:
    """A progress or status line on stderr, unless ``-q``."""
    if not getattr(args, "quiet", False):
        print(f"envlock: {message}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"envlock: warning: {message}", file=sys.stderr)


def use_colour(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(
        isatty and isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    )
