"""What ``envlock doctor`` needs from inside the target interpreter beyond the probe's
payload: the PEP 508 marker environment, to evaluate requirements on the host.

Run as a script in the target (``python _doctor_probe.py MARKER``), like the probe: standard
library only, Python 3.8 syntax, its JSON result fenced by MARKER. A file of its own so that
the probe, compiled on every capture and verify, does not carry it.
"""

from __future__ import annotations

import json
import os
import sys


def marker_environment() -> dict[str, str]:
    """The values ``packaging.markers.default_environment()`` gives, computed the same way."""
    import platform

    info = sys.implementation.version
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def externally_managed() -> bool:
    """PEP 668: the system's package manager owns this interpreter's packages (a marker file
    in the standard library's folder, which a virtual environment ignores)."""
    import sysconfig

    if sys.prefix != sys.base_prefix:
        return False
    return os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))


def main(argv: list[str]) -> int:
    facts = {"marker_environment": marker_environment(), "externally_managed": externally_managed()}
    payload = json.dumps(facts, sort_keys=True)
    out = sys.__stdout__ or sys.stdout  # the real one: a sitecustomize may replace sys.stdout
    out.write("\n" + argv[1] + payload + argv[1] + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    if not getattr(sys.flags, "safe_path", False):  # -P / PYTHONSAFEPATH: not prepended
        del sys.path[0]  # envlock's package directory, not part of the target environment
    sys.exit(main(sys.argv))
