"""envlock's BLAS probe: which BLAS / LAPACK / OpenMP libraries a process really loads.

Run *inside* the target interpreter as a script, with a timeout::

    python _blas_probe.py MARKER '{"prefix": "...", "threadpoolctl_path": null,
                                   "import": ["numpy", "scipy"]}'

so it stays standard-library only and keeps Python 3.8 syntax. It imports the packages named in
``import`` (for ``scipy``, also ``scipy.linalg``: importing ``scipy`` alone loads no BLAS) and
then reports every BLAS, LAPACK and OpenMP library in the process, printing its JSON result
between two copies of MARKER, as ``_probe.py`` does.

Libraries are found in two ways and merged into one entry per real file:

* the process's own map of shared objects (``/proc/self/maps``; Linux only: elsewhere only
  threadpoolctl's view is reported, and a note says so). Each mapped file (not Python
  extension modules, not the C / C++ / Fortran runtimes) is identified by the symbols it
  exports *itself* (``dlopen(RTLD_NOLOAD)`` + ``dlsym`` + ``dladdr``: nothing new is loaded,
  and a symbol that resolves into one of its dependencies does not count) and by its name.
  A distro's generic ``libblas.so.3`` / ``liblapack.so.3`` that exports no vendor's symbols
  is a wrapper of the vendor library it links directly (``DT_NEEDED``, read from the ELF
  file: Debian's OpenBLAS and ATLAS wrappers), else named by its distro directory (Debian's
  ``blis-openmp/libblas.so.3`` hides every ``bli_`` symbol), else the netlib reference
  implementation. On Debian-like systems the owning package and its version come from
  ``/var/lib/dpkg`` (the only version the reference BLAS has);
* ``threadpoolctl.threadpool_info()`` when threadpoolctl can be imported (the target's own
  first, else the one in ``threadpoolctl_path``, appended to ``sys.path``).

The vendors are a registry of small classes (:data:`VENDORS`), each with the file-name
prefixes and the exported symbols that prove it, and a method reading its version, CPU
architecture, threading layer and thread count. The host imports this module for
:func:`vendor_for_filename` (static hints) without running anything.
"""

from __future__ import annotations

import json
import os
import re
import sys

TYPE_CHECKING = False  # importing typing costs milliseconds; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, Callable

    Entry = dict[str, Any]

PROBE_VERSION = 1

#: For each package named in ``import``: the modules to import so its BLAS is loaded.
IMPORTS = {"scipy": ("scipy", "scipy.linalg")}

#: Every library entry has exactly these keys (``None`` when unknown).
ENTRY_KEYS = (
    "api",  # "blas", "lapack" or "openmp": what the library is for
    "provides",  # the APIs it exports itself: ["blas", "lapack"], ["openmp"], ...
    "vendor",  # "openblas", "mkl", "blis", "netlib", "libgomp", ...
    "version",
    "architecture",  # the CPU kernel set chosen at run time (OpenBLAS core, BLIS arch, ...)
    "threading",  # "pthreads", "openmp", "sequential", "tbb"
    "num_threads",
    "config",  # the vendor's own build description (openblas_get_config, ...)
    "file",  # real path, relative to the prefix (with /) when inside it
    "real_file",  # basename of the real path
    "loaded_as",  # the name the dynamic loader used (a symlink such as libblas.so.3)
    "loaded_by",  # the imported package that made it appear, None if it was there before
    "implemented_by",  # for a wrapper: the file of the vendor library that does the work
    "package",  # the distro package owning a system file: "libblas3 3.11.0-2"
    "detected_by",  # how: "maps", "name", "symbols", "needed", "threadpoolctl", "dpkg"
)
_DETECTION_ORDER = ("maps", "name", "symbols", "needed", "threadpoolctl", "dpkg")
_API_ORDER = {"blas": 0, "lapack": 1, "openmp": 2}

# Symbol spellings: plain, scipy-openblas (``scipy_`` prefix) and ILP64 suffixes.
_PREFIXES = ("", "scipy_")
_SUFFIXES = ("", "64_", "_64")


def affixed(name: str) -> tuple[str, ...]:
    """``name`` with every prefix and ILP64 suffix OpenBLAS builds use."""
    if name.endswith("_"):  # Fortran names: dgemm_ -> dgemm_64_, scipy_dgemm_64_
        return tuple(p + name + s for p in _PREFIXES for s in ("", "64_"))
    return tuple(p + name + s for p in _PREFIXES for s in _SUFFIXES)


_API_SYMBOLS = (
    ("blas", affixed("dgemm_") + affixed("cblas_dgemm") + ("dgemm",)),
    ("lapack", affixed("dgetrf_") + affixed("LAPACKE_dgetrf") + ("dgetrf",)),
    ("openmp", ("omp_get_max_threads",)),
)

# Mapped files never worth a dlsym: the C / C++ / Fortran runtimes and Python's own.
_SKIP_PREFIXES = (
    "ld-", "libc.", "libc-", "libm.", "libm-", "libdl.", "libpthread.", "librt.", "libutil.",
    "libgcc_s", "libstdc++", "libgfortran", "libquadmath", "libz.", "libffi", "libexpat",
    "libcrypto", "libssl", "liblzma", "libbz2", "libpython", "libuuid", "libsqlite3",
    "libncurses", "libtinfo", "libreadline", "libmpdec", "libcrypt.", "libnsl", "libzstd",
    "libselinux", "libpcre", "libgdbm", "libdb-",
)  # fmt: skip


def _is_python_extension(base: str) -> bool:
    return ".cpython-" in base or ".pypy" in base or ".abi3." in base or base.endswith(".pyd")


class Vendor:
    """One BLAS / LAPACK / OpenMP implementation: how to recognise it and read its state."""

    name = ""
    api = "blas"
    prefixes: tuple[str, ...] = ()  # lower-case file-name prefixes
    symbols: tuple[str, ...] = ()  # any one, exported by the file itself, proves the vendor
    dirs: tuple[str, ...] = ()  # a distro's per-vendor directory: openblas-pthread/libblas.so.3

    def matches_name(self, path: str) -> bool:
        return os.path.basename(path).lower().startswith(self.prefixes) if self.prefixes else False

    def proven_by(self, lib: Library) -> str | None:
        for symbol in self.symbols:
            if lib.defines(symbol):
                return symbol
        return None

    def inspect(self, lib: Library, entry: Entry) -> None:
        """Fill version / architecture / threading / num_threads / config where known."""


class OpenBLAS(Vendor):
    name = "openblas"
    prefixes = ("libopenblas", "libscipy_openblas", "openblas")
    dirs = ("openblas",)
    symbols = affixed("openblas_get_config") + affixed("openblas_get_num_threads")

    def inspect(self, lib: Library, entry: Entry) -> None:
        import ctypes

        affix = None
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                if lib.defines(prefix + "openblas_get_num_threads" + suffix) or lib.defines(
                    prefix + "openblas_get_config" + suffix
                ):
                    affix = (prefix, suffix)
                    break
            if affix:
                break
        if affix is None:
            return

        def func(name: str) -> Any:
            return lib.func(affix[0] + name + affix[1])

        get_config = func("openblas_get_config")
        if get_config is not None:
            get_config.restype = ctypes.c_char_p
            config = _decode(get_config())
            entry["config"] = config
            match = re.match(r"\s*OpenBLAS\s+(\d[^\s]*)", config or "")
            if match:
                entry["version"] = match.group(1)
        corename = func("openblas_get_corename")
        if corename is not None:
            corename.restype = ctypes.c_char_p
            entry["architecture"] = _decode(corename())
        num_threads = func("openblas_get_num_threads")
        if num_threads is not None:
            num_threads.restype = ctypes.c_int
            entry["num_threads"] = int(num_threads())
        parallel = func("openblas_get_parallel")
        if parallel is not None:
            parallel.restype = ctypes.c_int
            entry["threading"] = {0: "sequential", 1: "pthreads", 2: "openmp"}.get(int(parallel()))


_MKL_BRANCHES = {
    3: "COMPATIBLE", 4: "SSE2", 5: "SSE3", 6: "SSSE3", 7: "SSE4_1", 8: "SSE4_2", 9: "AVX",
    10: "AVX2", 11: "AVX512_MIC", 12: "AVX512", 13: "AVX512_MIC_E1", 14: "AVX512_E1",
}  # fmt: skip


# libmkl_avx512.so.2, libmkl_vml_def.so.2: kernels; libmkl_gnu_thread.so.2: threading layer.
_MKL_PIECE = re.compile(
    r"^(?:lib)?mkl_(?:vml_)?(?:(def|mc3?|avx(?:2|10|512)?(?:_mic)?|cmpt)|"
    r"(intel_thread|gnu_thread|pgi_thread|tbb_thread|sequential))[.-]"
)
_MKL_LAYERS = {"intel_thread": "openmp", "gnu_thread": "openmp", "pgi_thread": "openmp",
               "tbb_thread": "tbb", "sequential": "sequential"}  # fmt: skip


class MKL(Vendor):
    name = "mkl"
    prefixes = ("libmkl_", "mkl_")
    dirs = ("mkl",)
    symbols = ("MKL_Get_Version_String", "mkl_get_max_threads", "MKL_Get_Max_Threads")

    def inspect(self, lib: Library, entry: Entry) -> None:
        import ctypes

        get_version = lib.func("MKL_Get_Version_String")
        if get_version is not None:
            buf = ctypes.create_string_buffer(256)
            get_version(buf, ctypes.c_int(len(buf)))
            text = _decode(buf.value) or ""
            entry["config"] = text.strip() or None
            match = re.search(r"Version (\d+(?:\.\d+)*)", text)  # "Version 2024.0-Product"
            entry["version"] = match.group(1) if match else None
        max_threads = lib.func("MKL_Get_Max_Threads") or lib.func("mkl_get_max_threads")
        if max_threads is not None:
            max_threads.restype = ctypes.c_int
            entry["num_threads"] = int(max_threads())
        layer = lib.func("MKL_Set_Threading_Layer")
        if layer is not None:  # called with an invalid layer it only returns the current one
            layer.restype = ctypes.c_int
            code = int(layer(ctypes.c_int(-1)))
            entry["threading"] = {0: "openmp", 1: "sequential", 2: "openmp", 3: "openmp",
                                  4: "tbb"}.get(code)  # fmt: skip
        # The code path MKL runs: the MKL_CBWR branch when one is set, else the automatic one.
        cbwr_get = lib.func("MKL_CBWR_Get") or lib.func("mkl_cbwr_get")
        auto = lib.func("MKL_CBWR_Get_Auto_Branch") or lib.func("mkl_cbwr_get_auto_branch")
        branch = None
        if cbwr_get is not None:
            cbwr_get.restype = ctypes.c_int
            branch = int(cbwr_get(ctypes.c_int(1))) & 0xFFFF  # MKL_CBWR_BRANCH, minus STRICT
        if (branch is None or branch <= 2) and auto is not None:
            auto.restype = ctypes.c_int
            branch = int(auto())
        if branch is not None and branch > 2:  # 0, 1, 2: off / unset / auto
            entry["architecture"] = _MKL_BRANCHES.get(branch, f"CBWR_{branch}")
        # MKL's own pieces, by name: the kernels it picked and its threading layer.
        match = _MKL_PIECE.match(os.path.basename(lib.path).lower())
        if match and match.group(1):
            entry["architecture"] = entry["architecture"] or match.group(1)
        elif match and match.group(2):
            entry["threading"] = entry["threading"] or _MKL_LAYERS[match.group(2)]


class BLIS(Vendor):
    name = "blis"
    prefixes = ("libblis", "blis")
    dirs = ("blis",)
    symbols = ("bli_info_get_version_str", "bli_thread_get_num_threads")

    def inspect(self, lib: Library, entry: Entry) -> None:
        import ctypes

        get_version = lib.func("bli_info_get_version_str")
        if get_version is not None:
            get_version.restype = ctypes.c_char_p
            text = _decode(get_version()) or ""
            entry["config"] = text or None
            if text.startswith("AOCL"):  # AMD's fork: "AOCL-BLAS 4.2.0 Build 20240123"
                entry["vendor"] = "aocl"
            match = re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
            entry["version"] = match.group(1) if match else (text or None)
        query_id = lib.func("bli_arch_query_id")
        arch_string = lib.func("bli_arch_string")
        if query_id is not None and arch_string is not None:
            query_id.restype = ctypes.c_int
            arch_string.restype = ctypes.c_char_p
            entry["architecture"] = _decode(arch_string(ctypes.c_int(int(query_id()))))
        for symbol, layer in (
            ("bli_info_get_enable_openmp", "openmp"),
            ("bli_info_get_enable_pthreads", "pthreads"),
        ):
            enabled = lib.func(symbol)
            if enabled is not None:
                enabled.restype = ctypes.c_int
                if int(enabled()):
                    entry["threading"] = layer
                    break
                entry["threading"] = "sequential"
        num_threads = lib.func("bli_thread_get_num_threads")
        if num_threads is not None:
            num_threads.restype = ctypes.c_long
            value = int(num_threads())
            entry["num_threads"] = 1 if value == -1 else value  # -1: unset, BLIS runs one


class FlexiBLAS(Vendor):
    name = "flexiblas"
    prefixes = ("libflexiblas",)
    symbols = ("flexiblas_get_version", "flexiblas_current_backend")

    def inspect(self, lib: Library, entry: Entry) -> None:
        import ctypes

        get_version = lib.func("flexiblas_get_version")
        if get_version is not None:
            parts = [ctypes.c_int(), ctypes.c_int(), ctypes.c_int()]
            get_version(*[ctypes.byref(p) for p in parts])
            entry["version"] = ".".join(str(p.value) for p in parts)
        backend = lib.func("flexiblas_current_backend")
        if backend is not None:
            buf = ctypes.create_string_buffer(1024)
            backend(buf, ctypes.c_size_t(len(buf)))
            name = _decode(buf.value)
            entry["config"] = ("backend " + name) if name else None
        num_threads = lib.func("flexiblas_get_num_threads")
        if num_threads is not None:
            num_threads.restype = ctypes.c_int
            value = int(num_threads())
            entry["num_threads"] = 1 if value == -1 else value


class ATLAS(Vendor):
    name = "atlas"
    prefixes = ("libatlas", "libsatlas", "libtatlas", "libptf77blas", "libptcblas")
    dirs = ("atlas",)
    symbols = ("ATL_buildinfo",)

    def inspect(self, lib: Library, entry: Entry) -> None:
        buildinfo = lib.func("ATL_buildinfo")
        text = _capture_stdout(buildinfo) if buildinfo is not None else None
        if text:
            match = re.search(r"ATLAS version (\S+)", text)
            entry["version"] = match.group(1) if match else None
            arch = re.search(r"-DATL_ARCH_(\w+)", text)
            entry["architecture"] = arch.group(1) if arch else None
            entry["config"] = " ".join(text.split())[:500]
        base = os.path.basename(lib.path).lower()
        if base.startswith(("libtatlas", "libpt")):
            entry["threading"] = "pthreads"
        elif base.startswith("libsatlas"):
            entry["threading"] = "sequential"


class ArmPL(Vendor):
    name = "armpl"
    prefixes = ("libarmpl",)
    symbols = ("armplversion", "armplinfo")


class NVPL(Vendor):
    name = "nvpl"
    prefixes = ("libnvpl_blas", "libnvpl_lapack")
    symbols = ("nvpl_blas_get_version", "nvpl_lapack_get_version")


class AOCL(Vendor):  # AOCL-LAPACK (libflame); AOCL-BLAS is BLIS and is told apart there
    name = "aocl"
    api = "lapack"
    prefixes = ("libflame", "libaocl")


class Accelerate(Vendor):
    name = "accelerate"

    def matches_name(self, path: str) -> bool:
        base = os.path.basename(path)
        return (
            "Accelerate.framework" in path
            or "vecLib.framework" in path
            or base in ("libBLAS.dylib", "libLAPACK.dylib")
        )


class _OpenMP(Vendor):
    api = "openmp"

    def inspect(self, lib: Library, entry: Entry) -> None:
        import ctypes

        max_threads = lib.func("omp_get_max_threads")
        if max_threads is not None:
            max_threads.restype = ctypes.c_int
            entry["num_threads"] = int(max_threads())


class KmpOpenMP(_OpenMP):
    """LLVM's libomp and Intel's libiomp5: one code base, told apart by name."""

    name = "llvm-openmp"
    prefixes = ("libomp", "libiomp")
    symbols = ("__kmpc_fork_call",)

    def inspect(self, lib: Library, entry: Entry) -> None:
        _OpenMP.inspect(self, lib, entry)
        if os.path.basename(lib.path).lower().startswith("libiomp"):
            entry["vendor"] = "libiomp"


class GnuOpenMP(_OpenMP):
    name = "libgomp"
    prefixes = ("libgomp",)
    symbols = ("GOMP_parallel", "GOMP_parallel_start")  # libomp has them too: it comes first


class MsvcOpenMP(_OpenMP):
    name = "vcomp"
    prefixes = ("vcomp",)


#: Checked in order; the first vendor whose symbols a file exports itself wins.
VENDORS: list[Vendor] = [
    FlexiBLAS(),
    OpenBLAS(),
    MKL(),
    BLIS(),
    ATLAS(),
    ArmPL(),
    NVPL(),
    AOCL(),
    Accelerate(),
    KmpOpenMP(),
    GnuOpenMP(),
    MsvcOpenMP(),
]


def vendor_for_filename(path: str) -> tuple[str, str] | None:
    """(vendor, api) from a library's file name alone, or None."""
    for vendor in VENDORS:
        if vendor.matches_name(path):
            if vendor.name == "llvm-openmp" and os.path.basename(path).lower().startswith(
                "libiomp"
            ):
                return "libiomp", vendor.api
            return vendor.name, vendor.api
    return None


def _decode(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip() or None


# --------------------------------------------------------------------------------------------
# Loaded libraries: dlopen(RTLD_NOLOAD), dlsym, dladdr
# --------------------------------------------------------------------------------------------

_REALPATHS: dict[str, str] = {}


def _realpath(path: str) -> str:
    real = _REALPATHS.get(path)
    if real is None:
        real = _REALPATHS[path] = os.path.realpath(path)
    return real


class _Dl:
    """dladdr through ctypes: the file that defines an address."""

    def __init__(self) -> None:
        import ctypes

        class DlInfo(ctypes.Structure):
            _fields_ = [
                ("dli_fname", ctypes.c_char_p),
                ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p),
                ("dli_saddr", ctypes.c_void_p),
            ]

        self.ctypes = ctypes
        self.info_type = DlInfo
        dladdr = None
        for name in (None, "libc.so.6", "libdl.so.2"):
            try:
                dladdr = ctypes.CDLL(name).dladdr
                break
            except (OSError, AttributeError):
                continue
        if dladdr is not None:
            dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
            dladdr.restype = ctypes.c_int
        self.dladdr = dladdr

    def file_of(self, func: Any) -> str | None:
        """The path (as the loader knows it) of the object defining ``func``."""
        if self.dladdr is None:
            return None
        address = self.ctypes.cast(func, self.ctypes.c_void_p).value
        info = self.info_type()
        if not address or not self.dladdr(address, self.ctypes.byref(info)):
            return None
        return _decode(info.dli_fname)


class Library:
    """One loaded shared object, looked at without loading anything new."""

    def __init__(self, path: str, dl: _Dl | None) -> None:
        self.path = path  # the real path
        self.dl = dl
        self.loaded_as: str | None = None
        self.handle: Any = None
        self._defines: dict[str, bool] = {}
        if dl is not None:
            mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LOCAL", 0)
            try:
                self.handle = dl.ctypes.CDLL(path, mode=mode)
            except OSError:
                self.handle = None

    def _lookup(self, symbol: str) -> Any:
        if self.handle is None:
            return None
        try:
            return self.handle[symbol]
        except AttributeError:
            return None

    def defines(self, symbol: str) -> bool:
        """Whether this file itself exports ``symbol`` (not one of its dependencies)."""
        known = self._defines.get(symbol)
        if known is not None:
            return known
        func = self._lookup(symbol)
        found = False
        if func is not None and self.dl is not None:
            owner = self.dl.file_of(func)
            found = owner is not None and _realpath(owner) == self.path
            if found and self.loaded_as is None:
                self.loaded_as = owner
        self._defines[symbol] = found
        return found

    def func(self, symbol: str) -> Any:
        """The function ``symbol`` when this file defines it, else None."""
        return self._lookup(symbol) if self.defines(symbol) else None

    def provides(self) -> list[str]:
        return [api for api, names in _API_SYMBOLS if any(self.defines(n) for n in names)]


def _capture_stdout(func: Callable[[], Any]) -> str | None:
    """What a C function prints on file descriptor 1 (ATL_buildinfo prints, returns nothing)."""
    import ctypes
    import tempfile

    try:
        libc = ctypes.CDLL(None)
        fflush = libc.fflush
    except (OSError, AttributeError):
        return None
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 1)
            try:
                func()
                fflush(None)
            finally:
                os.dup2(saved, 1)
            tmp.seek(0)
            return tmp.read(65536).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(saved)


# --------------------------------------------------------------------------------------------
# ELF: the libraries a file links directly (DT_NEEDED) and its DT_SONAME
# --------------------------------------------------------------------------------------------


def elf_dynamic(path: str) -> tuple[str | None, list[str]] | None:
    """(soname, needed) of an ELF shared object, or None when it is not one."""
    import struct

    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return None
            is64 = head[4] == 2
            end = "<" if head[5] == 1 else ">"
            if is64:
                phoff = struct.unpack_from(end + "Q", head, 32)[0]
                phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
            else:
                phoff = struct.unpack_from(end + "I", head, 28)[0]
                phentsize, phnum = struct.unpack_from(end + "HH", head, 42)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            loads = []
            dynamic = None
            for i in range(phnum):
                at = i * phentsize
                if is64:
                    p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                        end + "IIQQQQ", table, at
                    )
                else:
                    p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                        end + "IIIII", table, at
                    )
                if p_type == 1:  # PT_LOAD
                    loads.append((p_vaddr, p_offset, p_filesz))
                elif p_type == 2:  # PT_DYNAMIC
                    dynamic = (p_offset, p_filesz)
            if dynamic is None:
                return None
            f.seek(dynamic[0])
            data = f.read(dynamic[1])
            size, fmt = (16, end + "qQ") if is64 else (8, end + "iI")
            needed: list[int] = []
            soname = strtab = strsz = None
            for at in range(0, len(data) - size + 1, size):
                tag, value = struct.unpack_from(fmt, data, at)
                if tag == 0:  # DT_NULL
                    break
                if tag == 1:  # DT_NEEDED
                    needed.append(value)
                elif tag == 5:  # DT_STRTAB
                    strtab = value
                elif tag == 10:  # DT_STRSZ
                    strsz = value
                elif tag == 14:  # DT_SONAME
                    soname = value
            if strtab is None or strsz is None:
                return None
            offset = None
            for vaddr, file_offset, filesz in loads:
                if vaddr <= strtab < vaddr + filesz:
                    offset = strtab - vaddr + file_offset
                    break
            if offset is None:
                return None
            f.seek(offset)
            strings = f.read(strsz)
    except (OSError, struct.error):
        return None

    def name_at(at: int) -> str:
        stop = strings.find(b"\0", at)
        return strings[at : stop if stop >= 0 else len(strings)].decode("utf-8", "replace")

    return (name_at(soname) if soname is not None else None), [name_at(n) for n in needed]


# --------------------------------------------------------------------------------------------
# The process map
# --------------------------------------------------------------------------------------------


def mapped_files() -> list[str] | None:
    """Real paths of the shared objects in this process, in load order; None without /proc."""
    try:
        with open("/proc/self/maps", "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    seen = set()
    found = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        path = parts[5].strip()
        if not path.startswith("/") or path.endswith(" (deleted)") or path in seen:
            continue
        seen.add(path)
        base = os.path.basename(path)
        if ".so" in base or base.endswith((".dylib", ".dll")):
            found.append(path)
    return found


# --------------------------------------------------------------------------------------------
# dpkg: who owns a system file, at which version
# --------------------------------------------------------------------------------------------

_DPKG_INFO = "/var/lib/dpkg/info"
_DPKG_STATUS = "/var/lib/dpkg/status"
_DPKG_TOKENS = ("blas", "lapack", "blis", "atlas", "omp", "mkl")


def dpkg_packages(paths: Iterable[str]) -> dict[str, tuple[str, str]]:
    """real path -> (package, version) for the files that a Debian package installed."""
    wanted = set(paths)
    if not wanted or not os.path.isfile(_DPKG_STATUS):
        return {}
    basenames = set(os.path.basename(p) for p in wanted)
    try:
        lists = sorted(
            n
            for n in os.listdir(_DPKG_INFO)
            if n.endswith(".list") and any(t in n for t in _DPKG_TOKENS)
        )
    except OSError:
        return {}
    owner: dict[str, str] = {}
    for name in lists:
        try:
            with open(os.path.join(_DPKG_INFO, name), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if os.path.basename(line) in basenames:
                real = _realpath(line)
                if real in wanted:
                    owner.setdefault(real, name[: -len(".list")])
    if not owner:
        return {}
    versions: dict[str, str] = {}
    try:
        with open(_DPKG_STATUS, "rb") as f:
            status = f.read().decode("utf-8", "replace")
    except OSError:
        return {}
    want_packages = set(owner.values())
    for stanza in status.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(" ") and key in ("Package", "Architecture", "Version"):
                fields[key] = value.strip()
        package = fields.get("Package", "")
        for key in (package, package + ":" + fields.get("Architecture", "")):
            if key in want_packages and "Version" in fields:
                versions[key] = fields["Version"]
    result = {}
    for real, key in owner.items():
        if key in versions:
            result[real] = (key.split(":")[0], versions[key])
    return result


def upstream_version(debian_version: str) -> str:
    """``1:3.11.0-2`` -> ``3.11.0``; ``0.3.21+ds-4`` -> ``0.3.21``."""
    version = debian_version.split(":", 1)[-1]
    if "-" in version:
        version = version.rsplit("-", 1)[0]
    return re.split(r"[+~]", version)[0]


# --------------------------------------------------------------------------------------------
# Collect
# --------------------------------------------------------------------------------------------


def _new_entry() -> Entry:
    entry: Entry = dict((key, None) for key in ENTRY_KEYS)
    entry["provides"] = []
    entry["detected_by"] = []
    return entry


def _display(path: str | None, prefix: str) -> str | None:
    """A path relative to the prefix (``/`` separators) when inside it, else absolute."""
    if not path:
        return None
    for base in (prefix, _realpath(prefix)):
        if base:
            try:
                rel = os.path.relpath(path, base)
            except ValueError:  # another drive on Windows
                continue
            if rel != os.curdir and not rel.startswith(os.pardir):
                return rel.replace(os.sep, "/")
    return path


def _identify(lib: Library) -> Entry | None:
    """The entry for one mapped file, or None when it is no BLAS / LAPACK / OpenMP."""
    entry = _new_entry()
    provides = lib.provides()
    own = next((v for v in VENDORS if v.proven_by(lib)), None)
    by_name = next((v for v in VENDORS if v.matches_name(lib.path)), None)
    if own is None and by_name is None and not provides:
        return None
    entry["provides"] = provides
    entry["detected_by"] = ["maps"]
    vendor = own or by_name
    if vendor is not None:
        entry["vendor"] = vendor.name
        entry["detected_by"].append("symbols" if own is not None else "name")
        try:
            vendor.inspect(lib, entry)
        except Exception as e:  # a foreign library must never break the probe
            entry["config"] = entry["config"] or f"inspect failed: {e}"
    if vendor is not None and (vendor.api == "openmp" or not provides):
        entry["api"] = vendor.api
    else:
        entry["api"] = "blas" if "blas" in provides else provides[0]
    return entry


_DIR_THREADING = (("-pthread", "pthreads"), ("-openmp", "openmp"), ("-serial", "sequential"))


def vendor_for_directory(path: str) -> tuple[str, str | None] | None:
    """(vendor, threading) from the directory a distro keeps one BLAS in, as Debian and Ubuntu
    do for ``update-alternatives``: ``openblas-pthread/libblas.so.3``, ``blis-openmp/...``,
    ``atlas/...``; the netlib reference lives in ``blas/`` and ``lapack/``."""
    directory = os.path.basename(os.path.dirname(path)).lower()
    if directory in ("blas", "lapack"):
        return "netlib", "sequential"
    for vendor in VENDORS:
        if vendor.dirs and directory.startswith(vendor.dirs):
            threading = next((t for s, t in _DIR_THREADING if directory.endswith(s)), None)
            return vendor.name, threading
    return None


def _link_wrappers(entries: dict[str, Entry], libs: dict[str, Library]) -> None:
    """Name the vendor of a BLAS / LAPACK that exports none of a vendor's symbols itself:

    * a wrapper linking a vendor library directly (DT_NEEDED), like Debian's OpenBLAS and
      ATLAS ``libblas.so.3``, is that vendor's (detected_by "needed");
    * else one in a distro's per-vendor directory (Debian's BLIS ``libblas.so.3`` hides every
      ``bli_`` symbol) is that vendor's (detected_by "name");
    * else it is the netlib reference implementation (detected_by "symbols": BLAS / LAPACK
      symbols and no vendor's).
    """
    vendors_by_soname: dict[str, str] = {}
    for real, entry in entries.items():
        if entry["api"] != "openmp" and "symbols" in entry["detected_by"]:
            dyn = elf_dynamic(real)
            if dyn is not None and dyn[0]:
                vendors_by_soname.setdefault(dyn[0], real)
            vendors_by_soname.setdefault(os.path.basename(real), real)
            loaded_as = libs[real].loaded_as
            if loaded_as:
                vendors_by_soname.setdefault(os.path.basename(loaded_as), real)
    for real, entry in entries.items():
        if entry["vendor"] is not None:
            continue
        dyn = elf_dynamic(real)
        target = None
        for needed in dyn[1] if dyn is not None else []:
            target = vendors_by_soname.get(needed)
            if target is not None and target != real:
                break
            target = None
        by_directory = vendor_for_directory(real)
        if target is not None:
            source = entries[target]
            entry["vendor"] = source["vendor"]
            entry["implemented_by"] = target
            for key in ("version", "architecture", "threading", "num_threads"):
                entry[key] = source[key]
            entry["detected_by"].append("needed")
        elif by_directory is not None and by_directory[0] != "netlib":
            entry["vendor"], entry["threading"] = by_directory
            entry["detected_by"].append("name")
        elif entry["provides"] != ["openmp"]:
            entry["vendor"] = "netlib"
            entry["threading"] = "sequential"
            entry["detected_by"].append("symbols")
        else:
            entry["vendor"] = "openmp"  # an OpenMP runtime envlock does not know by name


def _threadpoolctl(path: str | None, notes: list[str]) -> tuple[Entry | None, list[Any]]:
    """({"version", "source"}, threadpool_info()) from threadpoolctl, or (None, []).

    ``source`` is "target" when the target's own threadpoolctl was imported (it comes first
    on sys.path), "given" when the copy in ``path`` was."""
    if path:
        sys.path.append(path)
    try:
        import threadpoolctl  # type: ignore[import-not-found, unused-ignore]
    except Exception as e:
        notes.append(f"threadpoolctl not importable: {type(e).__name__}: {e}")
        return None, []
    origin = os.path.realpath(getattr(threadpoolctl, "__file__", None) or "")
    given = bool(path) and os.path.dirname(origin) == os.path.realpath(str(path))
    facts = {
        "version": getattr(threadpoolctl, "__version__", None),
        "source": "given" if given else "target",
    }
    try:
        info = list(threadpoolctl.threadpool_info())
    except Exception as e:
        notes.append(f"threadpoolctl.threadpool_info() failed: {type(e).__name__}: {e}")
        return facts, []
    return facts, info


_TPC_OPENMP = {"libgomp": "libgomp", "libiomp": "libiomp", "libomp": "llvm-openmp",
               "vcomp": "vcomp"}  # fmt: skip


def _merge_threadpoolctl(
    entries: dict[str, Entry], info: list[Any], notes: list[str]
) -> dict[str, Entry]:
    for item in info:
        if not isinstance(item, dict) or not item.get("filepath"):
            continue
        real = _realpath(str(item["filepath"]))
        internal = item.get("internal_api")
        vendor = _TPC_OPENMP.get(str(item.get("prefix"))) if internal == "openmp" else internal
        entry = entries.get(real)
        if entry is None:
            entry = entries[real] = _new_entry()
            entry["vendor"] = vendor
            entry["api"] = item.get("user_api")
            entry["provides"] = [entry["api"]] if entry["api"] else []
            entry["loaded_as"] = str(item["filepath"])
        elif vendor and entry["vendor"] not in (vendor, "aocl"):
            base, says = os.path.basename(real), entry["vendor"]
            notes.append(f"threadpoolctl reports {base} as {vendor}; its symbols say {says}")
        layer = item.get("threading_layer")
        values = {
            "version": item.get("version"),
            "architecture": item.get("architecture"),
            "num_threads": item.get("num_threads"),
            "threading": {"disabled": "sequential", "pthreads": "pthreads", "openmp": "openmp",
                          "tbb": "tbb", "intel": "openmp", "gnu": "openmp", "pgi": "openmp",
                          "sequential": "sequential"}.get(str(layer)),
        }  # fmt: skip
        for key, value in values.items():
            if entry[key] is None and value is not None:
                entry[key] = value
        entry["detected_by"].append("threadpoolctl")
    return entries


def _numpy_facts(notes: list[str]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(build-time BLAS / LAPACK from show_config, the CPU features numpy dispatches to)."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None, None
    config = None
    try:
        deps = numpy.show_config(mode="dicts")["Build Dependencies"]
        config = dict((k, deps.get(k)) for k in ("blas", "lapack"))
        config = json.loads(json.dumps(config, default=str))
    except Exception as e:
        version = getattr(numpy, "__version__", "?")
        notes.append(
            f"numpy {version}: no build information (show_config(mode='dicts') needs"
            f" numpy >= 1.26: {type(e).__name__}: {e})"
        )
    features = None
    umath = sys.modules.get("numpy._core._multiarray_umath") or sys.modules.get(
        "numpy.core._multiarray_umath"
    )
    if umath is not None and hasattr(umath, "__cpu_baseline__"):
        found = getattr(umath, "__cpu_features__", {}) or {}
        dispatch = list(getattr(umath, "__cpu_dispatch__", []) or [])
        features = {
            "baseline": list(umath.__cpu_baseline__),
            "dispatch": [d for d in dispatch if found.get(d)],  # compiled and used on this CPU
            "features": sorted(k for k, v in found.items() if v),
        }
    return config, features


def _scan(loaded_by: dict[str, str | None], notes: list[str]) -> dict[str, Entry]:
    """One entry per real file of the mapped BLAS / LAPACK / OpenMP libraries."""
    entries: dict[str, Entry] = {}
    libs: dict[str, Library] = {}
    dl = None
    try:
        dl = _Dl()
    except Exception as e:  # no ctypes in this interpreter
        notes.append(f"ctypes unavailable ({e}): libraries identified by name only")
    for path in loaded_by:
        base = os.path.basename(path).lower()
        if _is_python_extension(base) or base.startswith(_SKIP_PREFIXES):
            continue
        real = _realpath(path)
        if real in libs:
            continue
        lib = libs[real] = Library(real, dl)
        entry = _identify(lib)
        if entry is not None:
            entry["loaded_by"] = loaded_by[path]
            entries[real] = entry
    _link_wrappers(entries, libs)
    for real, entry in entries.items():
        entry["loaded_as"] = libs[real].loaded_as
    return entries


def collect(options: dict[str, Any]) -> dict[str, Any]:
    notes: list[str] = []
    prefix = str(options.get("prefix") or sys.prefix)
    names = options.get("import")
    names = ["numpy", "scipy"] if names is None else [str(n) for n in names]
    linux_maps = sys.platform.startswith("linux")
    before = mapped_files() if linux_maps else None
    if before is None:
        notes.append(
            f"no process map on {sys.platform}: libraries from threadpoolctl only"
            if not linux_maps
            else "/proc/self/maps is unreadable: libraries from threadpoolctl only"
        )
    loaded_by: dict[str, str | None] = dict((p, None) for p in before or [])
    imported: dict[str, str | None] = {}
    import_errors: dict[str, str] = {}
    for name in names:
        imported[name] = None
        module = None
        try:
            for module_name in IMPORTS.get(name, (name,)):
                __import__(module_name)
            module = sys.modules.get(name)
        except KeyboardInterrupt:
            raise
        except BaseException as e:
            import_errors[name] = f"{type(e).__name__}: {e}"
        if module is not None:
            imported[name] = str(getattr(module, "__version__", "")) or None
        if before is not None:
            for path in mapped_files() or []:
                loaded_by.setdefault(path, name)
    if imported.get("numpy") is None and "numpy" in names:
        notes.append("numpy is not importable: no BLAS was loaded through it")

    entries: dict[str, Entry] = {}
    if before is not None:
        try:
            entries = _scan(loaded_by, notes)
        except Exception as e:  # foreign libraries must never make the probe fail
            notes.append(f"the process map could not be read: {type(e).__name__}: {e}")

    tpc_facts, tpc_info = _threadpoolctl(options.get("threadpoolctl_path"), notes)
    _merge_threadpoolctl(entries, tpc_info, notes)

    if sys.platform.startswith("linux"):
        system = [r for r in entries if r.startswith(("/usr/", "/lib")) and "/local/" not in r]
        owned = dpkg_packages(system)  # dpkg owns no file in a venv, conda or pyenv prefix
        for real, (package, version) in owned.items():
            entry = entries[real]
            entry["package"] = f"{package} {version}"
            if entry["version"] is None:
                entry["version"] = upstream_version(version)
            entry["detected_by"].append("dpkg")

    libraries = []
    for real, entry in entries.items():
        entry["file"] = _display(real, prefix)
        entry["real_file"] = os.path.basename(real)
        entry["loaded_as"] = _display(entry["loaded_as"], prefix)
        entry["implemented_by"] = _display(entry["implemented_by"], prefix)
        entry["detected_by"] = [d for d in _DETECTION_ORDER if d in entry["detected_by"]]
        entry["provides"] = [a for a in ("blas", "lapack", "openmp") if a in entry["provides"]]
        libraries.append(entry)
    libraries.sort(key=lambda e: (_API_ORDER.get(e["api"], 9), e["file"] or ""))

    numpy_config, cpu_features = _numpy_facts(notes)
    files = None  # what the answer depends on, for verify's memo (envlock/stamp.py)
    if before is not None:
        named = [str(i["filepath"]) for i in tpc_info if isinstance(i, dict) and i.get("filepath")]
        files = sorted(set(mapped_files() or []).union(named))
    return {
        "probe_version": PROBE_VERSION,
        "files": files,
        "imported": imported,
        "import_errors": import_errors,
        "libraries": libraries,
        "numpy_config": numpy_config,
        "cpu_features": cpu_features,
        "threadpoolctl": tpc_facts,
        "notes": notes,
    }


def main(argv: list[str]) -> int:
    marker = argv[1]
    options = json.loads(argv[2]) if len(argv) > 2 else {}
    payload = json.dumps(collect(options), ensure_ascii=True, sort_keys=True, default=str)
    out = sys.__stdout__ or sys.stdout  # the real one: a sitecustomize may replace sys.stdout
    out.write("\n" + marker + payload + marker + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    # Run as a script: this file's directory (envlock's package) is sys.path[0]; it is no part
    # of the target environment.
    if not getattr(sys.flags, "safe_path", False):  # -P / PYTHONSAFEPATH: not prepended
        del sys.path[0]
    sys.exit(main(sys.argv))
