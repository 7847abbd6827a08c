"""envlock's probe: the facts about one Python environment, as plain data.

This file is run *inside* the target interpreter, as a script (``python _probe.py MARKER``),
so it must stay standard-library only and keep Python 3.8 syntax. Its JSON result is printed
between two copies of MARKER so that stray output from ``.pth`` files or ``sitecustomize``
cannot corrupt it. The host also imports it to read an environment's files statically
(``--prefix``) and to probe its own interpreter in-process.
"""

from __future__ import annotations

import json
import os
import re
import sys

TYPE_CHECKING = False  # importing typing costs milliseconds; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    Dist = Dict[str, Any]

PROBE_VERSION = 1

# The CPU flags that decide which kernels BLAS libraries and numpy pick.
NUMERIC_CPU_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512cd",
    "avx512dq",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "asimd",
    "sve",
    "sve2",
)
_X86_LEVELS = (
    ("x86-64-v4", ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")),
    ("x86-64-v3", ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave")),
    ("x86-64-v2", ("cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3")),
)
_CANONICAL = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """PEP 503 normalisation."""
    return _CANONICAL.sub("-", name).lower()


def _read_text(path: str, limit: int = -1) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _metadata_headers(path: str) -> Tuple[Optional[str], Optional[str], bool, bool]:
    """Name and Version from a METADATA / PKG-INFO file, reading only its header block;
    whether the file could be read, and whether its header block is valid UTF-8."""
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
            while b"\n\n" not in head and b"\r\n\r\n" not in head:
                more = f.read(65536)
                if not more or len(head) > (1 << 20):
                    break
                head += more
    except OSError:
        return None, None, False, True
    return _headers(head)


def _headers(head: bytes) -> Tuple[Optional[str], Optional[str], bool, bool]:
    """(Name, Version, True, whether the header block is valid UTF-8) of metadata bytes."""
    try:
        text, clean = head.decode("utf-8"), True
    except UnicodeDecodeError as exc:
        text = head.decode("utf-8", "replace")
        # a bad byte after the headers, or a character cut at the end of what was read, is
        # not a corrupt header
        before = head[: exc.start]
        clean = b"\n\n" in before or b"\r\n\r\n" in before or exc.start > len(head) - 4
    name = version = None
    for line in text.splitlines():
        if not line.strip():
            break
        key = line[:8].lower()  # header names are case-insensitive (email headers)
        if name is None and key.startswith("name:"):
            name = line[5:].strip()
        elif version is None and key == "version:":
            version = line[8:].strip()
        if name is not None and version is not None:
            break
    return name, version, True, clean


def _problem(kind: str, path: str, **facts: Any) -> Dist:
    facts["kind"], facts["path"] = kind, path
    return facts


def read_distribution(path: str) -> Tuple[Optional[Dist], Optional[Dist]]:
    """One ``*.dist-info`` / ``*.egg-info`` directory: the distribution as a dict (None when
    its metadata cannot be read), and the problem found with it (or None)."""
    kind = "dist-info" if path.endswith(".dist-info") else "egg-info"
    if kind == "egg-info" and os.path.isfile(path):  # a bare ``name.egg-info`` file
        meta_file = path
    else:
        meta_file = os.path.join(path, "METADATA" if kind == "dist-info" else "PKG-INFO")
    name, version, readable, clean = _metadata_headers(meta_file)
    if not readable or not name or not version:
        what = "no-metadata" if not readable else "no-name-version"
        return None, _problem(what, path, file=os.path.basename(meta_file))
    dist: Dist = {"name": name, "version": version, "path": path, "kind": kind}
    problem = None if clean else _problem("undecodable", path, file=os.path.basename(meta_file))
    if meta_file == path:
        return dist, problem
    installer = (_read_text(os.path.join(path, "INSTALLER"), 200) or "").strip()
    if installer:
        dist["installer"] = installer.splitlines()[0]
    if kind == "dist-info":
        dist["requested"] = os.path.exists(os.path.join(path, "REQUESTED"))
    direct_url = _read_text(os.path.join(path, "direct_url.json"), 65536)
    if direct_url is not None:
        try:
            dist["direct_url"] = json.loads(direct_url)
        except ValueError:
            dist["direct_url"] = None
    return dist, problem


def read_egg(path: str) -> Tuple[Optional[Dist], Optional[Dist]]:
    """A ``.egg`` on ``sys.path`` (easy_install's: a directory with ``EGG-INFO``, or a zip
    file), as :func:`read_distribution` reads a dist-info."""
    if os.path.isdir(path):
        return read_distribution(os.path.join(path, "EGG-INFO"))
    import zipfile

    try:
        with zipfile.ZipFile(path) as egg, egg.open("EGG-INFO/PKG-INFO") as f:
            head = f.read(1 << 20)
    except (OSError, KeyError, ValueError, RuntimeError, zipfile.BadZipFile):
        return None, _problem("no-metadata", path, file="EGG-INFO/PKG-INFO")
    name, version, _, clean = _headers(head)
    if not name or not version:
        return None, _problem("no-name-version", path, file="EGG-INFO/PKG-INFO")
    dist: Dist = {"name": name, "version": version, "path": path, "kind": "egg-info"}
    return dist, None if clean else _problem("undecodable", path, file="EGG-INFO/PKG-INFO")


def scan(paths: List[str], details: bool = False) -> Tuple[List[Dist], List[Dist], Dict[str, int]]:
    """Distributions importable from ``paths``, first one per name wins (as for imports);
    the problems found on the way (plain data: the host words them); and how many
    distributions each directory holds. A directory reached twice (``lib64`` -> ``lib``)
    is read once. ``details`` (for ``envlock doctor``) also reports shadowed distributions.
    """
    found: Dict[str, Dist] = {}
    where: Dict[str, str] = {}
    problems: List[Dist] = []
    counts: Dict[str, int] = {}
    seen = set()
    for entry in paths:
        directory = entry or "."
        real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        if directory.lower().endswith(".egg"):  # easy_install's: one distribution, an entry
            candidates = [directory]
        else:
            try:
                candidates = _metadata_folders(directory, problems)
            except OSError:
                continue
        count = 0
        for path in candidates:
            reader = read_egg if path == directory else read_distribution
            dist, problem = reader(path)
            if problem is not None:
                problems.append(problem)
            if dist is None:
                continue
            count += 1
            key = canonical_name(dist["name"])
            if key not in found:
                found[key] = dist
                where[key] = real
            elif where[key] == real or details:
                kind = "duplicate" if where[key] == real else "shadowed"
                first = found[key]
                problems.append(
                    _problem(kind, path, name=dist["name"], version=dist["version"],
                             other=first["path"], other_version=first["version"])
                )  # fmt: skip
        counts[directory] = count
    return [found[k] for k in sorted(found)], problems, counts


def _metadata_folders(directory: str, problems: List[Dist]) -> List[str]:
    """The ``*.dist-info`` and ``*.egg-info`` in ``directory``, in name order; pip's leftovers
    and ``.egg-link`` files go to ``problems``."""
    folders = []
    for base in sorted(os.listdir(directory)):
        path = os.path.join(directory, base)
        if base[0] == "~":  # pip renames what it removes to ~...; pip ignores these
            problems.append(_problem("leftover", path))
        elif base.endswith((".dist-info", ".egg-info")):
            folders.append(path)
        elif base.endswith(".egg-link"):
            target = (_read_text(path, 4096) or "").strip().split("\n")[0].strip()
            problems.append(_problem("egg-link", path, name=base[:-9], target=target))
    return folders


_WARNINGS = {
    "no-metadata": "%s: no readable %s",
    "no-name-version": "%s: %s has no Name or Version",
}


def scan_distributions(paths: List[str]) -> Tuple[List[Dist], List[str]]:
    """Distributions importable from ``paths``, and warnings about unreadable metadata."""
    distributions, problems, _ = scan(paths)
    return distributions, warnings_of(problems)


def warnings_of(problems: List[Dist]) -> List[str]:
    return [
        _WARNINGS[p["kind"]] % (p["path"], p["file"]) for p in problems if p["kind"] in _WARNINGS
    ]


def python_facts() -> Dict[str, Any]:
    import sysconfig

    info = sys.version_info
    version = "%d.%d.%d" % info[:3]
    if info.releaselevel != "final":
        version += {"alpha": "a", "beta": "b", "candidate": "rc"}[info.releaselevel] + str(
            info.serial
        )
    free_threading = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    abiflags = getattr(sys, "abiflags", "")
    impl = sys.implementation.name
    abi = sysconfig.get_config_var("SOABI") or ""
    return {
        "implementation": impl,
        "version": version,
        "abi": abi or "%s%d%d%s" % (impl[:2], info[0], info[1], abiflags),
        "free_threading": free_threading,
        "platform_tag": sysconfig.get_platform(),
        "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
    }


def _os_release() -> Optional[str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = _read_text(path, 16384)
        if text is None:
            continue
        fields: Dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip().strip("\"'")
        distro_id = fields.get("ID")
        if distro_id:
            version = fields.get("VERSION_ID")
            return distro_id + (" " + version if version else "")
    return None


def _cpu_flags() -> Optional[set[str]]:
    text = _read_text("/proc/cpuinfo", 1 << 20)
    if not text:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def _x86_level(flags: set[str]) -> Optional[str]:
    for level, required in _X86_LEVELS:
        if all(f in flags for f in required):
            return level
    return "x86-64" if "sse2" in flags else None


def _libc() -> Tuple[Optional[str], Optional[str]]:
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        value = None
    if value:
        family, _, version = value.partition(" ")
        return family, version or None
    if sys.platform.startswith("linux"):
        for lib_dir in ("/lib", "/usr/lib"):
            try:
                if any(n.startswith("ld-musl-") for n in os.listdir(lib_dir)):
                    return "musl", None
            except OSError:
                pass
    return None, None


def _uname() -> Tuple[str, str, str]:
    """System, release and machine, as ``platform.uname()`` has them; without importing
    ``platform`` (and compiling its regular expressions) where ``os.uname`` gives them."""
    if hasattr(os, "uname"):
        u = os.uname()
        return u.sysname, u.release, u.machine
    import platform

    return platform.system(), platform.release(), platform.machine()


def platform_facts() -> Dict[str, Any]:
    system, release, machine = _uname()
    os_name = {"darwin": "macos"}.get(system.lower(), system.lower()) or None
    facts: Dict[str, Any] = {
        "os": os_name,
        "machine": machine.lower() or None,
        "kernel": release or None,
    }
    if os_name == "linux":
        facts["distro"] = _os_release()
    elif os_name == "macos":
        import platform

        facts["distro"] = ("macos " + platform.mac_ver()[0]).strip()
    elif os_name == "windows":
        import platform

        facts["distro"] = ("windows " + platform.version()).strip()
    family, version = _libc()
    facts["libc"] = family
    facts["libc_version"] = version
    flags = _cpu_flags() if os_name == "linux" else None
    if flags is not None:
        facts["cpu_flags"] = sorted(f for f in NUMERIC_CPU_FLAGS if f in flags)
        if facts["machine"] in ("x86_64", "amd64"):
            facts["cpu_level"] = _x86_level(flags)
    return facts


def variable_facts(names: List[str]) -> Dict[str, Optional[str]]:
    return dict((name, os.environ.get(name)) for name in names)


def site_paths(skip_script_dir: bool = False) -> List[str]:
    """The directories distributions are imported from, as ``sys.path`` has them.

    ``sys.path[0]`` is the invoking script's directory (or the working directory for
    ``-m`` and ``-c``): an artifact of how envlock was started, not part of the environment.
    Run as a script the probe has already removed it; in-process, ``skip_script_dir`` does.
    Under ``-P`` / ``PYTHONSAFEPATH`` (3.11+) nothing was prepended, and nothing is skipped.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    prepended = skip_script_dir and not getattr(sys.flags, "safe_path", False)  # -P: none
    entries = sys.path[1:] if prepended else sys.path
    paths: List[str] = []
    for entry in entries:
        absolute = os.path.abspath(entry or ".")
        if absolute == here or absolute in paths:
            continue
        zipped_egg = absolute.lower().endswith(".egg") and os.path.isfile(absolute)
        if not (zipped_egg or os.path.isdir(absolute)):
            continue
        paths.append(absolute)
    return paths


def path_entries() -> List[str]:
    """Every folder imports may come from, missing ones and the user site-packages too:
    what a later run of the same interpreter would find differently if it changed."""
    site: Any = sys.modules.get("site")
    entries = [os.path.abspath(p or ".") for p in sys.path]
    user_site = getattr(site, "USER_SITE", None)
    if isinstance(user_site, str):
        entries.append(user_site)
    return entries


def leaks(counts: Dict[str, int]) -> List[Dist]:
    """The scanned directories on ``sys.path`` because of the user site-packages or
    ``PYTHONPATH``, not because the environment has them, with their distribution counts."""
    site: Any = sys.modules.get("site")
    env = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    origins = dict((os.path.realpath(p), "PYTHONPATH") for p in env if p)
    if getattr(site, "ENABLE_USER_SITE", False) and getattr(site, "USER_SITE", None):
        origins[os.path.realpath(site.USER_SITE)] = "the user site-packages"
    if not origins:
        return []
    own = set(map(os.path.realpath, getattr(site, "getsitepackages", list)()))
    found = [(d, n, os.path.realpath(d)) for d, n in counts.items()]
    return [
        _problem("leak", d, origin=origins[real], count=n)
        for d, n, real in found
        if real in origins and real not in own
    ]


def collect(
    variable_names: List[str], in_process: bool = False, details: bool = False
) -> Dict[str, Any]:
    """The payload. ``problems`` (plain data about broken installs) is there only when some
    were found, or with ``details`` (for ``envlock doctor``: shadowed distributions too)."""
    distributions, problems, counts = scan(site_paths(skip_script_dir=in_process), details)
    problems.extend(p for p in leaks(counts) if p["count"] or details)
    payload = {
        "probe_version": PROBE_VERSION,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "executable": sys.executable,
        "python": python_facts(),
        "platform": platform_facts(),
        "variables": variable_facts(variable_names),
        "conda_overrides": dict(
            (k, v) for k, v in os.environ.items() if k.startswith("CONDA_OVERRIDE_")
        ),
        "distributions": distributions,
        "warnings": warnings_of(problems),
        "sys_path": path_entries(),
    }
    if problems or details:
        payload["problems"] = problems
    return payload


def main(argv: List[str]) -> int:
    marker = argv[1]
    names = json.loads(argv[2]) if len(argv) > 2 else []
    options = json.loads(argv[3]) if len(argv) > 3 else {}
    payload = json.dumps(
        collect(names, details=bool(options.get("details"))), ensure_ascii=True, sort_keys=True
    )
    # The real stdout: a .pth or sitecustomize may have replaced sys.stdout.
    out = sys.__stdout__ or sys.stdout
    out.write("\n" + marker + payload + marker + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    # Run as a script: the directory of this file is sys.path[0]; it is envlock's own
    # package directory and must not be mistaken for part of the target environment.
    if not getattr(sys.flags, "safe_path", False):  # -P / PYTHONSAFEPATH: not prepended
        del sys.path[0]
    sys.exit(main(sys.argv))
