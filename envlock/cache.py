"""A cache of parsed lockfiles, keyed by the SHA-256 of their bytes.

Parsing YAML (and importing PyYAML) is most of what ``verify`` spends on a lockfile, yet the
file rarely changes between runs. The same bytes always parse to the same data, so the parsed
data is kept as JSON under ``$ENVLOCK_CACHE_DIR`` (default ``$XDG_CACHE_HOME/envlock`` or
``~/.cache/envlock``); ``ENVLOCK_CACHE_DIR=off`` disables it. Cached data still goes through
the same typed checks as a fresh parse. What is cached here depends on the bytes alone;
``verify``'s results, which depend on the environment too, are kept (under ``verified/``)
by :mod:`envlock.stamp` with everything they were computed from. Every failure here is
silent: the cache is an optimisation, never a reason to fail.
"""

from __future__ import annotations

import os

from envlock import __version__

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

MAX_ENTRIES = 64


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


def _entry(raw: bytes, fmt: str) -> Path | None:
    root = directory()
    if root is None:
        return None
    import hashlib

    digest = hashlib.sha256(f"{__version__}\0{_parser_stamp()}\0{fmt}\0".encode() + raw)
    return root / "lockfiles" / f"{digest.hexdigest()}.json"


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

    try:
        with open(entry, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def put(raw: bytes, fmt: str, data: Any) -> None:
    entry = _entry(raw, fmt)
    if entry is None:
        return
    import json

    try:
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="ascii")
        os.replace(tmp, entry)
        _prune(entry.parent)
    except (OSError, TypeError, ValueError):
        pass


def _prune(folder: Path) -> None:
    entries = list(folder.glob("*.json"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - MAX_ENTRIES]:
        old.unlink()
