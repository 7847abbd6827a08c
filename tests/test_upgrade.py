"""Lockfiles written by older envlocks, checked by this one against the environment they were
captured from: each must match. The files are in ``tests/old_lockfiles`` (see its README: which
commit wrote each); the environments are real venvs and conda prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from condafactory import (
    conda_dist_info,
    files_under,
    make_conda_prefix,
    python_version_of,
    write_record,
)
from factory import build_wheel, make_git_repo, make_project, make_venv, pip_install
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


@pytest.fixture
def conda_prefix(tmp_path: Path) -> Path:
    """A conda prefix with conda's ``alpha`` 1.0 (its dist-info with conda-build's stray
    ``direct_url.json``) and pip's ``beta`` 2.0 installed over it, as
    ``conda-prefix-3133c50.yaml`` was captured from."""
    prefix = tmp_path / "prefix"
    python = make_conda_prefix(prefix)
    version = python_version_of(str(python))
    rel = conda_dist_info(prefix, version, "alpha", "1.0", direct_url=True)
    write_record(prefix, "alpha", "1.0", "py_0", files=files_under(prefix, rel))
    build_wheel(tmp_path / "wheels", "beta", "2.0")
    pip_install(python, "--find-links", str(tmp_path / "wheels"), "beta==2.0")
    return prefix


def test_a_conda_prefix_captured_before_conda_meta_was_read_matches(
    conda_prefix: Path, tmp_path: Path
) -> None:
    # 3133c50 recorded conda's alpha under packages, as any dist-info, and wrote no conda
    # section. This envlock files alpha under conda (its record lists the dist-info), so the
    # live packages lacked it: 'Missing packages: alpha: 1.0, fix: pip install
    # ~conda/feedstock_root/...', exit 1, against the unchanged prefix.
    lockfile = tmp_path / "envlock.yaml"
    lockfile.write_bytes((OLD / "conda-prefix-3133c50.yaml").read_bytes())
    args = ("--prefix", str(conda_prefix))
    done = envlock("verify", "envlock.yaml", *args, "--no-cache", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith(": matches\n"), done.stdout  # no warning either
    done = envlock("diff", "envlock.yaml", *args, cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    # the version conda has is still compared
    text = lockfile.read_text().replace("alpha: {version: '1.0'", "alpha: {version: '0.9'")
    lockfile.write_text(text)
    done = envlock("verify", "envlock.yaml", *args, "--no-cache", cwd=tmp_path, env=_env())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "alpha: 0.9 -> 1.0" in done.stdout
