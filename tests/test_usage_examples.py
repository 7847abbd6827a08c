"""The usage examples work: ``examples/pytest`` (a project whose pytest configuration turns the
plugin on) and ``examples/notebook/first_cell.py`` (a notebook's first cell), each copied to a
temporary directory with a lockfile of the interpreter running the tests, then run there as a
user would: pytest in a child process with the example's own configuration, the cell with this
interpreter."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points, version
from pathlib import Path

import pytest
from support import envlock

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PYTEST_VERSION = version("pytest")
# With envlock installed, its pytest11 entry point loads the plugin, as for a user; otherwise
# (envlock only on sys.path) the plugin is named on the command line, autoloading off.
_EPS = entry_points()  # Python 3.9: a dict of groups; later: selectable
_PLUGINS = _EPS.select(group="pytest11") if hasattr(_EPS, "select") else _EPS.get("pytest11", ())
INSTALLED = any(ep.name == "envlock" for ep in _PLUGINS)
HEADER = re.compile(r"^envlock: envlock\.yaml \[[\w.-]+\]: \d+ packages checked(: matches)?$")


def child_env() -> dict[str, str]:
    """No active environment and no pytest settings from outside."""
    drop = {
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PYTEST_ADDOPTS",
        "PYTEST_PLUGINS",
        "PY_COLORS",
        "FORCE_COLOR",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    }
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["ENVLOCK_CACHE_DIR"] = "off"
    if not INSTALLED:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def copy_example(name: str, to: Path) -> Path:
    """The example directory, copied to ``to``, with ``envlock.yaml`` captured there from this
    interpreter (``--no-runtime``: these examples are about the workflow, not numpy's BLAS)."""
    where = to / name
    shutil.copytree(EXAMPLES / name, where, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    assert not (where / "envlock.yaml").exists(), "the example ships no lockfile"
    done = envlock("capture", "-q", "--no-runtime", cwd=where, env=child_env())
    assert done.returncode == 0, done.stderr
    return where


def edit_version(lockfile: Path, package: str, to: str) -> bool:
    """Record another version of ``package``; false when it is not in the lockfile."""
    text = lockfile.read_text(encoding="utf-8")
    pattern = rf"^(\s+{re.escape(package)}: \{{version: )[^,}}]+"
    text, n = re.subn(pattern, rf"\g<1>{to}", text, flags=re.M)
    lockfile.write_text(text, encoding="utf-8")
    return n == 1


# examples/pytest -----------------------------------------------------------------------------


def run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    plugin = [] if INSTALLED else ["-p", "envlock.pytest_plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin],
        cwd=project,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def header(done: subprocess.CompletedProcess[str]) -> str:
    """The header's first envlock line: the lockfile and how many packages were checked."""
    lines = [line for line in done.stdout.splitlines() if line.startswith("envlock:")]
    assert lines and HEADER.match(lines[0]), done.stdout
    return lines[0]


@pytest.fixture
def pytest_example(tmp_path: Path) -> Path:
    return copy_example("pytest", tmp_path)


def test_pytest_example_checks_the_environment_first(pytest_example: Path) -> None:
    done = run_pytest(pytest_example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "configfile: pyproject.toml" in done.stdout, "the example's own configuration"
    assert header(done).endswith(": matches")
    lines = done.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("envlock:"))
    assert first < next(i for i, line in enumerate(lines) if line.startswith("collected "))
    assert re.search(r"^=+ 1 passed in ", done.stdout, re.M), done.stdout


def test_pytest_example_fails_on_drift(pytest_example: Path) -> None:
    assert edit_version(pytest_example / "envlock.yaml", "pytest", "0.0.1")
    done = run_pytest(pytest_example)
    assert done.returncode == 1, done.stdout + done.stderr
    header(done)
    assert f"error   pytest: 0.0.1 -> {PYTEST_VERSION}" in done.stdout
    assert "envlock: the environment does not match envlock.yaml" in done.stdout + done.stderr
    assert "passed" not in done.stdout and "collected " not in done.stdout


def test_pytest_example_policy_applies(pytest_example: Path) -> None:
    """``[tool.envlock]`` in the example's pyproject.toml: pip is ignored, and a patch-level
    change is a warning that does not fail the run."""
    lockfile = pytest_example / "envlock.yaml"
    major, minor, *_ = PYTEST_VERSION.split(".")
    patch = f"{major}.{minor}.999"
    assert edit_version(lockfile, "pytest", patch)
    if not edit_version(lockfile, "pip", "0.0.1"):
        pytest.skip("pip is not installed in this environment")
    done = run_pytest(pytest_example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not header(done).endswith(": matches")
    assert f"warning pytest: {patch} -> {PYTEST_VERSION}" in done.stdout
    assert "pip: 0.0.1" not in done.stdout, "ignored"
    assert re.search(r"^=+ 1 passed in ", done.stdout, re.M), done.stdout


# examples/notebook ---------------------------------------------------------------------------

# Runs the cell as a Jupyter kernel does (IPython's default: the last statement in "single"
# mode, whose expression value goes to sys.displayhook and is shown), recording every warning
# and anything the cell would show. The cell asserts that nothing was shown.
KERNEL = """\
import ast, json, sys, warnings

shown = []
sys.displayhook = lambda value: value is None or shown.append(repr(value)[:200])
with open("first_cell.py", encoding="utf-8") as f:
    *body, last = ast.parse(f.read()).body
namespace = {"__name__": "__main__"}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    exec(compile(ast.Module(body, []), "first_cell.py", "exec"), namespace)
    exec(compile(ast.Interactive([last]), "first_cell.py", "single"), namespace)
assert not shown, f"the cell shows its last value: {shown}"
print(json.dumps([{"category": w.category.__name__, "message": str(w.message)} for w in caught]))
"""


def run_cell(where: Path) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]]]:
    """``python first_cell.py`` in ``where``, and the warnings the cell emits when recorded."""
    plain = subprocess.run(
        [sys.executable, "first_cell.py"],
        cwd=where,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    recorded = subprocess.run(
        [sys.executable, "-c", KERNEL],
        cwd=where,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert recorded.returncode == 0, recorded.stderr
    caught: list[dict[str, str]] = json.loads(recorded.stdout.splitlines()[-1])
    return plain, caught


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return copy_example("notebook", tmp_path)


def test_first_cell_is_silent_when_the_environment_matches(notebook: Path) -> None:
    plain, caught = run_cell(notebook)
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, "", "")
    assert caught == []


def test_first_cell_warns_once_on_drift(notebook: Path) -> None:
    assert edit_version(notebook / "envlock.yaml", "pytest", "0.0.1")
    plain, caught = run_cell(notebook)
    assert plain.returncode == 0 and plain.stdout == "", plain.stderr
    assert plain.stderr.count("EnvlockDriftWarning") == 1, plain.stderr
    assert re.match(r".*first_cell\.py:\d+: EnvlockDriftWarning: this environment", plain.stderr)
    (warning,) = caught
    assert warning["category"] == "EnvlockDriftWarning"
    assert warning["message"].startswith("this environment does not match the lockfile\n")
    assert f"error   pytest: 0.0.1 -> {PYTEST_VERSION}" in warning["message"]
