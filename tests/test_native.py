"""The native layer end to end, through the command-line tool, on real libraries: the BLAS
that numpy's wheel bundles (with OPENBLAS_CORETYPE choosing another kernel), and Debian's
generic libblas.so.3 switched with update-alternatives."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
from support import envlock, validate
from test_blas_probe import SYSTEM_PYTHON, Alternatives, alternatives  # noqa: F401

from envlock.variables import VARIABLES


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        env.pop(name, None)
    env["ENVLOCK_CACHE_DIR"] = "off"
    env.update(extra)
    return env


# These capture this interpreter's own numpy (a wheel with its bundled OpenBLAS).
needs_numpy = pytest.mark.skipif(
    importlib.util.find_spec("numpy") is None, reason="numpy is not installed in this interpreter"
)


def findings(done: object) -> list[tuple[str, str, str | None, str | None, str]]:
    report = json.loads(done.stdout)  # type: ignore[attr-defined]
    return [
        (f["category"], f["subject"], f["expected"], f["actual"], f["severity"])
        for f in report["findings"]
    ]


@needs_numpy
def test_openblas_kernel_choice_is_recorded_and_verified(tmp_path: Path) -> None:
    lock = tmp_path / "envlock.yaml"
    _capture(lock)
    blas = next(iter(validate(lock)["environments"].values()))["blas"]
    assert blas["method"] == "runtime" and blas["imported"]["numpy"]
    numpy_blas = next(lib for lib in blas["libraries"] if lib.get("loaded_by") == "numpy")
    assert numpy_blas["vendor"] == "openblas" and numpy_blas["architecture"]
    assert numpy_blas["file"].startswith("lib/python")  # relative to the environment
    other = "Sandybridge" if numpy_blas["architecture"] != "Sandybridge" else "Haswell"
    done = envlock(
        "verify",
        "--python",
        sys.executable,
        "--format",
        "json",
        str(lock),
        cwd=tmp_path,
        env=_env(OPENBLAS_CORETYPE=other),
    )
    assert done.returncode == 1
    got = findings(done)
    loaders = {lib.get("loaded_by") for lib in blas["libraries"] if lib["vendor"] == "openblas"}
    which = "openblas[numpy]" if len(loaders) > 1 else "openblas"  # scipy's own OpenBLAS too
    assert ("blas", f"blas.{which}.architecture", numpy_blas["architecture"], other, "error") in got
    assert ("variables", "OPENBLAS_CORETYPE", None, other, "error") in got


def _capture(lock: Path, **variables: str) -> None:
    """``envlock capture`` of this interpreter's environment into ``lock``, with ``variables``."""
    done = envlock("capture", "--python", sys.executable, str(lock), cwd=lock.parent,
                   env=_env(**variables))  # fmt: skip
    assert done.returncode == 0, done.stderr


@needs_numpy
def test_a_thread_count_fix_works_as_printed(tmp_path: Path) -> None:
    """OpenBLAS reads OPENBLAS_NUM_THREADS before OMP_NUM_THREADS: with the first set, the
    fix 'set OMP_NUM_THREADS=1' left the count (and the finding) as it was."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: OpenBLAS runs one thread whatever the variables say")
    lock = tmp_path / "envlock.yaml"
    _capture(lock, OMP_NUM_THREADS="1")
    verify = ["verify", "--python", sys.executable, "--format", "json", str(lock)]
    live = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2"}
    report = json.loads(envlock(*verify, cwd=tmp_path, env=_env(**live)).stdout)
    threads = [f for f in report["findings"] if f["subject"].endswith(".num_threads")]
    assert threads and {(f["expected"], f["actual"]) for f in threads} == {("1", "2")}
    for finding in threads:
        assert finding["hint"].startswith("set OPENBLAS_NUM_THREADS=1 "), finding["hint"]
    name, value = threads[0]["hint"].split()[1].split("=")
    live[name] = value  # the fix, as printed
    report = json.loads(envlock(*verify, cwd=tmp_path, env=_env(**live)).stdout)
    assert [f for f in report["findings"] if f["subject"].endswith(".num_threads")] == []


@needs_numpy
def test_a_preloaded_openmp_runtime_gets_a_fix_that_works(tmp_path: Path) -> None:
    """An OpenMP runtime put in the process by LD_PRELOAD is openmp drift; its fix said to
    install 'the BLAS the lockfile records (pip: the numpy wheel)', which leaves it there."""
    gomp = next(iter(sorted(Path("/usr/lib").glob("*/libgomp.so.1"))), None)
    if gomp is None:
        pytest.skip("no system libgomp.so.1 to preload")
    lock = tmp_path / "envlock.yaml"
    _capture(lock)
    libs = next(iter(validate(lock)["environments"].values()))["blas"]["libraries"]
    if any(lib["api"] == "openmp" for lib in libs):
        pytest.skip("numpy or scipy here loads an OpenMP runtime of its own")
    verify = ["verify", "--python", sys.executable, "--format", "json", str(lock)]
    done = envlock(*verify, cwd=tmp_path, env=_env(LD_PRELOAD=str(gomp)))
    assert done.returncode == 1, done.stdout + done.stderr
    (finding,) = json.loads(done.stdout)["findings"]
    assert (finding["subject"], finding["expected"], finding["actual"]) == (
        "openmp.vendor",
        "(none)",
        "libgomp",
    )
    assert finding["hint"].startswith("libgomp was loaded before numpy was imported (LD_PRELOAD)")
    assert envlock(*verify, cwd=tmp_path, env=_env()).returncode == 0  # the fix, as printed
    # The other way round: preloaded at capture, not now.
    _capture(lock, LD_PRELOAD=str(gomp))
    (finding,) = json.loads(envlock(*verify, cwd=tmp_path, env=_env()).stdout)["findings"]
    assert finding["hint"].startswith("the lockfile's libgomp was loaded before numpy was imported")
    assert envlock(*verify, cwd=tmp_path, env=_env(LD_PRELOAD=str(gomp))).returncode == 0


@needs_numpy
def test_no_runtime_records_static_hints_and_compares_nothing_native(tmp_path: Path) -> None:
    lock = tmp_path / "envlock.yaml"
    done = envlock("capture", "--python", sys.executable, str(lock), cwd=tmp_path, env=_env())
    assert done.returncode == 0
    done = envlock(
        "verify",
        "--no-runtime",
        "--python",
        sys.executable,
        "--format",
        "json",
        str(lock),
        cwd=tmp_path,
        env=_env(OPENBLAS_CORETYPE="Sandybridge"),
    )
    assert [f for f in findings(done) if f[0] == "blas"] == [
        ("blas", "libraries", "measured at capture", "not measured", "info")
    ]
    assert ("variables", "OPENBLAS_CORETYPE", None, "Sandybridge", "error") in findings(done)
    static = tmp_path / "static.yaml"
    done = envlock(
        "capture",
        "--no-runtime",
        "--python",
        sys.executable,
        str(static),
        cwd=tmp_path,
        env=_env(),
    )
    blas = next(iter(validate(static)["environments"].values()))["blas"]
    assert blas["method"] == "static" and blas["libraries"] == []
    assert any(h["source"] == "wheel" and h["vendor"] == "openblas" for h in blas["hints"])
    assert "cuda" not in next(iter(validate(static)["environments"].values()))


def test_debian_alternatives_switch_is_blas_drift(
    tmp_path: Path,
    alternatives: Alternatives,  # noqa: F811
) -> None:
    for api in ("blas", "lapack"):
        alternatives.set(api, alternatives.choice(api, "openblas-pthread"))
    lock = tmp_path / "envlock.yaml"
    done = envlock("capture", "--python", str(SYSTEM_PYTHON), str(lock), cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    libs = next(iter(validate(lock)["environments"].values()))["blas"]["libraries"]
    assert {lib["vendor"] for lib in libs if lib["api"] == "blas"} == {"openblas"}
    verify = ["verify", "--python", str(SYSTEM_PYTHON), "--format", "json", str(lock)]
    assert envlock(*verify, cwd=tmp_path, env=_env()).returncode == 0
    for api in ("blas", "lapack"):  # the netlib reference BLAS and LAPACK
        alternatives.set(api, alternatives.choice(api, api))
    done = envlock(*verify, cwd=tmp_path, env=_env())
    assert done.returncode == 1
    got = findings(done)
    assert ("blas", "blas.vendor", "openblas", "netlib", "error") in got
    assert ("blas", "lapack.vendor", "openblas", "netlib", "error") in got
