"""Read an environment from its files alone (``--prefix``): nothing in it is executed.

Works on prefixes from any OS: POSIX ``lib/pythonX.Y[t]/site-packages``, Windows
``Lib/site-packages``. What cannot be known without running the interpreter (platform
details, variables) stays unknown and is never reported as drift.
"""

from __future__ import annotations

import re
from pathlib import Path

from envlock import _probe
from envlock.errors import TargetError
from envlock.redact import display_path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

_PYDIR = re.compile(r"^python(\d+)\.(\d+)(t?)$")


def site_packages(prefix: Path) -> list[Path]:
    """The directories a prefix's Python imports distributions from, in its order. Debian's and
    Ubuntu's ``/usr`` has ``dist-packages`` instead: pip's under ``local/lib/pythonX.Y``, then
    apt's in ``lib/python3``, then ``lib/pythonX.Y``'s."""
    lib = prefix / "lib"
    versions = sorted(c.name for c in lib.iterdir() if _PYDIR.match(c.name)) if lib.is_dir() else []
    candidates = [lib / name / "site-packages" for name in versions]
    candidates += [prefix / "local" / "lib" / name / "dist-packages" for name in versions]
    candidates.append(lib / "python3" / "dist-packages")
    candidates += [lib / name / "dist-packages" for name in versions]
    candidates += [
        prefix / rel for rel in ("Lib/site-packages", "lib/site-packages", "site-packages")
    ]
    found: list[Path] = []
    for candidate in candidates:
        if candidate.is_dir() and candidate not in found:
            found.append(candidate)
    return found


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


def _python_facts(prefix: Path, sites: list[Path]) -> dict[str, Any]:
    cfg = pyvenv_cfg(prefix)
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


def read(prefix: Path, details: bool = False) -> dict[str, Any]:
    """A payload of the same shape as the probe's, from files under ``prefix``; ``details``
    adds what ``envlock doctor`` needs (see :func:`envlock._probe.collect`)."""
    sites = site_packages(prefix)
    if not sites and not (prefix / "conda-meta").is_dir():
        raise TargetError(
            f"{display_path(prefix)} is not a Python environment: no site-packages in it"
        )
    distributions, problems, _ = _probe.scan([str(s) for s in sites], details)
    is_windows = (prefix / "Lib" / "site-packages").is_dir() and not (prefix / "lib").is_dir()
    payload = {
        "prefix": str(prefix),
        "python": _python_facts(prefix, sites),
        "platform": {"os": "windows", "method": "layout"} if is_windows else {"method": "unknown"},
        "variables": None,
        "distributions": distributions,
        "warnings": _probe.warnings_of(problems),
    }
    if problems or details:
        payload["problems"] = problems
    return payload
