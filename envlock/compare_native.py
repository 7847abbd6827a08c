"""Pure comparison of the native layer.

BLAS: libraries are matched by API (blas, lapack, openmp). A different vendor is an error;
a different version or kernel architecture is an error (it changes results); threading layer
and thread count are warnings. Only runtime observations are compared with each other: a
static read says nothing about what loads.

CUDA: runtime and cuDNN changes are errors, driver and GPU model changes warnings, CUDA in the
lockfile and absent live an error; a runtime, cuDNN or NCCL of the machine (not a pip or conda
package) that no framework in the lockfile is built for is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from envlock.findings import ERROR, INFO, RECAPTURE, WARNING, Finding
from envlock.model import Environment
from envlock.nativemodel import (
    CUDA_COMPONENTS,
    BlasLibrary,
    BlasSection,
    CudaSection,
    framework_build,
)

_BLAS_FIELDS = (
    ("version", ERROR),
    ("architecture", ERROR),
    ("threading", WARNING),
    ("num_threads", WARNING),
)
_CUDA_SEVERITY = {
    "driver": WARNING,
    "runtime": ERROR,
    "cudnn": ERROR,
    "nccl": ERROR,
    "toolkit": WARNING,
}


def native_findings(expected: Environment, actual: Environment) -> Iterator[Finding]:
    if expected.blas is not None and actual.blas is not None:
        yield from _blas(expected.blas, actual.blas)
    if expected.cuda is not None and actual.cuda is not None:
        yield from _cuda(expected.cuda, actual.cuda)


def _by_api(section: BlasSection) -> dict[str, list[BlasLibrary]]:
    grouped: dict[str, list[BlasLibrary]] = {}
    for lib in section.libraries:
        grouped.setdefault(lib.api, []).append(lib)
    return grouped


def _vendors(libs: list[BlasLibrary]) -> str:
    return ", ".join(sorted({lib.vendor for lib in libs})) or "(none)"


def _blas(exp: BlasSection, act: BlasSection) -> Iterator[Finding]:
    if exp.method != "runtime" or not (exp.libraries or exp.imported):
        return  # nothing was measured at capture (numpy was not installed)
    if act.method != "runtime":
        yield Finding(
            "blas",
            "libraries",
            "measured at capture",
            "not measured",
            INFO,
            "could not compare the loaded BLAS: numpy was not imported here (--no-runtime, a "
            "files-only read, or the probe failed: see the notes)",
        )
        return
    exp_api, act_api = _by_api(exp), _by_api(act)
    for api in sorted(exp_api.keys() | act_api.keys()):
        e_libs, a_libs = exp_api.get(api, []), act_api.get(api, [])
        if {lib.vendor for lib in e_libs} != {lib.vendor for lib in a_libs}:
            fix = _preload_hint(e_libs, a_libs) or _hint(None)
            yield Finding("blas", f"{api}.vendor", _vendors(e_libs), _vendors(a_libs), ERROR, fix)
            continue
        # Several libraries of one vendor (numpy's and scipy's OpenBLAS): pair them by who
        # loaded them, then by vendor, and name the loader in the subject.
        a_by_loader = {(lib.vendor, lib.loaded_by): lib for lib in a_libs}
        a_by_vendor = {lib.vendor: lib for lib in a_libs}
        loaders: dict[str, set[str | None]] = {}
        for e in e_libs:
            loaders.setdefault(e.vendor, set()).add(e.loaded_by)
        shared = {vendor for vendor, by in loaders.items() if len(by) > 1}
        for e in e_libs:
            a = a_by_loader.get((e.vendor, e.loaded_by)) or a_by_vendor[e.vendor]
            which = f"{e.vendor}[{e.loaded_by}]" if e.vendor in shared and e.loaded_by else e.vendor
            for attr, severity in _BLAS_FIELDS:
                e_value, a_value = getattr(e, attr), getattr(a, attr)
                if e_value is None or a_value is None or e_value == a_value:
                    continue
                fix = _hint(e.loaded_by)
                if attr == "num_threads":
                    variable = _threads_variable(e)
                    fix = f"set {variable}={e_value} ({e.vendor} reads it first), or {RECAPTURE}"
                elif attr == "architecture" and e.vendor == "openblas":
                    fix = f"OPENBLAS_CORETYPE={e_value} selects that kernel, or {RECAPTURE}"
                yield Finding(
                    "blas", f"{api}.{which}.{attr}", str(e_value), str(a_value), severity, fix
                )


# The variable each library reads its thread count from before any other: OpenBLAS reads
# OPENBLAS_NUM_THREADS before OMP_NUM_THREADS (an OpenMP build reads only OMP_NUM_THREADS),
# MKL reads MKL_NUM_THREADS first, BLIS BLIS_NUM_THREADS, Accelerate VECLIB_MAXIMUM_THREADS.
_THREADS_VARIABLES = {
    "openblas": "OPENBLAS_NUM_THREADS",
    "mkl": "MKL_NUM_THREADS",
    "blis": "BLIS_NUM_THREADS",
    "accelerate": "VECLIB_MAXIMUM_THREADS",
}


def _threads_variable(lib: BlasLibrary) -> str:
    if lib.vendor == "openblas" and lib.threading == "openmp":
        return "OMP_NUM_THREADS"
    return _THREADS_VARIABLES.get(lib.vendor, "OMP_NUM_THREADS")


def _preload_hint(e_libs: list[BlasLibrary], a_libs: list[BlasLibrary]) -> str | None:
    """The fix when a vendor that came or went was in the process's map before numpy was
    imported (mapped, ``loaded_by`` unset): LD_PRELOAD put it there, no package envlock names."""
    e_vendors = {lib.vendor for lib in e_libs}
    a_vendors = {lib.vendor for lib in a_libs}
    came = sorted({lib.vendor for lib in a_libs if lib.vendor not in e_vendors and _preloaded(lib)})
    went = sorted({lib.vendor for lib in e_libs if lib.vendor not in a_vendors and _preloaded(lib)})
    if came:
        return (
            f"{', '.join(came)} was loaded before numpy was imported (LD_PRELOAD): remove it "
            f"from LD_PRELOAD, or {RECAPTURE}"
        )
    if went:
        return (
            f"the lockfile's {', '.join(went)} was loaded before numpy was imported "
            f"(LD_PRELOAD): preload it again, or {RECAPTURE}"
        )
    return None


def _preloaded(lib: BlasLibrary) -> bool:
    return lib.loaded_by is None and "maps" in lib.detected_by


def _hint(loaded_by: str | None) -> str:
    """How to get the recorded BLAS back: a pip wheel bundles its own (numpy's, scipy's)."""
    wheel = loaded_by if loaded_by in ("numpy", "scipy") else "numpy"
    return (
        "install the BLAS the lockfile records (conda: the libblas build string, e.g. "
        f"'libblas=*=*openblas'; pip: the {wheel} wheel), or {RECAPTURE}"
    )


_MACHINE_LIBRARIES = ("runtime", "cudnn", "nccl")


def _machines(exp: CudaSection, name: str) -> str | None:
    """Where the lockfile's CUDA library ``name`` came from, when that is the machine (a
    toolkit in /usr/local/cuda, CUDA_HOME, the dynamic loader), not the environment (a pip
    wheel, a conda package), and no framework the lockfile records (torch, jax, cupy) was
    built for CUDA: nothing recorded loads it, so a change is a warning. None otherwise."""
    part = exp.component(name)
    if name not in _MACHINE_LIBRARIES or part is None:
        return None
    if (part.source or "").startswith(("pip", "conda")):
        return None
    if any(info.get("cuda") or info.get("build") == "cuda" for info in exp.frameworks.values()):
        return None
    return part.source or "system"


def _cuda(exp: CudaSection, act: CudaSection) -> Iterator[Finding]:
    for name in CUDA_COMPONENTS:
        e, a = exp.component(name), act.component(name)
        if e is None:
            continue
        machines = _machines(exp, name)
        why = (
            f" (this machine's, from {machines}: no framework in the lockfile is built for "
            "CUDA, so a warning)"
            if machines
            else ""
        )
        if a is None:
            severity = ERROR if name in ("runtime", "cudnn", "driver") else WARNING
            yield Finding(
                "cuda",
                name,
                e.version,
                None,
                WARNING if machines else severity,
                f"the lockfile has CUDA {name} {e.version}{why}; install it, or {RECAPTURE}",
            )
        elif e.version is None or a.version is None:
            if e.version != a.version:
                yield Finding(
                    "cuda",
                    name,
                    e.version,
                    a.version,
                    INFO,
                    f"could not compare CUDA {name}: its version could not be read on one side "
                    "(see the lockfile's and this capture's notes)",
                )
        elif e.version != a.version:
            yield Finding(
                "cuda",
                name,
                e.version,
                a.version,
                WARNING if machines else _CUDA_SEVERITY[name],
                f"install CUDA {name} {e.version}{why}, or {RECAPTURE}",
            )
    e_gpus = [g.name for g in exp.gpus]
    a_gpus = [g.name for g in act.gpus]
    if e_gpus and e_gpus != a_gpus:
        yield Finding(
            "cuda",
            "gpus",
            ", ".join(e_gpus),
            ", ".join(a_gpus) or None,
            WARNING,
            "another GPU model can change results (TF32, kernels chosen by cuBLAS/cuDNN); "
            f"run on the model the lockfile records, or {RECAPTURE}",
        )
    for fw in sorted(exp.frameworks.keys() & act.frameworks.keys()):
        e_cuda, a_cuda = exp.frameworks[fw].get("cuda"), act.frameworks[fw].get("cuda")
        # A CUDA version says the build too (a lockfile from before builds were recorded).
        e_build = exp.frameworks[fw].get("build") or ("cuda" if e_cuda else None)
        a_build = act.frameworks[fw].get("build") or ("cuda" if a_cuda else None)
        if e_build and a_build and e_build != a_build:  # a CUDA build and a CPU one
            e_label = framework_build(exp.frameworks[fw]) or e_build
            a_label = framework_build(act.frameworks[fw]) or a_build
            yield Finding(
                "cuda",
                f"{fw}.build",
                e_label,
                a_label,
                ERROR,
                f"install the {fw} build for {e_label}, or {RECAPTURE}",
            )
        elif e_cuda and a_cuda and e_cuda != a_cuda:
            yield Finding(
                "cuda",
                f"{fw}.cuda",
                e_cuda,
                a_cuda,
                ERROR,
                f"install the {fw} build for CUDA {e_cuda}, or {RECAPTURE}",
            )
