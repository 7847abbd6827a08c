"""Check that lockfiles are valid and written exactly as envlock writes them (the pre-commit
hook ``envlock-check-lockfile``).

    python -m envlock.lockcheck [--fix] FILE...

Each file is read (:func:`envlock.lockfile.load`), written again in its own format
(:func:`envlock.lockfile.dumps`) and compared byte for byte with what is on disk. A
hand-edited lockfile that is still valid but reordered, re-indented or commented is not
canonical; ``--fix`` rewrites it, atomically, as ``envlock capture`` would. CRLF line endings
throughout (a Windows checkout with git's ``core.autocrlf``) are canonical too, and kept.

Exit status: 0 when every file is valid and canonical (or was rewritten by ``--fix``);
1 when some file is not canonical; 2 when some file is not a valid lockfile (one line each,
naming the file), or on a usage error; 4 when ``--fix`` could not write a file (the highest
applies). File names are shown as :func:`envlock.redact.display_path` shows them.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from envlock import lockfile
from envlock.errors import LockfileError, WriteError
from envlock.escape import printable
from envlock.redact import display_path, redact_text

OK = 0
NOT_CANONICAL = 1
INVALID = 2
UNWRITABLE = 4


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m envlock.lockcheck",
        description="Check that lockfiles are valid and canonically formatted. Exit 0: all "
        "are; 1: some file is not canonically formatted; 2: some file is not a valid lockfile.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="lockfiles (envlock.yaml, *.toml)")
    p.add_argument(
        "--fix", action="store_true", help="rewrite files that are not canonically formatted"
    )
    return p


def check_file(name: str, fix: bool = False) -> int:
    """Check one lockfile, print one line if it is not fine, and return its exit status."""
    path = Path(name)
    try:
        lock = lockfile.load(path)
        raw = path.read_bytes()
    except LockfileError as e:
        print(printable(redact_text(str(e))))
        return INVALID
    except OSError as e:  # gone between the two reads
        print(printable(redact_text(f"{name}: cannot read: {e.strerror}")))
        return INVALID
    fmt = lockfile.format_for(path)
    if lockfile.with_line_endings_of(raw, lockfile.dumps(lock, fmt).encode("utf-8")) == raw:
        return OK
    shown = display_path(path)
    if not fix:
        print(
            f"{shown}: not canonically formatted (run envlock capture, or "
            f"python -m envlock.lockcheck --fix {shlex.quote(shown)})"
        )
        return NOT_CANONICAL
    try:
        lockfile.dump(lock, path, fmt)
    except WriteError as e:
        print(printable(redact_text(str(e))))
        return UNWRITABLE
    print(f"{shown}: rewritten in canonical format")
    return OK


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # argparse has printed its message (or --help)
        return e.code if isinstance(e.code, int) else INVALID
    status = OK
    for name in args.files:
        status = max(status, check_file(name, fix=args.fix))
    return status


if __name__ == "__main__":
    sys.exit(main())
