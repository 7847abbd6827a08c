"""Offline builders for conda prefixes, written in conda's exact on-disk format.

conda is not installed where the tests run, so these helpers write what conda would:

* :func:`write_record` writes ``conda-meta/<name>-<version>-<build>.json`` with the key set and
  value shapes of a real PrefixRecord (compare ``corpus/conda-meta/*/conda-meta/*.json``):
  ``json.dumps(indent=2, sort_keys=True)``, no trailing newline, ``requested_spec`` the
  string ``"None"`` for a package nobody asked for, ``paths_data`` with ``paths_version: 1``.
* :func:`write_history` appends revisions to ``conda-meta/history`` the way conda (or
  micromamba, with ``tool="micromamba"``) does.
* :func:`make_conda_prefix` lays a real venv out as a conda prefix, so pip can install into
  it (``pip --python``) and envlock can probe it.
* :func:`conda_dist_info` writes the dist-info a conda package puts into site-packages.

Hashes, URLs and timestamps are derived from the arguments, so every prefix is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = [
    "FEEDSTOCK_ROOT",
    "conda_dist_info",
    "files_under",
    "host_subdir",
    "make_conda_prefix",
    "python_version_of",
    "write_history",
    "write_record",
]

#: Where conda-forge builds packages; conda-build's pip leaves this in ``direct_url.json``.
FEEDSTOCK_ROOT = "/home/conda/feedstock_root/build_artifacts"
#: conda's package cache in the records these helpers write.
PKGS_DIR = "/opt/conda/pkgs"
#: 2024-01-01T00:00:00Z in milliseconds, conda's ``timestamp`` unit.
TIMESTAMP_MS = 1704067200000

_SUBDIR_ARCH = {
    "linux-64": ("x86_64", "linux"),
    "linux-aarch64": ("aarch64", "linux"),
    "linux-ppc64le": ("ppc64le", "linux"),
    "osx-64": ("x86_64", "osx"),
    "osx-arm64": ("arm64", "osx"),
    "win-64": ("x86_64", "win"),
    "win-32": ("x86", "win"),
}


def host_subdir() -> str:
    """The conda subdir of the machine running the tests (``linux-64``, ``osx-arm64``...)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "64", "amd64": "64", "arm64": "arm64", "aarch64": "aarch64"}.get(
        machine, machine
    )
    if sys.platform.startswith("linux"):
        return f"linux-{arch}"
    if sys.platform == "darwin":
        return f"osx-{arch}"
    if sys.platform == "win32":
        return "win-64" if arch == "64" else f"win-{arch}"
    return f"{sys.platform}-{arch}"


def _digest(algorithm: str, *parts: str) -> str:
    return hashlib.new(algorithm, "/".join(parts).encode()).hexdigest()


def _channel_field(channel: str, subdir: str) -> tuple[str, str]:
    """(the record's ``channel``, its package base URL) for a channel URL or a bare name."""
    if "://" in channel:
        base = channel.rstrip("/")
        return f"{base}/{subdir}", f"{base}/{subdir}"
    if channel == "defaults":
        return channel, f"https://repo.anaconda.com/pkgs/main/{subdir}"
    return channel, f"https://conda.anaconda.org/{channel}/{subdir}"


def write_record(
    prefix: Path,
    name: str,
    version: str,
    build: str,
    *,
    build_number: int = 0,
    channel: str = "https://conda.anaconda.org/conda-forge",
    subdir: str = "linux-64",
    files: list[str] | None = None,
    depends: list[str] | None = None,
    requested_spec: str | None = None,
) -> Path:
    """Write ``prefix/conda-meta/<name>-<version>-<build>.json`` as conda does; return it.

    *channel* is the channel's base URL (the record's ``channel`` gets ``/<subdir>``
    appended, as conda >= 4.6 writes it) or a bare name as in old records (``"defaults"``).
    md5, sha256, size, ``fn`` and ``url`` are derived from the arguments.
    """
    files = list(files or [])
    dist = f"{name}-{version}-{build}"
    fn = f"{dist}.conda"
    channel_value, package_base = _channel_field(channel, subdir)
    extracted = f"{PKGS_DIR}/{dist}"
    arch, plat = _SUBDIR_ARCH.get(subdir, (None, None))
    python_files = any("site-packages/" in f for f in files)
    record: dict[str, object] = {
        "arch": arch,
        "build": build,
        "build_number": build_number,
        "channel": channel_value,
        "constrains": [],
        "depends": list(depends or []),
        "extracted_package_dir": extracted,
        "features": "",
        "files": files,
        "fn": fn,
        "license": "BSD-3-Clause",
        "link": {"source": extracted, "type": 1},
        "md5": _digest("md5", dist),
        "name": name,
        "package_tarball_full_path": f"{PKGS_DIR}/{fn}",
        "paths_data": {
            "paths": [
                {
                    "_path": f,
                    "path_type": "hardlink",
                    "sha256": _digest("sha256", dist, f),
                    "sha256_in_prefix": _digest("sha256", dist, f),
                    "size_in_bytes": 100 + len(f),
                }
                for f in files
            ],
            "paths_version": 1,
        },
        "platform": plat,
        "requested_spec": str(requested_spec),  # conda writes str(None) == "None"
        "sha256": _digest("sha256", dist),
        "size": 1000 + 10 * len(files),
        "subdir": subdir,
        "timestamp": TIMESTAMP_MS,
        "track_features": "",
        "url": f"{package_base}/{fn}",
        "version": version,
    }
    if subdir == "noarch":
        record["noarch"] = "python" if python_files else "generic"
        record["package_type"] = "noarch_python" if python_files else "noarch_generic"
    meta = Path(prefix) / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    path = meta / f"{dist}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
    return path


_HISTORY_TOOLS = {
    "conda": ("/opt/conda/bin/conda", "24.1.2"),
    "mamba": ("/opt/conda/bin/mamba", "24.1.2"),
    "micromamba": ("/home/user/.local/bin/micromamba", "2.0.5"),
}


def write_history(
    prefix: Path,
    revisions: list[tuple[str, list[str], list[str]]],
    *,
    tool: str = "conda",
) -> Path:
    """Append *revisions* to ``prefix/conda-meta/history``; return its path.

    Each revision is ``(kind, package_lines, specs)``: *kind* names the spec line
    (``"update"`` -> ``# update specs: [...]``; conda >= 4.5 writes ``update`` for
    ``conda install`` too, ``"remove"`` for ``conda remove``, ``"neutered"``...),
    *package_lines* are the ``+channel/subdir::name-version-build`` / ``-...`` lines. conda
    writes the specs as a Python list repr; micromamba (``tool="micromamba"``) as a JSON
    list. Revision dates start at 2024-01-01 00:00:00 and go up a minute per revision.
    """
    path = Path(prefix) / "conda-meta" / "history"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    start = existing.count("==> ")
    exe, version = _HISTORY_TOOLS[tool]
    verbs = {"update": "install", "neutered": "install", "remove": "remove"}
    lines = []
    for i, (kind, packages, specs) in enumerate(revisions, start):
        lines.append(f"==> 2024-01-01 {i // 60:02d}:{i % 60:02d}:00 <==")
        lines.append(f"# cmd: {exe} {verbs.get(kind, kind)} {' '.join(specs)}".rstrip())
        lines.append(f"# conda version: {version}")
        lines.extend(packages)
        listed = json.dumps(specs) if tool == "micromamba" else repr(list(specs))
        lines.append(f"# {kind} specs: {listed}")
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def python_version_of(python: str) -> str:
    """``X.Y.Z`` of the interpreter *python*."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return platform.python_version()
    out = subprocess.run(
        [python, "-I", "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return out.strip()


def _interpreter_files(prefix: Path, version: str) -> list[str]:
    """The interpreter files the venv has, as the python record's ``files``."""
    short = ".".join(version.split(".")[:2])
    names = ["Scripts/python.exe"] if os.name == "nt" else ["bin/python", "bin/python3"]
    names.append(f"bin/python{short}")
    return [n for n in names if (prefix / n).exists()]


def make_conda_prefix(path: Path, python: str = sys.executable) -> Path:
    """A real Python environment laid out as a conda prefix; return its interpreter.

    ``python -m venv --without-pip path`` (pip installs into it with the host's
    ``pip --python``), plus ``conda-meta/`` holding a conda-forge ``python`` record of the
    interpreter's version and a ``history`` whose one revision created it with
    ``python=X.Y``.
    """
    path = Path(path)
    subprocess.run(
        [str(python), "-m", "venv", "--without-pip", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    version = python_version_of(str(python))
    short = ".".join(version.split(".")[:2])
    subdir = host_subdir()
    build = f"h{_digest('md5', version)[:7]}_0_cpython"
    write_record(
        path,
        "python",
        version,
        build,
        subdir=subdir,
        files=_interpreter_files(path, version),
        requested_spec=f"python={short}",
    )
    write_history(
        path,
        [("update", [f"+conda-forge/{subdir}::python-{version}-{build}"], [f"python={short}"])],
    )
    interpreter = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return interpreter


def conda_dist_info(
    prefix: Path,
    python_version: str,
    name: str,
    version: str,
    *,
    direct_url: bool = False,
) -> str:
    """Write the ``<name>-<version>.dist-info`` a conda package installs into
    ``lib/pythonX.Y/site-packages`` (METADATA, INSTALLER ``conda``, RECORD), and with
    *direct_url* the stray ``direct_url.json`` conda-build's pip leaves behind (pointing at
    the feedstock's work directory); return its prefix-relative POSIX path."""
    short = ".".join(python_version.split(".")[:2])
    escaped = name.replace("-", "_")
    rel = f"lib/python{short}/site-packages/{escaped}-{version}.dist-info"
    target = Path(prefix) / rel
    target.mkdir(parents=True, exist_ok=True)
    contents = {
        "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n",
        "INSTALLER": "conda",  # conda writes it without a newline
    }
    if direct_url:
        work = f"{FEEDSTOCK_ROOT}/{escaped}_{TIMESTAMP_MS // 1000}/work"
        contents["direct_url.json"] = json.dumps({"dir_info": {}, "url": f"file://{work}"})
    for fname, text in contents.items():
        (target / fname).write_text(text, encoding="utf-8")
    record_lines = [f"{escaped}-{version}.dist-info/{fname},," for fname in contents]
    record_lines.append(f"{escaped}-{version}.dist-info/RECORD,,")
    (target / "RECORD").write_text("\n".join(record_lines) + "\n", encoding="utf-8")
    return rel


def files_under(prefix: Path, rel: str) -> list[str]:
    """Every file under ``prefix/rel``, prefix-relative POSIX paths, sorted: the ``files``
    a record lists for a directory it installed."""
    root = Path(prefix)
    return sorted(p.relative_to(root).as_posix() for p in (root / rel).rglob("*") if p.is_file())
