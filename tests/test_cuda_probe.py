"""The CUDA probe (envlock/_cuda_probe.py), run as the host runs it: a child process of the
target interpreter, ``python _cuda_probe.py MARKER '{"prefix": ...}'``.

Real wherever these machines allow:

* libcudart is NVIDIA's own, from the ``nvidia-cuda-runtime-cu12`` wheel installed by pip into a
  fresh venv; ``cudaRuntimeGetVersion`` needs no GPU. The wheel comes from
  ``$ENVLOCK_TEST_WHEELS`` (CI downloads it there before the tests: the tests themselves never
  use the network); without it those tests skip and say so. The same directory may hold the
  cu13 runtime, cuDNN and NCCL wheels for the optional tests that load those libraries.
* the CUDA toolkit under /usr/local/cuda* (nvcc and its libcudart), when the machine has one.
* torch/version.py is read from the real torch wheel when pip can get one offline (the
  machine's find-links); otherwise, and for a CUDA build, from files in the real format.

The one faked piece is ``nvidia-smi``: these machines have no GPU and no NVIDIA driver, so no
NVML, no libcuda and no nvidia-smi. The stand-in is a shell script put first on PATH that
replays the real output of ``nvidia-smi --query-gpu=name,compute_cap,memory.total,
driver_version --format=csv,noheader,nounits`` and of plain ``nvidia-smi`` (copied from real
machines: driver 580 with two H100s, R610 with its new header labels, 470 without
``compute_cap``, and a broken driver); the probe falls back to it because NVML and libcuda are
absent (where they are present, the test switches them off).

jax and cupy are read from their dist-info names only; the tests install metadata-only wheels
of those names built by tests/factory.py (the real wheels are hundreds of MB).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from factory import build_wheel, make_venv, pip_install, site_packages
from support import envlock, read_yaml

from envlock import _cuda_probe

PROBE = Path(_cuda_probe.__file__)
PY38 = Path("/root/.pyenv/versions/3.8.18/bin/python")
MARKER = "@@envlock-cuda-test@@"
SYSTEM_PATH = "/usr/bin:/bin"
# Variables that steer the probe: no test inherits them from the machine.
STEERING = ("CUDA_HOME", "CUDA_PATH", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "PYTHONPATH")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def run_cuda_probe(
    python: Path | str,
    prefix: Path | str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    **args: Any,
) -> dict[str, Any]:
    """Run the probe as the host does and return its payload. ``env`` is added to the
    machine's environment, less the variables that steer the probe."""
    full_env = {k: v for k, v in os.environ.items() if k not in STEERING}
    full_env.update(env or {})
    done = subprocess.run(
        [str(python), str(PROBE), MARKER, json.dumps({"prefix": str(prefix), **args})],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    parts = done.stdout.split(MARKER)
    assert len(parts) == 3, done.stdout + done.stderr
    payload: dict[str, Any] = json.loads(parts[1])
    assert not [n for n in payload["notes"] if "unexpected" in n], payload["notes"]
    return payload


def wheels_dir() -> Path | None:
    value = os.environ.get("ENVLOCK_TEST_WHEELS")
    return Path(value) if value and Path(value).is_dir() else None


def find_wheel(pattern: str) -> Path:
    """The newest wheel in ``$ENVLOCK_TEST_WHEELS`` whose file name matches ``pattern``."""
    where = wheels_dir()
    if where is None:
        pytest.skip(
            "ENVLOCK_TEST_WHEELS is not set to a directory: .ci/run downloads the "
            "nvidia-cuda-runtime-cu12 wheel there (the tests never use the network)"
        )
    found = sorted(where.glob(pattern))
    if not found:
        pytest.skip(f"no {pattern} in ENVLOCK_TEST_WHEELS ({where})")
    return found[-1]


def wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def extract(wheel: Path, dest: Path, *members: str) -> None:
    """Extract the named members and every ``*.dist-info/`` file of a wheel into ``dest``,
    keeping the executable bit of libraries (as pip does)."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.filename in members or info.filename.split("/")[0].endswith(".dist-info"):
                path = Path(zf.extract(info, dest))
                if ".so" in path.name:
                    path.chmod(0o755)


def gpu_driver_present() -> bool:
    for name in ("libnvidia-ml.so.1", "libcuda.so.1"):
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            pass
    return os.path.exists("/proc/driver/nvidia")


def toolkit_root() -> Path | None:
    """A CUDA toolkit on this machine: /usr/local/cuda, else the newest /usr/local/cuda-*."""
    roots = [Path("/usr/local/cuda"), *sorted(Path("/usr/local").glob("cuda-*"), reverse=True)]
    for root in roots:
        if (root / "bin" / "nvcc").is_file():
            return root
    return None


@pytest.fixture(scope="session")
def cudart_cu12_wheel() -> Path:
    return find_wheel("nvidia_cuda_runtime_cu12-*.whl")


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "venv")


# --------------------------------------------------------------------------------------------
# The file itself
# --------------------------------------------------------------------------------------------


def test_probe_runs_under_python_38(tmp_path: Path) -> None:
    if not PY38.exists():
        pytest.skip(f"{PY38} is not installed on this machine")
    payload = run_cuda_probe(PY38, "/root/.pyenv/versions/3.8.18", cwd=tmp_path)
    assert payload["probe_version"] == _cuda_probe.PROBE_VERSION
    assert set(payload) == {
        "probe_version", "driver", "gpus", "gpus_method", "visible_devices", "runtime",
        "toolkit", "cudnn", "nccl", "frameworks", "notes",
    }  # fmt: skip
    # The toolkit does not depend on the interpreter: 3.8 finds what this one finds.
    assert payload["toolkit"] == run_cuda_probe(sys.executable, sys.prefix, cwd=tmp_path)["toolkit"]


def test_a_spent_time_budget_skips_the_remaining_steps(tmp_path: Path) -> None:
    payload = run_cuda_probe(sys.executable, sys.prefix, cwd=tmp_path, budget_s=1e-9)
    assert payload["probe_version"] == _cuda_probe.PROBE_VERSION
    assert (payload["driver"], payload["toolkit"]) == (None, None)
    # A library found on disk is still recorded, with the version from its header if any.
    assert (payload["runtime"] or {}).get("method") != "cudaRuntimeGetVersion"
    assert "nvml: skipped: the probe's time budget is spent" in payload["notes"]


def test_probe_is_fast(tmp_path: Path) -> None:
    """Without a GPU the probe costs an interpreter start and a few forks; report the time."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run_cuda_probe(sys.executable, sys.prefix, cwd=tmp_path)
        times.append(time.perf_counter() - start)
    print(f"cuda probe wall time: best {min(times) * 1000:.0f} ms of 3")
    assert min(times) < 5.0


# --------------------------------------------------------------------------------------------
# Pure parsing, in-process
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [(12040, "12.4"), (12090, "12.9"), (13000, "13.0"), (11080, "11.8"), (10020, "10.2")],
)
def test_cuda_version_encoding(code: int, expected: str) -> None:
    assert _cuda_probe.cuda_version(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (8902, "8.9.2"),  # cuDNN 8: 1000 * major + 100 * minor + patch
        (7605, "7.6.5"),
        (90100, "9.1.0"),  # cuDNN 9: 10000 * major + 100 * minor + patch
        (92400, "9.24.0"),
        (2804, "2.8.4"),  # NCCL before 2.9
        (22105, "2.21.5"),  # NCCL 2.9 and later
        (23007, "2.30.7"),
    ],
)
def test_library_version_encodings(code: int, expected: str) -> None:
    assert _cuda_probe.library_version(code) == expected


def test_parse_nvcc() -> None:
    out = (
        "nvcc: NVIDIA (R) Cuda compiler driver\n"
        "Copyright (c) 2005-2025 NVIDIA Corporation\n"
        "Built on Wed_Aug_20_01:58:59_PM_PDT_2025\n"
        "Cuda compilation tools, release 13.0, V13.0.88\n"
        "Build cuda_13.0.r13.0/compiler.36424714_0\n"
    )
    assert _cuda_probe.parse_nvcc(out) == ("13.0", "13.0.88")
    assert _cuda_probe.parse_nvcc("nvcc: command not found") is None


def test_kernel_module_version() -> None:
    proprietary = (
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n"
        "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
    )
    open_module = (
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  "
        "(dvs-builder@U16-I1-N08-12-3)  Thu Oct  9 00:51:51 UTC 2025\n"
    )
    assert _cuda_probe.kernel_module_version(proprietary) == "550.54.15"
    assert _cuda_probe.kernel_module_version(open_module) == "580.159.04"


def test_parse_smi_query_with_missing_values() -> None:
    gpus, driver = _cuda_probe.parse_smi_query(
        "NVIDIA A100-SXM4-80GB, 8.0, 81920, 535.104.05\n"
        "NVIDIA A100-SXM4-80GB, 8.0, [N/A], 535.104.05\n"
        "\n"
    )
    assert driver == "535.104.05"
    assert [g["memory_mib"] for g in gpus] == [81920, None]
    assert [g["index"] for g in gpus] == [0, 1]


# The real torch/version.py of a CUDA build (torch 2.14.1+cu130, as in its wheel), of a CPU build
# (torch 2.13.0+cpu, as in its wheel) and of an old one (torch 1.12.1+cu113: no annotations, no
# `rocm`/`xpu`).
TORCH_214_CU130 = """\
from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'rocm', 'xpu']
__version__ = '2.14.1+cu130'
debug = False
cuda: Optional[str] = '13.0'
git_version = '5c4886908584029761b579af026dcfb627c84070'
hip: Optional[str] = None
rocm: Optional[str] = None
xpu: Optional[str] = None
"""
TORCH_213_CPU = """\
from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'rocm', 'xpu']
__version__ = '2.13.0+cpu'
debug = False
cuda: Optional[str] = None
git_version = 'cf30153c4c131c8164ee7798e5022d810682e2cb'
hip: Optional[str] = None
rocm: Optional[str] = None
xpu: Optional[str] = None
"""
TORCH_112_CU113 = """\
__version__ = '1.12.1+cu113'
debug = False
cuda = '11.3'
git_version = '664058fa83f1d8eede5d66418abff6e20bd76ca8'
hip = None
"""


def test_parse_torch_version_py() -> None:
    assert _cuda_probe.parse_torch_version(TORCH_214_CU130) == {
        "version": "2.14.1+cu130",
        "cuda": "13.0",
        "git_version": "5c4886908584029761b579af026dcfb627c84070",
        "build": "cuda",
        "method": "torch/version.py",
    }
    old = _cuda_probe.parse_torch_version(TORCH_112_CU113)
    assert (old["version"], old["cuda"], old["build"]) == ("1.12.1+cu113", "11.3", "cuda")
    cpu = _cuda_probe.parse_torch_version(TORCH_213_CPU)
    assert (cpu["version"], cpu["cuda"], cpu["build"]) == ("2.13.0+cpu", None, "cpu")
    rocm = TORCH_213_CPU.replace("hip: Optional[str] = None", "hip: Optional[str] = '6.4.4'")
    assert _cuda_probe.parse_torch_version(rocm)["build"] == "rocm"
    xpu = TORCH_213_CPU.replace("xpu: Optional[str] = None", "xpu: Optional[str] = '20250101'")
    assert _cuda_probe.parse_torch_version(xpu)["build"] == "xpu"
    # A file without a cuda line says nothing of the build: unknown, not CPU.
    assert "build" not in _cuda_probe.parse_torch_version("__version__ = '2.13.0'\n")


@pytest.mark.parametrize(
    ("name", "cuda"),
    [("cupy-cuda12x", "12"), ("cupy-cuda13x", "13"), ("cupy-cuda113", "11.3"),
     ("cupy-cuda102", "10.2"), ("cupy-cuda92", "9.2"), ("cupy", None)],
)  # fmt: skip
def test_cupy_cuda_from_the_distribution_name(name: str, cuda: str | None) -> None:
    facts = _cuda_probe.cupy_facts({name: ("13.3.0", "/site")}, [])
    assert facts is not None
    assert (facts["package"], facts["cuda"], facts["version"]) == (name, cuda, "13.3.0")


def _raise() -> None:
    raise RuntimeError("no such symbol")


def test_isolated_survives_aborts_hangs_and_errors() -> None:
    assert _cuda_probe.isolated(sum, ([1, 2],), 10) == (3, "")
    assert _cuda_probe.isolated(_raise, (), 10) == (None, "no such symbol")
    result, error = _cuda_probe.isolated(os.abort, (), 10)
    assert result is None and error.startswith("crashed (SIGABRT)")
    start = time.monotonic()
    assert _cuda_probe.isolated(time.sleep, (30,), 0.5) == (None, "did not finish in 0.5 s")
    assert time.monotonic() - start < 10


def test_display_path() -> None:
    assert _cuda_probe.display_path("/env/lib/libcudart.so.12", "/env") == "lib/libcudart.so.12"
    assert _cuda_probe.display_path("/other/libcudart.so.12", "/env") == "/other/libcudart.so.12"
    # A system interpreter's prefix is not an environment: its paths stay absolute.
    assert _cuda_probe.display_path("/usr/lib/libcudart.so.12", "/usr") == (
        "/usr/lib/libcudart.so.12"
    )
    assert _cuda_probe.display_path("/usr/local/cuda/lib64/x.so", "/") == (
        "/usr/local/cuda/lib64/x.so"
    )


# --------------------------------------------------------------------------------------------
# libcudart from pip, conda, and a toolkit
# --------------------------------------------------------------------------------------------


def test_runtime_from_the_pip_wheel(venv: Path, cudart_cu12_wheel: Path, tmp_path: Path) -> None:
    pip_install(venv, str(cudart_cu12_wheel))
    prefix = venv.parent.parent
    payload = run_cuda_probe(venv, prefix, cwd=tmp_path)
    site = site_packages(venv).relative_to(prefix).as_posix()
    major_minor = ".".join(wheel_version(cudart_cu12_wheel).split(".")[:2])
    assert payload["runtime"] == {
        "version": major_minor,
        "library": f"{site}/nvidia/cuda_runtime/lib/libcudart.so.12",
        "source": "pip nvidia-cuda-runtime-cu12",
        "method": "cudaRuntimeGetVersion",
    }
    assert payload["frameworks"] == {}


def test_pip_runtime_wins_over_cuda_home(
    venv: Path, cudart_cu12_wheel: Path, tmp_path: Path
) -> None:
    """What the environment loads comes first: its own wheel, not the toolkit in CUDA_HOME."""
    root = toolkit_root()
    pip_install(venv, str(cudart_cu12_wheel))
    env = {"CUDA_HOME": str(root)} if root else {}
    payload = run_cuda_probe(venv, venv.parent.parent, env=env, cwd=tmp_path)
    assert payload["runtime"]["source"] == "pip nvidia-cuda-runtime-cu12"


def test_runtime_from_a_conda_prefix(cudart_cu12_wheel: Path, tmp_path: Path) -> None:
    """conda's cuda-cudart layout: the library in targets/x86_64-linux/lib, a soname link in
    lib/, the package recorded in conda-meta/. The library is NVIDIA's, from the wheel."""
    version = wheel_version(cudart_cu12_wheel)
    prefix = tmp_path / "conda-env"
    target_lib = prefix / "targets" / "x86_64-linux" / "lib"
    extract(cudart_cu12_wheel, tmp_path / "wheel", "nvidia/cuda_runtime/lib/libcudart.so.12")
    target_lib.mkdir(parents=True)
    shutil.copy(
        tmp_path / "wheel/nvidia/cuda_runtime/lib/libcudart.so.12",
        target_lib / f"libcudart.so.{version}",
    )
    (prefix / "lib").mkdir()
    (prefix / "lib" / "libcudart.so.12").symlink_to(
        f"../targets/x86_64-linux/lib/libcudart.so.{version}"
    )
    (prefix / "conda-meta").mkdir()
    record = {"name": "cuda-cudart", "version": version, "build": "h5888daf_0"}
    (prefix / "conda-meta" / f"cuda-cudart-{version}-h5888daf_0.json").write_text(
        json.dumps(record)
    )
    payload = run_cuda_probe(sys.executable, prefix, cwd=tmp_path)
    assert payload["runtime"] == {
        "version": ".".join(version.split(".")[:2]),
        "library": "lib/libcudart.so.12",
        "source": "conda cuda-cudart",
        "method": "cudaRuntimeGetVersion",
    }


def test_runtime_and_nvcc_from_the_toolkit_in_cuda_home(venv: Path, tmp_path: Path) -> None:
    root = toolkit_root()
    if root is None:
        pytest.skip("no CUDA toolkit (/usr/local/cuda*/bin/nvcc) on this machine")
    nvcc_out = subprocess.run(
        [str(root / "bin" / "nvcc"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    release = re.search(r"release (\d+\.\d+), V([\d.]+)", nvcc_out)
    assert release, nvcc_out
    payload = run_cuda_probe(venv, venv.parent.parent, env={"CUDA_HOME": str(root)}, cwd=tmp_path)
    assert payload["toolkit"] == {
        "version": release.group(1),
        "full_version": release.group(2),
        "method": "nvcc",
        "path": str(root / "bin" / "nvcc"),
        "source": "CUDA_HOME",
    }
    runtime = payload["runtime"]
    lib = next(
        p
        for d in ("lib64", "lib")
        for p in sorted((root / d).glob("libcudart.so.*"), key=lambda p: len(p.name))
    )
    major = lib.name.split(".")[2]
    assert runtime["source"] == "CUDA_HOME"
    assert runtime["library"] == str(lib)
    assert runtime["method"] == "cudaRuntimeGetVersion"
    assert runtime["version"].split(".")[0] == major


def test_runtime_through_the_dynamic_loader(cudart_cu12_wheel: Path, tmp_path: Path) -> None:
    """Nothing in the places the probe looks first: the soname is dlopen()ed (here found
    through LD_LIBRARY_PATH) and the file the loader picked is read back from the process's
    memory map."""
    lib_dir = tmp_path / "lib"
    extract(cudart_cu12_wheel, tmp_path / "wheel", "nvidia/cuda_runtime/lib/libcudart.so.12")
    lib_dir.mkdir()
    shutil.copy(tmp_path / "wheel/nvidia/cuda_runtime/lib/libcudart.so.12", lib_dir)
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from envlock import _cuda_probe as c;"
        "print(json.dumps(c.isolated(c._native_version,"
        " (['libcudart.so.12'], 'cudaRuntimeGetVersion', 'cudart'), 30)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(PROBE.parent.parent)],
        capture_output=True,
        text=True,
        env={**os.environ, "LD_LIBRARY_PATH": str(lib_dir)},
        check=True,
    )
    reply, error = json.loads(done.stdout)
    assert error == ""
    assert reply["path"] == str((lib_dir / "libcudart.so.12").resolve())
    version = wheel_version(cudart_cu12_wheel).split(".")
    assert _cuda_probe.cuda_version(reply["code"]) == f"{version[0]}.{version[1]}"


def test_toolkit_from_version_json(venv: Path, tmp_path: Path) -> None:
    """A toolkit root without nvcc (a runtime-only image): its version.json, in the format
    the CUDA installers write."""
    root = tmp_path / "cuda-12.4"
    root.mkdir()
    (root / "version.json").write_text(
        json.dumps(
            {
                "cuda": {"name": "CUDA SDK", "version": "12.4.1"},
                "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "12.4.127"},
                "cuda_nvcc": {"name": "CUDA NVCC", "version": "12.4.131"},
            },
            indent=3,
        )
    )
    payload = run_cuda_probe(
        venv, venv.parent.parent, env={"CUDA_HOME": str(root), "PATH": SYSTEM_PATH}, cwd=tmp_path
    )
    assert payload["toolkit"] == {
        "version": "12.4",
        "full_version": "12.4.1",
        "method": "version.json",
        "path": str(root / "version.json"),
        "source": "CUDA_HOME",
    }


def test_a_broken_library_is_a_note_not_a_crash(venv: Path, tmp_path: Path) -> None:
    lib_dir = site_packages(venv) / "nvidia" / "cuda_runtime" / "lib"
    lib_dir.mkdir(parents=True)
    (lib_dir / "libcudart.so.12").write_bytes(b"not an ELF file\n")
    payload = run_cuda_probe(venv, venv.parent.parent, cwd=tmp_path)
    runtime = payload["runtime"]
    assert runtime["source"] == "pip"  # no nvidia-cuda-runtime-* distribution says it is theirs
    assert runtime["library"].endswith("nvidia/cuda_runtime/lib/libcudart.so.12")
    assert runtime["version"] is None and runtime["method"] is None
    assert any(n.startswith("runtime: cudaRuntimeGetVersion of ") for n in payload["notes"])


# --------------------------------------------------------------------------------------------
# Optional: the cu13 runtime, cuDNN and NCCL (large wheels; only when ENVLOCK_TEST_WHEELS has
# them). They are unpacked as pip lays them out, with only the files the probe needs.
# --------------------------------------------------------------------------------------------


def test_runtime_from_the_cu13_wheel_layout(venv: Path, tmp_path: Path) -> None:
    wheel = find_wheel("nvidia_cuda_runtime-13.*.whl")
    pip_install(venv, str(wheel))
    prefix = venv.parent.parent
    payload = run_cuda_probe(venv, prefix, cwd=tmp_path)
    site = site_packages(venv).relative_to(prefix).as_posix()
    assert payload["runtime"] == {
        "version": ".".join(wheel_version(wheel).split(".")[:2]),
        "library": f"{site}/nvidia/cu13/lib/libcudart.so.13",
        "source": "pip nvidia-cuda-runtime",
        "method": "cudaRuntimeGetVersion",
    }


def test_cudnn_from_the_pip_wheel(venv: Path, tmp_path: Path) -> None:
    wheel = find_wheel("nvidia_cudnn_cu1*-9.*.whl")
    name = "nvidia-cudnn-" + wheel.name.split("-")[0].rsplit("_", 1)[1]
    site = site_packages(venv)
    extract(
        wheel,
        site,
        "nvidia/cudnn/lib/libcudnn.so.9",
        "nvidia/cudnn/lib/libcudnn_graph.so.9",
        "nvidia/cudnn/include/cudnn_version.h",
    )
    prefix = venv.parent.parent
    expected_version = ".".join(wheel_version(wheel).split(".")[:3])
    payload = run_cuda_probe(venv, prefix, cwd=tmp_path)
    assert payload["cudnn"] == {
        "version": expected_version,
        "library": f"{site.relative_to(prefix).as_posix()}/nvidia/cudnn/lib/libcudnn.so.9",
        "source": f"pip {name}",
        "method": "cudnnGetVersion",
    }
    # cuDNN 9's loader aborts the process when libcudnn_graph is missing: the probe survives
    # it (the call runs in a forked child) and reads the version from the header instead.
    (site / "nvidia" / "cudnn" / "lib" / "libcudnn_graph.so.9").unlink()
    payload = run_cuda_probe(venv, prefix, cwd=tmp_path)
    assert payload["cudnn"]["version"] == expected_version
    assert payload["cudnn"]["method"] == "cudnn_version.h"
    assert any("cudnn: cudnnGetVersion of" in n and "SIGABRT" in n for n in payload["notes"])


def test_nccl_from_the_pip_wheel(venv: Path, tmp_path: Path) -> None:
    wheel = find_wheel("nvidia_nccl_cu1*.whl")
    name = "nvidia-nccl-" + wheel.name.split("-")[0].rsplit("_", 1)[1]
    site = site_packages(venv)
    extract(wheel, site, "nvidia/nccl/lib/libnccl.so.2")
    prefix = venv.parent.parent
    payload = run_cuda_probe(venv, prefix, cwd=tmp_path)
    assert payload["nccl"] == {
        "version": wheel_version(wheel),
        "library": f"{site.relative_to(prefix).as_posix()}/nvidia/nccl/lib/libnccl.so.2",
        "source": f"pip {name}",
        "method": "ncclGetVersion",
    }


# --------------------------------------------------------------------------------------------
# Driver and GPUs through the nvidia-smi stand-in
# --------------------------------------------------------------------------------------------

QUERY = "--query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader,nounits"
QUERY_OLD = "--query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits"

SMI_580_TWO_H100 = """\
Thu Nov 13 10:12:31 2026       
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.159.04             Driver Version: 580.159.04     CUDA Version: 13.0     |
+-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA H100 80GB HBM3          On  |   00000000:18:00.0 Off |                    0 |
| N/A   27C    P0             69W /  700W |       0MiB /  81559MiB |      0%      Default |
|                                         |                        |             Disabled |
+-----------------------------------------+------------------------+----------------------+
|   1  NVIDIA H100 80GB HBM3          On  |   00000000:2A:00.0 Off |                    0 |
| N/A   29C    P0             71W /  700W |       0MiB /  81559MiB |      0%      Default |
|                                         |                        |             Disabled |
+-----------------------------------------+------------------------+----------------------+

+-----------------------------------------------------------------------------------------+
| Processes:                                                                              |
|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |
|        ID   ID                                                               Usage      |
|=========================================================================================|
|  No running processes found                                                             |
+-----------------------------------------------------------------------------------------+
"""  # noqa: W291  (nvidia-smi pads its first line with spaces)
SMI_580_TWO_H100_QUERY = """\
NVIDIA H100 80GB HBM3, 9.0, 81559, 580.159.04
NVIDIA H100 80GB HBM3, 9.0, 81559, 580.159.04
"""

# R610 drivers relabel the header: "KMD Version" and "CUDA UMD Version".
SMI_610_B200 = """\
Sun Jun  7 08:16:57 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 610.43.02              KMD Version: 610.43.02     CUDA UMD Version: 13.3     |
+-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA B200                    On  |   00000000:63:00.0 Off |                    0 |
| N/A   26C    P0            139W / 1000W |       0MiB / 183359MiB |      0%      Default |
|                                         |                        |             Disabled |
+-----------------------------------------+------------------------+----------------------+
"""
SMI_610_B200_QUERY = "NVIDIA B200, 10.0, 183359, 610.43.02\n"

# Drivers before 510 have no compute_cap field.
SMI_470_A10G = """\
Tue Sep  3 23:10:20 2024       
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 470.256.02   Driver Version: 470.256.02   CUDA Version: 11.4     |
|-------------------------------+----------------------+----------------------+
| GPU  Name        Persistence-M| Bus-Id        Disp.A | Volatile Uncorr. ECC |
| Fan  Temp  Perf  Pwr:Usage/Cap|         Memory-Usage | GPU-Util  Compute M. |
|                               |                      |               MIG M. |
|===============================+======================+======================|
|   0  NVIDIA A10G         On   | 00000000:00:1E.0 Off |                    0 |
|  0%   25C    P8     9W / 300W |      0MiB / 22731MiB |      0%      Default |
|                               |                      |                  N/A |
+-------------------------------+----------------------+----------------------+
"""  # noqa: W291
SMI_470_NO_COMPUTE_CAP = 'Field "compute_cap" is not a valid field to query.\n\n'
SMI_470_A10G_QUERY_OLD = "NVIDIA A10G, 22731, 470.256.02\n"

SMI_NO_DRIVER = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n\n"
)

FAKE_SMI = """\
#!/bin/sh
# Stand-in for nvidia-smi written by envlock's tests: replays recorded real output.
here=$(dirname "$0")
printf '%s\\n' "${CUDA_VISIBLE_DEVICES-<unset>}" >> "$here/seen-CUDA_VISIBLE_DEVICES"
case "$*" in
    "QUERY") name=query ;;
    "QUERY_OLD") name=query-old ;;
    "") name=plain ;;
    *) echo "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help."
       exit 2 ;;
esac
[ -f "$here/$name.out" ] || exit 2
cat "$here/$name.out"
exit "$(cat "$here/$name.rc")"
"""


def fake_nvidia_smi(directory: Path, **outputs: tuple[str, int]) -> Path:
    """Write the stand-in into ``directory`` with ``outputs`` (plain=, query=, query_old=:
    (output, exit status)); return ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "nvidia-smi"
    script.write_text(FAKE_SMI.replace("QUERY_OLD", QUERY_OLD).replace("QUERY", QUERY))
    script.chmod(0o755)
    for key, (text, rc) in outputs.items():
        name = key.replace("_", "-")
        (directory / f"{name}.out").write_text(text)
        (directory / f"{name}.rc").write_text(f"{rc}\n")
    return directory


def smi_probe(venv: Path, bin_dir: Path, cwd: Path, **env: str) -> dict[str, Any]:
    """The probe with the stand-in first on PATH. NVML and libcuda are absent here, so the
    probe falls back to nvidia-smi by itself; on a machine with a driver they are switched
    off."""
    args: dict[str, Any] = {"disable": ["nvml", "libcuda"]} if gpu_driver_present() else {}
    full_env = {"PATH": f"{bin_dir}:{SYSTEM_PATH}", **env}
    return run_cuda_probe(venv, venv.parent.parent, env=full_env, cwd=cwd, **args)


def test_two_h100s_through_nvidia_smi(venv: Path, tmp_path: Path) -> None:
    bin_dir = fake_nvidia_smi(
        tmp_path / "bin", plain=(SMI_580_TWO_H100, 0), query=(SMI_580_TWO_H100_QUERY, 0)
    )
    payload = smi_probe(venv, bin_dir, tmp_path, CUDA_VISIBLE_DEVICES="1")
    assert payload["driver"] == {
        "version": "580.159.04",
        "cuda_version": "13.0",
        "method": "nvidia-smi",
    }
    h100 = {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "memory_mib": 81559}
    # CUDA_VISIBLE_DEVICES=1 is recorded, and does not hide GPU 0 from the record.
    assert payload["gpus"] == [{"index": 0, **h100}, {"index": 1, **h100}]
    assert payload["gpus_method"] == "nvidia-smi"
    assert payload["visible_devices"] == "1"
    # nvidia-smi ran without the variable (both calls: the query and the header).
    seen = (bin_dir / "seen-CUDA_VISIBLE_DEVICES").read_text().split()
    assert seen == ["<unset>", "<unset>"]
    if not gpu_driver_present():
        assert any(n.startswith("nvml: libnvidia-ml.so.1") for n in payload["notes"])
        assert any(n.startswith("libcuda: libcuda.so.1") for n in payload["notes"])


def test_r610_header_labels(venv: Path, tmp_path: Path) -> None:
    bin_dir = fake_nvidia_smi(
        tmp_path / "bin", plain=(SMI_610_B200, 0), query=(SMI_610_B200_QUERY, 0)
    )
    payload = smi_probe(venv, bin_dir, tmp_path)
    assert payload["driver"] == {
        "version": "610.43.02",
        "cuda_version": "13.3",
        "method": "nvidia-smi",
    }
    assert payload["gpus"] == [
        {"index": 0, "name": "NVIDIA B200", "compute_capability": "10.0", "memory_mib": 183359}
    ]
    assert payload["visible_devices"] is None


def test_old_driver_without_compute_cap(venv: Path, tmp_path: Path) -> None:
    bin_dir = fake_nvidia_smi(
        tmp_path / "bin",
        plain=(SMI_470_A10G, 0),
        query=(SMI_470_NO_COMPUTE_CAP, 2),
        query_old=(SMI_470_A10G_QUERY_OLD, 0),
    )
    payload = smi_probe(venv, bin_dir, tmp_path)
    assert payload["driver"] == {
        "version": "470.256.02",
        "cuda_version": "11.4",
        "method": "nvidia-smi",
    }
    assert payload["gpus"] == [
        {"index": 0, "name": "NVIDIA A10G", "compute_capability": None, "memory_mib": 22731}
    ]
    assert "nvidia-smi: this driver cannot report compute_cap" in payload["notes"]


def test_nvidia_smi_without_a_driver(venv: Path, tmp_path: Path) -> None:
    bin_dir = fake_nvidia_smi(tmp_path / "bin", plain=(SMI_NO_DRIVER, 9), query=(SMI_NO_DRIVER, 9))
    payload = smi_probe(venv, bin_dir, tmp_path)
    assert payload["driver"] is None
    assert payload["gpus"] == [] and payload["gpus_method"] is None
    assert any(
        n.startswith("nvidia-smi: exit status 9: NVIDIA-SMI has failed") for n in payload["notes"]
    )


def test_a_hanging_nvidia_smi_is_killed(venv: Path, tmp_path: Path) -> None:
    """nvidia-smi can hang on a wedged GPU: the probe gives up on it after ``timeout_s``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nexec sleep 60\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    args: dict[str, Any] = {"disable": ["nvml", "libcuda"]} if gpu_driver_present() else {}
    start = time.monotonic()
    payload = run_cuda_probe(
        venv,
        venv.parent.parent,
        env={"PATH": f"{bin_dir}:{SYSTEM_PATH}"},
        cwd=tmp_path,
        timeout_s=1,
        **args,
    )
    assert time.monotonic() - start < 30
    assert payload["driver"] is None and payload["gpus"] == []
    assert "nvidia-smi: nvidia-smi did not finish in 1 s" in payload["notes"]


def test_no_gpu_anywhere(venv: Path, tmp_path: Path) -> None:
    if gpu_driver_present():
        pytest.skip("this machine has an NVIDIA driver")
    payload = run_cuda_probe(venv, venv.parent.parent, env={"PATH": SYSTEM_PATH}, cwd=tmp_path)
    assert (payload["driver"], payload["gpus"], payload["gpus_method"]) == (None, [], None)
    assert "nvidia-smi: not found" in payload["notes"]


def test_watch_lists_what_the_answer_came_from(
    venv: Path, cudart_cu12_wheel: Path, tmp_path: Path
) -> None:
    """``watch`` (verify's memo): the library the forked child loaded and its folder, the
    folders listed, the paths only looked at; and which interfaces to a driver exist."""
    if gpu_driver_present():
        pytest.skip("this machine has an NVIDIA driver")
    pip_install(venv, str(cudart_cu12_wheel))
    prefix = venv.parent.parent
    payload = run_cuda_probe(venv, prefix, env={"PATH": SYSTEM_PATH}, cwd=tmp_path, watch=True)
    watched = payload["watched"]
    assert watched["complete"] is True and watched["driver"] == []
    lib_dir = site_packages(venv) / "nvidia" / "cuda_runtime" / "lib"
    assert {str(lib_dir / "libcudart.so.12"), str(lib_dir), str(site_packages(venv))} <= set(
        watched["files"]
    )
    assert "/usr/bin/nvidia-smi" in watched["looked"] + watched["files"]
    assert "watched" not in run_cuda_probe(venv, prefix, env={"PATH": SYSTEM_PATH}, cwd=tmp_path)

    bin_dir = fake_nvidia_smi(tmp_path / "bin", plain=("", 9), query=("", 9))
    path = f"{bin_dir}:{SYSTEM_PATH}"
    smi = run_cuda_probe(venv, prefix, env={"PATH": path}, cwd=tmp_path, watch=True)
    assert smi["watched"]["driver"] == ["nvidia-smi"]  # there, even though it fails
    off = run_cuda_probe(venv, prefix, env={"PATH": SYSTEM_PATH}, watch=True, disable=["nvml"])
    assert off["watched"]["driver"] == ["nvml"]  # not asked: unknown


# --------------------------------------------------------------------------------------------
# Frameworks: read, never imported
# --------------------------------------------------------------------------------------------


def test_torch_is_read_not_imported(venv: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "torch").mkdir(parents=True)
    sentinel = tmp_path / "torch-was-imported"
    (site / "torch" / "__init__.py").write_text(
        f"open({str(sentinel)!r}, 'w').close()\nraise ImportError('importing torch is slow')\n"
    )
    (site / "torch" / "version.py").write_text(TORCH_214_CU130)
    payload = run_cuda_probe(venv, venv.parent.parent, env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert not sentinel.exists()
    assert payload["frameworks"] == {
        "torch": {
            "version": "2.14.1+cu130",
            "cuda": "13.0",
            "git_version": "5c4886908584029761b579af026dcfb627c84070",
            "build": "cuda",
            "method": "torch/version.py",
        }
    }


def test_a_cpu_torch_where_the_lockfile_has_a_cuda_one_is_drift(venv: Path, tmp_path: Path) -> None:
    """torch/version.py says ``cuda = None`` for a CPU build: that is measured, not unknown.
    The lockfile kept only the CUDA side, so a CUDA torch swapped for a CPU one (or back)
    with the same version string verified as 'matches'."""
    torch = site_packages(venv) / "torch"
    torch.mkdir()
    (torch / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    env = {k: v for k, v in os.environ.items() if k not in (*STEERING, "VIRTUAL_ENV")}
    env.update(ENVLOCK_CACHE_DIR="off")
    cuda_lock, cpu_lock = tmp_path / "cuda.yaml", tmp_path / "cpu.yaml"
    for lock, text in ((cuda_lock, TORCH_214_CU130), (cpu_lock, TORCH_213_CPU)):
        text = re.sub(r"__version__ = '[^']*'", "__version__ = '2.13.0'", text)
        (torch / "version.py").write_text(text)  # one version string, two builds
        done = envlock("capture", "--python", str(venv), str(lock), cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr

    def findings(*args: str) -> list[tuple[str, str, str, str, str]]:
        done = envlock(*args, "--format", "json", cwd=tmp_path, env=env)
        report = json.loads(done.stdout)
        assert done.returncode == report["exit_code"], done.stderr
        return [
            (f["category"], f["subject"], f["expected"], f["actual"], f["severity"])
            for f in report["findings"]
        ]

    frameworks = next(iter(read_yaml(cpu_lock)["environments"].values()))["cuda"]["frameworks"]
    assert frameworks["torch"]["build"] == "cpu" and "cuda" not in frameworks["torch"]
    # The live torch is the CPU build: against the CUDA lockfile that is an error.
    assert findings("verify", "--python", str(venv), str(cuda_lock)) == [
        ("cuda", "torch.build", "CUDA 13.0", "CPU", "error")
    ]
    assert findings("diff", str(cpu_lock), str(cuda_lock)) == [
        ("cuda", "torch.build", "CPU", "CUDA 13.0", "error")
    ]
    assert findings("verify", "--python", str(venv), str(cpu_lock)) == []
    done = envlock("verify", "--python", str(venv), str(cuda_lock), cwd=tmp_path, env=env)
    assert "fix: install the torch build for CUDA 13.0, or re-run" in done.stdout
    for lock, build in ((cuda_lock, "CUDA 13.0"), (cpu_lock, "CPU")):
        shown = envlock("show", str(lock), cwd=tmp_path, env=env).stdout
        assert f"torch built for {build}\n" in shown, shown


def test_torch_version_py_from_the_real_wheel(venv: Path, tmp_path: Path) -> None:
    """torch/version.py as the torch 2.13.0 wheel has it, if pip can get the wheel offline
    (from this machine's find-links; never from an index)."""
    dest = tmp_path / "download"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-index", "--no-deps", "-q",
         "--disable-pip-version-check", "-d", str(dest), "torch==2.13.0"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    wheels = sorted(dest.glob("torch-2.13.0*.whl"))
    if done.returncode != 0 or not wheels:
        pytest.skip("no torch 2.13.0 wheel available offline: " + done.stderr.strip()[-200:])
    site = tmp_path / "site"
    extract(wheels[0], site, "torch/version.py")
    (site / "torch" / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    payload = run_cuda_probe(venv, venv.parent.parent, env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    torch = payload["frameworks"]["torch"]
    local_version = wheels[0].name.split("-")[1]  # 2.13.0+cpu
    assert torch["version"] == local_version
    assert torch["method"] == "torch/version.py"
    assert torch["cuda"] == (None if local_version.endswith("+cpu") else torch["cuda"])


def test_jax_and_cupy_from_their_distributions(venv: Path, tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    for name, version in [
        ("jax", "0.4.30"),
        ("jaxlib", "0.4.30"),
        ("jax-cuda12-plugin", "0.4.30"),
        ("jax-cuda12-pjrt", "0.4.30"),
        ("cupy-cuda12x", "13.3.0"),
    ]:
        build_wheel(wheelhouse, name, version)
    pip_install(venv, *(str(w) for w in sorted(wheelhouse.glob("*.whl"))))
    payload = run_cuda_probe(venv, venv.parent.parent, cwd=tmp_path)
    assert payload["frameworks"] == {
        "jax": {
            "version": "0.4.30",
            "jaxlib": "0.4.30",
            "jax-cuda12-pjrt": "0.4.30",
            "jax-cuda12-plugin": "0.4.30",
            "cuda": "12",
            "method": "dist-info",
        },
        "cupy": {"version": "13.3.0", "package": "cupy-cuda12x", "cuda": "12",
                 "method": "dist-info"},
    }  # fmt: skip
