"""Offline, deterministic builders for real Python environments used by envlock's tests.

Everything here works without network access:

* :func:`build_wheel` writes a valid pure-Python wheel by hand (``zipfile`` + a RECORD with
  sha256 hashes, as the wheel spec asks).
* :func:`make_project` writes a source tree with an in-tree PEP 517 / PEP 660 build backend
  (standard library only), so pip can build it, install it in editable mode, from a git
  repository or from an sdist, with ``--no-build-isolation`` and no index.
* :func:`make_git_repo`, :func:`make_sdist`, :func:`make_venv`, :func:`pip_install` and
  :func:`pip_uninstall` do the rest.

The build backend's file is generated from this module: the helpers listed in
``_SHARED_HELPERS`` are copied into it with :func:`inspect.getsource`, so the wheels that
tests build directly and the wheels pip builds from a project come from the same code. Those
helpers therefore only use the modules imported at the top of ``_BACKEND_HEADER`` and must
run on every interpreter a test venv may use (Python 3.8+ at run time: the backend file has
``from __future__ import annotations``, so annotations are never evaluated).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

__all__ = [
    "FIXED_DATE",
    "CommandError",
    "backend_source",
    "build_wheel",
    "dist_info_dir",
    "git_requirement",
    "make_git_repo",
    "make_project",
    "make_sdist",
    "make_venv",
    "pip_env",
    "pip_install",
    "pip_uninstall",
    "read_direct_url",
    "set_project_version",
    "site_packages",
    "venv_python",
]

#: Commit date used by :func:`make_git_repo`, so commit shas are reproducible.
FIXED_DATE = "2000-01-01T00:00:00+00:00"

# --------------------------------------------------------------------------------------------
# Shared helpers: copied verbatim into the generated build backend (keep them self-contained:
# only base64, gzip, hashlib, io, json, os, re, tarfile, zipfile and other shared helpers).
# --------------------------------------------------------------------------------------------


def _escape_name(name: str) -> str:
    """The distribution name as it appears in wheel / sdist / dist-info file names."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata_text(name: str, version: str, requires: Sequence[str]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines.extend(f"Requires-Dist: {req}" for req in requires)
    return "\n".join(lines) + "\n\n"


def _dist_info_files(name: str, version: str, requires: Sequence[str]) -> dict[str, bytes]:
    """METADATA and WHEEL, keyed by their path inside the wheel (RECORD is added later)."""
    dist_info = f"{_escape_name(name)}-{version}.dist-info"
    wheel = (
        "Wheel-Version: 1.0\n"
        "Generator: envlock-tests-factory\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    )
    return {
        f"{dist_info}/METADATA": _metadata_text(name, version, requires).encode("utf-8"),
        f"{dist_info}/WHEEL": wheel.encode("utf-8"),
    }


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _write_wheel(
    dest_dir: str,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    requires: Sequence[str],
) -> str:
    """Write ``{name}-{version}-py3-none-any.whl`` into *dest_dir*; return its path.

    *files* maps archive paths (``pkg/__init__.py``) to contents. The archive is
    deterministic: sorted entries, fixed timestamps and permissions.
    """
    dist_info = f"{_escape_name(name)}-{version}.dist-info"
    entries = dict(files)
    entries.update(_dist_info_files(name, version, requires))
    record_path = f"{dist_info}/RECORD"
    record = [_record_line(path, data) for path, data in sorted(entries.items())]
    record.append(f"{record_path},,")
    entries[record_path] = ("\n".join(record) + "\n").encode("utf-8")

    os.makedirs(dest_dir, exist_ok=True)
    wheel_path = os.path.join(dest_dir, f"{_escape_name(name)}-{version}-py3-none-any.whl")
    # dist-info last, as the wheel spec recommends.
    order = sorted(entries, key=lambda p: (p.startswith(dist_info + "/"), p))
    with zipfile.ZipFile(wheel_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in order:
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[path])
    return wheel_path


def _read_project(project_dir: str) -> dict[str, Any]:
    """The project's name, version, requires and package, from ``_backend/project.json``."""
    with open(os.path.join(project_dir, "_backend", "project.json"), encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _package_files(project_dir: str, package: str) -> dict[str, bytes]:
    """Every file of the project's package (no bytecode), keyed by its path in a wheel."""
    files: dict[str, bytes] = {}
    root = os.path.join(project_dir, package)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for filename in sorted(filenames):
            if filename.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, filename)
            rel = os.path.relpath(full, project_dir).replace(os.sep, "/")
            with open(full, "rb") as f:
                files[rel] = f.read()
    return files


def _write_sdist(project_dir: str, dest_dir: str) -> str:
    """Write ``{name}-{version}.tar.gz`` of the project into *dest_dir*; return its path.

    The archive has a top-level ``{name}-{version}/`` folder and a PKG-INFO, leaves out VCS
    data, bytecode and build outputs, and is byte-for-byte reproducible.
    """
    project = _read_project(project_dir)
    base = f"{_escape_name(project['name'])}-{project['version']}"
    skip_dirs = {".git", "__pycache__", "build", "dist", ".venv"}
    members: list[tuple[str, bytes | None]] = []  # (archive path, data or None for a dir)
    for dirpath, dirnames, filenames in os.walk(project_dir):
        dirnames[:] = sorted(
            d for d in dirnames if d not in skip_dirs and not d.endswith(".egg-info")
        )
        rel_dir = os.path.relpath(dirpath, project_dir).replace(os.sep, "/")
        if rel_dir != ".":
            members.append((f"{base}/{rel_dir}", None))
        for filename in sorted(filenames):
            if filename.endswith((".pyc", ".pyo")) or filename == "PKG-INFO":
                continue
            rel = filename if rel_dir == "." else f"{rel_dir}/{filename}"
            with open(os.path.join(dirpath, filename), "rb") as f:
                members.append((f"{base}/{rel}", f.read()))
    pkg_info = _metadata_text(project["name"], project["version"], project["requires"])
    members.append((f"{base}/PKG-INFO", pkg_info.encode("utf-8")))
    members.append((base, None))
    members.sort(key=lambda m: m[0])

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in members:
            info = tarfile.TarInfo(path)
            info.mtime = 946684800  # FIXED_DATE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    os.makedirs(dest_dir, exist_ok=True)
    sdist_path = os.path.join(dest_dir, base + ".tar.gz")
    with open(sdist_path, "wb") as f:
        f.write(gzip.compress(buffer.getvalue(), mtime=0))
    return sdist_path


_SHARED_HELPERS: tuple[Callable[..., Any], ...] = (
    _escape_name,
    _metadata_text,
    _dist_info_files,
    _record_line,
    _write_wheel,
    _read_project,
    _package_files,
    _write_sdist,
)

_BACKEND_HEADER = '''\
"""In-tree PEP 517 / PEP 660 build backend written by envlock's tests/factory.py.

Standard library only; generated, do not edit. The project's metadata is in project.json.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import zipfile
from typing import Any, Mapping, Sequence
'''

_BACKEND_HOOKS = """

def _root():
    # PEP 517: hooks run with the source tree as the working directory.
    return os.path.abspath(os.getcwd())


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def _prepare_metadata(metadata_directory):
    project = _read_project(_root())
    files = _dist_info_files(project["name"], project["version"], project["requires"])
    for path, data in files.items():
        full = os.path.join(metadata_directory, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    return next(iter(files)).split("/")[0]


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    root = _root()
    project = _read_project(root)
    files = _package_files(root, project["package"])
    path = _write_wheel(
        wheel_directory, project["name"], project["version"], files, project["requires"]
    )
    return os.path.basename(path)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    root = _root()
    project = _read_project(root)
    pth = "__editable__.%s-%s.pth" % (_escape_name(project["name"]), project["version"])
    files = {pth: (root + "\\n").encode("utf-8")}
    path = _write_wheel(
        wheel_directory, project["name"], project["version"], files, project["requires"]
    )
    return os.path.basename(path)


def build_sdist(sdist_directory, config_settings=None):
    return os.path.basename(_write_sdist(_root(), sdist_directory))
"""


def backend_source() -> str:
    """The text of the generated ``_backend/backend.py``."""
    helpers = "\n\n".join(inspect.getsource(func) for func in _SHARED_HELPERS)
    return _BACKEND_HEADER + "\n\n" + helpers + _BACKEND_HOOKS


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _module_name(name: str) -> str:
    return re.sub(r"[-.]+", "_", name).lower()


def build_wheel(
    dest_dir: Path,
    name: str,
    version: str,
    *,
    modules: dict[str, str] | None = None,
    requires: list[str] | None = None,
) -> Path:
    """Write a pure-Python wheel ``{name}-{version}-py3-none-any.whl`` into *dest_dir*.

    *modules* maps paths inside the wheel to their text; by default the wheel holds
    ``{name_underscored}/__init__.py`` with ``__version__ = "{version}"``. *requires* become
    ``Requires-Dist`` lines. Installable with ``pip install --no-index FILE`` or
    ``pip install --no-index --find-links DEST_DIR name==version``.
    """
    if modules is None:
        modules = {f"{_module_name(name)}/__init__.py": f'__version__ = "{version}"\n'}
    files = {path: text.encode("utf-8") for path, text in modules.items()}
    return Path(_write_wheel(str(dest_dir), name, version, files, list(requires or [])))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))  # "\n" on every OS (write_text's newline: 3.10+)


def make_project(dest: Path, name: str, version: str, *, requires: list[str] | None = None) -> Path:
    """Write a source project that pip can build offline into *dest*; return *dest*.

    Layout::

        pyproject.toml        [build-system] requires = [], in-tree backend "backend"
        _backend/backend.py   PEP 517 + PEP 660 hooks (standard library only)
        _backend/project.json name, version, requires, package (the backend reads this)
        {package}/__init__.py __version__ = "{version}"
        .gitignore            __pycache__/

    ``pip install -e DEST`` installs it in editable mode (a ``.pth`` pointing at *dest*).
    Calling it again on the same *dest* rewrites these files (e.g. to change the version);
    :func:`set_project_version` does just that.
    """
    dest = Path(dest)
    package = _module_name(name)
    pyproject = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_backend"]\n'
    )
    project = {"name": name, "version": version, "requires": list(requires or []),
               "package": package}  # fmt: skip
    _write_text(dest / "pyproject.toml", pyproject)
    _write_text(dest / "_backend" / "backend.py", backend_source())
    _write_text(dest / "_backend" / "project.json", json.dumps(project, indent=2) + "\n")
    _write_text(dest / package / "__init__.py", f'__version__ = "{version}"\n')
    _write_text(dest / ".gitignore", "__pycache__/\n*.pyc\n")
    return dest


def set_project_version(project_dir: Path, version: str) -> None:
    """Change the version of a project made by :func:`make_project` (metadata and module)."""
    project = _read_project(str(project_dir))
    project["version"] = version
    _write_text(Path(project_dir) / "_backend" / "project.json",
                json.dumps(project, indent=2) + "\n")  # fmt: skip
    _write_text(Path(project_dir) / project["package"] / "__init__.py",
                f'__version__ = "{version}"\n')  # fmt: skip


def _git(cwd: Path, *args: str) -> str:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_DATE=FIXED_DATE,
        GIT_COMMITTER_DATE=FIXED_DATE,
        GIT_AUTHOR_NAME="envlock tests",
        GIT_AUTHOR_EMAIL="tests@envlock.invalid",
        GIT_COMMITTER_NAME="envlock tests",
        GIT_COMMITTER_EMAIL="tests@envlock.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
    )
    config = [
        "-c", "user.name=envlock tests",
        "-c", "user.email=tests@envlock.invalid",
        "-c", "commit.gpgsign=false",
        "-c", "init.defaultBranch=main",
        "-c", "core.autocrlf=false",
    ]  # fmt: skip
    return _run(["git", *config, *args], cwd=cwd, env=env).stdout.strip()


def make_git_repo(project_dir: Path) -> str:
    """``git init`` *project_dir* (unless it already is a repository), commit everything in
    it with a fixed author, committer and date, and return the new commit's sha.

    The same tree and history always give the same sha. Calling it again after changing
    files makes a further commit.
    """
    project_dir = Path(project_dir)
    if not (project_dir / ".git").exists():
        _git(project_dir, "init", "-q")
    _git(project_dir, "add", "-A")
    _git(project_dir, "commit", "-q", "--allow-empty", "-m", "envlock test commit")
    return _git(project_dir, "rev-parse", "HEAD")


def git_requirement(name: str, repo_dir: Path, rev: str) -> str:
    """A pip requirement for *name* from the local git repository *repo_dir* at *rev*.

    It is ``git+file:///REPO@REV#egg=NAME``: pip 23.2 rejects the PEP 508 spelling
    ``NAME @ git+file:///REPO@REV`` ("Invalid requirement": its vendored ``packaging``
    wants a network location in the URL), though :func:`pip_install` translates that
    spelling into this one.
    """
    return f"git+{Path(repo_dir).resolve().as_uri()}@{rev}#egg={name}"


def make_sdist(project_dir: Path, dest: Path) -> Path:
    """Write ``{name}-{version}.tar.gz`` of a :func:`make_project` project into the
    directory *dest*; pip installs it offline with ``--no-build-isolation``."""
    return Path(_write_sdist(str(project_dir), str(dest)))


def venv_python(venv: Path) -> Path:
    """The interpreter of the virtual environment at *venv*."""
    if os.name == "nt":
        return Path(venv) / "Scripts" / "python.exe"
    return Path(venv) / "bin" / "python"


def make_venv(
    path: Path,
    python: str = sys.executable,
    *,
    system_site_packages: bool = False,
    with_pip: bool = False,
) -> Path:
    """``python -m venv --without-pip path`` (fast); return the venv's interpreter.

    *with_pip* installs pip into it with ensurepip instead (offline, but about 3 s slower).
    """
    cmd = [str(python), "-m", "venv"]
    if not with_pip:
        cmd.append("--without-pip")
    if system_site_packages:
        cmd.append("--system-site-packages")
    _run([*cmd, str(path)])
    return venv_python(Path(path))


class CommandError(subprocess.CalledProcessError):
    """A failed command; unlike its base class, its message shows stdout and stderr."""

    def __str__(self) -> str:
        cmd = self.cmd if isinstance(self.cmd, str) else " ".join(map(str, self.cmd))
        return (
            f"command failed with exit status {self.returncode}: {cmd}\n"
            f"--- stdout ---\n{self.stdout or ''}\n--- stderr ---\n{self.stderr or ''}"
        )


def _run(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 600.0,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(cmd),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise CommandError(proc.returncode, list(cmd), proc.stdout, proc.stderr)
    return proc


def pip_env() -> dict[str, str]:
    """The environment for pip runs: the caller's, minus any ``PIP_*`` settings (a machine's
    ``PIP_FIND_LINKS`` or ``PIP_INDEX_URL`` must not leak in), with no config file and no
    index."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env.update(
        PIP_NO_INDEX="1",
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
    )
    return env


_PIP_COMMON = ("--disable-pip-version-check", "--no-input")


_FILE_VCS_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*@\s*(git\+file:///[^#\s]+)\s*$")


def _pip_spelling(arg: str) -> str:
    """``NAME @ git+file:///REPO@REV`` as ``git+file:///REPO@REV#egg=NAME``.

    pip 23.2 rejects the first (its vendored ``packaging`` wants a network location in a
    PEP 508 URL); both spellings ask for the same thing and pip writes the same
    direct_url.json for them. Anything else is passed through unchanged.
    """
    match = _FILE_VCS_REQ.match(arg)
    return f"{match.group(2)}#egg={match.group(1)}" if match else arg


def pip_install(
    venv_python: Path, *args: str, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the *host's* pip against *venv_python* (which needs no pip of its own)::

        python -m pip --python VENV_PY install --no-index --no-build-isolation ... ARGS

    Offline (no index, no config file, no cache), in *cwd* (relative paths are pip's working
    directory's). A ``NAME @ git+file:///REPO@REV``
    argument is passed to pip as ``git+file:///REPO@REV#egg=NAME`` (see
    :func:`git_requirement`). Raises :class:`CommandError` (with pip's
    stdout and stderr in its message) when pip fails and *check* is true.
    """
    cmd = [
        sys.executable, "-m", "pip", "--python", str(venv_python), "install",
        "--no-index", "--no-build-isolation", "--no-cache-dir", *_PIP_COMMON,
        *(_pip_spelling(arg) for arg in args),
    ]  # fmt: skip
    return _run(cmd, cwd=cwd, env=pip_env(), check=check)


def pip_uninstall(
    venv_python: Path, *names: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``pip --python VENV_PY uninstall -y NAMES...`` with the host's pip."""
    cmd = [
        sys.executable, "-m", "pip", "--python", str(venv_python), "uninstall", "-y",
        *_PIP_COMMON, *names,
    ]  # fmt: skip
    return _run(cmd, env=pip_env(), check=check)


def site_packages(venv_python: Path) -> Path:
    """The venv's purelib directory, as its interpreter reports it."""
    out = _run(
        [str(venv_python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout
    return Path(out.strip())


def dist_info_dir(site_dir: Path, name: str) -> Path:
    """The single ``*.dist-info`` directory of distribution *name* in *site_dir*."""
    wanted = _escape_name(name)
    found = [
        p
        for p in Path(site_dir).glob("*.dist-info")
        if _escape_name(p.name[: -len(".dist-info")].rpartition("-")[0]) == wanted
    ]
    if len(found) != 1:
        raise LookupError(f"expected one dist-info for {name!r} in {site_dir}, found {found}")
    return found[0]


def read_direct_url(site_dir: Path, name: str) -> dict[str, Any] | None:
    """The parsed ``direct_url.json`` of *name* in *site_dir*, or ``None`` if it has none."""
    path = dist_info_dir(site_dir, name) / "direct_url.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
