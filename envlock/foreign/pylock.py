"""``pylock.toml`` (PEP 751): every ``[[packages]]`` entry as a :class:`PipWant`.

* ``lock-version`` 1.x is read; a newer major version is refused. Where ``packaging`` >= 25
  is installed its :class:`packaging.pylock.Pylock` validates the file against the
  specification first (names normalised, one kind of source per package, wheel and sdist
  file names consistent with the package, hashes present); with an older ``packaging`` the
  fields used here are still type-checked one by one.
* A package's ``marker`` is kept as written, unevaluated: it is evaluated against the live
  environment when comparing. A marker that names ``extras`` or ``dependency_groups``
  (PEP 751 lock-file markers) depends on what was asked for at install time, so that package
  is *optional* (allowed, not required), and the extras and groups the file offers go into
  the notes.
* Sources: ``vcs`` / ``directory`` / ``archive`` tables become the matching
  :class:`~envlock.model.Source`. ``wheels`` / ``sdist`` with URLs come from an index: source
  ``index``. A single wheel or sdist named only by a local ``path`` is installed from that
  file, as an ``archive`` with its hash; several local files (or local files mixed with URLs)
  leave the source unknown, and the hashes carry the check.
* ``hashes``: one per artifact (wheels, sdist, archive), ``sha256`` when it has one.
"""

from __future__ import annotations

import re

from envlock._probe import canonical_name
from envlock.errors import LockfileError, UsageError
from envlock.foreign import common
from envlock.foreign.model import Foreign, PipWant
from envlock.model import Source
from envlock.reader import Reader
from envlock.redact import home_to_tilde, redact_url

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

READS = "1.x"
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_CHOICE_MARKER = re.compile(r"\b(extras|dependency_groups)\b")


def parse(
    text: str, *, base_dir: Path, platform: str | None = None, environment: str | None = None
) -> Foreign:
    """What a ``pylock.toml`` asks for. ``platform`` is not used: a pylock chooses by markers,
    which are evaluated later against the live environment."""
    if environment is not None:
        raise UsageError("a pylock.toml has no named environments; leave out --against-env")
    try:
        data = common.data(text, "toml")
    except LockfileError as e:
        raise LockfileError(f"not a pylock.toml: {e}") from None
    top = Reader(data, "")
    if "lock-version" not in top.data and "packages" not in top.data:
        raise LockfileError("not a pylock.toml: it has neither lock-version nor packages")
    _check_version(top.required_text("lock-version"))
    _validate(top.data)
    entries = top.require("packages", list)
    wants = tuple(
        _package(Reader(item, f"packages[{i}]"), base_dir) for i, item in enumerate(entries)
    )
    return Foreign(
        format="pylock",
        pip=wants,
        conda=None,
        requires_python=common.requires_python(top.text("requires-python")),
        environments=top.strings("environments") or (),
        notes=_notes(top, wants),
    )


def _check_version(text: str) -> None:
    from packaging.version import InvalidVersion, Version

    try:
        version = Version(text)
    except InvalidVersion:
        raise LockfileError(f"lock-version: not a version: '{common.excerpt(text, 40)}'") from None
    if version.major > 1:
        raise LockfileError(
            f"pylock lock-version {version} is newer than this envlock reads ({READS})"
        )
    if version.major < 1:
        raise LockfileError(f"pylock lock-version {version} is not one envlock reads ({READS})")


def _validate(data: dict[str, Any]) -> None:
    """The specification's own checks, from ``packaging`` >= 25 where installed."""
    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:  # packaging < 25: the fields used are type-checked as they are read
        return
    try:
        # the version is checked above; 1.0 keeps packaging from logging about a 1.x minor
        Pylock.from_dict({**data, "lock-version": "1.0"})
    except PylockValidationError as e:
        message = (e.message.splitlines() or ["invalid"])[0]
        where = common.excerpt(e.context or "top level")
        raise LockfileError(f"{where}: {common.excerpt(message, 200)}") from None
    except (TypeError, ValueError, AttributeError, KeyError) as e:  # not spec-shaped at all
        raise LockfileError(f"not a valid pylock.toml ({type(e).__name__})") from None


def _package(r: Reader, base_dir: Path) -> PipWant:
    name = r.required_text("name")
    if name != canonical_name(name):
        raise LockfileError(
            f"{r.where('name')}: '{common.excerpt(name)}' is not normalized (PEP 503)"
        )
    marker = r.text("marker")
    if marker is not None:
        _check_marker(marker, r.where("marker"))
    direct = [(key, child) for key in ("vcs", "directory", "archive") if (child := r.child(key))]
    files = _files(r)
    if len(direct) + bool(files) != 1:
        raise LockfileError(f"{r.path}: needs exactly one of vcs, directory, archive, or files")
    hashes = tuple(h for _, _, h in files)
    source: Source | None
    if direct:
        key, table = direct[0]
        source = _direct_source(key, table, base_dir)
        if source.hash:
            hashes = (source.hash,)
    else:
        source = _files_source(files, base_dir)
    return PipWant(
        name=name,
        version=r.text("version"),
        source=source,
        hashes=hashes,
        marker=marker,
        optional=marker is not None and _depends_on_choice(marker),
    )


def _files(r: Reader) -> list[tuple[str | None, str | None, str]]:
    """(url, path, hash) of the package's sdist and wheels."""
    readers: list[Reader] = []
    sdist = r.child("sdist")
    if sdist is not None:
        readers.append(sdist)
    for i, wheel in enumerate(r.get("wheels", list) or []):
        readers.append(Reader(wheel, f"{r.where('wheels')}[{i}]"))
    files = []
    for f in readers:
        url, path = f.text("url"), f.text("path")
        if not url and not path:
            raise LockfileError(f"{f.path}: url or path required")
        files.append((url, path, _hash(f)))
    return files


def _hash(r: Reader) -> str:
    """The artifact's preferred hash as ``algo=hex`` (sha256 where given); one is required."""
    table = r.child("hashes")
    if table is None:
        raise LockfileError(f"{r.where('hashes')}: required")
    found: dict[str, str] = {}
    for algo in table.data:
        value = table.data[algo]
        if not isinstance(value, str) or not _HEX.match(value):
            raise LockfileError(f"{table.where(algo)}: not a hex digest")
        found[algo.lower()] = value.lower()
    if not found:
        raise LockfileError(f"{table.path}: at least one hash is required")
    algo = next((a for a in common.HASH_ALGOS if a in found), min(found))
    return f"{algo}={found[algo]}"


def _direct_source(key: str, t: Reader, base_dir: Path) -> Source:
    if key == "directory":
        return Source(
            kind="directory",
            path=common.local_path(t.required_text("path"), base_dir),
            editable=bool(t.get("editable", bool, False)),
            subdirectory=t.text("subdirectory"),
        )
    url, path = t.text("url"), t.text("path")
    if not url and not path:
        raise LockfileError(f"{t.path}: url or path required")
    shown_url = home_to_tilde(redact_url(url)) if url else None
    shown_path = common.local_path(path, base_dir) if path and not url else None
    if key == "vcs":
        commit = t.required_text("commit-id")
        return Source(
            kind="vcs",
            vcs=t.required_text("type"),
            url=shown_url,
            path=shown_path,
            commit=commit,
            requested_revision=t.text("requested-revision"),
            subdirectory=t.text("subdirectory"),
        )
    return Source(
        kind="archive",
        url=shown_url,
        path=shown_path,
        hash=_hash(t),
        subdirectory=t.text("subdirectory"),
    )


def _files_source(files: list[tuple[str | None, str | None, str]], base_dir: Path) -> Source | None:
    """``index`` when every file has a URL; ``archive`` for one local file; else unknown."""
    local = [(path, h) for url, path, h in files if not url and path]
    if not local:
        return Source(kind="index")
    if len(files) == 1:
        path, h = local[0]
        return Source(kind="archive", path=common.local_path(path, base_dir), hash=h)
    return None


def _check_marker(marker: str, where: str) -> None:
    """Refuse a marker that ``packaging`` cannot read. Lock-file markers (``extras``,
    ``dependency_groups``) need packaging >= 25, which has checked them already."""
    from packaging.markers import InvalidMarker, Marker

    if _depends_on_choice(marker):
        return
    try:
        Marker(marker)
    except (InvalidMarker, ValueError, TypeError, RecursionError):
        raise LockfileError(f"{where}: not a marker: {common.excerpt(marker)}") from None


def _depends_on_choice(marker: str) -> bool:
    """Whether a lock-file marker names ``extras`` or ``dependency_groups``."""
    return _CHOICE_MARKER.search(_QUOTED.sub("", marker)) is not None


def _notes(top: Reader, wants: tuple[PipWant, ...]) -> tuple[str, ...]:
    notes = []
    chosen = sum(w.optional for w in wants)
    offered = []
    for key, label in (
        ("extras", "extras"),
        ("dependency-groups", "dependency groups"),
        ("default-groups", "default groups"),
    ):
        values = top.strings(key)
        if values:
            offered.append(f"{label}: {common.excerpt(', '.join(values), 200)}")
    if chosen or offered:
        also = f" (the file offers {'; '.join(offered)})" if offered else ""
        notes.append(
            f"{common.packages(chosen, 'depend', 'depends')} on the extras or dependency groups "
            f"chosen at install time: allowed, not required{also}"
        )
    return tuple(notes)
