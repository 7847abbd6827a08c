"""Deep checks (``envlock doctor --deep``): every installed file hashed against the hash its
installer recorded — conda's ``paths_data`` (``sha256_in_prefix``, else ``sha256``) in each
``conda-meta/*.json`` record, and the ``RECORD`` of each pip-installed ``*.dist-info``.

Reading every file of an environment is slow by nature, so nothing here runs unless asked.
The conda reader is separate from :mod:`envlock.conda`'s, which cuts ``paths_data`` out of
large records to stay fast. Unreadable or malformed metadata never raises: it is a note.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from typing import Any

    from envlock.conda import CondaRecord

    # (path relative to the root, hash algorithm, expected digest); no algorithm: only
    # whether the file exists is checked.
    Entry = tuple[str, str | None, bytes | None]

_CHUNK = 1 << 20
_ALGORITHMS = frozenset(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))
# Written or compiled at install time, never hashed by the installer.
_GENERATED = frozenset({"pyc_file", "directory", "linked_package_record"})


@dataclass(frozen=True)
class Damage:
    """What one package's files look like next to what its installer recorded."""

    altered: tuple[str, ...] = ()  # paths relative to the package's root, sorted
    missing: tuple[str, ...] = ()


def digest(path: str, algorithm: str) -> bytes | None:
    """The file's digest; None when it cannot be read."""
    h = hashlib.new(algorithm)
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                h.update(chunk)
    except OSError:
        return None
    return h.digest()


def check(root: str, entries: Iterable[Entry]) -> Damage:
    """Hash each entry's file under ``root`` and compare."""
    altered: list[str] = []
    missing: list[str] = []
    for rel, algorithm, expected in entries:
        full = os.path.normpath(os.path.join(root, rel))
        if not os.path.lexists(full):
            missing.append(rel)
        elif (
            algorithm and expected and os.path.isfile(full) and digest(full, algorithm) != expected
        ):
            altered.append(rel)
    return Damage(tuple(sorted(altered)), tuple(sorted(missing)))


def conda_entries(prefix: Path, record: CondaRecord) -> tuple[list[Entry], str | None]:
    """The files a conda record installed, with their hashes; and a note when the record
    cannot be read or has no ``paths_data`` (only existence is then checked)."""
    try:
        with open(prefix / "conda-meta" / record.file, "rb") as f:
            data: Any = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        return [], f"conda-meta/{record.file} cannot be read ({type(exc).__name__})"
    if not isinstance(data, dict):
        return [], f"conda-meta/{record.file} is not a JSON object"
    paths_data = data.get("paths_data")
    paths = paths_data.get("paths") if isinstance(paths_data, dict) else None
    if not isinstance(paths, list):
        files = data.get("files")
        found: list[Entry] = [
            (f, None, None)
            for f in (files if isinstance(files, list) else [])
            if isinstance(f, str) and not f.endswith(".pyc")
        ]
        return found, f"conda-meta/{record.file} has no paths_data: only existence checked"
    entries: list[Entry] = []
    for item in paths:
        if not isinstance(item, dict) or not isinstance(item.get("_path"), str):
            continue
        if item.get("path_type") in _GENERATED or item["_path"].endswith(".pyc"):
            continue
        expected = item.get("sha256_in_prefix")
        if not isinstance(expected, str) and "prefix_placeholder" not in item:
            expected = item.get("sha256")  # no prefix was written into it: as in the package
        if item.get("path_type") == "softlink" or not isinstance(expected, str):
            entries.append((item["_path"], None, None))
            continue
        try:
            entries.append((item["_path"], "sha256", bytes.fromhex(expected)))
        except ValueError:
            entries.append((item["_path"], None, None))
    return entries, None


def record_entries(dist_info: str) -> tuple[list[Entry], str | None]:
    """The files a ``*.dist-info``'s ``RECORD`` lists (paths relative to its site-packages
    directory), with their hashes; and a note when there is no readable RECORD."""
    import csv

    try:
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return [], f"no readable RECORD ({type(exc).__name__}): its files cannot be checked"
    entries: list[Entry] = []
    for row in rows:
        if not row or not row[0] or row[0].endswith(".pyc"):
            continue
        algorithm, _, value = (row[1] if len(row) > 1 else "").partition("=")
        if algorithm not in _ALGORITHMS or not value:
            entries.append((row[0], None, None))  # RECORD itself, or written at install
            continue
        try:
            expected = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            expected = None
        entries.append((row[0], algorithm if expected else None, expected))
    return entries, None
