"""How a lockfile records a local path: relative to its directory inside it or inside its git
repository (with ``..``), whole elsewhere. Real folders, real ``git init``, real links."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from envlock.foreign.common import local_path
from envlock.localpath import recorded, repository_root
from envlock.snapshot import source_from_direct_url


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``repo`` (``git init``) with ``locks/`` and ``packages/pa``."""
    root = tmp_path / "repo"
    (root / "locks").mkdir(parents=True)
    (root / "packages" / "pa").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)
    return root


def test_a_path_elsewhere_in_the_repository_climbs_with_dotdot(repo: Path) -> None:
    locks = repo / "locks"
    assert recorded(str(repo / "packages" / "pa"), locks) == "../packages/pa"
    assert recorded(str(repo), locks) == ".."
    assert recorded(str(locks / "sub"), locks) == "sub"
    # as pip records it from direct_url.json, and as another tool's lockfile names it
    data = {"url": (repo / "packages" / "pa").as_uri(), "dir_info": {"editable": True}}
    source = source_from_direct_url(data, locks)
    assert source is not None and source.path == "../packages/pa"
    assert local_path("../packages/pa", locks) == "../packages/pa"
    assert local_path((repo / "packages" / "pa").as_uri(), locks) == "../packages/pa"


def test_a_path_outside_the_repository_stays_whole(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "pb"
    assert recorded(str(outside), repo / "locks") == outside.as_posix()
    assert local_path("../../elsewhere/pb", repo / "locks") == outside.as_posix()
    # with no repository at all: only the lockfile's directory is relative
    assert recorded(str(tmp_path / "b"), tmp_path / "a") == (tmp_path / "b").as_posix()


def test_the_nearest_repository_is_the_lockfiles(repo: Path) -> None:
    # a submodule (or a worktree) has a .git file: its root is where the walk stops
    member = repo / "packages" / "pa"
    (member / ".git").write_text("gitdir: ../../.git/modules/pa\n")
    (member / "locks").mkdir()
    assert repository_root(member / "locks") == member
    assert recorded(str(repo / "packages" / "pb"), member / "locks") == (
        (repo / "packages" / "pb").as_posix()
    )
    assert recorded(str(member / "src"), member / "locks") == "../src"


def test_dotdot_is_counted_from_the_lockfiles_real_directory(repo: Path, tmp_path: Path) -> None:
    # A link into the repository: `..` climbs from its target, which is in the repository.
    (tmp_path / "link").symlink_to(repo / "locks")
    assert recorded(str(repo / "packages" / "pa"), tmp_path / "link") == "../packages/pa"
    # A link in the repository to a folder outside it: `..` from there is not the
    # repository, so the path stays whole.
    real = tmp_path / "shared" / "locks"
    real.mkdir(parents=True)
    (repo / "linked").symlink_to(real)
    pa = repo / "packages" / "pa"
    assert recorded(str(pa), repo / "linked") == pa.as_posix()
    # a project reached through a link in the repository, as pip records the path it was given
    (repo / "packages" / "pc").symlink_to(tmp_path / "shared")
    assert recorded(str(repo / "packages" / "pc"), repo / "locks") == "../packages/pc"


def test_a_path_from_another_tools_lockfile_is_read_as_text_not_looked_up(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path in a file from a pull request may be any text. realpath looked up each of its
    folders: a NUL byte was 'internal error: ValueError' (exit 3) from verify --against; a
    requirements line of 100,000 folders took two minutes and 13 GB (each lookup, of a path
    longer than the last, is recorded for repeating verify's result)."""
    import os

    locks = repo / "locks"
    assert local_path("pkg\0x", locks) == "pkg\0x"
    assert local_path("file:///srv/a%00b", locks) == "/srv/a\0b"
    looked_up: list[object] = []
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: looked_up.append(p) or real_lstat(p))
    deep = "/nowhere" + "/a" * 30_000
    assert local_path(deep, locks) == deep
    assert local_path("../packages/pa", locks) == "../packages/pa"  # there: resolved
    assert len(looked_up) < 20
