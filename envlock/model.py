"""The lockfile's data model: frozen dataclasses with ``from_dict`` / ``to_dict``.

``from_dict`` is the defensive parser for lockfiles that arrive in pull requests: every
value is type-checked and a bad one is reported by its dotted path
(``environments.linux-64.packages.numpy.version``). ``None`` always means *unknown*, which
is never compared; ``to_dict`` leaves unknown values out, so YAML and TOML carry the same
data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from envlock._probe import canonical_name
from envlock.errors import LockfileError
from envlock.nativemodel import BlasSection, CudaSection
from envlock.reader import Strict, compact, full_match
from envlock.redact import redact_strings

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from envlock.condamodel import CondaSection

    T = TypeVar("T")

FORMAT_VERSION = 1
SOURCE_KINDS = ("index", "vcs", "directory", "archive")
ENVIRONMENT_KINDS = ("venv", "conda", "system")
METHODS = ("probe", "static")

# What the schema (schemas/envlock.schema.json) allows, for the parser to allow no more.
ENVIRONMENT_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
PACKAGE_NAME = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"  # PEP 503 canonical
HASH = r"[a-z0-9]+=[0-9a-fA-F]+"  # an archive's, as ALGORITHM=HEX
PYTHON_VERSION = r"\d+\.\d+(\.\d+)?((a|b|rc)\d+)?\+?"
_ENVIRONMENT_KEYS = frozenset(
    {"captured_at", "kind", "method", "python", "platform", "variables", "packages"}
    | {"conda", "blas", "cuda"}
)
_SOURCE_KEYS = frozenset(
    {"source", "url", "path", "vcs", "commit", "requested_revision", "subdirectory"}
    | {"editable", "hash"}
)
_PACKAGE_KEYS = frozenset({"version", "installer", "requested"}) | _SOURCE_KEYS
_PYTHON_KEYS = frozenset(
    {"implementation", "version", "abi", "free_threading", "platform_tag", "method"}
)
_PLATFORM_KEYS = frozenset(
    {"os", "distro", "kernel", "libc", "libc_version", "machine", "subdir", "cpu_level"}
    | {"cpu_flags", "method"}
)


@dataclass(frozen=True)
class Source:
    """Where a distribution came from (PEP 610 ``direct_url.json``, or an index)."""

    kind: str
    url: str | None = None  # credentials removed
    path: str | None = None  # local directory or file, relative or ``~``-based
    vcs: str | None = None
    commit: str | None = None
    requested_revision: str | None = None
    subdirectory: str | None = None
    editable: bool = False
    hash: str | None = None  # ``sha256=<hex>``

    def identity(self) -> tuple[object, ...]:
        """What must be equal for two sources to install the same code."""
        if self.kind == "vcs":
            return (self.kind, self.vcs, self.commit, self.subdirectory)
        if self.kind == "archive":
            return (self.kind, self.hash) if self.hash else (self.kind, self.url or self.path)
        if self.kind == "directory":
            return (self.kind, self.path or self.url, self.editable)
        return (self.kind,)

    def describe(self) -> str:
        if self.kind == "vcs":
            where = f"{self.vcs}+{self.url}" if self.vcs and self.url else self.url or "?"
            return f"{where}@{self.commit}" if self.commit else where
        if self.kind == "directory":
            where = self.path or self.url or "?"
            return f"editable {where}" if self.editable else f"directory {where}"
        if self.kind == "archive":
            where = self.url or self.path or "?"
            return f"{where} ({self.hash})" if self.hash else where
        return self.kind

    def fields(self) -> dict[str, Any]:
        """The flat keys a package entry carries for this source."""
        return compact(
            {
                "source": self.kind,
                "url": self.url,
                "path": self.path,
                "vcs": self.vcs,
                "commit": self.commit,
                "requested_revision": self.requested_revision,
                "subdirectory": self.subdirectory,
                "editable": True if self.editable else None,
                "hash": self.hash,
            }
        )

    @classmethod
    def from_reader(cls, r: Strict) -> Source | None:
        kind = r.choice("source", SOURCE_KINDS)
        if kind is None:
            detail = min(_SOURCE_KEYS.intersection(r.data), default=None)
            if detail is not None:
                raise LockfileError(
                    f"{r.where(detail)}: given without 'source' ({', '.join(SOURCE_KINDS)})"
                )
            return None
        return cls(
            kind=kind,
            url=r.get("url", str),
            path=r.get("path", str),
            vcs=r.get("vcs", str),
            commit=r.get("commit", str),
            requested_revision=r.get("requested_revision", str),
            subdirectory=r.get("subdirectory", str),
            editable=bool(r.get("editable", bool, False)),
            hash=r.matching("hash", HASH, "a hash like sha256=HEXDIGITS"),
        )


def installer_tool(installer: str) -> str:
    """The tool an ``INSTALLER`` file names, as PEP 627 has installers compared: its project
    name, case-insensitively, without the version Poetry writes after it (``Poetry 2.5.1``)."""
    words = installer.split()
    return canonical_name(words[0]) if words else ""


@dataclass(frozen=True)
class Package:
    """One installed distribution: PEP 503 name, version, and how it came to be installed."""

    name: str  # PEP 503 canonical
    version: str
    installer: str | None = None
    requested: bool | None = None
    source: Source | None = None

    def to_dict(self) -> dict[str, Any]:
        data = compact(
            {"version": self.version, "installer": self.installer, "requested": self.requested}
        )
        if self.source is not None:
            data.update(self.source.fields())
        return data

    @classmethod
    def from_dict(cls, name: str, data: object, path: str) -> Package:
        r = Strict(data, path, _PACKAGE_KEYS)
        return cls(
            name=name,
            version=r.nonempty("version"),
            installer=r.get("installer", str),
            requested=r.get("requested", bool),
            source=Source.from_reader(r),
        )


@dataclass(frozen=True)
class Python:
    """The interpreter: implementation, version, ABI and free-threading."""

    implementation: str | None = None
    version: str | None = None
    abi: str | None = None
    free_threading: bool | None = None
    platform_tag: str | None = None
    method: str = "probe"

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "implementation": self.implementation,
                "version": self.version,
                "abi": self.abi,
                "free_threading": self.free_threading,
                "platform_tag": self.platform_tag,
                "method": self.method,
            }
        )

    @classmethod
    def from_reader(cls, r: Strict) -> Python:
        return cls(
            implementation=r.get("implementation", str),
            version=r.matching("version", PYTHON_VERSION, "a Python version"),
            abi=r.get("abi", str),
            free_threading=r.get("free_threading", bool),
            platform_tag=r.get("platform_tag", str),
            method=r.require("method", str),
        )


@dataclass(frozen=True)
class Platform:
    """The machine: OS, distro, kernel, libc, architecture and CPU level."""

    os: str | None = None
    distro: str | None = None
    kernel: str | None = None
    libc: str | None = None
    libc_version: str | None = None
    machine: str | None = None
    cpu_level: str | None = None
    cpu_flags: tuple[str, ...] | None = None
    method: str = "probe"

    @property
    def subdir(self) -> str | None:
        """The conda subdir (``linux-64``, ``osx-arm64``, ``win-64``) or ``None``."""
        os_part = {"linux": "linux", "macos": "osx", "windows": "win"}.get(self.os or "")
        arch = {
            "x86_64": "64",
            "amd64": "64",
            "aarch64": "aarch64",
            "arm64": "arm64" if self.os == "macos" else "aarch64",
            "ppc64le": "ppc64le",
            "s390x": "s390x",
            "i686": "32",
            "x86": "32",
        }.get(self.machine or "")
        return f"{os_part}-{arch}" if os_part and arch else None

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "os": self.os,
                "distro": self.distro,
                "kernel": self.kernel,
                "libc": self.libc,
                "libc_version": self.libc_version,
                "machine": self.machine,
                "subdir": self.subdir,
                "cpu_level": self.cpu_level,
                "cpu_flags": list(self.cpu_flags) if self.cpu_flags is not None else None,
                "method": self.method,
            }
        )

    @classmethod
    def from_reader(cls, r: Strict) -> Platform:
        r.get("subdir", str)  # derived; checked for type only
        return cls(
            os=r.get("os", str),
            distro=r.get("distro", str),
            kernel=r.get("kernel", str),
            libc=r.get("libc", str),
            libc_version=r.get("libc_version", str),
            machine=r.get("machine", str),
            cpu_level=r.get("cpu_level", str),
            cpu_flags=r.strings("cpu_flags", unique=True),
            method=r.require("method", str),
        )


@dataclass(frozen=True)
class Variables:
    """The allowlisted variables: those set, with values, and those checked and unset.
    A name in neither was not checked, so it is unknown."""

    set: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()

    def value(self, name: str) -> tuple[bool, str | None]:
        """(known, value); value ``None`` means known to be unset."""
        if name in self.set:
            return True, self.set[name]
        return name in self.unset, None

    def names(self) -> list[str]:
        return sorted({*self.set, *self.unset})

    def to_dict(self) -> dict[str, Any]:
        return {"set": dict(sorted(self.set.items())), "unset": sorted(self.unset)}

    @classmethod
    def from_reader(cls, r: Strict) -> Variables:
        r.require("set", dict)
        r.require("unset", list)
        return cls(set=r.string_map("set"), unset=r.strings("unset", unique=True) or ())


@dataclass(frozen=True)
class Environment:
    """One captured (or live) environment."""

    python: Python
    platform: Platform
    packages: tuple[Package, ...] = ()
    variables: Variables | None = None  # None: not captured (static read)
    kind: str | None = None  # venv, conda, system
    method: str = "probe"  # probe: ran inside the interpreter; static: read files only
    captured_at: str | None = None
    conda: CondaSection | None = None
    blas: BlasSection | None = None  # None: not captured
    cuda: CudaSection | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # Live only: False when something could not be read, and so was not compared (a warning
    # may also be only a note about what was read: a version that is not PEP 440).
    complete: bool = field(default=True, compare=False)
    # Live only, never written: the Python distributions conda packages own (numpy's
    # dist-info inside conda's numpy), for checks against pip-only lockfiles.
    conda_dists: tuple[Package, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        # One order everywhere: equality and output never depend on discovery order.
        object.__setattr__(self, "packages", tuple(sorted(self.packages, key=_by_name)))

    def package_map(self) -> dict[str, Package]:
        return {p.name: p for p in self.packages}

    def to_dict(self) -> dict[str, Any]:
        return compact(
            {
                "captured_at": self.captured_at,
                "kind": self.kind,
                "method": self.method,
                "python": self.python.to_dict(),
                "platform": self.platform.to_dict(),
                "variables": self.variables.to_dict() if self.variables is not None else None,
                "conda": self.conda.to_dict() if self.conda is not None else None,
                "blas": self.blas.to_dict() if self.blas is not None else None,
                "cuda": self.cuda.to_dict() if self.cuda is not None else None,
                "packages": {p.name: p.to_dict() for p in self.packages},
            }
        )

    @classmethod
    def from_dict(cls, data: object, path: str) -> Environment:
        r = Strict(data, path, _ENVIRONMENT_KEYS)
        method = r.required_choice("method", METHODS)
        python_r = r.child("python", _PYTHON_KEYS)
        platform_r = r.child("platform", _PLATFORM_KEYS)
        packages_r = r.child("packages")
        if packages_r is None:
            raise LockfileError(f"{r.where('packages')}: required")
        packages = []
        for name in sorted(packages_r.data, key=str):
            where = packages_r.where(str(name))
            if not full_match(PACKAGE_NAME, str(name)):
                raise LockfileError(f"{where}: not a normalized package name (PEP 503)")
            packages.append(Package.from_dict(str(name), packages_r.data[name], where))
        variables_r = r.child("variables", frozenset({"set", "unset"}))
        conda_r = r.child("conda")
        blas_r, cuda_r = r.child("blas"), r.child("cuda")
        return cls(
            captured_at=r.matching(
                "captured_at",
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                "a time like 2025-01-31T12:00:00Z",
            ),
            kind=r.choice("kind", ENVIRONMENT_KINDS),
            method=method,
            python=Python.from_reader(python_r) if python_r else Python(method="unknown"),
            platform=Platform.from_reader(platform_r) if platform_r else Platform(method="unknown"),
            variables=Variables.from_reader(variables_r) if variables_r else None,
            conda=_conda_section(conda_r),
            blas=BlasSection.from_dict(blas_r.data, blas_r.path) if blas_r else None,
            cuda=CudaSection.from_dict(cuda_r.data, cuda_r.path) if cuda_r else None,
            packages=tuple(packages),
        )


def _conda_section(r: Strict | None) -> CondaSection | None:
    if r is None:
        return None
    from envlock.condamodel import CondaSection  # only conda environments need the conda model

    return CondaSection.from_dict(r.data, r.path)


def _by_name(p: Package) -> str:
    return p.name


@dataclass(frozen=True)
class Lockfile:
    """A whole lockfile: named environments under one format version."""

    environments: Mapping[str, Environment] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "environments": {k: self.environments[k].to_dict() for k in sorted(self.environments)},
        }

    @classmethod
    def from_dict(cls, data: object) -> Lockfile:
        """The lockfile ``data`` describes; credentials in its URLs (pasted in by hand: envlock
        never writes them) are removed first, so that no report can show them."""
        r = Strict(redact_strings(data), "")
        if r.data.get("version") is None:
            raise LockfileError("no 'version' key: not an envlock lockfile")
        version = r.require("version", int)
        if version > FORMAT_VERSION:
            raise LockfileError(
                f"lockfile format version {version} is newer than this envlock reads "
                f"({FORMAT_VERSION}); upgrade envlock to read it"
            )
        if version < 1:
            raise LockfileError(f"version: {version} is not a valid lockfile format version")
        Strict(r.data, "", frozenset({"version", "environments"}))
        envs_r = r.child("environments")
        if envs_r is None:
            raise LockfileError("environments: required")
        envs = {}
        for name, value in envs_r.data.items():
            where = envs_r.where(str(name))
            if not full_match(ENVIRONMENT_NAME, str(name)):
                raise LockfileError(f"{where}: not an environment name (letters, digits, . _ -)")
            envs[str(name)] = Environment.from_dict(value, where)
        return cls(environments=envs, version=FORMAT_VERSION)

    def with_environment(self, name: str, env: Environment) -> Lockfile:
        return Lockfile(environments={**self.environments, name: env})
