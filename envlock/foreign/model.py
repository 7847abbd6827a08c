"""What a foreign lockfile asks for: :class:`PipWant`, :class:`CondaWant` and :class:`Foreign`
(see :mod:`envlock.foreign`)."""

from __future__ import annotations

from dataclasses import dataclass

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
    guessed: bool = False  # a name guessed from a path: what was installed from there is it


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
    platform: str | None = None  # the platform chosen, as shown: a subdir, or "p2 (linux-64)"
    requires_python: str | None = None  # a PEP 440 specifier for the interpreter
    environments: tuple[str, ...] = ()  # PEP 751 markers; one must hold when given
    notes: tuple[str, ...] = ()  # what was not checked, and why
