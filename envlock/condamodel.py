"""The conda side of a lockfile environment: packages with builds and channels, the channel
configuration, virtual packages, and the hazards of mixing pip into conda."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from envlock.errors import LockfileError
from envlock.reader import Reader, compact

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

HAZARD_KINDS = ("pip-over-conda", "missing-dist-info")


@dataclass(frozen=True)
class CondaPackage:
    """One conda package as installed: its record in ``conda-meta/``."""

    name: str
    version: str
    build: str
    build_number: int | None = None
    channel: str | None = None  # canonical: conda-forge, pkgs/main, or a base URL
    channel_url: str | None = None  # base URL without subdir or credentials
    subdir: str | None = None
    md5: str | None = None
    sha256: str | None = None
    requested: bool | None = None
    spec: str | None = None  # what the user asked for, when requested
    archive: str | None = None  # the package file's type, one of ARCHIVES

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "version": self.version,
                "build": self.build,
                "build_number": self.build_number,
                "channel": self.channel,
                "channel_url": self.channel_url if self.channel_url != self.channel else None,
                "subdir": self.subdir,
                "md5": self.md5,
                "sha256": self.sha256,
                "requested": self.requested,
                "spec": self.spec,
                "archive": self.archive,
            }
        )

    @classmethod
    def from_dict(cls, name: str, data: object, path: str) -> CondaPackage:
        r = Reader(data, path)
        channel = r.get("channel", str)
        return cls(
            name=name,
            version=r.require("version", str),
            build=r.require("build", str),
            build_number=r.get("build_number", int),
            channel=channel,
            channel_url=r.get("channel_url", str) or (channel if _is_url(channel) else None),
            subdir=r.get("subdir", str),
            md5=r.get("md5", str),
            sha256=r.get("sha256", str),
            requested=r.get("requested", bool),
            spec=r.get("spec", str),
            archive=_archive(r),
        )

    def install_spec(self) -> str:
        return f"{self.name}={self.version}={self.build}"


ARCHIVES = (".conda", ".tar.bz2")


def _archive(r: Reader) -> str | None:
    value = r.get("archive", str)
    if value is not None and value not in ARCHIVES:
        raise LockfileError(f"{r.where('archive')}: must be one of {', '.join(ARCHIVES)}")
    return value


def _is_url(value: str | None) -> bool:
    return bool(value) and "://" in (value or "")


@dataclass(frozen=True)
class Hazard:
    """Something in the environment that makes results depend on install order."""

    kind: str  # one of HAZARD_KINDS
    subject: str
    detail: str

    def key(self) -> tuple[str, str]:
        return (self.kind, self.subject)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class CondaSection:
    """The conda side of an environment: packages, channels and the settings that choose them."""

    packages: tuple[CondaPackage, ...] = ()
    channels: tuple[str, ...] = ()  # from the condarc files, in priority order
    channel_priority: str | None = None
    manager: str | None = None  # conda, mamba, micromamba, pixi
    virtual_packages: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)  # CONDA_OVERRIDE_*
    hazards: tuple[Hazard, ...] = ()
    method: str = "conda-meta"

    def __post_init__(self) -> None:
        object.__setattr__(self, "packages", tuple(sorted(self.packages, key=lambda p: p.name)))
        object.__setattr__(self, "hazards", tuple(sorted(self.hazards, key=Hazard.key)))

    def package_map(self) -> dict[str, CondaPackage]:
        return {p.name: p for p in self.packages}

    def channels_seen(self) -> list[str]:
        return sorted({p.channel for p in self.packages if p.channel})

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "manager": self.manager,
                "method": self.method,
                "channels": list(self.channels),
                "channel_priority": self.channel_priority,
                "virtual_packages": dict(sorted(self.virtual_packages.items())) or None,
                "overrides": dict(sorted(self.overrides.items())) or None,
                "hazards": [h.to_dict() for h in self.hazards] or None,
                "packages": {p.name: p.to_dict() for p in self.packages},
            }
        )

    @classmethod
    def from_dict(cls, data: object, path: str) -> CondaSection:
        r = Reader(data, path)
        packages_r = r.child("packages")
        packages = []
        if packages_r is not None:
            for name in sorted(packages_r.data, key=str):
                where = packages_r.where(str(name))
                packages.append(CondaPackage.from_dict(str(name), packages_r.data[name], where))
        hazards = []
        for i, item in enumerate(r.get("hazards", list) or []):
            h = Reader(item, f"{r.where('hazards')}[{i}]")
            kind = h.require("kind", str)
            if kind not in HAZARD_KINDS:
                raise LockfileError(f"{h.where('kind')}: must be one of {', '.join(HAZARD_KINDS)}")
            hazards.append(Hazard(kind, h.require("subject", str), h.require("detail", str)))
        return cls(
            packages=tuple(packages),
            channels=r.strings("channels") or (),
            channel_priority=r.get("channel_priority", str),
            manager=r.get("manager", str),
            virtual_packages=_string_map(r, "virtual_packages"),
            overrides=_string_map(r, "overrides"),
            hazards=tuple(hazards),
            method=r.require("method", str),
        )


def _string_map(r: Reader, key: str) -> dict[str, str]:
    child = r.child(key)
    if child is None:
        return {}
    return {str(k): child.require(str(k), str) for k in child.data}
