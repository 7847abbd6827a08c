"""envlock: record what makes a Python environment compute what it computes, and check
live environments against it.

The API is imported lazily so that ``import envlock`` stays cheap::

    import envlock
    lock = envlock.load("envlock.yaml")
    result = envlock.verify(lock)
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads these blocks

__version__ = "0.1.0"
__all__ = [
    "ClusterResult",
    "Environment",
    "Lockfile",
    "Result",
    "capture",
    "capture_cluster",
    "check",
    "dump",
    "export",
    "load",
    "verify",
    "verify_against",
    "verify_cluster",
]

if TYPE_CHECKING:
    from typing import Any

    from envlock.api import Result, capture, dump, load, verify, verify_against
    from envlock.cluster import ClusterResult, capture_cluster, verify_cluster
    from envlock.export import export
    from envlock.guard import check
    from envlock.model import Environment, Lockfile


if not TYPE_CHECKING:  # mypy: a name not imported above is an error, not Any

    def __getattr__(name: str) -> Any:
        if name == "check":
            from envlock.guard import check

            return check
        if name == "export":
            from envlock.export import export

            return export
        if name in ("capture", "dump", "load", "verify", "verify_against", "Result"):
            from envlock import api

            return getattr(api, name)
        if name in ("verify_cluster", "capture_cluster", "ClusterResult"):
            from envlock import cluster

            return getattr(cluster, name)
        if name in ("Environment", "Lockfile"):
            from envlock import model

            return getattr(model, name)
        raise AttributeError(f"module 'envlock' has no attribute {name!r}")
