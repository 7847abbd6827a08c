"""pip inside conda: split an environment's distributions into conda's and pip's, and find
the hazards of mixing them.

A dist-info (or egg-info) that a conda record lists in its ``files`` belongs to that conda
package, so it is a conda package and not a pip one — whatever ``INSTALLER`` or conda-build's
stray ``direct_url.json`` (``file:///home/conda/feedstock_root/...``) say. Everything else is
a pip package installed into the conda environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from envlock._probe import canonical_name
from envlock.conda import CondaPrefix, CondaRecord
from envlock.condamodel import CondaPackage, CondaSection, Hazard
from envlock.model import Platform, Python
from envlock.redact import home_to_tilde

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

# conda subdir -> (os, machine) as the probe reports them.
_SUBDIR_PLATFORM = {
    "linux-64": ("linux", "x86_64"),
    "linux-aarch64": ("linux", "aarch64"),
    "linux-ppc64le": ("linux", "ppc64le"),
    "linux-s390x": ("linux", "s390x"),
    "linux-32": ("linux", "i686"),
    "osx-64": ("macos", "x86_64"),
    "osx-arm64": ("macos", "arm64"),
    "win-64": ("windows", "amd64"),
    "win-32": ("windows", "x86"),
    "win-arm64": ("windows", "arm64"),
}
_NUMERIC = re.compile(r"^\d+(\.\d+)*")


def _relative(path: str, prefix: str) -> str:
    try:
        rel = os.path.relpath(path, prefix)
    except ValueError:
        return path
    return Path(rel).as_posix()


def split(
    prefix: str, distributions: list[dict[str, Any]], conda: CondaPrefix
) -> tuple[list[dict[str, Any]], list[Hazard]]:
    """The pip distributions (those no conda record owns), and the hazards found.

    A record owns a dist-info by its path; failing that, by its folder name, because some
    conda versions wrote noarch paths with a truncated Python version
    (``lib/python3.1/site-packages`` for 3.10).
    """
    by_path: dict[str, CondaRecord] = {}
    by_folder: dict[str, CondaRecord] = {}
    for record in conda.records:
        for rel in record.python_dists:
            by_path[rel.lower()] = record
            by_folder.setdefault(rel.rsplit("/", 1)[-1].lower(), record)
    on_disk = {os.path.basename(d["path"]).lower() for d in distributions}
    by_name = {canonical_name(r.name): r for r in conda.records}
    hazards: list[Hazard] = []
    pip: list[dict[str, Any]] = []
    for dist in distributions:
        rel = _relative(dist["path"], prefix).lower()
        owner = by_path.get(rel) or by_folder.get(rel.rsplit("/", 1)[-1])
        if owner is not None:
            continue
        pip.append(dist)
        same = by_name.get(canonical_name(dist["name"]))
        if same is not None and same.version != dist["version"]:
            hazards.append(
                Hazard(
                    "pip-over-conda",
                    canonical_name(dist["name"]),
                    f"{dist.get('installer') or 'pip'} installed {dist['version']} over "
                    f"conda's {same.name} {same.version}",
                )
            )
    for record in conda.records:
        for rel in record.python_dists:
            folder = rel.rsplit("/", 1)[-1]
            if folder.lower() not in on_disk and not (Path(prefix) / rel).exists():
                hazards.append(
                    Hazard(
                        "missing-dist-info",
                        record.name,
                        f"conda's {record.name} {record.version} lists {folder}, "
                        "which is not on disk (removed or replaced by pip?)",
                    )
                )
    return pip, hazards


def virtual_packages(platform: Platform) -> dict[str, str]:
    """The virtual packages conda would report, from the probe's platform facts."""
    found: dict[str, str] = {}
    if platform.os in ("linux", "macos"):
        found["__unix"] = "0"
    if platform.os == "linux" and platform.kernel:
        kernel = _NUMERIC.match(platform.kernel)
        if kernel:
            found["__linux"] = kernel.group(0)
    if platform.libc == "glibc" and platform.libc_version:
        found["__glibc"] = platform.libc_version
    if platform.os == "macos" and platform.distro:
        version = _NUMERIC.match(platform.distro.replace("macos", "").strip())
        if version:
            found["__osx"] = version.group(0)
    if platform.os == "windows":
        found["__win"] = "0"
    if platform.cpu_level:
        found["__archspec"] = "1=" + platform.cpu_level.replace("-", "_")
    elif platform.machine:
        found["__archspec"] = "1=" + platform.machine
    return found


def overrides(environ: dict[str, str] | None) -> dict[str, str]:
    """``CONDA_OVERRIDE_CUDA=12.4`` -> ``{"__cuda": "12.4"}``: what the user told conda."""
    return {
        "__" + name[len("CONDA_OVERRIDE_") :].lower(): value
        for name, value in (environ or {}).items()
        if name.startswith("CONDA_OVERRIDE_")
    }


def section(
    conda: CondaPrefix,
    hazards: list[Hazard],
    platform: Platform,
    conda_overrides: dict[str, str] | None,
) -> CondaSection:
    return CondaSection(
        packages=tuple(
            CondaPackage(
                name=r.name,
                version=r.version,
                build=r.build,
                build_number=r.build_number,
                channel=home_to_tilde(r.channel) if r.channel else None,
                channel_url=home_to_tilde(r.channel_url) if r.channel_url else None,
                subdir=r.subdir,
                md5=r.md5,
                sha256=r.sha256,
                requested=r.requested_spec is not None,
                archive=r.archive,
                spec=r.requested_spec,
            )
            for r in {r.name: r for r in conda.records}.values()  # one a name: the last file
        ),
        channels=tuple(home_to_tilde(c) for c in conda.channels),
        channel_priority=conda.channel_priority,
        manager=conda.manager,
        virtual_packages=virtual_packages(platform),
        overrides=overrides(conda_overrides),
        hazards=tuple(hazards),
    )


def static_python(conda: CondaPrefix) -> Python | None:
    """Python facts from the prefix's ``python`` record, for a files-only read."""
    record = next((r for r in conda.records if r.name in ("python", "pypy")), None)
    if record is None:
        return None
    return Python(
        implementation="pypy" if record.name == "pypy" else "cpython",
        version=record.version,
        free_threading="_cp3" in record.build and record.build.endswith("t"),
        method="conda-meta",
    )


def static_platform(conda: CondaPrefix) -> Platform | None:
    """OS and machine from the records' subdir, for a files-only read."""
    for record in conda.records:
        if record.subdir in _SUBDIR_PLATFORM:
            os_name, machine = _SUBDIR_PLATFORM[record.subdir]
            return Platform(os=os_name, machine=machine, method="conda-meta")
    return None
