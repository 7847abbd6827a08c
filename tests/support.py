"""Helpers for tests that run the command-line tool as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def envlock(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m envlock ARGS`` in a child process; never raises on exit status."""
    return subprocess.run(
        [sys.executable, "-m", "envlock", *args],
        cwd=cwd,
        env=dict(os.environ) if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def validate(path: Path) -> Any:
    """Parse a lockfile (YAML or TOML) and check it against the JSON Schema."""
    from envlock import lockfile, schema

    data = lockfile.parse(path.read_text(encoding="utf-8"), lockfile.format_for(path))
    schema.validate(data)
    return data
