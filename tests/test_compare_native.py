"""The native layer's drift rules, on hand-built sections (the probes are tested on real
libraries in test_blas_probe.py and test_cuda_probe.py)."""

from __future__ import annotations

from dataclasses import replace

from test_compare import BASE

from envlock.compare import compare
from envlock.nativemodel import BlasLibrary, BlasSection, CudaComponent, CudaSection, Gpu

OPENBLAS = BlasLibrary("blas", "openblas", "0.3.27", "Haswell", "pthreads", 2, "numpy.libs/x.so")
GOMP = BlasLibrary("openmp", "libgomp", None, None, None, 2, "/usr/lib/libgomp.so.1")
BLAS = BlasSection(method="runtime", libraries=(OPENBLAS, GOMP))
CUDA = CudaSection(
    driver=CudaComponent("550.54.15", "nvml", cuda_version="12.4"),
    runtime=CudaComponent("12.4", "cudaRuntimeGetVersion", source="pip nvidia-cuda-runtime-cu12"),
    cudnn=CudaComponent("9.1.0", "cudnnGetVersion"),
    gpus=(Gpu("NVIDIA H100 80GB HBM3", "9.0", 81559),),
    frameworks={"torch": {"version": "2.3.0", "cuda": "12.1"}},
)
LOCKED = replace(BASE, blas=BLAS, cuda=CUDA)


def brief(live: object) -> list[tuple[str, str, str | None, str | None, str]]:
    return [
        (f.category, f.subject, f.expected, f.actual, f.severity)
        for f in compare(LOCKED, live)  # type: ignore[arg-type]
    ]


def test_same_native_layer_is_clean() -> None:
    assert compare(LOCKED, LOCKED) == []


def test_blas_vendor_change_is_an_error() -> None:
    mkl = BlasLibrary("blas", "mkl", "2024.1", None, "intel", 2, "lib/libmkl_rt.so.2")
    live = replace(LOCKED, blas=replace(BLAS, libraries=(mkl, GOMP)))
    assert brief(live) == [("blas", "blas.vendor", "openblas", "mkl", "error")]


def test_blas_version_and_kernel_are_errors_threads_warnings() -> None:
    other = replace(OPENBLAS, version="0.3.28", architecture="SkylakeX", num_threads=8)
    live = replace(LOCKED, blas=replace(BLAS, libraries=(other, GOMP)))
    assert brief(live) == [
        ("blas", "blas.openblas.architecture", "Haswell", "SkylakeX", "error"),
        ("blas", "blas.openblas.num_threads", "2", "8", "warning"),
        ("blas", "blas.openblas.version", "0.3.27", "0.3.28", "error"),
    ]
    arch = next(f for f in compare(LOCKED, live) if f.subject.endswith("architecture"))
    assert arch.hint.startswith("OPENBLAS_CORETYPE=Haswell")


def test_two_libraries_of_one_vendor_are_told_apart_by_who_loaded_them() -> None:
    """numpy's and scipy's wheels each bundle an OpenBLAS: a finding names the one that
    changed, and its fix the wheel that brings it back."""
    numpy_blas = replace(OPENBLAS, version="0.3.31", loaded_by="numpy")
    scipy_blas = replace(OPENBLAS, version="0.3.30", file="scipy.libs/y.so", loaded_by="scipy")
    locked = replace(LOCKED, blas=replace(BLAS, libraries=(numpy_blas, scipy_blas, GOMP)))
    live = replace(
        locked,
        blas=replace(
            BLAS,
            libraries=(
                replace(numpy_blas, version="0.3.30"),
                replace(scipy_blas, version="0.3.29"),
                GOMP,
            ),
        ),
    )
    found = compare(locked, live)
    assert [(f.subject, f.expected, f.actual) for f in found] == [
        ("blas.openblas[numpy].version", "0.3.31", "0.3.30"),
        ("blas.openblas[scipy].version", "0.3.30", "0.3.29"),
    ]
    assert "pip: the numpy wheel" in found[0].hint
    assert "pip: the scipy wheel" in found[1].hint
    # Debian's numpy loads libblas.so.3 and the OpenBLAS behind it: one loader, no label
    wrapper = replace(OPENBLAS, file="libblas.so.3", loaded_by="numpy")
    debian = replace(BLAS, libraries=(wrapper, replace(wrapper, file="libopenblasp.so")))
    locked = replace(LOCKED, blas=debian)
    newer = tuple(replace(lib, version="0.3.28") for lib in debian.libraries)
    found = compare(locked, replace(locked, blas=replace(debian, libraries=newer)))
    assert [f.subject for f in found] == ["blas.openblas.version"]


def test_static_blas_is_never_compared_with_runtime_but_said_so() -> None:
    live = replace(LOCKED, blas=BlasSection(method="static"))
    assert brief(live) == [("blas", "libraries", "measured at capture", "not measured", "info")]


def test_unknown_cuda_version_is_not_drift_but_said_so() -> None:
    unknown = replace(CUDA, cudnn=CudaComponent(None, "cudnnGetVersion", library="lib/x.so"))
    assert brief(replace(LOCKED, cuda=unknown)) == [("cuda", "cudnn", "9.1.0", None, "info")]
    locked = replace(LOCKED, cuda=unknown)
    assert [f.severity for f in compare(locked, LOCKED)] == ["info"]


def test_cuda_rules() -> None:
    live_cuda = replace(
        CUDA,
        driver=CudaComponent("560.28.03", "nvidia-smi", cuda_version="12.6"),
        runtime=CudaComponent("12.6", "cudaRuntimeGetVersion"),
        cudnn=None,
        gpus=(Gpu("NVIDIA A100-SXM4-80GB", "8.0", 81920),),
        frameworks={"torch": {"version": "2.3.0", "cuda": "12.4"}},
    )
    assert brief(replace(LOCKED, cuda=live_cuda)) == [
        ("cuda", "cudnn", "9.1.0", None, "error"),
        ("cuda", "driver", "550.54.15", "560.28.03", "warning"),
        ("cuda", "gpus", "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "warning"),
        ("cuda", "runtime", "12.4", "12.6", "error"),
        ("cuda", "torch.cuda", "12.1", "12.4", "error"),
    ]


def test_cuda_in_lockfile_and_absent_live_is_an_error() -> None:
    findings = brief(replace(LOCKED, cuda=CudaSection()))
    assert ("cuda", "runtime", "12.4", None, "error") in findings
    assert ("cuda", "driver", "550.54.15", None, "error") in findings


def test_the_machines_cuda_that_nothing_recorded_is_built_for_is_a_warning() -> None:
    """A numpy-only environment captured on a GPU box records /usr/local/cuda's runtime: on a
    CI runner or a laptop without it, that is a warning, not a failure. The same runtime
    with a CUDA torch in the lockfile, or a runtime from a pip wheel, stays an error."""
    toolkit = CudaComponent("13.0", "cudaRuntimeGetVersion", source="/usr/local/cuda")
    machine = CudaSection(runtime=toolkit, cudnn=replace(toolkit, version="9.1.0", source="system"))
    cpu_torch = {"torch": {"version": "2.13.0", "build": "cpu"}}
    for frameworks in ({}, cpu_torch):
        locked = replace(BASE, cuda=replace(machine, frameworks=frameworks))
        absent = compare(
            locked, replace(locked, cuda=replace(CudaSection(), frameworks=frameworks))
        )
        assert [(f.subject, f.severity) for f in absent] == [
            ("cudnn", "warning"),
            ("runtime", "warning"),
        ]
        assert "this machine's, from /usr/local/cuda: no framework" in absent[1].hint
        other = replace(machine, runtime=replace(toolkit, version="12.8"), frameworks=frameworks)
        changed = compare(locked, replace(locked, cuda=other))
        assert [(f.subject, f.severity) for f in changed] == [("runtime", "warning")]
    cuda_torch = replace(machine, frameworks={"torch": {"version": "2.13.0", "cuda": "13.0"}})
    locked = replace(BASE, cuda=cuda_torch)
    absent = compare(
        locked, replace(locked, cuda=replace(CudaSection(), frameworks=cuda_torch.frameworks))
    )
    assert {(f.subject, f.severity) for f in absent} == {("cudnn", "error"), ("runtime", "error")}
    pip_runtime = replace(
        BASE, cuda=CudaSection(runtime=replace(toolkit, source="pip nvidia-cuda-runtime"))
    )
    assert [f.severity for f in compare(pip_runtime, replace(BASE, cuda=CudaSection()))] == [
        "error"
    ]


def test_cuda_not_captured_live_is_not_drift() -> None:
    assert brief(replace(LOCKED, cuda=None)) == []


def test_a_framework_build_is_compared_only_where_both_sides_know_it() -> None:
    cuda_torch = {"version": "2.3.0", "cuda": "12.1", "build": "cuda"}
    cpu_torch = {"version": "2.3.0", "build": "cpu"}
    locked = replace(LOCKED, cuda=replace(CUDA, frameworks={"torch": cuda_torch}))
    live = replace(LOCKED, cuda=replace(CUDA, frameworks={"torch": cpu_torch}))
    assert [(f.subject, f.expected, f.actual, f.severity) for f in compare(locked, live)] == [
        ("torch.build", "CUDA 12.1", "CPU", "error")
    ]
    # A lockfile written before builds were recorded: its CUDA version says the build ...
    assert [(f.subject, f.expected, f.actual) for f in compare(LOCKED, live)] == [
        ("torch.build", "CUDA 12.1", "CPU")
    ]
    # ... and a CPU torch in it, with neither, is unknown: never drift.
    old_cpu = replace(LOCKED, cuda=replace(CUDA, frameworks={"torch": {"version": "2.3.0"}}))
    assert compare(old_cpu, locked) == []
    assert compare(live, replace(LOCKED, cuda=replace(CUDA, frameworks={}))) == []


def test_the_ld_preload_fix_only_for_a_library_mapped_before_the_imports() -> None:
    iomp = BlasLibrary("openmp", "libiomp", None, None, None, 2, "lib/libiomp5.so")
    preloaded = replace(iomp, detected_by=("maps", "symbols"))
    for lib, preload in ((preloaded, True), (iomp, False)):  # iomp: threadpoolctl only (macOS)
        live = replace(LOCKED, blas=replace(BLAS, libraries=(OPENBLAS, lib)))
        (finding,) = compare(LOCKED, live)
        assert finding.subject == "openmp.vendor"
        assert ("LD_PRELOAD" in finding.hint) is preload, finding.hint
