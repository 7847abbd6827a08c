"""Turn the runtime probes' payloads (and the static hints) into the lockfile's BLAS and CUDA
sections."""

from __future__ import annotations

from envlock.nativemodel import APIS, BlasLibrary, BlasSection, CudaComponent, CudaSection, Gpu
from envlock.redact import home_to_tilde

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any


def _str(value: object) -> str | None:
    return str(value) if value is not None and value != "" else None


def blas_section(
    payload: dict[str, Any] | None, hints: list[dict[str, str]], notes: list[str]
) -> BlasSection:
    """``payload`` is the BLAS probe's result, ``None`` for a static (no-import) capture."""
    hint_maps = tuple(
        {k: home_to_tilde(str(v)) for k, v in h.items() if v is not None} for h in hints
    )
    if payload is None:
        return BlasSection(method="static", hints=hint_maps, notes=tuple(notes))
    libraries = []
    for lib in payload.get("libraries") or []:
        if not isinstance(lib, dict) or not lib.get("vendor") or lib.get("api") not in APIS:
            continue
        threads = lib.get("num_threads")
        libraries.append(
            BlasLibrary(
                api=str(lib["api"]),
                vendor=str(lib["vendor"]),
                version=_str(lib.get("version")),
                architecture=_str(lib.get("architecture")),
                threading=_str(lib.get("threading")),
                num_threads=threads if type(threads) is int else None,  # not a bool
                file=home_to_tilde(str(lib["file"])) if lib.get("file") else None,
                loaded_by=_str(lib.get("loaded_by")),
                detected_by=tuple(sorted(str(d) for d in lib.get("detected_by") or [])),
            )
        )
    imported = {str(k): str(v) for k, v in (payload.get("imported") or {}).items() if v is not None}
    return BlasSection(
        method="runtime",
        libraries=tuple(libraries),
        hints=hint_maps,
        imported=imported,
        build=_build(payload.get("numpy_config")),
        cpu_features=payload.get("cpu_features") or None,
        notes=tuple([*notes, *(str(n) for n in payload.get("notes") or [])]),
    )


_BUILD_KEYS = ("name", "version", "openblas configuration")


def _build(config: object) -> dict[str, dict[str, str]] | None:
    """numpy's build configuration, reduced to what identifies the BLAS it was built for (the
    build machine's directories say nothing about this environment)."""
    if not isinstance(config, dict):
        return None
    reduced = {
        api: {k: str(v) for k, v in info.items() if k in _BUILD_KEYS and v is not None}
        for api, info in config.items()
        if isinstance(info, dict)
    }
    return {api: info for api, info in reduced.items() if info} or None


def _component(data: object) -> CudaComponent | None:
    if not isinstance(data, dict) or not (data.get("version") or data.get("library")):
        return None  # looked for, not there
    return CudaComponent(
        version=_str(data.get("version")),  # None: found, version unknown
        method=str(data.get("method") or "unknown"),
        library=home_to_tilde(str(data.get("library") or data.get("path") or "")) or None,
        source=_str(data.get("source")),
        cuda_version=_str(data.get("cuda_version")),
    )


def cuda_section(payload: dict[str, Any]) -> CudaSection:
    gpus = []
    for gpu in payload.get("gpus") or []:
        if isinstance(gpu, dict) and gpu.get("name"):
            memory = gpu.get("memory_mib")
            gpus.append(
                Gpu(
                    name=str(gpu["name"]),
                    compute_capability=_str(gpu.get("compute_capability")),
                    memory_mib=memory if type(memory) is int else None,  # not a bool
                )
            )
    frameworks = {
        str(name): {str(k): str(v) for k, v in info.items() if v is not None}
        for name, info in (payload.get("frameworks") or {}).items()
        if isinstance(info, dict)
    }
    return CudaSection(
        method="runtime",
        driver=_component(payload.get("driver")),
        runtime=_component(payload.get("runtime")),
        toolkit=_component(payload.get("toolkit")),
        cudnn=_component(payload.get("cudnn")),
        nccl=_component(payload.get("nccl")),
        gpus=tuple(gpus),
        gpus_method=_str(payload.get("gpus_method")),
        visible_devices=_str(payload.get("visible_devices")),
        frameworks=frameworks,
        notes=tuple(str(n) for n in payload.get("notes") or []),
    )
