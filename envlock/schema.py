"""The lockfile's JSON Schema (``schemas/envlock.schema.json``), and validation against it.

jsonschema is imported only by :func:`validate`: importing it can cost over a second in
environments with Jupyter, so it stays off ``verify``'s path (which checks lockfiles with
the typed parser in :mod:`envlock.model`).
"""

from __future__ import annotations

import json
from pathlib import Path

from envlock.errors import LockfileError

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

FILENAME = "envlock.schema.json"


def path() -> Path:
    here = Path(__file__).parent
    for candidate in (here / "schemas" / FILENAME, here.parent / "schemas" / FILENAME):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(FILENAME)


def text() -> str:
    return path().read_text(encoding="utf-8")


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text())
    return data


def validate(data: object) -> None:
    """Raise :class:`LockfileError` naming the first place ``data`` breaks the schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "top level"
        raise LockfileError(f"{where}: {first.message}")
