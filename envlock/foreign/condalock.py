"""conda-lock's unified lockfile, ``conda-lock.yml`` (``version: 1``, and the same layout
without a ``version`` key that older conda-lock releases wrote).

``metadata.platforms`` lists the platforms; ``package`` lists one entry per package, platform
and category: ``name``, ``version``, ``manager`` (``conda`` or ``pip``), ``platform``, ``url``,
``hash`` (``md5`` / ``sha256``), ``category``, ``optional``, ``dependencies`` and, for a pip
package from a URL, ``source: {type: url, url: ...}``.

* Only the chosen platform's entries are kept; a file with several platforms needs one chosen.
* conda entries: build, channel and subdir from the URL's file name and directory.
* pip entries: the exact version, and where from. A file on the Python package index
  (``files.pythonhosted.org``) is an index install: ``Source(kind="index")`` with the file's
  sha256 in ``hashes``. Note that ``conda-lock install`` and micromamba install such an entry
  with ``pip install NAME @ URL#sha256=...``, which pip records as an archive from that URL;
  a comparison should accept an archive whose hash is in ``hashes`` as that index install.
  Any other URL (an archive, ``git+https://...@<commit>``) is recorded as envlock records a
  direct URL (:func:`envlock.foreign.common.source_from_url`).
* Categories: an entry with ``optional: true`` (a category other than ``main``, such as
  ``dev`` or an extra) is optional: allowed, not required. A package listed under several
  categories is required when any of its entries is.
* conda-lock 3 writes version ``0.0.0`` for a pip package from a URL it did not build; that
  placeholder is dropped (the source is still checked).
"""

from __future__ import annotations

import re
from pathlib import Path

from envlock.errors import LockfileError, UsageError
from envlock.foreign.model import CondaWant, Foreign, PipWant
from envlock.reader import Reader

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import TypeVar

    from envlock.model import Source

    W = TypeVar("W", CondaWant, PipWant)

FORMAT = "conda-lock"
NEWEST = 1
# Hosts whose files are the Python package index's own: an entry there is an index install.
INDEX_HOSTS = frozenset({"files.pythonhosted.org", "pypi.org", "pypi.python.org"})
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{[A-Za-z_][A-Za-z0-9_]*\}")


def parse(
    text: str, *, base_dir: Path, platform: str | None = None, environment: str | None = None
) -> Foreign:
    """What a conda-lock.yml says one platform's environment contains."""
    from envlock.foreign import common
    from envlock.foreign.explicit import no_environments

    no_environments(environment)
    top = Reader(common.data(text, "yaml"), "")
    version = top.get("version", int)
    if version is not None and version > NEWEST:
        raise LockfileError(
            f"conda-lock.yml version {version} is newer than this envlock reads (1)"
        )
    if version is not None and version < 1:
        raise LockfileError(f"version: {version} is not a conda-lock.yml version")
    conda, pip = _entries(top, base_dir)
    metadata = top.child("metadata")
    if metadata is None:
        raise LockfileError("metadata: required (is this a conda-lock.yml?)")
    platforms = metadata.strings("platforms")
    if not platforms:
        raise LockfileError("metadata.platforms: required")
    chosen = choose_platform(platforms, platform)
    notes: list[str] = []
    conda_wants: dict[str, tuple[CondaWant, str]] = {}
    pip_wants: dict[str, tuple[PipWant, str]] = {}
    for on, package, where in conda:
        if on == chosen and not package.name.startswith("__"):  # virtual packages
            _merge(conda_wants, package, where)
    for on, wheel, where, said in pip:
        if on == chosen:
            _merge(pip_wants, wheel, where)
            notes.extend(said)
    optional = sum(w.optional for w, _ in conda_wants.values())
    optional += sum(w.optional for w, _ in pip_wants.values())
    if optional:
        notes.append(
            f"{common.packages(optional)} only in optional categories (such as dev): allowed, "
            "not required"
        )
    return Foreign(
        format=FORMAT,
        pip=tuple(w for w, _ in pip_wants.values()),
        conda=tuple(w for w, _ in conda_wants.values()),
        platform=chosen,
        notes=tuple(dict.fromkeys(notes)),
    )


def _entries(
    top: Reader, base_dir: Path
) -> tuple[list[tuple[str, CondaWant, str]], list[tuple[str, PipWant, str, list[str]]]]:
    """Every ``package`` entry, whichever its platform, read and checked:
    (platform, want, dotted path[, notes about it])."""
    conda: list[tuple[str, CondaWant, str]] = []
    pip: list[tuple[str, PipWant, str, list[str]]] = []
    for i, item in enumerate(top.require("package", list)):
        entry = Reader(item, f"package[{i}]")
        entry.require("name", str)
        entry.require("version", str)
        manager = entry.require("manager", str)
        on = entry.require("platform", str)
        if manager == "conda":
            conda.append((on, _conda_entry(entry, base_dir), entry.path))
        elif manager == "pip":
            said: list[str] = []
            pip.append((on, _pip_entry(entry, base_dir, said), entry.path, said))
        else:
            raise LockfileError(f"{entry.where('manager')}: expected conda or pip")
    return conda, pip


def choose_platform(platforms: tuple[str, ...], platform: str | None) -> str:
    """The platform asked for, which the file must have; or the file's only one."""
    from envlock.foreign.common import excerpt

    have = excerpt(", ".join(sorted(platforms)), 400)
    if platform is None:
        if len(platforms) == 1:
            return platforms[0]
        raise UsageError(
            f"the file has packages for several platforms: {have} (choose one with --platform)"
        )
    if platform not in platforms:
        raise UsageError(
            f"no packages for platform {platform}; the file has: {have} "
            "(choose one with --platform)"
        )
    return platform


def _merge(wants: dict[str, tuple[W, str]], want: W, where: str) -> None:
    """Add ``want``; an entry repeated for another category must lock the same package, and
    is required if any of its entries is."""
    from dataclasses import replace

    earlier = wants.get(want.name)
    if earlier is None:
        wants[want.name] = (want, where)
        return
    first, first_where = earlier
    if replace(first, optional=False) != replace(want, optional=False):
        raise LockfileError(f"{where}: {want.name} is locked differently than in {first_where}")
    merged = replace(first, optional=first.optional and want.optional)
    wants[want.name] = (merged, first_where)


def _optional(entry: Reader) -> bool:
    optional = entry.get("optional", bool)
    if optional is None:
        return (entry.get("category", str) or "main") != "main"
    return optional


def _hash(entry: Reader, algo: str, pattern: re.Pattern[str]) -> str | None:
    hashes = entry.child("hash")
    if hashes is None:
        raise LockfileError(f"{entry.where('hash')}: required")
    value = hashes.get(algo, str)
    if value is None:
        return None
    value = value.strip().lower()
    if not pattern.match(value):
        raise LockfileError(f"{hashes.where(algo)}: not a {algo} digest")
    return value


def _conda_entry(entry: Reader, base_dir: Path) -> CondaWant:
    from dataclasses import replace

    from envlock.foreign.common import excerpt
    from envlock.foreign.explicit import conda_url

    name = entry.require("name", str)
    version = entry.require("version", str)
    url = entry.require("url", str)
    from_url = conda_url(url, entry.where("url"), base_dir)
    if from_url.name != name.lower() or from_url.version != version:
        raise LockfileError(
            f"{entry.where('url')}: names {from_url.name} {from_url.version}, "
            f"not {excerpt(name, 120)} {excerpt(version, 120)}"
        )
    build = entry.get("build", str)
    if build is not None and build != from_url.build:
        raise LockfileError(f"{entry.where('build')}: {excerpt(build, 120)} is not the URL's build")
    return replace(
        from_url,
        md5=_hash(entry, "md5", _MD5) or from_url.md5,
        sha256=_hash(entry, "sha256", _SHA256) or from_url.sha256,
        optional=_optional(entry),
    )


def _pip_entry(entry: Reader, base_dir: Path, notes: list[str]) -> PipWant:
    from envlock._probe import canonical_name

    name = canonical_name(entry.require("name", str))
    version: str | None = entry.require("version", str)
    url = entry.require("url", str)
    source_entry = entry.child("source")
    if source_entry is not None:
        kind = source_entry.require("type", str)
        if kind != "url":
            raise LockfileError(f"{source_entry.where('type')}: expected url, got {kind!r}")
        url = source_entry.require("url", str)
    if _PLACEHOLDER.search(url):
        notes.append(f"{name}: its URL has a template placeholder; only name and version checked")
        return PipWant(name=name, version=version, optional=_optional(entry))
    source = pip_source(url, base_dir)
    sha256 = _pip_sha256(entry, source)
    hashes = tuple(dict.fromkeys(h for h in (sha256, source.hash) if h))
    if source.kind != "index" and version == "0.0.0":
        notes.append(f"{name}: version 0.0.0 is conda-lock's placeholder for a URL; not checked")
        version = None
    return PipWant(
        name=name, version=version, source=source, hashes=hashes, optional=_optional(entry)
    )


def _pip_sha256(entry: Reader, source: Source) -> str | None:
    """``sha256=<hex>`` from ``hash.sha256``; conda-lock puts a git commit there for a git
    source, which is no file hash and is ignored (the commit is in the source)."""
    hashes = entry.child("hash")
    if hashes is None:
        raise LockfileError(f"{entry.where('hash')}: required")
    value = hashes.get("sha256", str)
    if value is None or source.kind == "vcs":
        return None
    value = value.strip().lower()
    if not _SHA256.match(value):
        raise LockfileError(f"{hashes.where('sha256')}: not a sha256 digest")
    return f"sha256={value}"


def is_index_url(url: str) -> bool:
    """Whether ``url`` is a file on the Python package index."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and host in INDEX_HOSTS


def pip_source(url: str, base_dir: Path) -> Source:
    """Where a locked pip package comes from: the index for a file on the Python package
    index, else the direct URL as envlock records one."""
    from envlock.foreign.common import source_from_url
    from envlock.model import Source

    if is_index_url(url):
        return Source(kind="index")
    return source_from_url(url, base_dir)
