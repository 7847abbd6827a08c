"""``envlock show``: a short human summary of a lockfile. Pure: lockfile in, text out.

Each line goes through :func:`envlock.escape.printable`, as every value on it comes from the
lockfile: none can carry a terminal control or start a line of its own."""

from __future__ import annotations

from envlock.escape import printable
from envlock.model import Environment, Lockfile
from envlock.nativemodel import framework_build


def _blas(env: Environment) -> str:
    if env.blas is None:
        return "not recorded"
    if env.blas.method != "runtime":
        hints = sorted({h.get("vendor", "?") for h in env.blas.hints})
        return f"not measured (static hints: {', '.join(hints) or 'none'})"
    libs = [
        " ".join(x for x in (lib.vendor, lib.version, lib.architecture) if x)
        + (f" ({lib.loaded_by})" if lib.loaded_by else "")
        for lib in env.blas.libraries
        if lib.api == "blas"
    ]
    return "; ".join(dict.fromkeys(libs)) or "none loaded"  # Debian: libblas.so.3 is OpenBLAS


def _cuda(env: Environment) -> str:
    cuda = env.cuda
    if cuda is None:
        return "not recorded"
    parts = [
        f"{name} {part.version or '?'}"
        for name in ("driver", "runtime", "cudnn", "nccl")
        if (part := cuda.component(name)) is not None
    ]
    if cuda.gpus:
        parts.append(", ".join(g.name for g in cuda.gpus))
    for name, info in sorted(cuda.frameworks.items()):
        build = framework_build(info)
        if build:
            parts.append(f"{name} built for {build}")
    return "; ".join(parts) or "none found"


def render(lock: Lockfile, label: str) -> str:
    lines = [f"{label}: format version {lock.version}, {len(lock.environments)} environment(s)"]
    for name, env in sorted(lock.environments.items()):
        py = env.python
        plat = env.platform
        lines.append("")
        lines.append(f"[{name}] {env.kind or 'environment'}, captured {env.captured_at or '?'}")
        python = " ".join(x for x in (py.implementation, py.version or "?") if x)
        lines.append(f"  python    {python}" + (" (free-threading)" if py.free_threading else ""))
        where = " ".join(x for x in (plat.os, plat.distro, plat.machine, plat.cpu_level) if x)
        lines.append(f"  platform  {where or 'unknown'}")
        counts = f"{len(env.packages)} pip"
        if env.conda is not None:
            counts = f"{len(env.conda.packages)} conda, {counts}"
            channels = ", ".join(env.conda.channels or env.conda.channels_seen()) or "none"
            lines.append(f"  channels  {channels}")
        lines.append(f"  packages  {counts}")
        lines.append(f"  blas      {_blas(env)}")
        lines.append(f"  cuda      {_cuda(env)}")
        if env.variables is not None and env.variables.set:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(env.variables.set.items()))
            lines.append(f"  variables {shown}")
    return "".join(f"{printable(line)}\n" for line in lines)
