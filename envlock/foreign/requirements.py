"""Pinned requirements files (``pip freeze``, ``pip-compile``, ``uv pip compile``,
``uv export``): every requirement line as a :class:`PipWant`. :func:`read_line` reads one
line; :mod:`envlock.foreign.envexport` reads an ``environment.yml`` ``pip:`` section with it.

Lines are read as pip reads them: ``\\`` continues a line, ``#`` starts a comment at the start
of a line or after whitespace (so ``#egg=`` and ``#sha256=`` fragments stay), and the first
token that starts with ``-`` begins a line's options. Then:

* ``name==1.0`` / ``name===1.0`` pin a version; any other specifier is kept as one; extras
  are dropped; ``; marker`` is kept, unevaluated; ``--hash=algo:hex`` options (sha256,
  sha384 or sha512, the digest in full) become ``algo=hex`` hashes. The same name twice
  (with different markers) stays twice.
* ``name @ URL``, bare URLs and local paths become a :class:`~envlock.model.Source`, named by
  ``#egg=``, by the wheel or sdist file name, or by a ``pip freeze`` comment
  (``# Editable install with no version control (name==1.0)``). ``-e`` takes a local
  directory or a VCS URL, as in pip. A local directory that nothing names (``-e .``) is
  named by the ``[project] name`` of its pyproject.toml. Where nothing names a directory or
  VCS package, the name is guessed from the path's last component (``.``: the file's
  directory) and the package is *optional*: it is checked only where a package of that name
  is installed. A location nothing names (an archive URL whose file name is not a
  package's: ``https://host/download``) is not checked, with a note: pip installs it.
* ``name @ file:///…/<pkg>_<timestamp>/work`` is how ``pip freeze`` shows a package that
  conda-build built (conda installed it): nothing but its name is checkable.
* Option lines (``-i``, ``--extra-index-url``, ``-f``, ``--no-binary``, ``--pre``, …) are
  skipped; ``-r`` / ``-c`` files are not followed (a lockfile never names a file envlock
  opens). An option pip does not know is an error, as in pip.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from envlock._probe import canonical_name
from envlock.errors import LockfileError, UsageError
from envlock.foreign import common
from envlock.foreign.model import Foreign, PipWant
from envlock.model import Source

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from packaging.requirements import Requirement

MAX_LINE = 1 << 20  # characters in one logical line (continuations joined)
MAX_QUOTED = 1 << 16  # characters of options with quotes or backslashes (shlex is slow)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DRIVES = tuple(f"{c}:" for c in "abcdefghijklmnopqrstuvwxyz")  # C:\path is not a URL
_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")
_HASH = re.compile(r"^(sha256|sha384|sha512):([0-9a-fA-F]+)$")
_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_FREEZE_COMMENT = re.compile(
    r"^#\s*Editable\b.*\(([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s()]+)\)", re.IGNORECASE
)
# conda-build's work directory, ``<croot>/<pkg>_<milliseconds>/work``, as pip freeze shows
# a package conda installed (conda-forge feedstocks, Anaconda's /croot and /work/ci_*).
_BUILD_DIR = re.compile(r".+_\d{10,13}")
_WITH_VALUE = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--no-binary": "--no-binary",
    "--only-binary": "--only-binary",
    "--trusted-host": "--trusted-host",
    "--use-feature": "--use-feature",
    "--config-settings": "--config-settings",
    "--global-option": "--global-option",
    "--install-option": "--install-option",
    "--hash": "--hash",
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-e": "--editable",
    "--editable": "--editable",
}
_FLAGS = {"--no-index", "--prefer-binary", "--require-hashes", "--pre", "--no-deps"}
_INCLUDES = {"--requirement": "-r", "--constraint": "-c"}  # files never opened
GUESSED = (
    "the file names no package (#egg=NAME); the name is guessed from the path, and checked "
    "only where such a package, or one installed from that path, is installed"
)
UNNAMED = "names no package, nor does its file name (add #egg=NAME): not checked"


def parse(
    text: str, *, base_dir: Path, platform: str | None = None, environment: str | None = None
) -> Foreign:
    """What a pinned requirements file asks for. ``platform`` is not used: a requirements
    file chooses by markers, evaluated later against the live environment."""
    if environment is not None:
        raise UsageError("a requirements file has no named environments; leave out --against-env")
    if "\x00" in text:
        raise LockfileError("not a requirements file: it contains NUL bytes")
    reader = _Reader(base_dir)
    for number, line, comment in _logical_lines(text):
        reader.line(number, line, comment)
    if not reader.wants:
        raise LockfileError(f"no requirements found{reader.why_none()}")
    return Foreign(format="requirements", pip=tuple(reader.wants), conda=None, notes=reader.notes())


def _logical_lines(text: str) -> Iterator[tuple[int, str, str | None]]:
    """(first line number, line without comments, the comment line just before it) as pip
    joins ``\\`` continuations and strips comments."""
    joined: list[str] = []
    first = size = 0
    before: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        is_comment = raw.lstrip().startswith("#")
        comment = raw.strip() if is_comment else None
        size = size + len(raw) if joined else len(raw)
        if size > MAX_LINE:
            raise LockfileError(
                f"line {first if joined else number}: longer than {MAX_LINE} characters"
            )
        if raw.endswith("\\") and not is_comment:
            if not joined:
                first = number
            joined.append(raw.strip("\\"))
            continue
        if joined:
            joined.append("" if is_comment else raw)
            number, raw, joined = first, "".join(joined), []
        line = strip_comment(raw).strip()
        if line:
            yield number, line, before
        before = comment
    if joined:
        yield first, strip_comment("".join(joined)).strip(), before


def strip_comment(line: str) -> str:
    """``line`` up to a ``#`` at its start or after whitespace (pip's comment rule)."""
    at = line.find("#")
    while at != -1:
        if at == 0 or line[at - 1].isspace():
            return line[:at]
        at = line.find("#", at + 1)
    return line


class _Reader:
    """The wants and notes of one file, line by line."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.wants: list[PipWant] = []
        self.included: list[str] = []
        self.guessed: list[str] = []
        self.unnamed: list[str] = []
        self.conda_built = 0

    def line(self, number: int, line: str, comment: str | None) -> None:
        where = f"line {number}"
        read = read_line(line, where, self.base_dir, comment)
        for option, value in read.options:
            if option in _INCLUDES and value is not None:
                self.included.append(f"{_INCLUDES[option]} {common.excerpt(value)}")
        if read.unnamed is not None:
            self.unnamed.append(f"{where} ({read.unnamed})")
        if read.want is None:
            return
        self.wants.append(read.want)
        if read.want.optional:
            self.guessed.append(f"{where} ({read.want.name})")
        self.conda_built += read.conda_built

    def why_none(self) -> str:
        """Why a file without requirements has none, in parentheses (or nothing)."""
        why = []
        if self.included:
            why.append("-r / -c files are not followed")
        if self.unnamed:
            why.append("a location that names no package is not checked: add #egg=NAME")
        return f" ({'; '.join(why)})" if why else ""

    def notes(self) -> tuple[str, ...]:
        notes = []
        if self.included:
            notes.append(
                f"{_listed(self.included)}: not followed; envlock never opens a file a "
                "lockfile names"
            )
        if self.guessed:
            notes.append(f"{_listed(self.guessed)}: {GUESSED}")
        if self.unnamed:
            notes.append(f"{_listed(self.unnamed)}: {UNNAMED}")
        if self.conda_built:
            notes.append(
                f"{common.packages(self.conda_built, 'point', 'points')} at conda-build paths "
                "(installed by conda): only presence is checked"
            )
        return tuple(notes)


def _listed(items: list[str]) -> str:
    """The first three of ``items`` and how many more."""
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return f"{', '.join(items[:3])}{more}"


# ---------------------------------------------------------------------------------------------
# One line
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """What one requirements-file line says, read as pip reads it (see the module docstring).
    ``want.optional`` is set only where its name is guessed from a path (``want.guessed``)."""

    want: PipWant | None = None  # None: an option line, or a location that names no package
    options: tuple[tuple[str, str | None], ...] = ()  # (long name, value); not --hash, not -e
    unnamed: str | None = None  # a URL or path that names no package (redacted, shortened)
    conda_built: bool = False  # ``name @ file:///…/work``: only the name is kept


def read_line(line: str, where: str, base_dir: Path, comment: str | None = None) -> Line:
    """One line of a requirements file, its comment and continuations already removed
    (:func:`strip_comment`); ``comment`` is the comment line just before it (where
    ``pip freeze`` names an editable install), ``where`` starts each error message, and
    local paths are relative to ``base_dir``."""
    args, options = _split_args(line)
    tokens = _tokens(where, options)
    if args:
        hashes, rest = _requirement_options(where, tokens)
        return replace(_requirement(where, args, hashes, base_dir), options=rest)
    return _option_line(where, tokens, base_dir, comment)


def _option_line(
    where: str, tokens: list[tuple[str, str | None]], base_dir: Path, comment: str | None
) -> Line:
    """A line of options; as in pip, its first ``-e`` is a requirement."""
    if any(option == "--hash" for option, _ in tokens):
        raise LockfileError(f"{where}: --hash without a requirement")
    editable = next((v for o, v in tokens if o == "--editable" and v is not None), None)
    rest = tuple(token for token in tokens if token[0] != "--editable")
    if editable is None:
        return Line(options=rest)
    return replace(_editable(where, editable, comment, base_dir), options=rest)


def _requirement_options(
    where: str, tokens: list[tuple[str, str | None]]
) -> tuple[tuple[str, ...], tuple[tuple[str, str | None], ...]]:
    """(``--hash`` values as ``algo=hex``, the other options) of a requirement line."""
    hashes: list[str] = []
    rest = []
    for option, value in tokens:
        if option in ("--editable", "--requirement", "--constraint"):
            raise LockfileError(f"{where}: {option} cannot follow a requirement")
        if option != "--hash":
            rest.append((option, value))
            continue
        digest = _hash(where, value)
        if digest not in hashes:
            hashes.append(digest)
    return tuple(hashes), tuple(rest)


def _hash(where: str, value: str | None) -> str:
    """``algo:hex`` as ``algo=hex``. The value is never shown: a secret pasted in its place
    would be."""
    found = _HASH.match(value or "")
    if found is None or len(found.group(2)) != _HEX_LENGTH[found.group(1)]:
        raise LockfileError(
            f"{where}: --hash must be sha256:<hex> (or sha384, sha512), with all of the "
            "digest's hex digits"
        )
    return f"{found.group(1)}={found.group(2).lower()}"


def _requirement(where: str, text: str, hashes: tuple[str, ...], base_dir: Path) -> Line:
    if _URL.match(text) and not text.lower().startswith(_DRIVES):
        return _located(where, text, "; ", hashes, base_dir)
    req = _parsed(text)
    if req is None:
        if _looks_like_path(text):
            return _located(where, text, ";", hashes, base_dir)
        raise LockfileError(f"{where}: not a requirement: {common.excerpt(text)}")
    name = canonical_name(req.name)
    marker = str(req.marker) if req.marker is not None else None
    if req.url and _is_conda_build(req.url):
        return Line(want=PipWant(name=name, marker=marker, hashes=hashes), conda_built=True)
    if req.url:
        source = common.source_from_url(req.url, base_dir)
        hashes = _with(hashes, source)
        return Line(want=PipWant(name=name, source=source, hashes=hashes, marker=marker))
    version, specifier = common.pins(req)
    want = PipWant(name=name, version=version, specifier=specifier, hashes=hashes, marker=marker)
    return Line(want=want)


def _located(where: str, text: str, sep: str, hashes: tuple[str, ...], base_dir: Path) -> Line:
    """A bare URL or local path, with an optional ``<sep>marker``."""
    location, _, marker = text.partition(sep)
    marker = marker.strip()
    if marker and not _valid_marker(marker):
        raise LockfileError(f"{where}: not a marker: {common.excerpt(marker)}")
    location = _strip_extras(location.strip())
    source = common.source_from_url(location, base_dir)
    want = _named(where, location, source, base_dir)
    if want is None:
        return Line(unnamed=common.excerpt(location))
    return Line(want=replace(want, hashes=_with(hashes, source), marker=marker or None))


def _editable(where: str, value: str, comment: str | None, base_dir: Path) -> Line:
    location = _strip_extras(value.strip())
    source = common.source_from_url(location, base_dir, editable=True)
    if source.kind not in ("vcs", "directory"):
        raise LockfileError(
            f"{where}: -e needs a local directory or a VCS URL (git+https://...), "
            f"not {common.excerpt(location)}"
        )
    frozen = _FREEZE_COMMENT.match(comment or "")
    if frozen and "egg" not in common.split_fragment(location)[1]:
        name, version = canonical_name(frozen.group(1)), frozen.group(2)
        return Line(want=PipWant(name=name, version=version, source=source))
    want = _named(where, location, source, base_dir)
    return Line(unnamed=common.excerpt(location)) if want is None else Line(want=want)


def _named(where: str, location: str, source: Source, base_dir: Path) -> PipWant | None:
    """A want for ``location``, named by ``#egg=``, the file name, or a guess (then
    optional); None where none of them names a package."""
    egg = _strip_extras(common.split_fragment(location)[1].get("egg", ""))
    if egg:
        if not _NAME.match(egg):
            raise LockfileError(f"{where}: #egg= is not a package name: {common.excerpt(egg)}")
        return PipWant(name=canonical_name(egg), source=source)
    if source.kind == "archive":
        name = _file_name(location)
        return None if name is None else PipWant(name=name, source=source)
    if source.kind == "directory" and source.path is not None:
        name = _project_name(base_dir / os.path.expanduser(source.path))
        if name is not None:
            return PipWant(name=name, source=source)
    name = _guess_name(source, base_dir)
    return None if name is None else PipWant(name, source=source, optional=True, guessed=True)


def _split_args(line: str) -> tuple[str, str]:
    """pip's split of a line into its requirement and its options: the first token that
    starts with ``-`` begins the options."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]).strip(), " ".join(tokens[i:])
    return line, ""


def _tokens(where: str, options: str) -> list[tuple[str, str | None]]:
    """(long option name, value) pairs of an options string, as pip's option parser reads
    them; an option pip does not know is an error."""
    import shlex

    if not options:
        return []
    if not any(c in options for c in "'\"\\"):
        words = options.split()  # what shlex gives, without its quadratic time on long words
    elif len(options) > MAX_QUOTED:
        raise LockfileError(f"{where}: quoted options longer than {MAX_QUOTED} characters")
    else:
        try:
            words = shlex.split(options)
        except ValueError as e:
            raise LockfileError(f"{where}: {e}: {common.excerpt(options)}") from None
    pairs: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        value: str | None = None
        if word.startswith("--") and "=" in word:
            word, value = word.split("=", 1)
        elif not word.startswith("--") and len(word) > 2 and word.startswith("-"):
            word, value = word[:2], word[2:]
        if word in _FLAGS:
            if value is not None:
                raise LockfileError(f"{where}: {word} takes no value")
            pairs.append((word, None))
            continue
        if word not in _WITH_VALUE:
            raise LockfileError(f"{where}: unknown option {common.excerpt(word)}")
        if value is None:
            if i >= len(words):
                raise LockfileError(f"{where}: {word} needs a value")
            value = words[i]
            i += 1
        pairs.append((_WITH_VALUE[word], value))
    return pairs


def _parsed(text: str) -> Requirement | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement:
        return None
    except (ValueError, TypeError, RecursionError):  # older packaging on hostile input
        return None


def _with(hashes: tuple[str, ...], source: Source) -> tuple[str, ...]:
    """``hashes`` and the hash in an archive URL's fragment (``#sha256=...``)."""
    if source.hash and source.hash not in hashes:
        return (*hashes, source.hash)
    return hashes


def _valid_marker(text: str) -> bool:
    from packaging.markers import InvalidMarker, Marker

    try:
        Marker(text)
    except (InvalidMarker, ValueError, TypeError, RecursionError):
        return False
    return True


def _looks_like_path(text: str) -> bool:
    """pip's test, by appearance: a path separator, or a leading dot. A space is allowed
    where the path plainly starts as one (``./``, ``/``, ``~``, ``${HOME}``): pip reads
    ``./my project`` as that folder, and ``envlock export`` writes it so."""
    head = text.split(";", 1)[0].strip()
    if " " in head and not head.startswith((".", "/", "~", "${", "$HOME")):
        return False
    return (
        "/" in head
        or "\\" in head
        or head.startswith((".", "~"))
        or head.split("#", 1)[0].lower().endswith(common.ARCHIVE_SUFFIXES)
    )


def _strip_extras(location: str) -> str:
    """``path[extra1,extra2]`` -> ``path`` (a fragment stays)."""
    base, sep, fragment = location.partition("#")
    start = base.rfind("[")
    if base.endswith("]") and start != -1 and "]" not in base[start + 1 : -1]:
        base = base[:start]
    return base + sep + fragment


def _is_conda_build(url: str) -> bool:
    """Whether a ``file:`` URL is a conda-build work directory."""
    if not url.lower().startswith("file:"):
        return False
    parts = url.partition("#")[0].split("/")
    if "conda-bld" in parts or "feedstock_root" in parts:
        return True
    return any(b == "work" and _BUILD_DIR.fullmatch(a) for a, b in zip(parts, parts[1:]))


def _file_name(location: str) -> str | None:
    """The package name in a wheel or sdist file name at the end of ``location`` (or, for
    another archive, the part of its name before the last ``-``)."""
    found = common.artifact(location)
    if found is not None:
        return found[0]
    filename = common.file_name(location)
    if filename is None:
        return None
    stem = re.sub(r"\.(tar\.gz|tgz|tar\.bz2|tar\.xz|tar|zip)$", "", filename, flags=re.I)
    name = stem.rpartition("-")[0]
    return canonical_name(name) if _NAME.match(name) else None


_MAX_PYPROJECT = 1 << 20


def _project_name(directory: Path) -> str | None:
    """The name in the ``[project]`` table of ``directory``'s pyproject.toml (what pip builds
    there, when the name is static); None where there is none, or it cannot be read."""
    from envlock.lockfile import parse

    try:
        with open(directory / "pyproject.toml", "rb") as f:
            raw = f.read(_MAX_PYPROJECT + 1)
        if len(raw) > _MAX_PYPROJECT:
            return None
        data = parse(raw.decode("utf-8"), "toml", json_only=False)
    except (OSError, UnicodeDecodeError, LockfileError):
        return None
    project = data.get("project") if isinstance(data, dict) else None
    name = project.get("name") if isinstance(project, dict) else None
    return canonical_name(name) if isinstance(name, str) and _NAME.match(name) else None


def _guess_name(source: Source, base_dir: Path) -> str | None:
    """A name from the last component of a VCS URL or a directory's path."""
    if source.kind == "vcs":
        last = (source.url or source.path or "").rstrip("/").rsplit("/", 1)[-1]
        last = last.split(":")[-1]
        last = last[:-4] if last.endswith(".git") else last
    else:
        path = (source.path or "").rstrip("/")
        last = base_dir.resolve().name if path in ("", ".") else path.rsplit("/", 1)[-1]
    last = _NOT_IN_NAMES.sub("-", last).strip("-._")  # "my project" -> my-project
    return canonical_name(last) if _NAME.match(last) else None
