"""Lockfiles that other tools write (pylock.toml, requirements, conda explicit specs,
conda-lock, pixi.lock, conda env exports), read into one model of what each says must be
installed, so that ``envlock verify --against FILE`` can check a live environment with them.

A foreign lockfile records less than envlock's own: a requirements file knows nothing of
conda, an explicit spec nothing of pip. :class:`Foreign` keeps ``None`` for a side the format
does not record, and ``None`` for any field it leaves out, and only what is recorded is
compared. Every parser is defensive (these files arrive in pull requests): anything that is
not the documented shape raises :class:`~envlock.errors.LockfileError` with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from envlock.model import Source


@dataclass(frozen=True)
class PipWant:
    """One Python distribution a foreign lockfile asks for."""

    name: str  # PEP 503 canonical
    version: str | None = None  # an exact pin (``==`` / ``===``, or the locked version)
    specifier: str | None = None  # any other PEP 440 specifier (``>=1.2``), checked as such
    source: Source | None = None  # None: the file does not say where it comes from
    hashes: tuple[str, ...] = ()  # ``sha256=<hex>`` (as Source.hash) of the artifacts it allows
    marker: str | None = None  # PEP 508 marker; the want applies only where it holds
    optional: bool = False  # allowed, not required (another category or extra)


@dataclass(frozen=True)
class CondaWant:
    """One conda package a foreign lockfile asks for."""

    name: str
    version: str | None = None  # exact
    spec: str | None = None  # a conda version spec when not exact (``1.26.*``, ``>=3.9``)
    build: str | None = None
    channel: str | None = None  # canonical, as :func:`envlock.conda.canonical_channel`
    channel_url: str | None = None  # base URL, credentials removed
    subdir: str | None = None
    md5: str | None = None
    sha256: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class Foreign:
    """What a foreign lockfile says one environment must contain."""

    format: str  # a key of FORMATS
    pip: tuple[PipWant, ...] | None = None  # None: the format does not record pip packages
    conda: tuple[CondaWant, ...] | None = None  # None: it does not record conda packages
    environment: str | None = None  # the environment chosen (pixi) or None
    platform: str | None = None  # the platform chosen (conda subdir) or None
    requires_python: str | None = None  # a PEP 440 specifier for the interpreter
    environments: tuple[str, ...] = ()  # PEP 751 markers; one must hold when given
    notes: tuple[str, ...] = ()  # what was not checked, and why


# --against-format NAME -> (module under envlock.foreign, description)
FORMATS = {
    "pylock": ("pylock", "pylock.toml (PEP 751)"),
    "requirements": ("requirements", "pinned requirements"),
    "conda-explicit": ("explicit", "conda explicit spec"),
    "conda-lock": ("condalock", "conda-lock.yml"),
    "pixi": ("pixi", "pixi.lock"),
    "environment-yml": ("envexport", "conda environment file"),
}


def detect(text: str) -> str:
    """The format of a foreign lockfile, from its content (a file named ``pylock.toml`` can
    hold requirements); :class:`LockfileError` for envlock's own and for unsupported ones."""
    import re

    from envlock.errors import LockfileError

    if re.search(r"^\s*@EXPLICIT\s*$", text, re.MULTILINE):
        return "conda-explicit"
    if re.search(r"^(lock-version\s*=|\[\[packages\]\])", text, re.MULTILINE):
        return "pylock"
    if re.search(r"^\[\[package\]\]", text, re.MULTILINE) and re.search(
        r"^version\s*=\s*\d", text, re.MULTILINE
    ):
        raise LockfileError(
            "a uv.lock, which envlock does not read: export it with "
            "`uv export --format pylock.toml -o pylock.toml` and verify against that"
        )
    keys = set(re.findall(r"^([A-Za-z_][\w-]*)\s*:", text, re.MULTILINE))
    if {"version", "packages"} <= keys:  # an envlock lockfile has no top-level packages
        return "pixi"
    if {"version", "environments"} <= keys:
        raise LockfileError(
            "an envlock lockfile, not a foreign one: verify against it without --against"
        )
    if "package" in keys and ("metadata" in keys or "version" in keys):
        version = re.search(r"^version\s*:\s*['\"]?(\d+)", text, re.MULTILINE)
        # conda-lock has only ever written version 1; pixi.lock (rattler) used this layout
        # up to its version 3
        return "pixi" if version and int(version.group(1)) > 1 else "conda-lock"
    if "dependencies" in keys:
        return "environment-yml"
    return "requirements"


def load(
    path: Path,
    fmt: str | None = None,
    *,
    platform: str | None = None,
    environment: str | None = None,
) -> Foreign:
    """Read a foreign lockfile: its format from ``fmt`` or its content, the platform (conda
    subdir) and environment chosen where the format has several. Every error names the file."""
    import importlib

    from envlock.errors import LockfileError, UsageError
    from envlock.lockfile import read
    from envlock.redact import display_path, redact_text

    where = display_path(path)
    _, text = read(path, missing="no such file")
    try:
        fmt = fmt or detect(text)
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
        module = importlib.import_module(f"envlock.foreign.{FORMATS[fmt][0]}")
        foreign: Foreign = module.parse(
            text, base_dir=path.absolute().parent, platform=platform, environment=environment
        )
    except (LockfileError, UsageError) as e:
        raise type(e)(f"{where}: {redact_text(str(e))}") from None
    except RecursionError:
        raise LockfileError(f"{where}: nested too deeply") from None
    return foreign
