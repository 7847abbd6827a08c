"""The machine-readable report. Its shape is stable: ``report_version`` changes when a
key is removed or changes meaning (adding keys is not a change). Documented in README.

The output is ASCII (``ensure_ascii``): control characters and everything else outside ASCII
are ``\\uXXXX`` escapes, so no value can reach a terminal raw. A lone surrogate (a file name
that is not UTF-8) would be a ``\\udc80`` escape that strict parsers reject, so it is written
as visible text instead (:func:`envlock.escape.well_formed`)."""

from __future__ import annotations

import json

from envlock.api import Result
from envlock.escape import well_formed

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

REPORT_VERSION = 1


def render(result: Result, lockfile: str) -> str:
    data = {
        "report_version": REPORT_VERSION,
        "lockfile": lockfile,
        "environment": result.environment,
        "status": result.status,
        "exit_code": result.exit_code,
        "counts": result.counts(),
        "findings": [f.to_dict() for f in result.findings],
        "complete": result.live.complete,
        "warnings": list(result.live.warnings),
        "not_checked": list(result.notes),
    }
    return dumps(data)


def dumps(data: dict[str, Any]) -> str:
    """A report as JSON text: ASCII, indented, in the order built."""
    return json.dumps(well_formed(data), indent=2, sort_keys=False, ensure_ascii=True) + "\n"
