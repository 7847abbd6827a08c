"""The native layer of a lockfile environment: the BLAS / LAPACK / OpenMP libraries actually
loaded (and the static hints that need no import), and CUDA: driver, runtime, toolkit, cuDNN,
NCCL, GPUs, and what the frameworks were built against. Every value says how it was
obtained; a section that is absent was not captured, and is never compared."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from envlock.reader import Strict, compact

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

APIS = ("blas", "lapack", "openmp")
_LIBRARY_KEYS = frozenset(
    {"api", "vendor", "version", "architecture", "threading", "num_threads", "file"}
    | {"loaded_by", "detected_by"}
)
_BLAS_KEYS = frozenset(
    {"method", "imported", "libraries", "hints", "build", "cpu_features", "notes"}
)
_COMPONENT_KEYS = frozenset({"version", "cuda_version", "library", "source", "method"})
_CUDA_KEYS = frozenset(
    {"method", "gpus", "gpus_method", "visible_devices", "frameworks", "notes"}
    | {"driver", "runtime", "toolkit", "cudnn", "nccl"}
)


@dataclass(frozen=True)
class BlasLibrary:
    """One BLAS, LAPACK or OpenMP library: loaded (runtime) or found on disk (static)."""

    api: str  # blas, lapack, openmp
    vendor: str
    version: str | None = None
    architecture: str | None = None  # OpenBLAS core, BLIS arch
    threading: str | None = None
    num_threads: int | None = None
    file: str | None = None
    loaded_by: str | None = None
    detected_by: tuple[str, ...] = ()

    def key(self) -> tuple[str, str, str]:
        return (self.api, self.vendor, self.file or "")

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "api": self.api,
                "vendor": self.vendor,
                "version": self.version,
                "architecture": self.architecture,
                "threading": self.threading,
                "num_threads": self.num_threads,
                "file": self.file,
                "loaded_by": self.loaded_by,
                "detected_by": list(self.detected_by) or None,
            }
        )

    @classmethod
    def from_dict(cls, data: object, path: str) -> BlasLibrary:
        r = Strict(data, path, _LIBRARY_KEYS)
        return cls(
            api=r.required_choice("api", APIS),
            vendor=r.require("vendor", str),
            version=r.get("version", str),
            architecture=r.get("architecture", str),
            threading=r.get("threading", str),
            num_threads=r.get("num_threads", int),
            file=r.get("file", str),
            loaded_by=r.get("loaded_by", str),
            detected_by=r.strings("detected_by") or (),
        )


@dataclass(frozen=True)
class BlasSection:
    """The BLAS, LAPACK and OpenMP an environment's numerics run on, and how that was learned."""

    method: str  # runtime: numpy was imported in a child process; static: file hints only
    libraries: tuple[BlasLibrary, ...] = ()
    hints: tuple[Mapping[str, str], ...] = ()  # conda builds, wheel-bundled libraries, ...
    imported: Mapping[str, str] = field(default_factory=dict)  # module -> version
    build: Mapping[str, Any] | None = None  # numpy's build configuration: not what is loaded
    cpu_features: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "libraries", tuple(sorted(self.libraries, key=BlasLibrary.key)))

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "method": self.method,
                "imported": dict(sorted(self.imported.items())) or None,
                "libraries": [lib.to_dict() for lib in self.libraries],
                "hints": [dict(sorted(h.items())) for h in self.hints] or None,
                "build": self.build,
                "cpu_features": self.cpu_features,
                "notes": list(self.notes) or None,
            }
        )

    @classmethod
    def from_dict(cls, data: object, path: str) -> BlasSection:
        r = Strict(data, path, _BLAS_KEYS)
        method = r.required_choice("method", ("runtime", "static"))
        r.require("libraries", list)
        libraries = [
            BlasLibrary.from_dict(item, f"{r.where('libraries')}[{i}]")
            for i, item in enumerate(r.get("libraries", list) or [])
        ]
        hints = []
        for i, item in enumerate(r.get("hints", list) or []):
            h = Strict(item, f"{r.where('hints')}[{i}]")
            hints.append({str(k): h.require(str(k), str) for k in h.data})
        return cls(
            method=method,
            libraries=tuple(libraries),
            hints=tuple(hints),
            imported=r.string_map("imported"),
            build=r.get("build", dict),
            cpu_features=r.get("cpu_features", dict),
            notes=r.strings("notes") or (),
        )


@dataclass(frozen=True)
class CudaComponent:
    """One piece: driver, runtime, toolkit, cuDNN or NCCL. Found with ``version`` ``None``:
    it is there, but its version could not be read (unknown, never compared)."""

    version: str | None
    method: str
    library: str | None = None  # relative to the prefix when inside it
    source: str | None = None  # pip wheel, conda package, CUDA_HOME, ...
    cuda_version: str | None = None  # the driver's supported CUDA version

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "version": self.version,
                "cuda_version": self.cuda_version,
                "library": self.library,
                "source": self.source,
                "method": self.method,
            }
        )

    @classmethod
    def from_dict(cls, data: object, path: str) -> CudaComponent:
        r = Strict(data, path, _COMPONENT_KEYS)
        return cls(
            version=r.get("version", str),
            method=r.require("method", str),
            library=r.get("library", str),
            source=r.get("source", str),
            cuda_version=r.get("cuda_version", str),
        )


@dataclass(frozen=True)
class Gpu:
    """One GPU as the driver reports it."""

    name: str
    compute_capability: str | None = None
    memory_mib: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "name": self.name,
                "compute_capability": self.compute_capability,
                "memory_mib": self.memory_mib,
            }
        )

    @classmethod
    def from_dict(cls, data: object, path: str) -> Gpu:
        r = Strict(data, path, frozenset({"name", "compute_capability", "memory_mib"}))
        return cls(
            name=r.require("name", str),
            compute_capability=r.get("compute_capability", str),
            memory_mib=r.get("memory_mib", int),
        )


CUDA_COMPONENTS = ("driver", "runtime", "toolkit", "cudnn", "nccl")
_BUILDS = {"cuda": "CUDA", "rocm": "ROCm", "xpu": "XPU", "cpu": "CPU"}


def framework_build(info: Mapping[str, str]) -> str | None:
    """What a framework was built for, as a user reads it ('CUDA 12.8', 'CPU'), or None when
    unknown: ``build`` is recorded for torch (from torch/version.py), ``cuda`` for all."""
    build, cuda = info.get("build"), info.get("cuda")
    if cuda and build in (None, "cuda"):
        return f"CUDA {cuda}"
    return _BUILDS.get(build, build) if build else None


@dataclass(frozen=True)
class CudaSection:
    """What was found. A component that is ``None`` was looked for and is absent; one whose
    version is ``None`` is present with an unknown version."""

    method: str = "runtime"
    driver: CudaComponent | None = None
    runtime: CudaComponent | None = None
    toolkit: CudaComponent | None = None
    cudnn: CudaComponent | None = None
    nccl: CudaComponent | None = None
    gpus: tuple[Gpu, ...] = ()
    gpus_method: str | None = None
    visible_devices: str | None = None
    frameworks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def component(self, name: str) -> CudaComponent | None:
        value: CudaComponent | None = getattr(self, name)
        return value

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method}
        frameworks = {k: dict(sorted(v.items())) for k, v in sorted(self.frameworks.items())}
        for name in CUDA_COMPONENTS:
            part = self.component(name)
            if part is not None:
                data[name] = part.to_dict()
        data.update(
            compact(
                {
                    "gpus": [g.to_dict() for g in self.gpus] or None,
                    "gpus_method": self.gpus_method,
                    "visible_devices": self.visible_devices,
                    "frameworks": frameworks or None,
                    "notes": list(self.notes) or None,
                }
            )
        )
        return data

    @classmethod
    def from_dict(cls, data: object, path: str) -> CudaSection:
        r = Strict(data, path, _CUDA_KEYS)
        r.required_choice("method", ("runtime",))
        parts = {}
        for name in CUDA_COMPONENTS:
            child = r.child(name)
            parts[name] = CudaComponent.from_dict(child.data, child.path) if child else None
        fw_r = r.child("frameworks")
        frameworks = {str(fw): fw_r.string_map(str(fw)) for fw in fw_r.data} if fw_r else {}
        return cls(
            method="runtime",
            gpus=tuple(
                Gpu.from_dict(item, f"{r.where('gpus')}[{i}]")
                for i, item in enumerate(r.get("gpus", list) or [])
            ),
            gpus_method=r.get("gpus_method", str),
            visible_devices=r.get("visible_devices", str),
            frameworks=frameworks,
            notes=r.strings("notes") or (),
            **parts,
        )
