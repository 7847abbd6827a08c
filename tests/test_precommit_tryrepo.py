"""The hooks in ``.pre-commit-hooks.yaml``, run by pre-commit itself: ``pre-commit try-repo``
on this checkout (uncommitted changes included), from a throwaway git repository that commits
a lockfile of the interpreter running the tests.

Both hooks are ``language: system``: pre-commit runs their ``envlock`` / ``python`` from its
``PATH``, so the interpreter's own bin directory comes first there. Skipped where pre-commit is
not installed, or this checkout is not a git repository (an unpacked sdist)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]  # the envlock checkout: the hook repository
BIN = Path(sys.executable).parent  # not resolved: a venv's bin, not its base interpreter's
PYTEST_VERSION = version("pytest")


def pre_commit_command() -> list[str] | None:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    found = shutil.which("pre-commit")
    return [found] if found else None


PRE_COMMIT = pre_commit_command()
pytestmark = pytest.mark.skipif(
    PRE_COMMIT is None, reason="pre-commit is not installed (pip install pre-commit)"
)


GIT_IDENTITY = ("-c", "user.name=envlock tests", "-c", "user.email=tests@envlock.invalid")
GIT_CONFIG = (*GIT_IDENTITY, "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main")


def git(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *GIT_CONFIG, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def hook_env(tmp_path: Path) -> dict[str, str]:
    """The environment pre-commit runs in: this interpreter's bin directory first on PATH, no
    active environment, no git or pre-commit settings from outside, its store under tmp."""
    drop = {"VIRTUAL_ENV", "CONDA_PREFIX", "SKIP", "PYTEST_ADDOPTS"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("GIT_", "PRE_COMMIT"))
    }
    (tmp_path / "tmp").mkdir()
    env.update(
        PATH=os.pathsep.join([str(BIN), env.get("PATH", os.defpath)]),
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        TMPDIR=str(tmp_path / "tmp"),  # try-repo's shadow clone of this checkout
        ENVLOCK_CACHE_DIR="off",
        NO_COLOR="1",
    )
    if shutil.which("git", path=env["PATH"]) is None:
        pytest.skip("git is not installed")
    top = git("rev-parse", "--show-toplevel", cwd=ROOT, env=env)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT:
        pytest.skip(f"{ROOT} is not a git repository: try-repo needs one")
    for name in ("envlock", "python"):
        found = shutil.which(name, path=env["PATH"])
        if found is None or Path(found).parent != BIN:
            pytest.skip(f"no `{name}` in {BIN}: install this checkout (pip install -e .)")
    # The console script's envlock must be this checkout's (it is installed editable).
    where = subprocess.run(
        [str(BIN / "python"), "-c", "import envlock; print(envlock.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if where.returncode != 0 or Path(where.stdout.strip()).resolve().parent != ROOT / "envlock":
        pytest.skip(f"the envlock installed in {BIN} is not this checkout's ({ROOT})")
    return env


@pytest.fixture
def repo(tmp_path: Path, hook_env: dict[str, str]) -> Path:
    """A git repository committing ``envlock.yaml``, captured from this interpreter."""
    repo = tmp_path / "repo"
    repo.mkdir()
    assert git("init", "-q", cwd=repo, env=hook_env).returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "envlock", "capture", "-q", "--no-runtime"],
        cwd=repo,
        env=hook_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert git("add", "envlock.yaml", cwd=repo, env=hook_env).returncode == 0
    done = git("commit", "-q", "-m", "lock the environment", cwd=repo, env=hook_env)
    assert done.returncode == 0, done.stderr
    return repo


def try_repo(repo: Path, env: dict[str, str], hook: str, *args: str) -> tuple[int, str]:
    assert PRE_COMMIT is not None
    done = subprocess.run(
        [*PRE_COMMIT, "try-repo", str(ROOT), hook, "--color=never", "--verbose", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def status_line(output: str, name: str) -> str:
    """pre-commit's line for the hook: its name, dots, then Passed / Failed / Skipped."""
    (line,) = [line for line in output.splitlines() if line.startswith(name + ".")]
    return line.rsplit(".", 1)[-1].strip()


def test_pre_commit_is_usable() -> None:
    assert PRE_COMMIT is not None
    done = subprocess.run([*PRE_COMMIT, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("pre-commit "), done.stdout


def test_check_lockfile_passes_then_fails_when_not_canonical(
    repo: Path, hook_env: dict[str, str]
) -> None:
    hook, name = "envlock-check-lockfile", "envlock lockfile is valid and canonical"
    code, out = try_repo(repo, hook_env, hook, "--files", "envlock.yaml")
    assert code == 0, out
    assert status_line(out, name) == "Passed"

    # The same data as another tool writes it: still valid, not as envlock writes it.
    path = repo / "envlock.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    edited = path.read_bytes()
    code, out = try_repo(repo, hook_env, hook, "--files", "envlock.yaml")
    assert code == 1, out
    assert status_line(out, name) == "Failed"
    assert "- exit code: 1" in out
    assert (
        "envlock.yaml: not canonically formatted "
        "(run envlock capture, or python -m envlock.lockcheck --fix envlock.yaml)"
    ) in out
    assert path.read_bytes() == edited, "the hook checks, it never rewrites"

    # files: ^envlock\.(yaml|toml)$ — another YAML file is not a lockfile to check.
    (repo / "other.yaml").write_bytes(edited)
    code, out = try_repo(repo, hook_env, hook, "--files", "other.yaml")
    assert code == 0, out
    assert status_line(out, name).startswith("(no files to check)Skipped")


def test_verify_passes_for_the_matching_environment_and_fails_on_drift(
    repo: Path, hook_env: dict[str, str]
) -> None:
    code, out = try_repo(repo, hook_env, "envlock-verify", "--all-files")
    assert code == 0, out
    assert status_line(out, "envlock verify") == "Passed"
    assert re.search(r"^envlock\.yaml \[[\w.-]+\]: \d+ packages checked: matches$", out, re.M)

    path = repo / "envlock.yaml"
    text, n = re.subn(
        r"^(\s+pytest: \{version: )[^,}]+",
        r"\g<1>0.0.1",
        path.read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert n == 1, "pytest is not in the lockfile"
    path.write_text(text, encoding="utf-8")
    code, out = try_repo(repo, hook_env, "envlock-verify", "--all-files")
    assert code == 1, out
    assert status_line(out, "envlock verify") == "Failed"
    assert f"pytest: 0.0.1 -> {PYTEST_VERSION}" in out
