"""What a long-lived process imported at another version than is installed now.

``pip install numpy==...`` from a notebook's cell (or a subprocess of any long-lived process)
replaces the files on disk, not the modules already loaded: the process keeps computing with
the numpy it imported until it restarts, while the files say the new version. When envlock
checks the process it runs in (``envlock.check()``, the pytest plugin), a distribution whose
module of the same name is loaded, with a ``__version__`` that is not the installed version,
and whose file was written after the process started, is a finding of its own: the fix is a
restart, not an install. The last condition keeps out a package whose ``__version__`` was
never its distribution's (one in a hundred); it needs the process's start time, which Linux
gives (``/proc``): elsewhere nothing is reported. "Written" is the file's status change
(``st_ctime``), not only its content's (``st_mtime``): uv and conda link a package's files
from their caches, where the files keep the time they were first unpacked, long before the
kernel started, while the link itself changes the status time.
"""

from __future__ import annotations

import os
import sys

from envlock.findings import ERROR, Finding

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.model import Environment


def stale(live: Environment) -> list[Finding]:
    """One ``imported`` finding for each distribution of ``live`` (pip's, and those conda
    owns) whose module, loaded in this process, says another version than is installed.
    Editable installs are left out: their code is the project's source, whatever their
    metadata says."""
    found: list[Finding] = []
    started = _process_start()
    if started is None:
        return found
    for package in (*live.packages, *live.conda_dists):
        if package.source is not None and package.source.editable:
            continue
        namespace = _namespace(sys.modules.get(package.name.replace("-", "_")))
        imported = namespace.get("__version__")
        if not isinstance(imported, str) or not _differ(imported, package.version):
            continue
        if not _written_since(namespace.get("__file__"), started):
            continue
        found.append(
            Finding(
                "imported",
                package.name,
                package.version,
                imported,
                ERROR,
                f"restart this Python process (a notebook: restart its kernel): {package.name} "
                f"{imported} was imported before {package.version} was installed",
            )
        )
    return found


def _namespace(module: object) -> dict[str, object]:
    """What ``module`` (anything in ``sys.modules``) holds, read without running any of its
    code: a lazy module's ``__getattr__`` is not called, nor the ``__getattribute__`` of one
    ``importlib.util.LazyLoader`` made, which would execute the module (a failing one
    raised out of ``check()``); an object without a ``__dict__`` holds nothing."""
    try:
        namespace = object.__getattribute__(module, "__dict__")
    except AttributeError:
        return {}
    return namespace if isinstance(namespace, dict) else {}


def _differ(imported: str, installed: str) -> bool:
    """Whether two PEP 440 versions differ (``1.0`` is ``1.0.0``); a ``__version__`` that is
    not one (``'unknown'``) tells nothing."""
    if imported == installed:
        return False
    from packaging.version import InvalidVersion, Version

    try:
        return Version(imported) != Version(installed)
    except InvalidVersion:
        return False


def _written_since(path: object, started: float) -> bool:
    """Whether the file ``path`` (a module's) was written, or linked into place, after
    ``started``: a hard link from uv's or conda's cache (or a copy that keeps the cached
    file's times) has an old ``st_mtime``, but linking or creating it sets ``st_ctime``."""
    if not isinstance(path, str):
        return False
    try:
        info = os.stat(path)
    except OSError:
        return False
    return max(info.st_mtime, info.st_ctime) > started


def _process_start() -> float | None:
    """When this process started, in seconds since the epoch; ``None`` where the system does
    not say (not Linux). A second early at most: the boot time is in whole seconds."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()  # after the command's name
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    except (OSError, ValueError, IndexError, StopIteration):
        return None
