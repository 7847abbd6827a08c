"""The test factory builds real, offline-installable artefacts, and pip records each kind of
install the way envlock expects (INSTALLER, REQUESTED, direct_url.json)."""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from factory import (
    CommandError,
    backend_source,
    build_wheel,
    dist_info_dir,
    git_requirement,
    make_git_repo,
    make_project,
    make_sdist,
    make_venv,
    pip_install,
    pip_uninstall,
    read_direct_url,
    site_packages,
)


@dataclass(frozen=True)
class Installed:
    python: Path
    site: Path
    wheels: Path
    editable_dir: Path
    plain_dir: Path
    git_dir: Path
    git_sha: str
    pep508_git_dir: Path
    pep508_git_sha: str
    sdist: Path
    wheel_file: Path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """One venv with one distribution per kind of install, all put there by one pip run
    (each requirement goes through its own code path in pip, and one run is much faster)."""
    root = tmp_path_factory.mktemp("factory")
    wheels = root / "wheels"
    build_wheel(wheels, "alpha", "1.0", requires=["beta>=2"])
    build_wheel(wheels, "beta", "2.0")
    build_wheel(wheels, "omega", "1.0")  # uninstalled by a test
    editable_dir = make_project(root / "editable", "gamma-edit", "0.1")
    plain_dir = make_project(root / "plain", "delta_dir", "0.2")
    git_dir = make_project(root / "git", "epsilon", "0.3")
    git_sha = make_git_repo(git_dir)
    pep508_git_dir = make_project(root / "git508", "theta", "0.6")
    pep508_git_sha = make_git_repo(pep508_git_dir)
    sdist = make_sdist(make_project(root / "sd", "zeta", "0.4"), root / "sdists")
    wheel_file = build_wheel(root / "loose", "eta", "0.5")

    python = make_venv(root / "venv")
    pip_install(
        python,
        "--find-links", str(wheels), "alpha==1.0", "omega==1.0",
        "-e", str(editable_dir),
        str(plain_dir),
        git_requirement("epsilon", git_dir, git_sha),
        f"theta @ git+{pep508_git_dir.as_uri()}@{pep508_git_sha}",  # rewritten by pip_install
        str(sdist),
        str(wheel_file),
    )  # fmt: skip
    site = site_packages(python)
    return Installed(
        python,
        site,
        wheels,
        editable_dir,
        plain_dir,
        git_dir,
        git_sha,
        pep508_git_dir,
        pep508_git_sha,
        sdist,
        wheel_file,
    )


def _files(site: Path, name: str) -> set[str]:
    return {p.name for p in dist_info_dir(site, name).iterdir()}


def _show(site: Path, name: str) -> dict[str, Any] | None:
    direct_url = read_direct_url(site, name)
    info = dist_info_dir(site, name)
    print(f"{name}: files={sorted(_files(site, name))}")
    print(f"  INSTALLER={(info / 'INSTALLER').read_text()!r}")
    if direct_url is not None:
        print(f"  direct_url.json={(info / 'direct_url.json').read_text()}")
    return direct_url


def _import_version(python: Path, module: str) -> str:
    code = f"import {module}; print({module}.__version__, {module}.__file__)"
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return out.strip()


def _archive_info(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"hash": f"sha256={digest}", "hashes": {"sha256": digest}}


def _path_of(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    return Path(unquote(parsed.path))


# ---------------------------------------------------------------------------- artefacts


def test_wheel_is_valid_and_deterministic(tmp_path: Path) -> None:
    first = build_wheel(tmp_path / "a", "Some.Name", "1.2.3", requires=["x>=1", "y; extra == 'z'"])
    second = build_wheel(tmp_path / "b", "Some.Name", "1.2.3", requires=["x>=1", "y; extra == 'z'"])
    assert first.name == "some_name-1.2.3-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()

    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert names[0] == "some_name/__init__.py"
        assert zf.read("some_name/__init__.py") == b'__version__ = "1.2.3"\n'
        metadata = zf.read("some_name-1.2.3.dist-info/METADATA").decode()
        assert "Metadata-Version: 2.1\nName: Some.Name\nVersion: 1.2.3\n" in metadata
        assert "Requires-Dist: x>=1\nRequires-Dist: y; extra == 'z'\n" in metadata
        assert "Root-Is-Purelib: true" in zf.read("some_name-1.2.3.dist-info/WHEEL").decode()
        record = zf.read("some_name-1.2.3.dist-info/RECORD").decode()
        rows = list(csv.reader(io.StringIO(record)))
        assert {row[0] for row in rows} == set(names)
        for path, hash_, size in rows:
            if path.endswith("/RECORD"):
                assert (hash_, size) == ("", "")
                continue
            data = zf.read(path)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert hash_ == "sha256=" + digest.decode()
            assert int(size) == len(data)


def test_wheel_custom_modules(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "multi", "1", modules={"a.py": "A = 1\n", "b/c.py": ""})
    with zipfile.ZipFile(wheel) as zf:
        assert [n for n in zf.namelist() if ".dist-info/" not in n] == ["a.py", "b/c.py"]


def test_sdist_layout_and_determinism(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "My-Proj", "3.0")
    (project / "_backend" / "__pycache__").mkdir()
    (project / "_backend" / "__pycache__" / "backend.cpython-311.pyc").write_bytes(b"junk")
    first = make_sdist(project, tmp_path / "d1")
    second = make_sdist(project, tmp_path / "d2")
    assert first.name == "my_proj-3.0.tar.gz"
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        names = set(tar.getnames())
        pkg_info = tar.extractfile("my_proj-3.0/PKG-INFO")
        assert pkg_info is not None
        assert b"Name: My-Proj\nVersion: 3.0\n" in pkg_info.read()
    assert names == {
        "my_proj-3.0",
        "my_proj-3.0/.gitignore",
        "my_proj-3.0/PKG-INFO",
        "my_proj-3.0/_backend",
        "my_proj-3.0/_backend/backend.py",
        "my_proj-3.0/_backend/project.json",
        "my_proj-3.0/my_proj",
        "my_proj-3.0/my_proj/__init__.py",
        "my_proj-3.0/pyproject.toml",
    }


def test_git_commits_are_deterministic(tmp_path: Path) -> None:
    sha_a = make_git_repo(make_project(tmp_path / "a", "same", "1.0"))
    sha_b = make_git_repo(make_project(tmp_path / "b", "same", "1.0"))
    assert sha_a == sha_b
    assert len(sha_a) == 40
    (tmp_path / "a" / "extra.txt").write_text("more\n")
    assert make_git_repo(tmp_path / "a") not in (sha_a, "")


def test_backend_source_is_python38_syntax() -> None:
    """pip runs the backend with the target venv's interpreter, which may be 3.8."""
    ast.parse(backend_source(), feature_version=(3, 8))


def test_backend_hooks_in_process(tmp_path: Path) -> None:
    """The generated backend is importable and its hooks agree with each other."""
    project = make_project(tmp_path / "p", "hooked", "0.9", requires=["dep"])
    code = (
        "import json, os, sys; sys.path.insert(0, '_backend'); import backend as b; out = {}\n"
        "out['reqs'] = [b.get_requires_for_build_wheel(), b.get_requires_for_build_editable(),"
        " b.get_requires_for_build_sdist()]\n"
        "os.mkdir('m'); out['meta'] = b.prepare_metadata_for_build_wheel('m')\n"
        "os.mkdir('w'); out['wheel'] = b.build_wheel('w')\n"
        "out['editable'] = b.build_editable('w')\n"
        "os.mkdir('s'); out['sdist'] = b.build_sdist('s')\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)
    assert result == {
        "reqs": [[], [], []],
        "meta": "hooked-0.9.dist-info",
        "wheel": "hooked-0.9-py3-none-any.whl",
        "editable": "hooked-0.9-py3-none-any.whl",
        "sdist": "hooked-0.9.tar.gz",
    }
    assert "Requires-Dist: dep" in (project / "m" / result["meta"] / "METADATA").read_text()
    with zipfile.ZipFile(project / "w" / result["editable"]) as zf:
        pth = zf.read("__editable__.hooked-0.9.pth").decode()
    assert pth == f"{project.resolve()}\n"


# ---------------------------------------------------------------------------- pip installs


def test_index_style_install_has_requested_and_no_direct_url(installed: Installed) -> None:
    assert _show(installed.site, "alpha") is None
    info = dist_info_dir(installed.site, "alpha")
    assert (info / "INSTALLER").read_text() == "pip\n"
    assert (info / "REQUESTED").is_file()
    assert not (info / "direct_url.json").exists()


def test_dependency_is_not_requested(installed: Installed) -> None:
    assert _show(installed.site, "beta") is None
    assert _files(installed.site, "beta") == {"INSTALLER", "METADATA", "RECORD", "WHEEL"}


def test_editable_install(installed: Installed) -> None:
    direct_url = _show(installed.site, "gamma-edit")
    assert direct_url == {"dir_info": {"editable": True}, "url": installed.editable_dir.as_uri()}
    assert "REQUESTED" in _files(installed.site, "gamma-edit")
    version, where = _import_version(installed.python, "gamma_edit").split()
    assert version == "0.1"
    assert Path(where).is_relative_to(installed.editable_dir)


def test_directory_install(installed: Installed) -> None:
    direct_url = _show(installed.site, "delta_dir")
    assert direct_url == {"dir_info": {}, "url": installed.plain_dir.as_uri()}
    version, where = _import_version(installed.python, "delta_dir").split()
    assert version == "0.2"
    assert Path(where).is_relative_to(installed.site)


def test_git_install(installed: Installed) -> None:
    direct_url = _show(installed.site, "epsilon")
    assert direct_url is not None
    assert direct_url["url"] == installed.git_dir.as_uri()
    assert direct_url["vcs_info"]["vcs"] == "git"
    assert direct_url["vcs_info"]["commit_id"] == installed.git_sha
    assert direct_url["vcs_info"]["requested_revision"] == installed.git_sha


def test_git_install_pep508_spelling(installed: Installed) -> None:
    assert _show(installed.site, "theta") == {
        "url": installed.pep508_git_dir.as_uri(),
        "vcs_info": {
            "commit_id": installed.pep508_git_sha,
            "requested_revision": installed.pep508_git_sha,
            "vcs": "git",
        },
    }


def test_sdist_install(installed: Installed) -> None:
    direct_url = _show(installed.site, "zeta")
    assert direct_url is not None
    assert set(direct_url) == {"url", "archive_info"}
    assert _path_of(direct_url["url"]) == installed.sdist
    # pip (23.2) hashes a local archive itself, and writes both the old and the new key.
    assert direct_url["archive_info"] == _archive_info(installed.sdist)


def test_wheel_file_install(installed: Installed) -> None:
    direct_url = _show(installed.site, "eta")
    assert direct_url is not None
    assert _path_of(direct_url["url"]) == installed.wheel_file
    assert direct_url["archive_info"] == _archive_info(installed.wheel_file)


def test_uninstall_and_failure_message(installed: Installed) -> None:
    assert dist_info_dir(installed.site, "omega").is_dir()
    pip_uninstall(installed.python, "omega")
    assert not list(installed.site.glob("omega-*.dist-info"))
    with pytest.raises(CommandError) as excinfo:
        pip_install(installed.python, "--find-links", str(installed.wheels), "omega==9.9")
    assert isinstance(excinfo.value, subprocess.CalledProcessError)
    message = str(excinfo.value)
    assert "omega==9.9" in message
    assert "--- stderr ---" in message
    assert "No matching distribution found for omega==9.9" in message
