"""What an environment's files say about its BLAS, LAPACK and OpenMP, without running it.

These are *hints*, kept apart from what the BLAS probe (``_blas_probe.py``) sees loaded in a
live process: a file on disk is what would be loaded, not proof that it is. Three sources:

* ``conda``: the conda records of the BLAS metapackages (``libblas``, ``libcblas``,
  ``liblapack``, ``liblapacke``, ``blas``, ``blas-devel``), whose build string names the
  implementation (``20_linux64_openblas``, ``*_mkl``, ``*_blis``, ``*_netlib``,
  ``*_accelerate``, ``*_newaccelerate``, ``*_flexiblas``), and of the implementations
  themselves (``mkl``, ``mkl-service``, ``libopenblas`` / ``openblas`` with its
  ``pthreads_`` / ``openmp_`` build, ``blis``, ``flexiblas``, ``intel-openmp``,
  ``llvm-openmp``, ``libgomp``, ``_openmp_mutex`` ``*_gnu`` / ``*_llvm``);
* ``wheel``: libraries bundled by wheels in the environment's site-packages, by file name:
  ``<dist>.libs/`` (auditwheel, delvewheel), ``<pkg>/.dylibs/`` (delocate), ``<pkg>/.libs/``
  (older Windows numpy), ``scipy_openblas32/lib`` and ``scipy_openblas64/lib``, and any
  ``*openblas*`` file directly in ``numpy/``, ``numpy/_core/`` or ``numpy/core/``;
* ``alternatives``: Debian / Ubuntu's ``/etc/alternatives/libblas.so.3-<triplet>`` and
  ``liblapack.so.3-<triplet>``, resolved. Only a *distro-built* numpy links the generic
  ``libblas.so.3``, so these are returned only when the numpy (or scipy) that the environment
  would import is the one in the distro's ``/usr/lib/python3/dist-packages``: the system
  Python itself, or a venv with ``include-system-site-packages = true`` on the system Python
  that has no numpy of its own. A pip-installed numpy bundles its own OpenBLAS and ignores
  the alternatives. The triplet is the one numpy's extension modules were built for.

Every hint has the same keys, ``None`` where they do not apply::

    {"source": "conda" | "wheel" | "alternatives", "api": "blas" | "lapack" | "openmp",
     "vendor": "openblas" | "mkl" | ... | None, "package": "libblas 3.9.0 20_linux64_openblas",
     "file": "lib/python3.12/site-packages/numpy.libs/libscipy_openblas64_-ff651d7f.so",
     "link": "/etc/alternatives/libblas.so.3-x86_64-linux-gnu", "threading": "pthreads"}

``package`` is the conda record ``name version build``, or for a wheel the distribution
whose directory holds the file (``numpy``). ``file`` is relative to the prefix (``/``
separators) when inside it, else absolute. Standard library only; nothing is executed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from envlock._blas_probe import vendor_for_directory, vendor_for_filename
from envlock.static import base_prefix, pyvenv_cfg, site_packages

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

    Hint = dict[str, Any]

HINT_KEYS = ("source", "api", "vendor", "package", "file", "link", "threading")

#: conda BLAS metapackages: the implementation is the last ``_`` field of the build string.
_CONDA_SWITCHES = {
    "libblas": "blas",
    "libcblas": "blas",
    "blas": "blas",
    "blas-devel": "blas",
    "liblapack": "lapack",
    "liblapacke": "lapack",
}
_CONDA_BUILD_VENDORS = {
    "openblas": "openblas",
    "mkl": "mkl",
    "blis": "blis",
    "netlib": "netlib",
    "accelerate": "accelerate",
    "newaccelerate": "accelerate",
    "flexiblas": "flexiblas",
    "aocl": "aocl",
}
#: conda packages that are an implementation: name -> (api, vendor).
_CONDA_IMPLEMENTATIONS = {
    "mkl": ("blas", "mkl"),
    "mkl-service": ("blas", "mkl"),
    "libopenblas": ("blas", "openblas"),
    "openblas": ("blas", "openblas"),
    "libopenblas-ilp64": ("blas", "openblas"),
    "blis": ("blas", "blis"),
    "flexiblas": ("blas", "flexiblas"),
    "libflexiblas": ("blas", "flexiblas"),
    "intel-openmp": ("openmp", "libiomp"),
    "llvm-openmp": ("openmp", "llvm-openmp"),
    "libgomp": ("openmp", "libgomp"),
}
_OPENMP_MUTEX = {"gnu": "libgomp", "llvm": "llvm-openmp"}  # _openmp_mutex 4.5 2_gnu

_LIB_SUFFIX = re.compile(r"\.(so(\.[0-9.]+)?|dylib|dll)$", re.IGNORECASE)
_TRIPLET = re.compile(r"\.cpython-\d+[a-z]*-(.+?)\.so$")


def _hint(source: str, api: str, vendor: str | None, **fields: str | None) -> Hint:
    hint: Hint = dict.fromkeys(HINT_KEYS)
    hint.update(source=source, api=api, vendor=vendor, **fields)
    return hint


def conda_hints(records: list[tuple[str, str, str]]) -> list[Hint]:
    """Hints from the (name, version, build) of a conda prefix's records."""
    hints = []
    for name, version, build in sorted(records):
        package = f"{name} {version} {build}"
        if name in _CONDA_SWITCHES:
            vendor = _CONDA_BUILD_VENDORS.get(build.rsplit("_", 1)[-1].lower())
            hints.append(_hint("conda", _CONDA_SWITCHES[name], vendor, package=package))
        elif name in _CONDA_IMPLEMENTATIONS:
            api, vendor_name = _CONDA_IMPLEMENTATIONS[name]
            threading = None
            if vendor_name == "openblas":  # conda-forge: pthreads_h..., openmp_h...
                threading = next(
                    (t for t in ("pthreads", "openmp") if build.startswith(t + "_")), None
                )
            hints.append(_hint("conda", api, vendor_name, package=package, threading=threading))
        elif name == "_openmp_mutex":
            vendor = _OPENMP_MUTEX.get(build.rsplit("_", 1)[-1].lower())
            hints.append(_hint("conda", "openmp", vendor, package=package))
    return hints


def _relative(path: Path, prefix: Path) -> str:
    for base in (prefix, prefix.resolve()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def _is_library(name: str) -> bool:
    return bool(_LIB_SUFFIX.search(name)) or ".so." in name


_BUNDLERS = ("numpy", "scipy", "blas", "lapack", "mkl")  # who bundles a BLAS in .dylibs / .libs


def _library_dirs(site: Path) -> list[tuple[Path, str]]:
    """(directory, owning distribution or package) of every place wheels bundle libraries.

    One directory listing (``scandir`` knows what is a directory without a ``stat``); the
    inner ``.dylibs`` / ``.libs`` folders are looked for only in the packages that bundle a
    BLAS, so the cost does not grow with every package of a large environment.
    """
    found: list[tuple[Path, str]] = []
    try:
        with os.scandir(site) as entries:
            children = sorted((e.name, e.is_dir()) for e in entries)
    except OSError:
        return found
    for name, is_dir in children:
        if not is_dir:
            continue
        if name.endswith(".libs"):  # auditwheel / delvewheel: numpy.libs, scipy.libs
            found.append((site / name, name[: -len(".libs")]))
        elif name in ("scipy_openblas32", "scipy_openblas64"):
            found.append((site / name / "lib", name))
        elif any(word in name.lower() for word in _BUNDLERS) and not name.endswith(
            (".dist-info", ".egg-info", ".data")
        ):
            for sub in (".dylibs", ".libs"):  # delocate; older Windows numpy
                folder = site / name / sub
                if folder.is_dir():
                    found.append((folder, name))
    return found


def wheel_hints(prefix: Path, sites: list[Path]) -> list[Hint]:
    """Libraries that wheels bundled into ``sites``, by file name."""
    hints = []
    seen: set[str] = set()
    owners: set[str] = set()  # a package found in an earlier site shadows later ones
    for site in sites:
        places = _library_dirs(site)
        for sub in ("numpy", "numpy/_core", "numpy/core"):
            places.append((site / sub, "numpy"))
        shadowed = set(owners)
        for directory, owner in places:
            if owner in shadowed or not directory.is_dir():
                continue
            owners.add(owner)
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            direct = directory.name in ("numpy", "_core", "core")
            for name in names:
                if not _is_library(name) or (direct and "openblas" not in name.lower()):
                    continue
                found = vendor_for_filename(name)
                if found is None:
                    continue
                path = directory / name
                key = os.path.realpath(path)
                if key in seen:
                    continue
                seen.add(key)
                vendor, api = found
                hints.append(
                    _hint("wheel", api, vendor, package=owner, file=_relative(path, prefix))
                )
    return sorted(hints, key=lambda h: str(h["file"]))


def _import_path(prefix: Path, sites: list[Path], root: Path) -> list[Path]:
    """The site directories in the order the environment's Python searches them
    (:func:`envlock.static.site_packages`: its own, then its base environment's when a venv
    includes the system site-packages), with the Debian layout's
    ``/usr/local/lib/pythonX.Y/dist-packages`` and ``/usr/lib/python3/dist-packages`` under
    ``root`` when that base (or the prefix) is the system's."""
    cfg = pyvenv_cfg(prefix)
    system_prefix = root / "usr"
    base = base_prefix(prefix, cfg) if cfg else prefix
    path = list(sites)
    if base is not None and os.path.realpath(base) == os.path.realpath(system_prefix):
        versions = sorted(
            {p.parent.name for p in sites if re.match(r"python3\.\d+$", p.parent.name)}
        ) or sorted(
            p.name for p in (system_prefix / "lib").glob("python3.*") if p.name[7:].isdigit()
        )
        system = [system_prefix / "local" / "lib" / v / "dist-packages" for v in versions]
        system.append(system_prefix / "lib" / "python3" / "dist-packages")
        path.extend(p for p in system if p.is_dir() and p not in path)
    return path


def _triplets(numpy_dir: Path) -> list[str]:
    found = set()
    for sub in ("_core", "core"):
        try:
            names = os.listdir(numpy_dir / sub)
        except OSError:
            continue
        for name in names:
            match = _TRIPLET.search(name)
            if match:
                found.add(match.group(1))
    return sorted(found)


def alternatives_hints(prefix: Path, sites: list[Path], root: Path = Path("/")) -> list[Hint]:
    """Debian / Ubuntu's libblas.so.3 / liblapack.so.3 alternatives, when the environment
    imports the distro's numpy or scipy (see the module docstring)."""
    distro_site = root / "usr" / "lib" / "python3" / "dist-packages"
    path = _import_path(prefix, sites, root)
    numpy_dir = None
    for package in ("numpy", "scipy"):
        first = next((site for site in path if (site / package).is_dir()), None)
        if first is not None:
            if first == distro_site:
                numpy_dir = first / "numpy"
            break
    if numpy_dir is None:
        return []
    alternatives = root / "etc" / "alternatives"
    triplets = _triplets(numpy_dir)
    hints = []
    for soname, api in (("libblas.so.3", "blas"), ("liblapack.so.3", "lapack")):
        try:
            links = sorted(n for n in os.listdir(alternatives) if n.startswith(soname + "-"))
        except OSError:
            return []
        for link in links:
            if triplets and link[len(soname) + 1 :] not in triplets:
                continue
            link_path = alternatives / link
            resolved = os.path.realpath(link_path)
            if not os.path.exists(resolved):
                continue
            by_name = vendor_for_filename(resolved)
            by_directory = vendor_for_directory(resolved)
            vendor = by_name[0] if by_name else (by_directory[0] if by_directory else None)
            threading = by_directory[1] if by_directory else None
            hints.append(
                _hint(
                    "alternatives",
                    api,
                    vendor,
                    file=_relative(Path(resolved), prefix),
                    link=str(link_path),
                    threading=threading,
                )
            )
    return hints


def static_hints(
    prefix: Path,
    conda_records: list[tuple[str, str, str]] | None,
    *,
    root: Path = Path("/"),
) -> list[Hint]:
    """Every static BLAS / LAPACK / OpenMP hint for the environment at ``prefix``.

    ``conda_records`` are the (name, version, build) of its conda packages, ``None`` when it
    is not a conda prefix. ``root`` is where ``/etc/alternatives`` and the distro's
    ``/usr/lib/python3/dist-packages`` are looked for (tests point it at a fake tree).
    """
    prefix = Path(prefix)
    sites = site_packages(prefix)
    hints = conda_hints(conda_records) if conda_records else []
    hints.extend(wheel_hints(prefix, _import_path(prefix, sites, root)))
    hints.extend(alternatives_hints(prefix, sites, root))
    return hints
