"""The conda side of a lockfile environment: packages with builds and channels, the channel
configuration, virtual packages, and the hazards of mixing pip into conda."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from envlock.errors import LockfileError
from envlock.reader import Strict, compact

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

HAZARD_KINDS = ("pip-over-conda", "missing-dist-info")
MANAGERS = ("conda", "mamba", "micromamba", "pixi")
CHANNEL_PRIORITIES = ("strict", "flexible", "disabled")
_PACKAGE_KEYS = frozenset(
    {"version", "build", "build_number", "channel", "channel_url", "subdir", "md5", "sha256"}
    | {"requested", "spec", "archive"}
)
_SECTION_KEYS = frozenset(
    {"manager", "method", "channels", "channel_priority", "virtual_packages", "overrides"}
    | {"hazards", "packages"}
)


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
        r = Strict(data, path, _PACKAGE_KEYS)
        channel = r.get("channel", str)
        build_number = r.get("build_number", int)
        if build_number is not None and build_number < 0:
            raise LockfileError(f"{r.where('build_number')}: negative")
        return cls(
            name=name,
            version=r.nonempty("version"),
            build=r.require("build", str),
            build_number=build_number,
            channel=channel,
            channel_url=r.get("channel_url", str) or (channel if _is_url(channel) else None),
            subdir=r.get("subdir", str),
            md5=r.matching("md5", "[0-9a-f]{32}", "an MD5 digest (32 lowercase hex digits)"),
            sha256=r.matching(
                "sha256", "[0-9a-f]{64}", "a SHA-256 digest (64 lowercase hex digits)"
            ),
            requested=r.get("requested", bool),
            spec=r.get("spec", str),
            archive=r.choice("archive", ARCHIVES),
        )

    def install_spec(self) -> str:
        return f"{self.name}={self.version}={self.build}"


ARCHIVES = (".conda", ".tar.bz2")


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
        r = Strict(data, path, _SECTION_KEYS)
        method = r.require("method", str)
        packages_r = r.child("packages")
        if packages_r is None:
            raise LockfileError(f"{r.where('packages')}: required")
        packages = []
        for name in sorted(packages_r.data, key=str):
            where = packages_r.where(str(name))
            packages.append(CondaPackage.from_dict(str(name), packages_r.data[name], where))
        hazards = []
        for i, item in enumerate(r.get("hazards", list) or []):
            h = Strict(item, f"{r.where('hazards')}[{i}]", frozenset({"kind", "subject", "detail"}))
            kind = h.required_choice("kind", HAZARD_KINDS)
            hazards.append(Hazard(kind, h.require("subject", str), h.require("detail", str)))
        return cls(
            packages=tuple(packages),
            channels=r.strings("channels") or (),
            channel_priority=r.choice("channel_priority", CHANNEL_PRIORITIES),
            manager=r.choice("manager", MANAGERS),
            virtual_packages=r.string_map("virtual_packages"),
            overrides=r.string_map("overrides"),
            hazards=tuple(hazards),
            method=method,
        )
