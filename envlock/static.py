"""Read an environment from its files alone (``--prefix``): nothing in it is executed.

Works on prefixes from any OS: POSIX ``lib/pythonX.Y[t]/site-packages``, Windows
``Lib/site-packages``. What cannot be known without running the interpreter (platform
details, variables) stays unknown and is never reported as drift.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from envlock import _probe
from envlock.errors import TargetError
from envlock.redact import display_path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

_PYDIR = re.compile(r"^python(\d+)\.(\d+)(t?)$")
_MAX_PTH = 1 << 20  # bytes read of one .pth file


def site_packages(prefix: Path, cfg: dict[str, str] | None = None) -> list[Path]:
    """The directories a prefix's Python imports distributions from, in its order, as
    ``site`` builds ``sys.path``: the prefix's site-packages, each followed by the folders its
    ``.pth`` files name; then, for a venv made with ``--system-site-packages``, its base's
    (:func:`base_prefix`). Where ``pyvenv.cfg`` (``cfg``, read when not given) names the
    version, only that ``pythonX.Y`` folder is read (another one is a leftover)."""
    cfg = pyvenv_cfg(prefix) if cfg is None else cfg
    version = re.match(r"(\d+)\.(\d+)", cfg.get("version_info") or cfg.get("version") or "")
    folder = f"python{version[1]}.{version[2]}" if version else None
    base = base_prefix(prefix, cfg)
    found: list[Path] = []
    for root in (prefix,) if base is None else (prefix, base):
        for site in _own_site_packages(root, folder):
            for path in (site, *_pth_folders(site)):
                if path not in found:
                    found.append(path)
    return found


def base_prefix(prefix: Path, cfg: dict[str, str]) -> Path | None:
    """The prefix of the Python a venv was made from (``home`` in its ``pyvenv.cfg`` is that
    Python's ``bin``, or ``Scripts`` folder) when the venv sees its site-packages
    (``--system-site-packages``); else None. A venv made from another venv's interpreter by
    Python 3.10 or older names that venv's ``bin`` as ``home``; its interpreter's base is the
    Python at the end of that chain, not the venv in between (nor its packages)."""
    if cfg.get("include-system-site-packages", "").lower() != "true":
        return None
    base, seen = prefix, {prefix}
    while True:
        home = cfg.get("home")
        if not home:
            break
        base = Path(home)
        base = base.parent if base.name.lower() in ("bin", "scripts") else base
        cfg = pyvenv_cfg(base)
        if base in seen:  # a loop of pyvenv.cfg files: no Python at its end
            return None
        seen.add(base)
    return base if base != prefix and base.is_dir() else None


def _pth_folders(site: Path) -> list[Path]:
    """The existing folders (and zipped eggs) that ``site``'s ``.pth`` files add to
    ``sys.path`` (their lines that are not comments or ``import`` statements, relative to
    ``site``), read, never run."""
    try:
        names = sorted(n for n in os.listdir(site) if n.endswith(".pth"))
    except OSError:
        return []
    folders = []
    for name in names:
        for entry in pth_entries(os.path.join(site, name)):
            folder = Path(entry)
            if folder.is_dir() or (folder.suffix.lower() == ".egg" and folder.is_file()):
                folders.append(Path(os.path.normpath(folder)))
    return folders


def pth_entries(pth: str) -> list[str]:
    """The paths a ``.pth`` file's lines name, as ``site`` reads them (not comments, not
    ``import`` lines; relative to the file's folder), whether they exist or not."""
    try:
        with open(pth, "rb") as f:
            text = f.read(_MAX_PTH).decode("utf-8", "surrogateescape")
    except OSError:
        return []
    folder = os.path.dirname(pth)
    return [
        os.path.join(folder, line.rstrip())
        for line in text.splitlines()
        if line.strip() and not line.startswith(("#", "import ", "import\t"))
    ]


def _own_site_packages(prefix: Path, folder: str | None) -> list[Path]:
    """A prefix's own site-packages folders (see :func:`site_packages`); ``folder``: the
    ``pythonX.Y`` to read, where it is there (with or without a ``t``). Debian's and
    Ubuntu's ``/usr`` has ``dist-packages`` instead: pip's under ``local/lib/pythonX.Y``, then
    apt's in ``lib/python3``, then ``lib/pythonX.Y``'s."""
    lib = prefix / "lib"
    versions = sorted(c.name for c in lib.iterdir() if _PYDIR.match(c.name)) if lib.is_dir() else []
    versions = [n for n in versions if n.removesuffix("t") == folder] or versions
    candidates = [lib / name / "site-packages" for name in versions]
    candidates += [prefix / "local" / "lib" / name / "dist-packages" for name in versions]
    candidates.append(lib / "python3" / "dist-packages")
    candidates += [lib / name / "dist-packages" for name in versions]
    candidates += [
        prefix / rel for rel in ("Lib/site-packages", "lib/site-packages", "site-packages")
    ]
    return [c for i, c in enumerate(candidates) if c.is_dir() and c not in candidates[:i]]


def pyvenv_cfg(prefix: Path) -> dict[str, str]:
    try:
        text = (prefix / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    cfg = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            cfg[key.strip().lower()] = value.strip()
    return cfg


def _python_facts(cfg: dict[str, str], sites: list[Path]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    version = re.match(r"\d+\.\d+(\.\d+)?", cfg.get("version_info") or cfg.get("version") or "")
    if version:
        facts["version"] = version.group(0)
        facts["method"] = "pyvenv.cfg"
    if "implementation" in cfg:
        facts["implementation"] = cfg["implementation"].lower()
    for site in sites:
        m = _PYDIR.match(site.parent.name)
        if m:
            facts.setdefault("version", f"{m.group(1)}.{m.group(2)}")
            facts.setdefault("method", "layout")
            facts["free_threading"] = bool(m.group(3))
            break
    facts.setdefault("method", "unknown")
    return facts


def _windows_layout(prefix: Path) -> bool:
    """Whether ``prefix`` is laid out as on Windows: ``Lib/site-packages``, and no ``lib``.
    Told by the names as they are stored: on Windows' file systems, which ignore case,
    ``prefix / "lib"`` is the ``Lib`` folder itself."""
    try:
        names = set(os.listdir(prefix))
    except OSError:
        return False
    return "Lib" in names and "lib" not in names and (prefix / "Lib" / "site-packages").is_dir()


def read(prefix: Path, details: bool = False) -> dict[str, Any]:
    """A payload of the same shape as the probe's, from files under ``prefix``; ``details``
    adds what ``envlock doctor`` needs (see :func:`envlock._probe.collect`)."""
    cfg = pyvenv_cfg(prefix)
    sites = site_packages(prefix, cfg)
    if not sites and not (prefix / "conda-meta").is_dir():
        raise TargetError(
            f"{display_path(prefix)} is not a Python environment: no site-packages in it"
        )
    distributions, problems, _ = _probe.scan([str(s) for s in sites], details)
    is_windows = _windows_layout(prefix)
    payload = {
        "prefix": str(prefix),
        "python": _python_facts(cfg, sites),
        "platform": {"os": "windows", "method": "layout"} if is_windows else {"method": "unknown"},
        "variables": None,
        "distributions": distributions,
        "warnings": _probe.warnings_of(problems),
    }
    if problems or details:
        payload["problems"] = problems
    return payload
