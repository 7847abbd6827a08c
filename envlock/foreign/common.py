"""What the foreign-lockfile parsers share: turning URLs and paths into a :class:`Source`
the way envlock records a live one, and reading YAML or TOML defensively."""

from __future__ import annotations

import os
import re
from pathlib import Path

from envlock.model import Source
from envlock.redact import home_to_tilde, redact_url

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

    from packaging.requirements import Requirement

VCS = ("git", "hg", "svn", "bzr")
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
HASH_ALGOS = ("sha256", "sha384", "sha512", "sha1", "md5")


def data(text: str, fmt: str) -> Any:
    """YAML or TOML through envlock's strict, size- and depth-bounded loaders (TOML's dates
    and times allowed: pylock.toml's ``upload-time`` is one), through the cache of parsed
    lockfiles (:mod:`envlock.cache`): a 500 KiB pixi.lock or conda-lock.yml costs a quarter of
    a second to parse, and rarely changes between runs. Data JSON cannot hold (TOML dates) is
    simply not cached."""
    from envlock import cache
    from envlock.lockfile import parse

    raw = text.encode("utf-8")
    kind = f"foreign-{fmt}"
    cached = cache.get(raw, kind)
    if cached is not None:
        return cached
    parsed = parse(text, fmt, json_only=False)
    cache.put(raw, kind, parsed)
    return parsed


def is_commit(rev: str | None) -> bool:
    return bool(rev) and _COMMIT.match(rev or "") is not None


def local_path(path: str, base_dir: Path) -> str:
    """A local path as envlock records one (:func:`envlock.localpath.recorded`): relative to
    ``base_dir`` (the lockfile's directory) when inside it or inside its git repository, else
    absolute with the home directory as ``~``; always ``/``-separated."""
    from envlock.localpath import is_windows_absolute, recorded

    if path.startswith("file:"):
        from envlock.errors import LockfileError
        from envlock.localpath import file_url_path

        try:
            path = file_url_path(path)
        except ValueError:  # "file://[x"
            raise LockfileError(f"not a valid file URL: {excerpt(path)}") from None
    for home in ("${HOME}", "$HOME", "%USERPROFILE%"):  # how exported files spell ``~``
        if path.startswith(home):
            path = "~" + path[len(home) :]
    full = Path(os.path.expanduser(path))
    if not full.is_absolute() and not is_windows_absolute(path):  # (C:/x read on Linux)
        full = base_dir / full
    return recorded(Path(os.path.normpath(full)).as_posix(), base_dir)


def split_fragment(url: str) -> tuple[str, dict[str, str]]:
    """``url#a=1&b=2`` -> (``url``, ``{"a": "1", "b": "2"}``)."""
    base, _, fragment = url.partition("#")
    fields: dict[str, str] = {}
    for part in fragment.split("&"):
        key, eq, value = part.partition("=")
        if eq:
            fields[key.strip().lower()] = value.strip()
    return base, fields


def fragment_hash(fields: dict[str, str]) -> str | None:
    for algo in HASH_ALGOS:
        if fields.get(algo):
            return f"{algo}={fields[algo].lower()}"
    return None


def source_from_url(url: str, base_dir: Path, editable: bool = False) -> Source:
    """A PEP 508 direct reference (or a pip requirement URL) as a :class:`Source`:
    ``git+https://host/repo@rev#subdirectory=sub``, ``https://host/x.whl#sha256=...``,
    ``file:///path/to/dir``, or a bare local path."""
    url = url.strip()
    base, fields = split_fragment(url)
    subdirectory = fields.get("subdirectory") or None
    scheme = base.split(":", 1)[0].lower() if "://" in base else ""
    vcs = scheme.split("+", 1)[0] if "+" in scheme else ""
    if vcs in VCS or (scheme in VCS and scheme != "file"):
        vcs = vcs or scheme
        location = base.split("+", 1)[1] if "+" in scheme else base
        rev = None
        head, _, tail = location.rpartition("@")
        if head and "/" not in tail and "://" in head:
            location, rev = head, tail
        return Source(
            kind="vcs",
            url=home_to_tilde(redact_url(location)),
            vcs=vcs,
            commit=rev if is_commit(rev) else None,
            requested_revision=None if is_commit(rev) else rev,
            subdirectory=subdirectory,
            editable=editable,
        )
    is_archive = base.lower().endswith(ARCHIVE_SUFFIXES)
    if scheme in ("", "file"):
        path = local_path(base, base_dir)
        if is_archive:
            return Source(kind="archive", path=path, hash=fragment_hash(fields))
        return Source(kind="directory", path=path, editable=editable, subdirectory=subdirectory)
    return Source(
        kind="archive",
        url=home_to_tilde(redact_url(base)),
        hash=fragment_hash(fields),
        subdirectory=subdirectory,
    )


def requires_python(value: str | None) -> str | None:
    """A lockfile's ``requires-python``, which must be a version specifier when given."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from envlock.errors import LockfileError

    if value is not None:
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise LockfileError(
                f"requires-python: not a version specifier: '{excerpt(value, 40)}'"
            ) from None
    return value


def packages(count: int, plural: str = "are", singular: str = "is") -> str:
    """``3 packages are`` or ``1 package is`` (with another verb's two forms if given)."""
    return f"{count} package {singular}" if count == 1 else f"{count} packages {plural}"


def excerpt(text: str, limit: int = 80) -> str:
    """At most ``limit`` characters of untrusted ``text`` for a one-line message: URL
    credentials, secret query values and the values of secret names (``password=x``: the
    file may be a link to another) removed first (so a cut never leaves half a secret), then
    control characters shown as ``?``."""
    from envlock.redact import mask_assignments, redact_text

    text = " ".join(redact_url(t) if "://" in t else t for t in text.split(" "))
    text = mask_assignments(redact_text(text))
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


_SCHEME_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def file_name(location: str) -> str | None:
    """The last component of a URL's or a path's path, or None for a URL that cannot be
    split (``http://[``)."""
    from urllib.parse import unquote, urlsplit

    base = location.partition("#")[0]
    try:
        path = urlsplit(base).path if _SCHEME_PREFIX.match(base) else base
    except ValueError:
        return None
    return unquote(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])


def artifact(location: str) -> tuple[str, str] | None:
    """(canonical project name, version) from the wheel or sdist file name that ends
    ``location`` (a URL or a path), or None when it is not one."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    from envlock._probe import canonical_name

    filename = file_name(location)
    if filename is None:
        return None
    try:
        if filename.lower().endswith(".whl"):
            name, version, *_ = parse_wheel_filename(filename)
        elif filename.lower().endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None
    return canonical_name(name), str(version)


def pins(req: Requirement) -> tuple[str | None, str | None]:
    """(exact version, other specifier) of a parsed requirement: ``==`` / ``===`` without a
    wildcard is exact, anything else a specifier."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version, None
    return None, str(req.specifier) or None
