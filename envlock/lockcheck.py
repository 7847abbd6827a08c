"""Check that lockfiles are valid and written exactly as envlock writes them (the pre-commit
hook ``envlock-check-lockfile``).

    python -m envlock.lockcheck [--fix] FILE...

Each file is read (:func:`envlock.lockfile.load`), written again in its own format
(:func:`envlock.lockfile.dumps`) and compared byte for byte with what is on disk. A
hand-edited lockfile that is still valid but reordered, re-indented or commented is not
canonical; ``--fix`` rewrites it, atomically, as ``envlock capture`` would. So is a file
holding a value that envlock now writes otherwise (a file an older envlock wrote may hold
another user's home path whole): the message names its line and ``--fix``. CRLF line endings
throughout (a Windows checkout with git's ``core.autocrlf``) and a UTF-8 byte-order mark (as
older Notepads save) are canonical too, and kept.

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
    canonical = lockfile.in_the_style_of(raw, lockfile.dumps(lock, fmt).encode("utf-8"))
    if canonical == raw:
        return OK
    shown = display_path(path)
    if not fix:
        print(_not_canonical(shown, raw, canonical, fmt))
        return NOT_CANONICAL
    try:
        lockfile.dump(lock, path, fmt)
    except WriteError as e:
        print(printable(redact_text(str(e))))
        return UNWRITABLE
    print(f"{shown}: rewritten in canonical format")
    return OK


def _not_canonical(shown: str, raw: bytes, canonical: bytes, fmt: str) -> str:
    """Why the file is not canonical, and what to run: its layout (a hand edit), or a value
    that envlock now writes otherwise, as in a file an older envlock wrote (another user's
    home path whole, where envlock writes ``~NAME``): ``--fix`` then rewrites it as it reads
    it, while ``envlock capture`` would take the environment again."""
    fix = f"python -m envlock.lockcheck --fix {shlex.quote(shown)}"
    try:
        text = raw.decode("utf-8").lstrip("\ufeff")
        key = _first_difference(lockfile.parse(text, fmt), lockfile.parse(canonical.decode(), fmt))
    except (LockfileError, UnicodeDecodeError):
        key = None
    if key is None:
        return f"{shown}: not canonically formatted (run envlock capture, or {fix})"
    key = printable(redact_text(key))
    return (
        f"{shown}: {key} is written otherwise by this envlock (as in a lockfile an older "
        f"envlock wrote): run {fix} to rewrite it as it is read, without capturing again"
    )


def _first_difference(have: object, want: object, where: str = "") -> str | None:
    """The dotted key of the first value that differs between two lockfiles' data (the list
    or mapping holding it when their keys or lengths differ), or ``None``."""
    if isinstance(have, dict) and isinstance(want, dict) and have.keys() == want.keys():
        items = [(f"{where}.{k}" if where else str(k), have[k], want[k]) for k in want]
    elif isinstance(have, list) and isinstance(want, list) and len(have) == len(want):
        items = [(f"{where}[{i}]", a, b) for i, (a, b) in enumerate(zip(have, want))]
    else:
        return None if have == want else where or "the file"
    for key, a, b in items:
        found = _first_difference(a, b, key)
        if found is not None:
            return found
    return None


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
