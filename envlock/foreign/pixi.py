"""``pixi.lock``, versions 4 to 7 as the rattler_lock crate writes them, read into what one
environment on one platform must contain.

The file lists every package once under ``packages`` and has each environment name, per
platform, the ones it installs:

* versions 4 and 5: entries carry ``kind: conda`` (``url``, ``name``, ``version``, ``build``,
  ``subdir``) or ``kind: pypi`` (``url`` or ``path``, ``editable``); an environment names
  them by that URL or path;
* version 6: an entry's key is its location, ``conda: URL-or-path`` or ``pypi: ...``; what
  the conda file name says (``name-version-build.conda``) is left out, and a reference that
  shares a location with others says which by ``name`` / ``version`` / ``build`` /
  ``subdir``; ``editable`` is gone (pixi.toml decides it);
* version 7: a top-level ``platforms`` list of named platforms (a conda subdir and the
  virtual packages solved for); environments list packages by platform *name*, and the same
  subdir can appear under several names. Packages pixi builds from source are
  ``conda_source: NAME[hash] @ location``.

PyPI locations: a plain ``https://`` file is from an index, ``direct+https://`` a direct URL,
``git+https://host/repo?rev=main#<commit>`` a git checkout, anything else a local path
(relative to the lockfile's directory).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from envlock.errors import LockfileError, UsageError
from envlock.foreign import common
from envlock.foreign.model import CondaWant, Foreign, PipWant
from envlock.model import Source
from envlock.reader import Reader
from envlock.redact import home_to_tilde, redact_text, redact_url

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

OLDEST, NEWEST = 4, 7
_CONDA_SUFFIXES = (".conda", ".tar.bz2")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_SOURCE_NAME = re.compile(r"^\s*([^\s\[@]+)")
# ``version: 6`` at the start of a line: a top-level key (nested ones are indented)
_TOP_VERSION = re.compile(r"^version:[ \t]*([0-9]{1,9})[ \t]*(?:#.*)?$", re.MULTILINE)


@dataclass(frozen=True)
class _Platform:
    name: str
    subdir: str
    virtual_packages: tuple[str, ...] = ()

    def describe(self) -> str:
        return self.name if self.name == self.subdir else f"{self.name} ({self.subdir})"


@dataclass(frozen=True)
class _Conda:
    """One conda entry of ``packages``, and what a reference to it may match on."""

    want: CondaWant
    binary: bool  # a package file (vs. a recipe pixi builds)
    variants: dict[str, Any]
    dev: bool


def parse(
    text: str, *, base_dir: Path, platform: str | None = None, environment: str | None = None
) -> Foreign:
    """What ``environment`` (default: ``default``) of a pixi.lock installs on ``platform``
    (a conda subdir or, from version 7, a platform name)."""
    early = _TOP_VERSION.search(text)
    if early:  # refuse another version before loading what may be megabytes of it
        _check_version(int(early.group(1)))
    doc = common.data(text, "yaml")
    return from_data(doc, base_dir=base_dir, platform=platform, environment=environment)


def from_data(
    doc: object, *, base_dir: Path, platform: str | None = None, environment: str | None = None
) -> Foreign:
    """:func:`parse` of a document already loaded (to read several environments of one
    file without loading it again)."""
    if doc is None:
        raise LockfileError("empty: not a pixi.lock")
    top = Reader(doc, "")
    version = _version(top)
    envs = top.child("environments")
    if envs is None:
        raise LockfileError("environments: required (pixi.lock lists its environments there)")
    env_name = _environment(envs, environment)
    env = Reader(envs.data[env_name], envs.where(env_name))
    by_platform = env.child("packages") or Reader({}, env.where("packages"))
    chosen, notes = _platform(by_platform, _platforms(top, version), platform, env_name)
    conda, sources, pypi = _packages(top, version, base_dir, _find_links(env, base_dir))
    if chosen is None:
        return Foreign(format="pixi", pip=(), conda=(), environment=env_name, platform=platform)
    refs = by_platform.get(chosen.name, list) or []
    wants_conda: list[CondaWant] = []
    wants_pip: list[PipWant] = []
    for i, item in enumerate(refs):
        ref = Reader(item, f"{by_platform.where(chosen.name)}[{i}]")
        if "pypi" in ref.data:
            location = ref.require("pypi", str)
            want = pypi.get(location)
            if want is None:
                raise LockfileError(_missing(ref, "pypi", location))
            wants_pip.append(want)
        elif "conda_source" in ref.data:
            location = ref.require("conda_source", str)
            if location not in sources:
                raise LockfileError(_missing(ref, "conda_source", location))
            wants_conda.append(sources[location].want)
        elif "conda" in ref.data:
            entry = _resolve_conda(ref, conda, version, chosen.subdir)
            if entry is not None:
                wants_conda.append(entry.want)
        else:
            raise LockfileError(f"{ref.path}: expected a conda, conda_source or pypi key")
    notes.extend(_notes(chosen, wants_conda, wants_pip, version))
    return Foreign(
        format="pixi",
        pip=tuple(wants_pip),
        conda=tuple(wants_conda),
        environment=env_name,
        platform=chosen.describe(),
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# Version, environment, platform
# ---------------------------------------------------------------------------------------------


def _version(top: Reader) -> int:
    return _check_version(top.require("version", int))


def _check_version(version: int) -> int:
    if version < OLDEST:
        raise LockfileError(
            f"pixi.lock version {version} is older than this envlock reads "
            f"({OLDEST} to {NEWEST}); update it with a current pixi"
        )
    if version > NEWEST:
        raise LockfileError(
            f"pixi.lock version {version} is newer than this envlock reads ({OLDEST} to {NEWEST})"
        )
    return version


def _environment(envs: Reader, wanted: str | None) -> str:
    name = wanted or "default"
    if name in envs.data:
        return name
    have = ", ".join(sorted(envs.data)) or "none"
    if wanted is None:
        raise UsageError(
            f'this pixi.lock has no "default" environment; the file has: {have} '
            "(choose one with --against-env)"
        )
    raise UsageError(
        f"no environment {wanted!r} in this pixi.lock; the file has: {have} "
        "(choose one with --against-env)"
    )


def _platforms(top: Reader, version: int) -> dict[str, _Platform] | None:
    """Version 7's named platforms; None before version 7 (an environment's keys are
    subdirs)."""
    if version < 7:
        return None
    items = top.get("platforms", list)
    if items is None:
        raise LockfileError("platforms: required in a version 7 pixi.lock")
    platforms: dict[str, _Platform] = {}
    for i, item in enumerate(items):
        r = Reader(item, f"platforms[{i}]")
        name = r.require("name", str)
        if name in platforms:
            raise LockfileError(f"{r.where('name')}: platform {name!r} is defined twice")
        platforms[name] = _Platform(
            name=name,
            subdir=r.get("subdir", str) or name,
            virtual_packages=r.strings("virtual-packages") or (),
        )
    return platforms


def _platform(
    by_platform: Reader,
    platforms: dict[str, _Platform] | None,
    wanted: str | None,
    env_name: str,
) -> tuple[_Platform | None, list[str]]:
    """The platform to read, chosen by name or by subdir, and notes on the choice."""
    have: list[_Platform] = []
    for key in by_platform.data:
        if platforms is None:
            have.append(_Platform(key, key))
        elif key in platforms:
            have.append(platforms[key])
        else:
            raise LockfileError(
                f"{by_platform.where(key)}: platform {key!r} is not in the file's platforms"
            )
    listed = ", ".join(p.describe() for p in have)
    if not have:
        return None, []
    if wanted is None:
        if len(have) == 1:
            return have[0], []
        raise UsageError(
            f"environment {env_name} has packages for several platforms: {listed} "
            "(choose one with --platform)"
        )
    by_name = [p for p in have if p.name == wanted]
    if by_name:
        others = [p.name for p in have if p.subdir == wanted and p.name != wanted]
        notes = (
            [
                f"platform {wanted} was chosen by name; {', '.join(others)} "
                f"{'is' if len(others) == 1 else 'are'} also {wanted}, solved for other "
                "virtual packages (choose by name with --platform)"
            ]
            if others
            else []
        )
        return by_name[0], notes
    by_subdir = [p for p in have if p.subdir == wanted]
    if len(by_subdir) > 1:
        raise UsageError(
            f"several platforms of environment {env_name} are {wanted}: "
            f"{', '.join(p.name for p in by_subdir)} (choose one by name with --platform)"
        )
    if by_subdir:
        return by_subdir[0], []
    if [p.subdir for p in have] == ["noarch"]:  # noarch packages install anywhere
        return have[0], [f"environment {env_name} has noarch packages only: read for {wanted}"]
    raise UsageError(
        f"no packages for platform {wanted} in environment {env_name}; the file has: {listed} "
        "(choose one with --platform)"
    )


def _find_links(env: Reader, base_dir: Path) -> tuple[str, ...]:
    """The environment's local ``find-links`` directories, as :func:`common.local_path`."""
    items = env.get("find-links", list) or []
    paths = []
    for i, item in enumerate(items):
        path = Reader(item, f"{env.where('find-links')}[{i}]").get("path", str)
        if path:
            paths.append(common.local_path(path, base_dir))
    return tuple(paths)


# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------


def _packages(
    top: Reader, version: int, base_dir: Path, find_links: tuple[str, ...]
) -> tuple[dict[str, list[_Conda]], dict[str, _Conda], dict[str, PipWant]]:
    """Every entry of ``packages``: conda ones by location (several may share one), source
    ones by their ``conda_source`` key, PyPI ones by URL or path."""
    conda: dict[str, list[_Conda]] = {}
    sources: dict[str, _Conda] = {}
    pypi: dict[str, PipWant] = {}
    for i, item in enumerate(top.get("packages", list) or []):
        r = Reader(item, f"packages[{i}]")
        kind = _kind(r, version)
        if kind == "conda":
            key = "url" if version < 6 else "conda"
            location = r.require(key, str)
            conda.setdefault(location, []).append(_conda(r, location))
        elif kind == "conda_source":
            location = r.require("conda_source", str)
            sources.setdefault(location, _conda_source(r, location))
        else:
            if version < 6:
                location = r.get("url", str) or r.get("path", str) or ""
                if not location:
                    raise LockfileError(f"{r.where('url')}: required (or path)")
            else:
                location = r.require("pypi", str)
            pypi.setdefault(location, _pip(r, location, base_dir, find_links))
    return conda, sources, pypi


def _kind(r: Reader, version: int) -> str:
    if version < 6:
        kind = r.require("kind", str)
        if kind not in ("conda", "pypi"):
            raise LockfileError(f"{r.where('kind')}: expected conda or pypi, got {kind!r}")
        return kind
    for kind in ("conda", "conda_source", "pypi"):
        if kind in r.data:
            return kind
    raise LockfileError(f"{r.path}: expected a conda, conda_source or pypi key")


def _conda(r: Reader, location: str) -> _Conda:
    """A conda package file (at a URL or a path), or a recipe directory pixi builds."""
    file_name = _file_name(location)
    binary = file_name.endswith(_CONDA_SUFFIXES)
    parts = _split_file_name(file_name) if binary else None
    name = _text(r, "name", parts and parts[0])
    if name is None:
        raise LockfileError(f"{r.where('name')}: required where the location is no package file")
    channel: str | None = None
    channel_url: str | None = None
    if binary and _is_url(location):
        # the directory, not the file: a handful of channels, cached, for thousands of files
        channel, channel_url = _canonical_channel(location.rpartition("/")[0])
    elif binary and r.data.get("channel") is not None:  # a package file at a local path
        channel, channel_url = _canonical_channel(r.require("channel", str))
    want = CondaWant(
        name=name,
        version=_text(r, "version", parts and parts[1]),
        build=_text(r, "build", parts and parts[2]),
        channel=channel,
        channel_url=channel_url,
        subdir=_text(r, "subdir", _location_subdir(location)),
        md5=_hex(r, "md5", 32),
        sha256=_hex(r, "sha256", 64),
    )
    return _Conda(want, binary, _variants(r), bool(r.get("dev", bool, False)))


def _conda_source(r: Reader, location: str) -> _Conda:
    """``conda_source: NAME[hash] @ location``: a package pixi builds from source."""
    match = _SOURCE_NAME.match(location)
    name = r.get("name", str) or (match.group(1) if match else None)
    if not name:
        raise LockfileError(f"{r.where('conda_source')}: expected NAME[hash] @ location")
    want = CondaWant(
        name=name,
        version=r.get("version", str),
        build=r.get("build", str),
        subdir=r.get("subdir", str),
    )
    return _Conda(want, False, _variants(r), bool(r.get("dev", bool, False)))


def _variants(r: Reader) -> dict[str, Any]:
    return (r.child("variants") or Reader({}, "")).data


def _resolve_conda(
    ref: Reader, conda: dict[str, list[_Conda]], version: int, subdir: str
) -> _Conda | None:
    """The entry a ``conda:`` reference names: the first sharing its location that matches
    what the reference adds (rattler_lock's rule); None for a v7 ``dev`` source package,
    whose dependencies alone are installed."""
    location = ref.require("conda", str)
    candidates = conda.get(location, [])
    if version >= 7:
        dev = bool(ref.get("dev", bool, False))
        name = ref.get("name", str)
        variants = _variants(ref)
        for entry in candidates:
            if name is not None and entry.want.name != name:
                continue
            if entry.binary:
                if entry.want.subdir in (subdir, "noarch", None):
                    return entry
            elif entry.dev == dev and all(entry.variants.get(k) == v for k, v in variants.items()):
                return None if dev else entry
    else:
        wanted = {key: ref.get(key, str) for key in ("name", "version", "build", "subdir")}
        for entry in candidates:
            have = {
                "name": entry.want.name,
                "version": entry.want.version,
                "build": entry.want.build,
                "subdir": entry.want.subdir,
            }
            if all(v is None or have[k] == v for k, v in wanted.items()):
                return entry
    raise LockfileError(_missing(ref, "conda", location))


def _pip(r: Reader, location: str, base_dir: Path, find_links: tuple[str, ...]) -> PipWant:
    from envlock._probe import canonical_name

    hashes = tuple(
        f"{algo}={digest}"
        for algo, digest in (("sha256", _hex(r, "sha256", 64)), ("md5", _hex(r, "md5", 32)))
        if digest
    )
    source = _pip_source(location, base_dir, bool(r.get("editable", bool, False)), find_links)
    if source.kind in ("vcs", "directory"):
        hashes = ()  # a hash of a checkout's metadata, not of an artifact
    elif source.kind == "archive":
        if source.hash is None and hashes:
            source = replace(source, hash=hashes[0])
        hashes = hashes or ((source.hash,) if source.hash else ())
    return PipWant(
        name=canonical_name(r.require("name", str)),
        version=r.get("version", str),
        source=source,
        hashes=hashes,
    )


def _pip_source(
    location: str, base_dir: Path, editable: bool, find_links: tuple[str, ...]
) -> Source:
    if _WINDOWS_PATH.match(location) and os.name != "nt":
        path = location.replace("\\", "/")  # another machine's path: kept as written
        if path.lower().endswith(common.ARCHIVE_SUFFIXES):
            return Source(kind="archive", path=path)
        return Source(kind="directory", path=path, editable=editable)
    match = _SCHEME.match(location)
    scheme = match.group(1).lower() if match and _is_url(location) else ""
    if scheme.startswith("git+"):
        return _git(location, editable)
    if scheme.startswith("direct+"):
        return common.source_from_url(location[len("direct+") :], base_dir, editable)
    if scheme in ("http", "https"):
        return Source(kind="index")  # a file of a package index
    source = common.source_from_url(location, base_dir, editable)
    if source.kind == "archive" and source.path and not scheme and _under(source.path, find_links):
        return Source(kind="index")  # a wheel of a local flat index (find-links)
    return source


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(
        path.startswith(f"{root.rstrip('/')}/")
        or (root == "." and not path.startswith(("..", "/", "~")))
        for root in roots
    )


def _git(location: str, editable: bool) -> Source:
    """pixi's ``git+https://host/repo.git?rev=main&subdirectory=sub#<commit>``, or version 4's
    ``git+https://host/repo@<commit>``."""
    from urllib.parse import parse_qsl

    base, _, fragment = location.partition("#")
    head, _, query = base.partition("?")
    params = dict(parse_qsl(query))
    url = head.split("+", 1)[1]
    at = None
    front, sep, tail = url.rpartition("@")
    if sep and "/" not in tail and "://" in front and "/" in front.split("://", 1)[1]:
        url, at = front, tail
    fields = common.split_fragment(location)[1] if "=" in fragment else {}
    revisions = [fragment.strip().lower(), at, params.get("rev")]
    commit = next((rev for rev in revisions if rev and common.is_commit(rev)), None)
    requested = params.get("rev") or params.get("tag") or params.get("branch") or at
    return Source(
        kind="vcs",
        url=home_to_tilde(redact_url(url)),
        vcs="git",
        commit=commit,
        requested_revision=None if requested == commit else requested,
        subdirectory=params.get("subdirectory") or fields.get("subdirectory") or None,
        editable=editable,
    )


# ---------------------------------------------------------------------------------------------
# Small readers
# ---------------------------------------------------------------------------------------------


def _text(r: Reader, key: str, derived: str | None) -> str | None:
    """A string field, or what the package file name says when the field is absent or
    YAML 1.1 read it as a number (``version: 1.3_31`` is the float 1.331 to PyYAML)."""
    value = r.data.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        return derived
    if derived is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        return derived
    return r.get(key, str)


def _hex(r: Reader, key: str, length: int) -> str | None:
    """A hex digest. YAML 1.1 reads one of digits alone as an integer (``0000...`` as octal
    0, ``1111...`` as decimal); pixi reads YAML 1.2 typed, as the text: restore the text."""
    raw = r.data.get(key)
    value: str | None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        text = str(raw)
        value = text if len(text) == length else format(raw, "o").zfill(length)
    else:
        value = r.get(key, str)
    if value is None:
        return None
    if len(value) != length or not _HEX.match(value):
        raise LockfileError(f"{r.where(key)}: expected {length} hexadecimal digits")
    return value.lower()


def _is_url(location: str) -> bool:
    return "://" in location and bool(_SCHEME.match(location)) and not _WINDOWS_PATH.match(location)


def _file_name(location: str) -> str:
    from urllib.parse import unquote

    path = location.split("#", 1)[0].split("?", 1)[0].replace("\\", "/").rstrip("/")
    return unquote(path.rpartition("/")[2])


def _split_file_name(file_name: str) -> tuple[str, str, str] | None:
    """``name-version-build.conda`` -> its three parts."""
    stem = file_name[: -len(next(s for s in _CONDA_SUFFIXES if file_name.endswith(s)))]
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def _location_subdir(location: str) -> str | None:
    from envlock.conda import KNOWN_SUBDIRS

    path = location.split("#", 1)[0].split("?", 1)[0].replace("\\", "/")
    parent = path.rpartition("/")[0].rpartition("/")[2]
    return parent if parent in KNOWN_SUBDIRS else None


def _canonical_channel(value: str) -> tuple[str, str | None]:
    from envlock.conda import canonical_channel

    return canonical_channel(value)


def _missing(ref: Reader, key: str, location: str) -> str:
    return redact_text(f"{ref.path}: no entry of packages matches {key}: {redact_url(location)}")


def _notes(
    chosen: _Platform, conda: list[CondaWant], pip: list[PipWant], version: int
) -> list[str]:
    """What the chosen environment has that is deliberately not checked."""
    notes = []
    if chosen.virtual_packages:
        notes.append(
            f"platform {chosen.describe()}: the virtual packages pixi solved for are not "
            f"checked ({', '.join(chosen.virtual_packages)})"
        )
    built = sorted({w.name for w in conda if w.channel is None and w.version is None})
    if built:
        notes.append(
            "conda packages pixi builds from source are checked by name only (the file "
            f"records no version): {', '.join(built)}"
        )
    if version >= 6:
        local = sorted(w.name for w in pip if w.source and w.source.kind == "directory")
        if local:
            notes.append(
                f"pixi.lock version {version} does not record whether a local package is "
                f"installed editable (pixi.toml says): {', '.join(local)}"
            )
    return notes
