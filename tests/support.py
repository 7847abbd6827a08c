"""Helpers for tests that run the command-line tool as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def envlock(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m envlock ARGS`` in a child process; never raises on exit status.
    ``input``: what its standard input reads (``envlock diff - B``).

    Every lockfile a successful ``capture`` writes is checked against the JSON Schema."""
    done = subprocess.run(
        [sys.executable, "-m", "envlock", *args],
        cwd=cwd,
        env=dict(os.environ) if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
        input=input,
    )
    if args and args[0] == "capture" and done.returncode == 0:
        written = _written_lockfile(args[1:], cwd or Path.cwd())
        if written.exists():  # else a [tool.envlock] lockfile elsewhere: the test checks it
            validate(written)
    return done


def _written_lockfile(args: tuple[str, ...], cwd: Path) -> Path:
    with_value = {"--python", "--prefix", "--name", "--format"}
    positional = [a for i, a in enumerate(args) if not a.startswith("-")
                  and (i == 0 or args[i - 1] not in with_value)]  # fmt: skip
    if positional:
        return cwd / positional[0]
    return cwd / ("envlock.toml" if "toml" in args else "envlock.yaml")


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def validate(path: Path) -> Any:
    """Parse a lockfile (YAML or TOML) and check it against the JSON Schema."""
    from envlock import lockfile, schema

    data = lockfile.parse(path.read_text(encoding="utf-8"), lockfile.format_for(path))
    schema.validate(data)
    return data


def host_env(**extra: str) -> dict[str, str]:
    """The caller's environment with no active environment (so envlock checks the interpreter
    it runs in) and no lockfile cache under ~/.cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(ENVLOCK_CACHE_DIR="off")
    env.update(extra)
    return env


def drift_pytest(lockfile: Path, to: str = "0.0.1") -> None:
    """Record another pytest version in ``lockfile`` (still a valid, canonical lockfile)."""
    text = lockfile.read_text(encoding="utf-8")
    text, n = re.subn(r"^(\s+pytest: \{version: )[^,}]+", rf"\g<1>{to}", text, flags=re.M)
    assert n == 1, "pytest is not in the lockfile"
    lockfile.write_text(text, encoding="utf-8")
