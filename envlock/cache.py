"""A cache of parsed lockfiles, keyed by their bytes.

Parsing YAML (and importing PyYAML) is most of what ``verify`` spends on a lockfile, yet the
file rarely changes between runs. The same bytes always parse to the same data, so the parsed
data is kept as JSON under ``$ENVLOCK_CACHE_DIR`` (default ``$XDG_CACHE_HOME/envlock`` or
``~/.cache/envlock``); ``ENVLOCK_CACHE_DIR=off`` disables it. Cached data still goes through
the same typed checks as a fresh parse. What is cached here depends on the bytes alone;
``verify``'s results, which depend on the environment too, are kept (under ``verified/``)
by :mod:`envlock.stamp` with everything they were computed from. Every failure here is
silent: the cache is an optimisation, never a reason to fail. In a cache folder others can
write to, only this user's own entries are read, and none is written through a link.

An entry is named by the CRC-32 and length of the bytes (``hashlib`` loads OpenSSL, which
costs ``verify`` more than the whole lookup) and begins with those bytes, which must equal the
file's: two lockfiles with the same name can only evict each other's entry, never be
mistaken for one another.
"""

from __future__ import annotations

import os

from envlock import __version__

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

MAX_ENTRIES = 64
LOCKFILES = "lockfiles"  # the folder of its entries, in the cache's folder


def root() -> str | None:
    """The cache's folder (``None`` when it is off); cheap: ``verify``'s replay path uses it."""
    configured = os.environ.get("ENVLOCK_CACHE_DIR")
    if configured:
        return None if configured.lower() in ("off", "0", "none") else os.path.abspath(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(os.path.abspath(base), "envlock")


def directory() -> Path | None:
    from pathlib import Path

    folder = root()
    return None if folder is None else Path(folder)


def _entry(raw: bytes, fmt: str) -> tuple[Path, bytes] | None:
    """The entry's file, and what it must begin with: the parser, the format and the bytes."""
    root = directory()
    if root is None:
        return None
    import zlib

    head = f"envlock-cache\0{__version__}\0{_parser_stamp()}\0{fmt}\0{len(raw)}\n"
    key = head.encode("utf-8", "surrogateescape") + raw
    return root / LOCKFILES / f"{zlib.crc32(key):08x}-{len(raw)}.entry", key


def _parser_stamp() -> str:
    """Which parser produced an entry: a stricter parser (even within one version, as in a
    development checkout) must not be bypassed by data an older, laxer one cached."""
    loader = os.environ.get("ENVLOCK_YAML_LOADER", "")  # C or pure-Python YAML: both checked
    try:
        st = os.stat(os.path.join(os.path.dirname(__file__), "lockfile.py"))
    except OSError:
        return f"?:{loader}"
    return f"{st.st_mtime_ns}:{st.st_size}:{loader}"


def get(raw: bytes, fmt: str) -> Any:
    """The parsed data for these bytes, or ``None``."""
    entry = _entry(raw, fmt)
    if entry is None:
        return None
    import json

    path, key = entry
    try:
        with open(path, "rb") as f:
            if not mine(f.fileno()):
                return None
            stored = f.read()
        if not stored.startswith(key):
            return None
        return json.loads(stored[len(key) :])
    except (OSError, ValueError):
        return None


def put(raw: bytes, fmt: str, data: Any) -> None:
    """Keep the parsed data of these bytes: the bytes, then the data as JSON."""
    entry = _entry(raw, fmt)
    if entry is None:
        return
    import json

    path, key = entry
    try:
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # (_prune passes it by)
        write_new(str(path), str(tmp), key + text.encode("ascii"))
        _prune(path.parent)
    except (OSError, TypeError, ValueError):
        pass


def mine(fd: int) -> bool:
    """Whether the open file ``fd`` is this user's: in a cache folder others can write to,
    only this user's own entries (and :mod:`envlock.stamp`'s memos) count."""
    return not hasattr(os, "getuid") or os.fstat(fd).st_uid == os.getuid()


def write_new(path: str, tmp: str, data: bytes) -> None:
    """Put ``data`` at ``path`` whole: written to ``tmp`` (a name with this process's id), a
    new file, never through a link another user planted in a shared cache folder, then
    renamed. Raises :class:`OSError`, ``tmp`` removed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        remove(tmp)  # left by a run interrupted here, with this process id
        with os.fdopen(os.open(tmp, flags, 0o600), "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        remove(tmp)
        raise


def remove(path: str) -> None:
    """Remove ``path`` if it can be; never fails."""
    try:
        os.unlink(path)
    except OSError:
        return


def _prune(folder: Path) -> None:
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]  # older: *.json
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - MAX_ENTRIES]:
        old.unlink()
