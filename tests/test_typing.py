"""The Python API as a type-checked user script sees it: ``mypy --strict`` on a script that
imports envlock from where it is installed (a package without ``py.typed`` is skipped by mypy
as untyped, and every name from it is ``Any``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed (pip install -e '.[dev]')",
)

# The README's "Python API" section, typed as a user would type it.
USER_SCRIPT = """\
import envlock
from envlock.errors import EnvlockError, LockfileError
from envlock.guard import EnvlockDriftError, EnvlockDriftWarning


def main() -> int:
    try:
        lock: envlock.Lockfile = envlock.load("envlock.yaml")
    except LockfileError as e:
        return e.exit_code
    result: envlock.Result = envlock.verify(lock)
    checked: envlock.Result = envlock.check(warn=False)
    env: envlock.Environment = envlock.capture(runtime=False)
    text: str = envlock.export(lock.environments["linux-64"], "requirements")
    envlock.dump(lock, "envlock.toml")
    assert issubclass(EnvlockDriftError, EnvlockError)
    assert issubclass(EnvlockDriftWarning, UserWarning)
    print(checked.ok, env.platform.subdir, text, envlock.verify_against("pylock.toml").notes)
    return result.exit_code
"""


def mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "user_script.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         "--no-error-summary", script.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_user_script_type_checks_against_the_installed_package(tmp_path: Path) -> None:
    done = mypy(tmp_path, USER_SCRIPT + "\nreveal_type(envlock.verify)\n")
    assert "py.typed" not in done.stdout, done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "def (lock: envlock.model.Lockfile" in done.stdout, done.stdout


def test_a_misspelt_api_name_is_a_type_error(tmp_path: Path) -> None:
    done = mypy(tmp_path, 'import envlock\n\nenvlock.verfy("envlock.yaml")\n')
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Module has no attribute "verfy"' in done.stdout, done.stdout
