"""envlock's CUDA probe: the GPU driver, the GPUs, and the CUDA libraries an environment uses.

Run *inside* the target interpreter, as a script, with a timeout::

    python _cuda_probe.py MARKER '{"prefix": "<the target's sys.prefix>"}'

It prints its JSON result between two copies of MARKER (as ``_probe.py`` does), is standard
library only, keeps Python 3.8 syntax, and never crashes: every step is guarded and a failure
becomes a line in ``notes``. It never imports torch, jax or cupy (seconds each, and they may
touch the GPU): their CUDA builds are read from files (``torch/version.py``, dist-info names).

What is read, in order:

* driver and GPUs: NVML (``libnvidia-ml.so.1``), then ``libcuda.so.1`` (``cuDriverGetVersion``,
  and the kernel module's version from ``/proc/driver/nvidia/version``), then ``nvidia-smi``.
  NVML and nvidia-smi list every GPU whatever ``CUDA_VISIBLE_DEVICES`` says (the variable is
  removed from nvidia-smi's environment); its value is recorded as ``visible_devices``.
* libcudart, cuDNN, NCCL: the copy the environment would load: pip wheels on ``sys.path``
  (``nvidia/cuda_runtime/lib``, ``nvidia/cu13/lib``, ...), the conda prefix (``lib``,
  ``targets/*/lib``), ``$CUDA_HOME``, ``$CUDA_PATH``, ``/usr/local/cuda``, then the dynamic
  loader (``dlopen`` of the sonames: ``LD_LIBRARY_PATH``, the ldconfig cache, the default
  directories). The version is what the library says (``cudaRuntimeGetVersion``,
  ``cudnnGetVersion``, ``ncclGetVersion``; none needs a GPU); if the call fails, the version
  macros of the header next to the library.
* the toolkit: ``nvcc --version`` (``$CUDA_HOME``, ``$CUDA_PATH``, ``PATH``, the prefix,
  ``/usr/local/cuda``), or the toolkit's ``version.json`` / ``version.txt``.

Each native library is loaded (with ctypes) in a forked child of its own: a library that aborts
(cuDNN 9's loader does when a sub-library is missing), crashes or hangs costs a note, not the
probe, and nothing stays loaded in the probe itself.

Optional JSON arguments: ``disable``, a list of steps to skip (``nvml``, ``libcuda``,
``nvidia-smi``, ``runtime``, ``cudnn``, ``nccl``, ``toolkit``, ``frameworks``), and
``timeout_s``, the limit for each native call and each command (default 20 s), and
``budget_s``, the limit for the whole probe (default 90 s; the steps left when it is spent are
skipped with a note), so that a host waiting 120 s always gets an answer; and ``watch``, to
list under ``watched`` what the answer came from (for ``envlock verify``'s memo, see
``envlock/stamp.py``): the files it read, the folders it listed, the programs it ran and the
libraries it loaded (``files``), the paths it only looked at (``looked``), and which interfaces
to the GPU driver exist here (``driver``: empty when there is none at all).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time

TYPE_CHECKING = False  # importing typing costs milliseconds; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, Callable

    Facts = dict[str, Any]

PROBE_VERSION = 1
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_BUDGET_S = 90.0
_budget_end: float | None = None  # time.monotonic() by which the whole probe ends; see collect

# Prefixes too general for paths to be recorded relative to them.
_SYSTEM_PREFIXES = ("/", "/usr", "/usr/local")

# The libraries read by loading them: where pip wheels put them (relative to a sys.path entry),
# which pip / conda distributions ship them, the function that returns the version, the
# sonames the dynamic loader is asked for (newest first), and the header with the same version.
_LIBRARIES: dict[str, Facts] = {
    "runtime": {
        "stem": "cudart",
        "pip_dirs": ("nvidia/cuda_runtime/lib", "nvidia/cu13/lib", "nvidia/cu12/lib"),
        "pip_dists": ("nvidia-cuda-runtime",),
        "conda_dists": ("cuda-cudart", "cudatoolkit"),
        "function": "cudaRuntimeGetVersion",
        "sonames": (
            "libcudart.so.13",
            "libcudart.so.12",
            "libcudart.so.11.0",
            "libcudart.so.10.2",
            "libcudart.so.10.1",
            "libcudart.so.10.0",
            "libcudart.so",
        ),
        "headers": (("cuda_runtime_api.h", ("CUDART_VERSION",)),),
    },
    "cudnn": {
        "stem": "cudnn",
        "pip_dirs": ("nvidia/cudnn/lib", "nvidia/cu13/lib"),
        "pip_dists": ("nvidia-cudnn",),
        "conda_dists": ("cudnn",),
        "function": "cudnnGetVersion",
        "sonames": ("libcudnn.so.9", "libcudnn.so.8", "libcudnn.so.7", "libcudnn.so"),
        "headers": (
            ("cudnn_version.h", ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL")),
            ("cudnn.h", ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL")),
        ),
    },
    "nccl": {
        "stem": "nccl",
        "pip_dirs": ("nvidia/nccl/lib", "nvidia/cu13/lib"),
        "pip_dists": ("nvidia-nccl",),
        "conda_dists": ("nccl",),
        "function": "ncclGetVersion",
        "sonames": ("libnccl.so.2", "libnccl.so"),
        "headers": (("nccl.h", ("NCCL_MAJOR", "NCCL_MINOR", "NCCL_PATCH")),),
    },
}
_CANONICAL = re.compile(r"[-_.]+")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def canonical_name(name: str) -> str:
    """PEP 503 normalisation."""
    return _CANONICAL.sub("-", name).lower()


def cuda_version(code: int) -> str:
    """CUDA's version encoding (cudaRuntimeGetVersion, cuDriverGetVersion, NVML, CUDART_VERSION):
    1000 * major + 10 * minor, so 12040 is '12.4' and 13000 is '13.0'."""
    return f"{code // 1000}.{code % 1000 // 10}"


def library_version(code: int) -> str:
    """cuDNN's and NCCL's encodings: 10000 * major + 100 * minor + patch since cuDNN 9 and
    NCCL 2.9 (90100 is 9.1.0, 22105 is 2.21.5), 1000 * major + 100 * minor + patch before
    (8902 is 8.9.2, 2804 is 2.8.4). The two cannot be confused: the old one stays below 10000."""
    if code >= 10000:
        return f"{code // 10000}.{code % 10000 // 100}.{code % 100}"
    return f"{code // 1000}.{code % 1000 // 100}.{code % 100}"


def _read_text(path: str, limit: int = 1 << 20) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:300]


def display_path(path: str, prefix: str) -> str:
    """``path`` relative to the environment's prefix when inside it (``/``-separated), else
    absolute. A system prefix (``/``, ``/usr``, ``/usr/local``) is not an environment of its
    own: paths under it stay absolute."""
    path = os.path.abspath(path)
    root = os.path.abspath(prefix) if prefix else ""
    if root and root not in _SYSTEM_PREFIXES and path.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, root).replace(os.sep, "/")
    return path


def _which(name: str, path: str | None) -> str | None:
    for entry in (path or "").split(os.pathsep):
        candidate = os.path.join(entry or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def _run(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Exit status and output (stdout then stderr) of a command; raises OSError, and
    TimeoutError when it outlives ``timeout`` (it is killed; a program stuck in the kernel, as
    nvidia-smi can be on a wedged GPU, is left behind rather than waited for)."""
    import subprocess

    limit = _limit(timeout)
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=1.0)
        raise TimeoutError(f"{os.path.basename(cmd[0])} did not finish in {limit:g} s") from None
    out = stdout.decode("utf-8", "replace") + stderr.decode("utf-8", "replace")
    return proc.returncode, out


def _limit(timeout: float) -> float:
    """``timeout``, cut to what is left of the probe's budget; TimeoutError when none is."""
    if _budget_end is None:
        return timeout
    left = _budget_end - time.monotonic()
    if left <= 0:
        raise TimeoutError("skipped: the probe's time budget is spent")
    return min(timeout, left)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


# --------------------------------------------------------------------------------------------
# What the answer came from (``watch``)
# --------------------------------------------------------------------------------------------

FULL, SEEN = 2, 1  # as envlock/stamp.py: read, listed, run or loaded / only looked at
_watched: dict[str, int] | None = None  # path -> FULL or SEEN, while watching
_incomplete = False  # something could not be recorded


def _note(path: Any, level: int) -> None:
    """Record that the answer depends on ``path`` (a no-op unless watching)."""
    if _watched is None or isinstance(path, int):
        return
    try:
        path = os.path.abspath(os.fsdecode(path))
    except (TypeError, ValueError):
        return
    if _watched.get(path, 0) < level:
        _watched[path] = level


def _audit(event: str, args: tuple[Any, ...]) -> None:
    global _incomplete
    if _watched is None:
        return
    try:
        if event == "open":
            _note(args[0], FULL)  # the probe writes no files: every open is a read
        elif event in ("os.listdir", "os.scandir"):
            _note("." if args[0] is None else args[0], FULL)
        elif event == "subprocess.Popen":
            _note(args[0] if args[0] is not None else next(iter(args[1])), FULL)
    except Exception:  # never break the probe: the list is marked incomplete instead
        _incomplete = True


def _watching(real: Callable[..., Any]) -> Callable[..., Any]:
    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if "dir_fd" not in kwargs:
            _note(path, SEEN)
        return real(path, *args, **kwargs)

    return stat


def watch() -> None:
    """Start recording what the probe reads (in this process; a forked child's own lookups
    are covered by the host: the loaded library, its folder, the loader's cache and
    folders)."""
    global _watched
    _watched = {}
    sys.addaudithook(_audit)
    os.stat = _watching(os.stat)
    os.lstat = _watching(os.lstat)


def watched(interfaces: list[str] | None) -> Facts:
    """``watched``: ``complete`` is false when something could not be recorded; ``driver``
    is ``None`` when the driver step did not run to its end."""
    paths = _watched or {}
    return {
        "complete": not _incomplete,
        "files": sorted(p for p, level in paths.items() if level == FULL),
        "looked": sorted(p for p, level in paths.items() if level == SEEN),
        "driver": interfaces,
    }


# --------------------------------------------------------------------------------------------
# Native calls, each in a forked child
# --------------------------------------------------------------------------------------------


def isolated(func: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> tuple[Any, str]:
    """``func(*args)`` in a forked child: (its JSON-able result, "") or (None, what went wrong).

    The child's stdout and stderr are captured (a library's complaint ends up in the error), a
    child that crashes or aborts is reported with its signal, one that outlives ``timeout`` is
    killed. Where there is no fork (Windows) the call runs in-process.
    """
    try:
        timeout = _limit(timeout)
    except TimeoutError as e:
        return None, _error(e)
    if not hasattr(os, "fork"):
        try:
            return func(*args), ""
        except Exception as e:
            return None, _error(e)
    import select
    import signal

    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(result_r)
            os.close(output_r)
            os.dup2(output_w, 1)
            os.dup2(output_w, 2)
            if "faulthandler" in sys.modules:  # PYTHONFAULTHANDLER: a crash is reported anyway
                sys.modules["faulthandler"].disable()
            try:
                reply: Facts = {"ok": func(*args)}
            except BaseException as e:
                reply = {"error": _error(e)}
            data = json.dumps(reply).encode("utf-8")
            while data:
                data = data[os.write(result_w, data) :]
        finally:
            os._exit(0)
    os.close(result_w)
    os.close(output_w)
    result = b""
    output = b""
    timed_out = False
    deadline = time.monotonic() + timeout
    open_fds = [result_r, output_r]
    try:
        while result_r in open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready = select.select(open_fds, [], [], left)[0]
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.remove(fd)
                elif fd == result_r:
                    result += chunk
                else:
                    output = (output + chunk)[-8192:]
        if output_r in open_fds and not timed_out:  # what the child wrote just before exiting
            while select.select([output_r], [], [], 0.05)[0]:
                chunk = os.read(output_r, 65536)
                if not chunk:
                    break
                output = (output + chunk)[-8192:]
    finally:
        os.close(result_r)
        os.close(output_r)
        status = _reap(pid, timed_out)
    said = _last_line(output.decode("utf-8", "replace"))
    if timed_out:
        return None, f"did not finish in {timeout:g} s"
    if result:
        try:
            reply = json.loads(result.decode("utf-8"))
        except ValueError:
            return None, "the child process returned garbage"
        if "ok" in reply:
            return reply["ok"], ""
        return None, str(reply.get("error")) + (f" ({said})" if said else "")
    if os.WIFSIGNALED(status):
        try:
            name = signal.Signals(os.WTERMSIG(status)).name
        except ValueError:
            name = f"signal {os.WTERMSIG(status)}"
        how = f"crashed ({name})"
    else:
        how = f"exited with status {os.WEXITSTATUS(status)}"
    return None, how + (f": {said}" if said else "")


def _reap(pid: int, kill: bool) -> int:
    """The child's wait status. A child killed for its timeout gets one second to go: one
    stuck in the kernel (a wedged GPU) is left behind, not waited for (status -1)."""
    import signal

    if not kill:
        return os.waitpid(pid, 0)[1]
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        with contextlib.suppress(OSError):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
        time.sleep(0.01)
    return -1


def _mapped_path(basename_prefix: str) -> str | None:
    """Path of the first mapped file of this process whose name starts with the prefix."""
    text = _read_text("/proc/self/maps", 1 << 24) or ""
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            path = parts[5].strip()
            if path.endswith(" (deleted)"):
                path = path[: -len(" (deleted)")]
            if os.path.basename(path).startswith(basename_prefix):
                return path
    return None


def _native_version(candidates: list[str], function: str, stem: str) -> Facts:
    """(In the child.) Load the first loadable of ``candidates`` (paths or sonames) and call its
    version function: ``cudnnGetVersion()`` returns the code; the others fill an int."""
    import ctypes

    errors = []
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            errors.append(_error(e))
            continue
        fn = getattr(lib, function)
        if function == "cudnnGetVersion":
            fn.restype = ctypes.c_size_t
            fn.argtypes = []
            code = int(fn())
        else:
            value = ctypes.c_int(0)
            rc = fn(ctypes.byref(value))
            if rc != 0:
                raise RuntimeError(f"{function} returned error {rc}")
            code = value.value
        loaded = name if "/" in name else _mapped_path(f"lib{stem}.so") or name
        return {"code": code, "path": loaded}
    raise OSError("none loadable: " + ("; ".join(errors[:2]) or "no candidates"))


def _nvml() -> Facts:
    """(In the child.) Driver, CUDA driver API version and every GPU, from NVML."""
    import ctypes

    lib = ctypes.CDLL("libnvidia-ml.so.1")

    def fn(*names: str) -> Any:
        for name in names:
            try:
                return getattr(lib, name)
            except AttributeError:
                continue
        raise AttributeError(f"libnvidia-ml.so.1 has no {names[0]}")

    def check(rc: int, what: str) -> None:
        if rc != 0:
            message = ""
            try:
                err = lib.nvmlErrorString
                err.restype = ctypes.c_char_p
                message = (err(rc) or b"").decode("utf-8", "replace")
            except Exception:
                pass
            raise RuntimeError(f"{what} failed: {message or 'error'} ({rc})")

    check(fn("nvmlInit_v2", "nvmlInit")(), "nvmlInit_v2")
    notes: list[str] = []
    try:
        buf = ctypes.create_string_buffer(96)
        check(lib.nvmlSystemGetDriverVersion(buf, ctypes.c_uint(96)), "nvmlSystemGetDriverVersion")
        driver = {"version": buf.value.decode("utf-8", "replace"), "cuda_version": None}
        code = ctypes.c_int(0)
        try:
            get_cuda = fn("nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion")
            check(get_cuda(ctypes.byref(code)), "nvmlSystemGetCudaDriverVersion_v2")
            driver["cuda_version"] = cuda_version(code.value)
        except Exception as e:
            notes.append(f"nvml: {_error(e)}")
        count = ctypes.c_uint(0)
        check(fn("nvmlDeviceGetCount_v2", "nvmlDeviceGetCount")(ctypes.byref(count)), "count")
        get_handle = fn("nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex")
        gpus = []
        for index in range(count.value):
            gpu: Facts = {
                "index": index,
                "name": None,
                "compute_capability": None,
                "memory_mib": None,
            }
            gpus.append(gpu)
            handle = ctypes.c_void_p()
            rc = get_handle(ctypes.c_uint(index), ctypes.byref(handle))
            if rc != 0:
                notes.append(f"nvml: GPU {index}: nvmlDeviceGetHandleByIndex_v2 error {rc}")
                continue
            name = ctypes.create_string_buffer(96)
            if lib.nvmlDeviceGetName(handle, name, ctypes.c_uint(96)) == 0:
                gpu["name"] = name.value.decode("utf-8", "replace")
            major, minor = ctypes.c_int(0), ctypes.c_int(0)
            rc = lib.nvmlDeviceGetCudaComputeCapability(
                handle, ctypes.byref(major), ctypes.byref(minor)
            )
            if rc == 0:
                gpu["compute_capability"] = f"{major.value}.{minor.value}"
            memory = (ctypes.c_ulonglong * 3)()  # nvmlMemory_t: total, free, used (bytes)
            if lib.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == 0:
                gpu["memory_mib"] = int(memory[0]) // (1 << 20)
            missing = [k for k in ("name", "compute_capability", "memory_mib") if gpu[k] is None]
            if missing:
                notes.append(f"nvml: GPU {index}: could not read {', '.join(missing)}")
    finally:
        with contextlib.suppress(Exception):
            lib.nvmlShutdown()
    return {"driver": driver, "gpus": gpus, "notes": notes}


def _libcuda() -> Facts:
    """(In the child.) The CUDA driver API version, from libcuda (no cuInit needed)."""
    import ctypes

    lib = ctypes.CDLL("libcuda.so.1")
    value = ctypes.c_int(0)
    rc = lib.cuDriverGetVersion(ctypes.byref(value))
    if rc != 0:
        raise RuntimeError(f"cuDriverGetVersion returned error {rc}")
    return {"cuda_version": cuda_version(value.value)}


# --------------------------------------------------------------------------------------------
# Driver and GPUs
# --------------------------------------------------------------------------------------------

_KERNEL_MODULE = re.compile(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)")
_SMI_DRIVER = re.compile(r"(?:Driver|KMD) Version\s*:\s*(\d+(?:\.\d+)+)")
_SMI_CUDA = re.compile(r"CUDA (?:UMD )?Version\s*:\s*(\d+(?:\.\d+)+)")
_SMI_QUERY = "name,compute_cap,memory.total,driver_version"
_SMI_QUERY_OLD = "name,memory.total,driver_version"  # drivers before 510 lack compute_cap


def kernel_module_version(text: str) -> str | None:
    """The driver version from ``/proc/driver/nvidia/version``."""
    match = _KERNEL_MODULE.search(text)
    return match.group(1) if match else None


def _smi_value(value: str) -> str | None:
    value = value.strip()
    return None if not value or value.startswith("[") or value == "N/A" else value


def parse_smi_query(text: str, with_compute_cap: bool = True) -> tuple[list[Facts], str | None]:
    """GPUs and driver version from ``nvidia-smi --query-gpu=name,compute_cap,memory.total,
    driver_version --format=csv,noheader,nounits`` (one line per GPU, in index order)."""
    gpus: list[Facts] = []
    driver = None
    fields = 4 if with_compute_cap else 3
    for line in text.splitlines():
        parts = line.rsplit(",", fields - 1)  # the name is the only field that may hold a comma
        if len(parts) != fields or not parts[0].strip():
            continue
        if with_compute_cap:
            name, cap, memory, version = parts
        else:
            name, memory, version = parts
            cap = ""
        memory_value = _smi_value(memory)
        try:
            memory_mib = int(float(memory_value)) if memory_value else None
        except ValueError:
            memory_mib = None
        gpus.append(
            {
                "index": len(gpus),
                "name": _smi_value(name),
                "compute_capability": _smi_value(cap),
                "memory_mib": memory_mib,
            }
        )
        driver = driver or _smi_value(version)
    return gpus, driver


def parse_smi_header(text: str) -> tuple[str | None, str | None]:
    """Driver and CUDA versions from plain ``nvidia-smi``'s header (``Driver Version`` /
    ``CUDA Version``, or ``KMD Version`` / ``CUDA UMD Version`` since R610)."""
    driver = _SMI_DRIVER.search(text)
    cuda = _SMI_CUDA.search(text)
    return (driver.group(1) if driver else None), (cuda.group(1) if cuda else None)


def _find_smi() -> str | None:
    name = "nvidia-smi.exe" if os.name == "nt" else "nvidia-smi"
    found = _which(name, os.environ.get("PATH"))
    if found:
        return found
    for candidate in ("/usr/bin/nvidia-smi", "/usr/local/nvidia/bin/nvidia-smi"):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _nvidia_smi(exe: str, want_cuda: bool, timeout: float, notes: list[str]) -> Facts | None:
    """GPUs, driver version and (when ``want_cuda``) CUDA version from nvidia-smi at ``exe``."""
    # nvidia-smi does not hide GPUs for CUDA_VISIBLE_DEVICES, but the record must list them all.
    env = dict((k, v) for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES")
    rc, out = _run(
        [exe, "--query-gpu=" + _SMI_QUERY, "--format=csv,noheader,nounits"], timeout, env
    )
    with_cap = True
    if rc != 0 and "compute_cap" in out:
        notes.append("nvidia-smi: this driver cannot report compute_cap")
        rc, out = _run(
            [exe, "--query-gpu=" + _SMI_QUERY_OLD, "--format=csv,noheader,nounits"], timeout, env
        )
        with_cap = False
    if rc != 0:
        notes.append(f"nvidia-smi: exit status {rc}: {_last_line(out)}")
        return None
    gpus, driver = parse_smi_query(out, with_cap)
    facts: Facts = {"gpus": gpus, "driver": driver, "cuda_version": None}
    if want_cuda:
        rc, out = _run([exe], timeout, env)
        header_driver, facts["cuda_version"] = parse_smi_header(out)
        facts["driver"] = facts["driver"] or header_driver
        if facts["cuda_version"] is None:
            notes.append(f"nvidia-smi: no CUDA version in its header (exit status {rc})")
    return facts


def _absent(error: str, soname: str) -> bool:
    """Whether ``error`` is glibc's dlerror() for ``soname`` itself not being anywhere the
    loader looks (not for a library it needs, nor a file that is there but broken)."""
    return error.startswith(soname + ": cannot open shared object file")


def driver_facts(
    disabled: set[str], timeout: float, notes: list[str], interfaces: list[str]
) -> Facts:
    """``driver``, ``gpus`` and ``gpus_method``. ``interfaces`` gets the names of the
    interfaces to the driver that exist here: loaded, failed for another reason than being
    absent, found (nvidia-smi), or not tried (disabled)."""
    out: Facts = {"driver": None, "gpus": [], "gpus_method": None}
    interfaces.extend(sorted({"nvml", "libcuda", "nvidia-smi"} & disabled))
    if "nvml" not in disabled:
        nvml, error = isolated(_nvml, (), timeout)
        if nvml is not None or not _absent(error, "libnvidia-ml.so.1"):
            interfaces.append("nvml")
        if nvml is not None:
            notes.extend(nvml["notes"])
            out["driver"] = dict(nvml["driver"], method="nvml")
            out["gpus"] = nvml["gpus"]
            out["gpus_method"] = "nvml"
            return out
        notes.append(f"nvml: {error}")
    if "libcuda" not in disabled:
        libcuda, error = isolated(_libcuda, (), timeout)
        if libcuda is not None or not _absent(error, "libcuda.so.1"):
            interfaces.append("libcuda")
        if libcuda is not None:
            module = _read_text("/proc/driver/nvidia/version", 65536)
            version = kernel_module_version(module) if module else None
            out["driver"] = {
                "version": version,
                "cuda_version": libcuda["cuda_version"],
                "method": "libcuda",
            }
        else:
            notes.append(f"libcuda: {error}")
    if "nvidia-smi" not in disabled:
        exe = _find_smi()
        smi = None
        if exe is None:
            notes.append("nvidia-smi: not found")
        else:
            interfaces.append("nvidia-smi")
            try:
                smi = _nvidia_smi(exe, out["driver"] is None, timeout, notes)
            except Exception as e:
                notes.append(f"nvidia-smi: {_error(e)}")
        if smi is not None:
            out["gpus"] = smi["gpus"]
            out["gpus_method"] = "nvidia-smi"
            if out["driver"] is None:
                if smi["driver"] or smi["cuda_version"]:
                    out["driver"] = {
                        "version": smi["driver"],
                        "cuda_version": smi["cuda_version"],
                        "method": "nvidia-smi",
                    }
            elif out["driver"]["version"] is None:
                out["driver"]["version"] = smi["driver"]
    return out


# --------------------------------------------------------------------------------------------
# Libraries: libcudart, cuDNN, NCCL
# --------------------------------------------------------------------------------------------


def site_dirs() -> list[str]:
    """The existing directories on ``sys.path``, in order, without duplicates."""
    dirs: list[str] = []
    for entry in sys.path:
        path = os.path.abspath(entry or ".")
        if path not in dirs and os.path.isdir(path):
            dirs.append(path)
    return dirs


def distributions(dirs: list[str]) -> dict[str, tuple[str, str]]:
    """Canonical name -> (version, site directory) of the dist-info directories in ``dirs``;
    the first of a name wins, as for imports. Only directory names are read."""
    found: dict[str, tuple[str, str]] = {}
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for base in names:
            if not base.endswith(".dist-info"):
                continue
            name, sep, version = base[: -len(".dist-info")].rpartition("-")
            if sep and name:
                found.setdefault(canonical_name(name), (version, directory))
    return found


def _so_pattern(stem: str) -> re.Pattern[str]:
    return re.compile(r"^lib" + re.escape(stem) + r"\.so\.(\d+)(?:\.\d+)*$")


def _library_in(directory: str, stem: str) -> str | None:
    """``lib{stem}.so.N`` in ``directory`` (the shortest, soname-like name), or None."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    pattern = _so_pattern(stem)
    found = sorted((n for n in names if pattern.match(n)), key=lambda n: (len(n), n))
    return os.path.join(directory, found[0]) if found else None


def _soname_major(path: str, stem: str) -> int | None:
    match = _so_pattern(stem).match(os.path.basename(path))
    return int(match.group(1)) if match else None


def _toolkit_lib_dirs(root: str) -> list[str]:
    dirs = [os.path.join(root, "lib64"), os.path.join(root, "lib")]
    targets = os.path.join(root, "targets")
    with contextlib.suppress(OSError):
        dirs.extend(os.path.join(targets, t, "lib") for t in sorted(os.listdir(targets)))
    return dirs


def _pip_source(spec: Facts, path: str, dists: dict[str, tuple[str, str]]) -> str:
    """``pip NAME``: the distribution that ships the library, by its name (e.g.
    nvidia-cuda-runtime-cu12, or nvidia-cuda-runtime 13.x for the cu13 layout)."""
    major = _soname_major(path, spec["stem"])
    matches = []
    for name, (version, _site) in sorted(dists.items()):
        for base in spec["pip_dists"]:
            suffix = name[len(base) :]
            if name.startswith(base) and (not suffix or re.match(r"^-cu\d+$", suffix)):
                matches.append((name, suffix, version))
    if len(matches) > 1 and spec["stem"] == "cudart" and major is not None:
        same = [
            m
            for m in matches
            if m[1] == f"-cu{major}" or (not m[1] and m[2].split(".")[0] == str(major))
        ]
        matches = same or matches
    return "pip " + matches[0][0] if matches else "pip"


def _conda_packages(prefix: str) -> set[str] | None:
    """Names of the conda packages in ``prefix`` (None when it is not a conda prefix)."""
    meta = os.path.join(prefix, "conda-meta")
    try:
        names = os.listdir(meta)
    except OSError:
        return None
    return {n[:-5].rsplit("-", 2)[0] for n in names if n.endswith(".json") and n.count("-") >= 2}


def library_candidates(
    spec: Facts, prefix: str, dirs: list[str], dists: dict[str, tuple[str, str]]
) -> list[tuple[str, str]]:
    """(path, source) of every copy of the library, most preferred first."""
    stem = spec["stem"]
    found: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(directory: str, source: str | Callable[[str], str]) -> None:
        path = _library_in(directory, stem)
        if path is None:
            return
        real = os.path.realpath(path)
        if real in seen:
            return
        seen.add(real)
        found.append((path, source if isinstance(source, str) else source(path)))

    for site in dirs:
        for rel in spec["pip_dirs"]:
            add(os.path.join(site, *rel.split("/")), lambda p: _pip_source(spec, p, dists))
    packages = _conda_packages(prefix) if prefix else None
    if packages is not None:
        owner = next((n for n in spec["conda_dists"] if n in packages), None)
        source = "conda " + owner if owner else "conda"
        for directory in [os.path.join(prefix, "lib"), *_toolkit_lib_dirs(prefix)[2:]]:
            add(directory, source)
    for var in ("CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(var)
        if root:
            for directory in _toolkit_lib_dirs(root):
                add(directory, var)
    for directory in _toolkit_lib_dirs("/usr/local/cuda"):
        add(directory, "/usr/local/cuda")
    return found


def header_version(library_path: str, spec: Facts) -> tuple[str, str] | None:
    """(version, header name) from the version macros of the header beside the library
    (``<root>/include`` for ``<root>/lib``)."""
    lib_dir = os.path.dirname(os.path.abspath(library_path))
    include = os.path.normpath(os.path.join(lib_dir, "..", "include"))
    for header, macros in spec["headers"]:
        text = _read_text(os.path.join(include, header), 1 << 21)
        if text is None:
            continue
        values = []
        for macro in macros:
            match = re.search(r"^\s*#\s*define\s+" + macro + r"\s+(\d+)\b", text, re.MULTILINE)
            if not match:
                break
            values.append(int(match.group(1)))
        else:
            if len(values) == 1:
                return cuda_version(values[0]), header
            return ".".join(str(v) for v in values), header
    return None


def library_facts(
    kind: str,
    prefix: str,
    dirs: list[str],
    dists: dict[str, tuple[str, str]],
    preferred_major: int | None,
    timeout: float,
    notes: list[str],
) -> Facts | None:
    """``runtime``, ``cudnn`` or ``nccl``: the copy the environment would load, and its
    version."""
    spec = _LIBRARIES[kind]
    stem = spec["stem"]
    if sys.platform != "linux":
        notes.append(f"{kind}: only looked for on Linux")
        return None
    candidates = library_candidates(spec, prefix, dirs, dists)
    if preferred_major is not None and candidates and candidates[0][1].startswith("pip"):
        # Two pip runtimes (cu12 and cu13): the one torch was built for is the one it loads.
        for candidate in candidates:
            if candidate[1].startswith("pip") and (
                _soname_major(candidate[0], stem) == preferred_major
            ):
                candidates.remove(candidate)
                candidates.insert(0, candidate)
                break
    pip_copies = [c for c in candidates if c[1].startswith("pip")]
    if len(pip_copies) > 1:
        others = ", ".join(display_path(c[0], prefix) for c in pip_copies[1:])
        notes.append(f"{kind}: more pip copies of lib{stem}: {others}")
    if candidates:
        path, source = candidates[0]
        load = [path]
    else:
        sonames = list(spec["sonames"])
        if preferred_major is not None:
            sonames.sort(key=lambda n: _soname_major(n, stem) != preferred_major)
        path, source, load = "", "system", sonames
    reply, error = isolated(_native_version, (load, spec["function"], stem), timeout)
    if reply is not None:
        _note(reply["path"], FULL)  # what the forked child loaded, and the folder it is in
        _note(os.path.dirname(reply["path"]), FULL)
        code = int(reply["code"])
        version = cuda_version(code) if kind == "runtime" else library_version(code)
        return {
            "version": version,
            "library": display_path(reply["path"], prefix),
            "source": source,
            "method": spec["function"],
        }
    if not path:
        if error.startswith("none loadable"):
            notes.append(f"{kind}: no lib{stem} found (pip, conda, CUDA_HOME, CUDA_PATH, "
                         f"/usr/local/cuda, dynamic loader)")  # fmt: skip
        else:
            notes.append(f"{kind}: {spec['function']} through the dynamic loader: {error}")
        return None
    notes.append(f"{kind}: {spec['function']} of {display_path(path, prefix)}: {error}")
    from_header = header_version(path, spec)
    return {
        "version": from_header[0] if from_header else None,
        "library": display_path(path, prefix),
        "source": source,
        "method": from_header[1] if from_header else None,
    }


# --------------------------------------------------------------------------------------------
# Toolkit
# --------------------------------------------------------------------------------------------

_NVCC_RELEASE = re.compile(r"release (\d+\.\d+)(?:, V(\d+(?:\.\d+)+))?")


def parse_nvcc(text: str) -> tuple[str, str] | None:
    """(version, full version) from ``nvcc --version``: 'release 13.0, V13.0.88'."""
    match = _NVCC_RELEASE.search(text)
    if not match:
        return None
    return match.group(1), match.group(2) or match.group(1)


def _toolkit_from_files(root: str) -> Facts | None:
    path = os.path.join(root, "version.json")
    text = _read_text(path, 1 << 20)
    if text is not None:
        try:
            full = json.loads(text)["cuda"]["version"]
        except (ValueError, KeyError, TypeError):
            full = None
        if isinstance(full, str) and re.match(r"^\d+\.\d+", full):
            version = ".".join(full.split(".")[:2])
            return {"version": version, "full_version": full, "method": "version.json",
                    "path": path}  # fmt: skip
    path = os.path.join(root, "version.txt")
    text = _read_text(path, 4096)
    match = re.search(r"CUDA Version\s+(\d+\.\d+(?:\.\d+)*)", text or "")
    if match:
        full = match.group(1)
        version = ".".join(full.split(".")[:2])
        return {"version": version, "full_version": full, "method": "version.txt", "path": path}
    return None


def toolkit_facts(prefix: str, timeout: float, notes: list[str]) -> Facts | None:
    """The CUDA toolkit a build would use: ``$CUDA_HOME``, ``$CUDA_PATH``, ``nvcc`` on
    ``PATH``, the prefix's ``bin/nvcc`` (conda), ``/usr/local/cuda``."""
    places: list[tuple[str, str | None, str]] = []  # (source, nvcc path, toolkit root)
    for var in ("CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(var)
        if root:
            places.append((var, os.path.join(root, "bin", "nvcc"), root))
    on_path = _which("nvcc", os.environ.get("PATH"))
    if on_path:
        places.append(("PATH", on_path, ""))
    if prefix:
        places.append(("prefix", os.path.join(prefix, "bin", "nvcc"), ""))
    places.append(("/usr/local/cuda", "/usr/local/cuda/bin/nvcc", "/usr/local/cuda"))
    for source, nvcc, root in places:
        if nvcc and os.path.isfile(nvcc):
            try:
                rc, out = _run([nvcc, "--version"], timeout)
                parsed = parse_nvcc(out) if rc == 0 else None
            except Exception as e:
                rc, out, parsed = -1, _error(e), None
            if parsed:
                return {
                    "version": parsed[0],
                    "full_version": parsed[1],
                    "method": "nvcc",
                    "path": display_path(nvcc, prefix),
                    "source": source,
                }
            notes.append(f"toolkit: {nvcc} --version: exit status {rc}: {_last_line(out)}")
        if root:
            facts = _toolkit_from_files(root)
            if facts:
                facts["path"] = display_path(facts["path"], prefix)
                facts["source"] = source
                return facts
            if source != "/usr/local/cuda" and not (nvcc and os.path.isfile(nvcc)):
                notes.append(f"toolkit: {source}={root} has no bin/nvcc and no version.json")
    return None


# --------------------------------------------------------------------------------------------
# Frameworks, read from files (never imported)
# --------------------------------------------------------------------------------------------

_PY_STRING = r"""(?:'([^'\n]*)'|"([^"\n]*)"|None)"""


def parse_torch_version(text: str) -> Facts:
    """``__version__``, ``cuda``, ``hip`` and ``git_version`` from ``torch/version.py``, and
    ``build``, the device it was built for: ``cuda``, ``rocm``, ``xpu``, or ``cpu`` when the
    file says ``cuda = None`` and names no other (a CPU build; left out when the file has no
    ``cuda`` line: unknown)."""
    found: Facts = {}
    for key in ("__version__", "cuda", "hip", "rocm", "xpu", "git_version"):
        match = re.search(
            r"^" + key + r"\s*(?::[^=\n]*)?=\s*" + _PY_STRING + r"\s*(?:#.*)?$", text, re.MULTILINE
        )
        if match:
            found[key] = match.group(1) if match.group(1) is not None else match.group(2)
    facts: Facts = {"version": found.get("__version__"), "cuda": found.get("cuda")}
    if found.get("hip"):
        facts["hip"] = found["hip"]
    if found.get("git_version"):
        facts["git_version"] = found["git_version"]
    if "cuda" in found:
        builds = (("cuda", "cuda"), ("hip", "rocm"), ("rocm", "rocm"), ("xpu", "xpu"))
        facts["build"] = next((build for key, build in builds if found.get(key)), "cpu")
    facts["method"] = "torch/version.py"
    return facts


def _torch(notes: list[str]) -> Facts | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec("torch")  # finds, does not import
    except (ImportError, ValueError) as e:
        notes.append(f"torch: {_error(e)}")
        return None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or []:
        text = _read_text(os.path.join(location, "version.py"), 65536)
        if text is not None:
            return parse_torch_version(text)
    notes.append("torch: found, but without torch/version.py")
    return None


_JAX_PLUGIN = re.compile(r"^jax-(cuda|rocm)(\d+)-(plugin|pjrt)$")
_JAXLIB_LOCAL = re.compile(r"\+cuda(\d+)")
_CUPY = re.compile(r"^cupy-(cuda|rocm)-?(\d[\d-]*)(x?)$")


def jax_facts(dists: dict[str, tuple[str, str]]) -> Facts | None:
    """jax, jaxlib and the CUDA plugin distributions (jax-cuda12-plugin, jax-cuda12-pjrt)."""
    jax = dists.get("jax")
    jaxlib = dists.get("jaxlib")
    plugins = [(n, v[0]) for n, v in sorted(dists.items()) if _JAX_PLUGIN.match(n)]
    if not (jax or jaxlib or plugins):
        return None
    cuda = None
    for name, _version in plugins:
        match = _JAX_PLUGIN.match(name)
        if match and match.group(1) == "cuda":
            cuda = match.group(2)
            break
    if cuda is None and jaxlib:
        local = _JAXLIB_LOCAL.search(jaxlib[0])  # old wheels: jaxlib 0.4.7+cuda12.cudnn88
        cuda = local.group(1) if local else None
    facts: Facts = {"version": jax[0] if jax else None, "jaxlib": jaxlib[0] if jaxlib else None}
    facts.update(plugins)  # flat: {"jax-cuda12-plugin": "0.4.30", "jax-cuda12-pjrt": ...}
    facts["cuda"] = cuda
    facts["method"] = "dist-info"
    return facts


def cupy_facts(dists: dict[str, tuple[str, str]], notes: list[str]) -> Facts | None:
    """cupy's wheel names say which CUDA they are built for: cupy-cuda12x (12), cupy-cuda113
    (11.3), cupy-rocm-5-0; a plain ``cupy`` was built from source."""
    names = [n for n in sorted(dists) if n == "cupy" or _CUPY.match(n)]
    if not names:
        return None
    if len(names) > 1:
        notes.append(f"cupy: more than one cupy distribution installed: {', '.join(names)}")
    name = names[0]
    facts: Facts = {"version": dists[name][0], "package": name, "cuda": None}
    match = _CUPY.match(name)
    if match:
        kind, digits, any_minor = match.groups()
        digits = digits.replace("-", "")
        if kind == "cuda":
            if any_minor:
                facts["cuda"] = digits
            elif len(digits) >= 2:  # cupy-cuda92 is 9.2, cupy-cuda113 is 11.3
                facts["cuda"] = digits[:-1] + "." + digits[-1]
            else:
                facts["cuda"] = digits
        else:
            facts["rocm"] = match.group(2).replace("-", ".")
    facts["method"] = "dist-info"
    return facts


# --------------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------------


def collect(args: Facts) -> Facts:
    prefix = args.get("prefix") or sys.prefix
    disabled = set(args.get("disable") or ())
    timeout = float(args.get("timeout_s") or DEFAULT_TIMEOUT_S)
    global _budget_end
    _budget_end = time.monotonic() + float(args.get("budget_s") or DEFAULT_BUDGET_S)
    if args.get("watch"):
        watch()
    interfaces: list[str] | None = None  # set when the driver step runs to its end
    notes: list[str] = []
    facts: Facts = {
        "probe_version": PROBE_VERSION,
        "driver": None,
        "gpus": [],
        "gpus_method": None,
        "visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "runtime": None,
        "toolkit": None,
        "cudnn": None,
        "nccl": None,
        "frameworks": {},
        "notes": notes,
    }

    def step(name: str, func: Callable[[], None]) -> None:
        if name in disabled:
            return
        try:
            func()
        except Exception as e:  # a bug, or a machine unlike any seen: say so, carry on
            notes.append(f"{name}: unexpected {type(e).__name__}: {_error(e)}")

    if sys.platform == "linux":
        try:
            import ctypes  # noqa: F401  (imported once here, not in every forked child)
        except Exception as e:
            notes.append(f"ctypes: {_error(e)}")
    dirs: list[str] = []
    dists: dict[str, tuple[str, str]] = {}

    def scan() -> None:
        dirs.extend(site_dirs())
        dists.update(distributions(dirs))

    step("distributions", scan)

    def frameworks() -> None:
        torch = _torch(notes)
        if torch:
            facts["frameworks"]["torch"] = torch
        jax = jax_facts(dists)
        if jax:
            facts["frameworks"]["jax"] = jax
        cupy = cupy_facts(dists, notes)
        if cupy:
            facts["frameworks"]["cupy"] = cupy

    step("frameworks", frameworks)
    torch_cuda = (facts["frameworks"].get("torch") or {}).get("cuda")
    preferred = int(torch_cuda.split(".")[0]) if torch_cuda and torch_cuda[0].isdigit() else None

    def driver() -> None:
        nonlocal interfaces
        found: list[str] = []
        facts.update(driver_facts(disabled, timeout, notes, found))
        interfaces = found

    step("driver", driver)
    for kind in ("runtime", "cudnn", "nccl"):

        def library(kind: str = kind) -> None:
            major = preferred if kind == "runtime" else None
            facts[kind] = library_facts(kind, prefix, dirs, dists, major, timeout, notes)

        step(kind, library)

    def toolkit() -> None:
        facts["toolkit"] = toolkit_facts(prefix, timeout, notes)

    step("toolkit", toolkit)
    if args.get("watch"):
        facts["watched"] = watched(interfaces)
    return facts


def main(argv: list[str]) -> int:
    marker = argv[1]
    try:
        args = json.loads(argv[2]) if len(argv) > 2 else {}
        if not isinstance(args, dict):
            args = {}
    except ValueError:
        args = {}
    try:
        payload = collect(args)
    except Exception as e:  # collect guards every step; this is the last line of defence
        payload = {
            "probe_version": PROBE_VERSION,
            "notes": [f"cuda probe: unexpected {type(e).__name__}: {_error(e)}"],
        }
    out = sys.__stdout__ or sys.stdout  # the real one: a sitecustomize may replace sys.stdout
    out.write(
        "\n" + marker + json.dumps(payload, ensure_ascii=True, sort_keys=True) + marker + "\n"
    )
    out.flush()
    return 0


if __name__ == "__main__":
    # Run as a script: the directory of this file is sys.path[0]; it is envlock's own
    # package directory and must not be mistaken for part of the target environment.
    if not getattr(sys.flags, "safe_path", False):  # -P / PYTHONSAFEPATH: not prepended
        del sys.path[0]
    sys.exit(main(sys.argv))
