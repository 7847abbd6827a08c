"""Lockfiles written by older envlocks, checked by this one against the environment they were
captured from: each must match. The files are in ``tests/old_lockfiles`` (see its README: which
commit wrote each); the environments are real venvs and conda prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from factory import make_git_repo, make_project, make_venv, pip_install
from support import envlock, host_env

from envlock.variables import VARIABLES

OLD = Path(__file__).parent / "old_lockfiles"


def _env() -> dict[str, str]:
    """No active environment, no numerics variable, no pyenv version chosen by a variable."""
    skip = {*VARIABLES, "PYENV_VERSION", "PYTHONPATH", "SOURCE_DATE_EPOCH"}
    return {k: v for k, v in host_env().items() if k not in skip}


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A git repository with ``packages/pa`` installed editable in its ``.venv``, and
    ``locks/envlock.yaml`` as 855a11f wrote it there (the path to ``pa`` whole)."""
    repo = tmp_path / "team" / "repo"
    make_project(repo / "packages" / "pa", "pa", "0.1.0")
    (repo / ".gitignore").write_text(".venv/\n")
    make_git_repo(repo)
    python = make_venv(repo / ".venv")
    pip_install(python, "-e", str(repo / "packages" / "pa"))
    text = (OLD / "monorepo-855a11f.yaml").read_text().replace("@REPO@", repo.as_posix())
    (repo / "locks").mkdir()
    (repo / "locks" / "envlock.yaml").write_text(text)
    return repo


def test_a_whole_path_an_older_envlock_wrote_matches_the_same_place(monorepo: Path) -> None:
    # Since 06f64cc capture records packages/pa as ../packages/pa from locks/; the lockfile
    # an older envlock wrote there says /…/repo/packages/pa, the same folder. It was source
    # drift, exit 1: 'pa: editable /…/repo/packages/pa -> editable ../packages/pa'.
    args = ("--no-runtime", "--python", ".venv/bin/python")
    done = envlock("verify", "locks/envlock.yaml", *args, "--no-cache", cwd=monorepo, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matches" in done.stdout
    done = envlock("diff", "locks/envlock.yaml", *args, cwd=monorepo, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    # against a capture by this envlock, next to it
    done = envlock("capture", "locks/new.yaml", *args, cwd=monorepo, env=_env())
    assert done.returncode == 0, done.stderr
    assert "path: ../packages/pa" in (monorepo / "locks" / "new.yaml").read_text()
    done = envlock("diff", "locks/envlock.yaml", "locks/new.yaml", cwd=monorepo, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    # the file itself is left as it is: verify and diff read the path as now recorded
    assert f"path: '{monorepo.as_posix()}/packages/pa'" in (
        (monorepo / "locks" / "envlock.yaml").read_text()
    )


def test_a_whole_path_somewhere_else_is_still_source_drift(monorepo: Path) -> None:
    # the project installed from another checkout than the one the lockfile names
    other = make_project(monorepo.parent / "other" / "pa", "pa", "0.1.0")
    pip_install(monorepo / ".venv" / "bin" / "python", "-e", str(other))
    args = ("--no-runtime", "--python", ".venv/bin/python", "--no-cache")
    done = envlock("verify", "locks/envlock.yaml", *args, cwd=monorepo, env=_env())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pa: editable ../packages/pa -> editable " in done.stdout  # as capture records it
