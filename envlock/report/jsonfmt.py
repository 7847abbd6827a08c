"""The machine-readable report. Its shape is stable: ``report_version`` changes when a
key is removed or changes meaning (adding keys is not a change). Documented in README."""

from __future__ import annotations

import json

from envlock.api import Result

REPORT_VERSION = 1


def render(result: Result, lockfile: str) -> str:
    data = {
        "report_version": REPORT_VERSION,
        "lockfile": lockfile,
        "environment": result.environment,
        "status": "match" if not result.findings else ("drift" if not result.ok else "warnings"),
        "exit_code": result.exit_code,
        "counts": result.counts(),
        "findings": [f.to_dict() for f in result.findings],
        "complete": not result.live.warnings,
        "warnings": list(result.live.warnings),
    }
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
