"""The BLAS probe finds the BLAS / LAPACK / OpenMP a process really loads; static hints read
what an environment's files say. Everything here runs real interpreters on real libraries.

The Debian tests switch ``update-alternatives`` between OpenBLAS, BLIS, ATLAS and the netlib
reference, and put the original choice back. They need, as root::

    apt-get install -y python3-numpy python3-threadpoolctl libopenblas0-pthread \\
        libblis4-openmp libblas3 liblapack3 libatlas3-base
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from condafactory import write_record
from factory import make_venv, site_packages

from envlock import _blas_probe, blas_static
from envlock.conda import read_prefix

PROBE = Path(_blas_probe.__file__)
SYSTEM_PYTHON = Path("/usr/bin/python3")
PYTHON38 = Path("/root/.pyenv/versions/3.8.18/bin/python")
DEBIAN_THREADPOOLCTL = Path("/usr/lib/python3/dist-packages/threadpoolctl.py")
# Variables that change what OpenBLAS, BLIS, MKL or OpenMP report.
_BLAS_VARIABLES = re.compile(r"^(OPENBLAS_|GOTO_|OMP_|MKL_|BLIS_|KMP_|GOMP_)")


def blas_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _BLAS_VARIABLES.match(k)}
    env.update(extra)
    return env


def run_probe(
    python: Path | str,
    prefix: Path | str | None = None,
    *,
    env: dict[str, str] | None = None,
    threadpoolctl_path: Path | None = None,
    imports: list[str] | None = None,
) -> tuple[dict[str, Any], str]:
    """The probe's payload, and whatever the child printed outside the markers."""
    marker = "@@envlock-blas-" + os.urandom(6).hex() + "@@"
    options = {
        "prefix": str(prefix) if prefix is not None else None,
        "threadpoolctl_path": str(threadpoolctl_path) if threadpoolctl_path else None,
        "import": ["numpy", "scipy"] if imports is None else imports,
    }
    done = subprocess.run(
        [str(python), str(PROBE), marker, json.dumps(options)],
        capture_output=True,
        text=True,
        env=blas_env() if env is None else env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    before, payload, after = done.stdout.split(marker)
    result: dict[str, Any] = json.loads(payload)
    assert result["probe_version"] == _blas_probe.PROBE_VERSION
    for entry in result["libraries"]:
        assert set(entry) == set(_blas_probe.ENTRY_KEYS), entry
    return result, (before + after).strip()


def the(libraries: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [e for e in libraries if all(e[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, libraries)
    return found[0]


# --------------------------------------------------------------------------------------------
# The probe file itself
# --------------------------------------------------------------------------------------------


def test_static_hints_import_only_envlock_and_the_standard_library() -> None:
    if not hasattr(sys, "stdlib_module_names"):
        pytest.skip("Python 3.10+ lists its standard library")
    tree = ast.parse(Path(blas_static.__file__).read_text())
    modules = {
        (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
    } | {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules <= set(sys.stdlib_module_names) | {"envlock"}, modules


def test_probe_runs_under_python_38_without_numpy() -> None:
    if not PYTHON38.exists():
        pytest.skip(f"{PYTHON38} is not installed on this machine")
    result, stray = run_probe(PYTHON38, PYTHON38.parents[1])
    assert stray == ""
    assert result["libraries"] == []
    assert result["imported"] == {"numpy": None, "scipy": None}
    assert result["import_errors"]["numpy"].startswith("ModuleNotFoundError")
    assert any("numpy is not importable" in n for n in result["notes"])
    assert result["numpy_config"] is None and result["cpu_features"] is None


# --------------------------------------------------------------------------------------------
# This interpreter: numpy and scipy wheels with their bundled scipy-openblas
# --------------------------------------------------------------------------------------------


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


@pytest.fixture(scope="module")
def host_default() -> dict[str, Any]:
    if importlib.util.find_spec("numpy") is None:
        pytest.skip("numpy is not installed in this interpreter")
    return run_probe(sys.executable, sys.prefix)[0]


def _numpy_openblas(result: dict[str, Any]) -> dict[str, Any]:
    return the(result["libraries"], vendor="openblas", loaded_by="numpy")


def test_numpy_wheel_openblas_is_identified(host_default: dict[str, Any]) -> None:
    import numpy

    assert host_default["imported"]["numpy"] == numpy.__version__
    entry = _numpy_openblas(host_default)
    assert entry["api"] == "blas" and entry["provides"] == ["blas", "lapack"]
    assert re.match(r"^\d+\.\d+\.\d+", entry["version"]), entry
    assert entry["architecture"], entry
    assert entry["threading"] == "pthreads"
    assert entry["num_threads"] >= 1
    assert entry["config"].startswith("OpenBLAS " + entry["version"])
    assert entry["detected_by"][:2] == ["maps", "symbols"]
    # Inside the prefix: relative, with / separators; the same file as numpy's bundled one.
    purelib = Path(sysconfig.get_paths()["purelib"]).resolve()
    rel_site = purelib.relative_to(Path(sys.prefix).resolve()).as_posix()
    assert entry["file"].startswith(rel_site + "/numpy.libs/"), entry["file"]
    assert (Path(sys.prefix) / entry["file"]).resolve() == (
        Path(sys.prefix).resolve() / entry["file"]
    )
    assert entry["real_file"] == entry["file"].rsplit("/", 1)[1]
    # Build-time information stays apart from what is loaded.
    assert host_default["numpy_config"]["blas"]["name"]
    features = host_default["cpu_features"]
    assert features["baseline"] and set(features["dispatch"]) <= set(features["features"])


def test_scipy_loads_its_own_openblas(host_default: dict[str, Any]) -> None:
    if importlib.util.find_spec("scipy") is None:
        pytest.skip("scipy is not installed in this interpreter")
    entry = the(host_default["libraries"], vendor="openblas", loaded_by="scipy")
    assert "/scipy.libs/" in entry["file"] and entry["version"] and entry["architecture"]


def test_openblas_variables_change_what_is_reported(
    host_default: dict[str, Any], tmp_path: Path
) -> None:
    default = _numpy_openblas(host_default)["architecture"]
    flags = _cpu_flags()
    core = next(
        (
            c
            for c, needs in (
                ("Haswell", {"avx2", "fma"}),
                ("Sandybridge", {"avx"}),
                ("Nehalem", {"sse4_2"}),
                ("Prescott", set()),
            )
            if needs <= flags and c.lower() != default.lower()
        )
    )
    forced, stray = run_probe(
        sys.executable,
        tmp_path,  # another prefix: paths are absolute, resolved
        env=blas_env(OPENBLAS_CORETYPE=core, OPENBLAS_NUM_THREADS="1"),
        imports=["numpy"],
    )
    assert stray == ""
    entry = _numpy_openblas(forced)
    assert entry["architecture"].lower() == core.lower() != default.lower()
    assert entry["num_threads"] == 1
    assert "scipy" not in forced["imported"]
    assert entry["file"] == os.path.realpath(
        Path(sys.prefix) / _numpy_openblas(host_default)["file"]
    )


def test_threadpoolctl_view_is_merged(host_default: dict[str, Any]) -> None:
    spec = importlib.util.find_spec("threadpoolctl")
    if spec is None:
        pytest.skip("threadpoolctl is not installed in this interpreter")
    from importlib.metadata import version

    installed = version("threadpoolctl")
    assert host_default["threadpoolctl"] == {"version": installed, "source": "target"}
    if tuple(int(p) for p in installed.split(".")[:2]) < (3, 5):
        pytest.skip(f"threadpoolctl {installed} does not know scipy-openblas")
    entry = _numpy_openblas(host_default)
    assert "threadpoolctl" in entry["detected_by"]
    assert not [n for n in host_default["notes"] if n.startswith("threadpoolctl reports")]


def _a_threadpoolctl() -> Path:
    spec = importlib.util.find_spec("threadpoolctl")
    for candidate in (Path(spec.origin) if spec and spec.origin else None, DEBIAN_THREADPOOLCTL):
        if candidate is not None and candidate.is_file():
            return candidate
    pytest.skip("no threadpoolctl.py on this machine (apt-get install python3-threadpoolctl)")


def _version_of(threadpoolctl: Path) -> str:
    match = re.search(r'^__version__ = "([^"]+)"', threadpoolctl.read_text(), re.MULTILINE)
    assert match
    return match.group(1)


def test_threadpoolctl_path_is_a_fallback(tmp_path: Path) -> None:
    source = _a_threadpoolctl()
    given = tmp_path / "given"
    given.mkdir()
    shutil.copy(source, given / "threadpoolctl.py")
    python = make_venv(tmp_path / "venv")
    result, _ = run_probe(python, tmp_path / "venv", threadpoolctl_path=given)
    assert result["threadpoolctl"] == {"version": _version_of(source), "source": "given"}
    assert result["libraries"] == []
    # The target's own threadpoolctl comes first.
    shutil.copy(source, site_packages(python) / "threadpoolctl.py")
    result, _ = run_probe(python, tmp_path / "venv", threadpoolctl_path=given)
    assert result["threadpoolctl"] == {"version": _version_of(source), "source": "target"}


def test_elf_dynamic_reads_what_a_library_links() -> None:
    numpy = importlib.util.find_spec("numpy")  # (a submodule's lookup raises without it)
    umath = numpy and importlib.util.find_spec("numpy._core._multiarray_umath")
    if not umath or not umath.origin or not sys.platform.startswith("linux"):
        pytest.skip("needs numpy 2 on Linux")
    dynamic = _blas_probe.elf_dynamic(umath.origin)
    assert dynamic is not None
    assert any("openblas" in n for n in dynamic[1]), dynamic
    assert _blas_probe.elf_dynamic(__file__) is None


def test_names_and_versions() -> None:
    names = {
        "libscipy_openblas64_-32a4b2a6.so": ("openblas", "blas"),
        "libopenblasp-r0.3.27.so": ("openblas", "blas"),
        "libmkl_rt.so.2": ("mkl", "blas"),
        "mkl_rt.2.dll": ("mkl", "blas"),
        "libblis.so.4": ("blis", "blas"),
        "libflexiblas.so.3": ("flexiblas", "blas"),
        "libgomp-a34b3233.so.1.0.0": ("libgomp", "openmp"),
        "libiomp5.so": ("libiomp", "openmp"),
        "libomp.dylib": ("llvm-openmp", "openmp"),
        "vcomp140.dll": ("vcomp", "openmp"),
    }
    for name, expected in names.items():
        assert _blas_probe.vendor_for_filename(name) == expected, name
    for generic in ("libblas.so.3", "liblapack.so.3", "libgfortran.so.5"):
        assert _blas_probe.vendor_for_filename(generic) is None
    directory = _blas_probe.vendor_for_directory
    assert directory("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3") == ("blis", "openmp")
    assert directory("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3") == (
        "openblas",
        "pthreads",
    )
    assert directory("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3") == ("netlib", "sequential")
    assert _blas_probe.upstream_version("3.11.0-2") == "3.11.0"
    assert _blas_probe.upstream_version("1:0.3.21+ds-4") == "0.3.21"


# --------------------------------------------------------------------------------------------
# Debian's generic libblas.so.3 / liblapack.so.3, switched with update-alternatives
# --------------------------------------------------------------------------------------------


def _system_numpy() -> None:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} is absent")
    done = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import numpy"], capture_output=True, timeout=60
    )
    if done.returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} has no numpy (apt-get install python3-numpy)")


def _multiarch() -> str:
    code = "import sysconfig; print(sysconfig.get_config_var('MULTIARCH'))"
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    if not out or out == "None":
        pytest.skip("the system Python has no multiarch triplet")
    return out


class Alternatives:
    """The libblas.so.3 / liblapack.so.3 link groups of one triplet."""

    def __init__(self, triplet: str) -> None:
        self.triplet = triplet
        self.libdir = Path("/usr/lib") / triplet
        self.groups = {api: f"lib{api}.so.3-{triplet}" for api in ("blas", "lapack")}

    def query(self, group: str) -> tuple[str, str]:
        out = subprocess.run(
            ["update-alternatives", "--query", group],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        fields = dict(
            line.split(": ", 1) for line in out.splitlines()[:8] if ": " in line
        )  # Name, Link, Status, Best, Value
        return fields["Status"].strip(), fields["Value"].strip()

    def set(self, api: str, path: Path) -> None:
        subprocess.run(
            ["update-alternatives", "--set", self.groups[api], str(path)],
            capture_output=True,
            check=True,
            timeout=60,
        )

    def restore(self, group: str, status: str, value: str) -> None:
        cmd = ["--auto", group] if status == "auto" else ["--set", group, value]
        subprocess.run(["update-alternatives", *cmd], capture_output=True, check=True, timeout=60)

    def choice(self, api: str, *dirs: str) -> Path:
        for directory in dirs:
            path = self.libdir / directory / f"lib{api}.so.3"
            if path.exists():
                return path
        pytest.skip(f"no lib{api}.so.3 in {self.libdir}/{{{','.join(dirs)}}}")


@pytest.fixture
def alternatives() -> Iterator[Alternatives]:
    """update-alternatives for this machine's triplet, put back as found afterwards."""
    _system_numpy()
    if shutil.which("update-alternatives") is None:
        pytest.skip("update-alternatives is missing")
    if os.geteuid() != 0:
        pytest.skip("switching alternatives needs root")
    alt = Alternatives(_multiarch())
    saved = []
    for group in alt.groups.values():
        try:
            saved.append((group, *alt.query(group)))
        except (subprocess.CalledProcessError, KeyError):
            pytest.skip(f"no {group} alternative (apt-get install libblas3 liblapack3)")
    try:
        yield alt
    finally:
        for group, status, value in saved:
            alt.restore(group, status, value)
        assert [(g, *alt.query(g)) for g, _, _ in saved] == saved


def _system_probe() -> tuple[dict[str, Any], str]:
    return run_probe(SYSTEM_PYTHON, "/usr", imports=["numpy"])


def _entry_for(result: dict[str, Any], api: str, alternative: Path) -> dict[str, Any]:
    """The entry of the file an alternative points at."""
    real = os.path.realpath(alternative)
    found = [
        e for e in result["libraries"] if e["api"] == api and Path("/usr", e["file"]) == Path(real)
    ]
    assert len(found) == 1, (real, result["libraries"])
    return found[0]


def _has_threadpoolctl(result: dict[str, Any]) -> bool:
    return result["threadpoolctl"] is not None


def test_debian_openblas(alternatives: Alternatives) -> None:
    blas = alternatives.choice("blas", "openblas-pthread", "openblas-openmp", "openblas-serial")
    lapack = alternatives.choice("lapack", blas.parent.name)
    alternatives.set("blas", blas)
    alternatives.set("lapack", lapack)
    result, stray = _system_probe()
    assert stray == ""
    wrapper = _entry_for(result, "blas", blas)
    assert wrapper["vendor"] == "openblas" and "needed" in wrapper["detected_by"]
    assert wrapper["loaded_as"].endswith("/libblas.so.3")
    assert wrapper["loaded_by"] == "numpy"
    core = the(result["libraries"], file=wrapper["implemented_by"])
    assert core["vendor"] == "openblas" and "symbols" in core["detected_by"]
    assert re.match(r"^\d+\.\d+\.\d+$", core["version"]) and core["architecture"]
    assert wrapper["version"] == core["version"]
    assert _entry_for(result, "lapack", lapack)["vendor"] == "openblas"
    if _has_threadpoolctl(result):
        assert "threadpoolctl" in core["detected_by"]


def test_debian_blis(alternatives: Alternatives) -> None:
    blas = alternatives.choice("blas", "blis-openmp", "blis-pthread", "blis-serial")
    lapack = alternatives.choice("lapack", "lapack")
    alternatives.set("blas", blas)
    alternatives.set("lapack", lapack)
    result, _ = _system_probe()
    # Debian's BLIS libblas.so.3 exports no bli_ symbol: its directory names it.
    entry = _entry_for(result, "blas", blas)
    assert entry["vendor"] == "blis" and "name" in entry["detected_by"]
    expected_threading = {"openmp": "openmp", "pthread": "pthreads", "serial": "sequential"}
    assert entry["threading"] == expected_threading[blas.parent.name.split("-")[1]]
    assert _entry_for(result, "lapack", lapack)["vendor"] == "netlib"
    if blas.parent.name == "blis-openmp":
        omp = the(result["libraries"], api="openmp")
        assert omp["vendor"] == "libgomp" and omp["num_threads"] >= 1


def test_debian_netlib_reference(alternatives: Alternatives) -> None:
    blas = alternatives.choice("blas", "blas")
    lapack = alternatives.choice("lapack", "lapack")
    alternatives.set("blas", blas)
    alternatives.set("lapack", lapack)
    result, _ = _system_probe()
    entry = _entry_for(result, "blas", blas)
    assert entry["vendor"] == "netlib" and entry["threading"] == "sequential"
    assert entry["detected_by"][:2] == ["maps", "symbols"]
    assert _entry_for(result, "lapack", lapack)["vendor"] == "netlib"
    # threadpoolctl alone would have reported nothing at all.
    assert all("threadpoolctl" not in e["detected_by"] for e in result["libraries"])
    if Path("/var/lib/dpkg/status").is_file():
        assert entry["package"].startswith("libblas3 ") and "dpkg" in entry["detected_by"]
        assert entry["version"] == _blas_probe.upstream_version(entry["package"].split()[1])


def test_debian_atlas(alternatives: Alternatives) -> None:
    blas = alternatives.choice("blas", "atlas")
    lapack = alternatives.choice("lapack", "atlas")
    alternatives.set("blas", blas)
    alternatives.set("lapack", lapack)
    result, stray = _system_probe()
    assert stray == "", "ATL_buildinfo's output must not reach the probe's stdout"
    entry = _entry_for(result, "blas", blas)
    assert entry["vendor"] == "atlas" and "needed" in entry["detected_by"]
    assert re.match(r"^\d+\.\d+\.\d+$", entry["version"])
    assert _entry_for(result, "lapack", lapack)["vendor"] == "atlas"


# --------------------------------------------------------------------------------------------
# Static hints
# --------------------------------------------------------------------------------------------


def _records(prefix: Path) -> list[tuple[str, str, str]]:
    conda = read_prefix(prefix)
    assert conda is not None
    return [(r.name, r.version, r.build) for r in conda.records]


def test_conda_hints(tmp_path: Path) -> None:
    openblas = tmp_path / "openblas"
    for name in ("libblas", "libcblas", "liblapack"):
        write_record(openblas, name, "3.9.0", "20_linux64_openblas")
    write_record(openblas, "libopenblas", "0.3.27", "pthreads_h413a1c8_0")
    write_record(openblas, "_openmp_mutex", "4.5", "2_gnu")
    write_record(openblas, "numpy", "1.26.4", "py311h64a7726_0")
    hints = blas_static.static_hints(openblas, _records(openblas))
    assert {
        (h["api"], h["vendor"], h["package"], h["threading"])
        for h in hints
        if h["source"] == "conda"
    } == {
        ("openmp", "libgomp", "_openmp_mutex 4.5 2_gnu", None),
        ("blas", "openblas", "libblas 3.9.0 20_linux64_openblas", None),
        ("blas", "openblas", "libcblas 3.9.0 20_linux64_openblas", None),
        ("lapack", "openblas", "liblapack 3.9.0 20_linux64_openblas", None),
        ("blas", "openblas", "libopenblas 0.3.27 pthreads_h413a1c8_0", "pthreads"),
    }
    assert all(tuple(h) == blas_static.HINT_KEYS for h in hints)

    mkl = tmp_path / "mkl"
    write_record(mkl, "libblas", "3.9.0", "20_linux64_mkl")
    write_record(mkl, "mkl", "2024.0.0", "ha957f24_49657")
    write_record(mkl, "intel-openmp", "2024.0.0", "ha957f24_49657")
    write_record(mkl, "blas", "2.120", "mkl")
    hints = blas_static.static_hints(mkl, _records(mkl))
    assert [(h["api"], h["vendor"], h["package"]) for h in hints] == [
        ("blas", "mkl", "blas 2.120 mkl"),
        ("openmp", "libiomp", "intel-openmp 2024.0.0 ha957f24_49657"),
        ("blas", "mkl", "libblas 3.9.0 20_linux64_mkl"),
        ("blas", "mkl", "mkl 2024.0.0 ha957f24_49657"),
    ]
    assert blas_static.static_hints(tmp_path / "openblas", None) == []


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_wheel_hints_from_file_names(tmp_path: Path) -> None:
    # The layouts of real wheels, with empty files named as the real ones are.
    site = tmp_path / "lib" / "python3.12" / "site-packages"
    _touch(site / "numpy.libs" / "libscipy_openblas64_-ff651d7f.so")
    _touch(site / "numpy.libs" / "libgfortran-040039e1-0352e75f.so.5.0.0")
    _touch(site / "scipy.libs" / "libscipy_openblas-68440149.so")
    _touch(site / "scikit_learn.libs" / "libgomp-a34b3233.so.1.0.0")
    _touch(site / "scipy_openblas64" / "lib" / "libscipy_openblas64_.so")
    _touch(site / "numpy" / ".dylibs" / "libscipy_openblas64_.dylib")
    _touch(site / "numpy" / "_core" / "_multiarray_umath.cpython-312-x86_64-linux-gnu.so")
    hints = blas_static.static_hints(tmp_path, None)
    assert [(h["source"], h["vendor"], h["api"], h["package"], h["file"]) for h in hints] == [
        ("wheel", "openblas", "blas", "numpy", "lib/python3.12/site-packages/numpy.libs/"
         "libscipy_openblas64_-ff651d7f.so"),
        ("wheel", "openblas", "blas", "numpy",
         "lib/python3.12/site-packages/numpy/.dylibs/libscipy_openblas64_.dylib"),
        ("wheel", "libgomp", "openmp", "scikit_learn",
         "lib/python3.12/site-packages/scikit_learn.libs/libgomp-a34b3233.so.1.0.0"),
        ("wheel", "openblas", "blas", "scipy",
         "lib/python3.12/site-packages/scipy.libs/libscipy_openblas-68440149.so"),
        ("wheel", "openblas", "blas", "scipy_openblas64",
         "lib/python3.12/site-packages/scipy_openblas64/lib/libscipy_openblas64_.so"),
    ]  # fmt: skip
    windows = tmp_path / "win"
    _touch(windows / "Lib" / "site-packages" / "numpy.libs" / "libscipy_openblas64_-43e11ff.dll")
    assert [h["file"] for h in blas_static.static_hints(windows, None)] == [
        "Lib/site-packages/numpy.libs/libscipy_openblas64_-43e11ff.dll"
    ]


def test_wheel_hints_of_this_interpreter() -> None:
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.origin:
        pytest.skip("numpy is not installed in this interpreter")
    numpy_libs = Path(spec.origin).parent.parent / "numpy.libs"
    if not numpy_libs.is_dir():
        pytest.skip("this numpy bundles no numpy.libs")
    hints = blas_static.static_hints(Path(sys.prefix), None)
    ours = [h for h in hints if h["package"] == "numpy" and h["vendor"] == "openblas"]
    assert len(ours) == 1 and "/numpy.libs/" in ours[0]["file"]
    assert not [h for h in hints if h["source"] == "alternatives"]


def _fake_debian(root: Path, choice: str) -> None:
    libdir = root / "usr" / "lib" / "x86_64-linux-gnu"
    for directory in ("blis-pthread", "blas", "openblas-openmp"):
        _touch(libdir / directory / "libblas.so.3")
    _touch(libdir / "lapack" / "liblapack.so.3")
    alternatives = root / "etc" / "alternatives"
    alternatives.mkdir(parents=True)
    (alternatives / "libblas.so.3-x86_64-linux-gnu").symlink_to(libdir / choice / "libblas.so.3")
    (alternatives / "liblapack.so.3-x86_64-linux-gnu").symlink_to(
        libdir / "lapack" / "liblapack.so.3"
    )
    (alternatives / "libblas.so.3-i386-linux-gnu").symlink_to(libdir / "blas" / "libblas.so.3")
    dist = root / "usr" / "lib" / "python3" / "dist-packages"
    _touch(dist / "numpy" / "core" / "_multiarray_umath.cpython-311-x86_64-linux-gnu.so")
    (root / "usr" / "lib" / "python3.11").mkdir(parents=True)


def test_alternatives_hints_only_for_the_distro_numpy(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _fake_debian(root, "blis-pthread")
    system = blas_static.static_hints(root / "usr", None, root=root)
    assert [(h["source"], h["api"], h["vendor"], h["threading"], h["link"]) for h in system] == [
        ("alternatives", "blas", "blis", "pthreads",
         str(root / "etc/alternatives/libblas.so.3-x86_64-linux-gnu")),
        ("alternatives", "lapack", "netlib", "sequential",
         str(root / "etc/alternatives/liblapack.so.3-x86_64-linux-gnu")),
    ]  # fmt: skip
    assert system[0]["file"] == "lib/x86_64-linux-gnu/blis-pthread/libblas.so.3"

    # A venv on the system Python that sees the system site-packages: same hints.
    venv = tmp_path / "venv"
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    cfg = f"home = {root / 'usr' / 'bin'}\ninclude-system-site-packages = true\n"
    (venv / "pyvenv.cfg").write_text(cfg)
    assert [h["vendor"] for h in blas_static.static_hints(venv, None, root=root)] == [
        "blis",
        "netlib",
    ]
    # ... unless it has a numpy of its own (a wheel: its own OpenBLAS, no alternatives).
    _touch(venv / "lib" / "python3.11" / "site-packages" / "numpy" / "__init__.py")
    assert blas_static.static_hints(venv, None, root=root) == []
    # A venv that does not see the system site-packages.
    isolated = tmp_path / "isolated"
    (isolated / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (isolated / "pyvenv.cfg").write_text(f"home = {root / 'usr' / 'bin'}\n")
    assert blas_static.static_hints(isolated, None, root=root) == []


def test_alternatives_hints_on_this_machine(tmp_path: Path) -> None:
    _system_numpy()
    triplet = _multiarch()
    link = Path("/etc/alternatives") / f"libblas.so.3-{triplet}"
    if not link.exists():
        pytest.skip(f"no {link}")
    expected = os.path.realpath(link)
    hints = blas_static.static_hints(Path("/usr"), None)
    blas = [h for h in hints if h["source"] == "alternatives" and h["api"] == "blas"]
    assert len(blas) == 1 and Path("/usr", blas[0]["file"]) == Path(expected)
    # A real venv on the system Python with --system-site-packages sees the same.
    venv = tmp_path / "venv"
    make_venv(venv, str(SYSTEM_PYTHON), system_site_packages=True)
    assert [h["file"] for h in blas_static.static_hints(venv, None) if h["api"] == "blas"] == [
        expected
    ]


# --------------------------------------------------------------------------------------------
# Optional: Intel MKL and its OpenMP from their PyPI wheels (large; only when
# $ENVLOCK_TEST_WHEELS holds mkl-*.whl and intel_openmp-*.whl, as CI may download them)
# --------------------------------------------------------------------------------------------

_MKL_MEMBER = re.compile(
    r"/lib/lib(mkl_(rt|core|intel_lp64|intel_thread|sequential|def|mc3|avx\w*|vml_\w+)"
    r"|iomp5)\.so[.\d]*$"
)
_LOAD_MKL = """
import ctypes, glob, os
lib = os.environ["MKL_TEST_LIB"]
mkl = ctypes.CDLL(sorted(glob.glob(os.path.join(lib, "libmkl_rt.so*")))[-1], ctypes.RTLD_GLOBAL)
n = 64
a = (ctypes.c_double * (n * n))(*([1.0] * (n * n)))
c = (ctypes.c_double * (n * n))()
one, zero = ctypes.c_double(1.0), ctypes.c_double(0.0)
mkl.cblas_dgemm(101, 111, 111, n, n, n, one, a, n, a, n, zero, c, n)  # loads MKL's kernels
assert c[0] == n
"""


def _wheel(pattern: str) -> Path:
    value = os.environ.get("ENVLOCK_TEST_WHEELS")
    found = sorted(Path(value).glob(pattern)) if value and Path(value).is_dir() else []
    if not found:
        pytest.skip(f"no {pattern} in $ENVLOCK_TEST_WHEELS (the tests never download)")
    return found[-1]


def test_mkl_from_its_wheels(tmp_path: Path) -> None:
    mkl_wheel = _wheel("mkl-*.whl")
    omp_wheel = _wheel("intel_openmp-*.whl")
    lib = tmp_path / "prefix" / "lib"
    lib.mkdir(parents=True)
    for wheel in (mkl_wheel, omp_wheel):
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if _MKL_MEMBER.search(info.filename):
                    (lib / Path(info.filename).name).write_bytes(zf.read(info))
    (tmp_path / "load_mkl.py").write_text(_LOAD_MKL)
    env = blas_env(
        PYTHONPATH=str(tmp_path),
        LD_LIBRARY_PATH=str(lib),
        MKL_TEST_LIB=str(lib),
        MKL_THREADING_LAYER="INTEL",
        MKL_NUM_THREADS="1",
    )
    result, _ = run_probe(sys.executable, tmp_path / "prefix", env=env, imports=["load_mkl"])
    libraries = result["libraries"]
    rt = next(e for e in libraries if e["real_file"].startswith("libmkl_rt."))
    assert rt["vendor"] == "mkl" and "symbols" in rt["detected_by"]
    assert mkl_wheel.name.split("-")[1].startswith(rt["version"])
    assert rt["threading"] == "openmp" and rt["num_threads"] == 1
    assert rt["loaded_by"] == "load_mkl" and rt["file"] == "lib/" + rt["real_file"]
    assert [e["threading"] for e in libraries if "_thread." in e["real_file"]] == ["openmp"]
    assert any(e["vendor"] == "mkl" and e["architecture"] for e in libraries)
    omp = the(libraries, api="openmp")
    assert omp["vendor"] == "libiomp" and omp["num_threads"] >= 1
