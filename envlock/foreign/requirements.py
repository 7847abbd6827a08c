"""Pinned requirements files (``pip freeze``, ``pip-compile``, ``uv pip compile``,
``uv export``): every requirement line as a :class:`PipWant`.

Lines are read as pip reads them: ``\\`` continues a line, ``#`` starts a comment at the start
of a line or after whitespace (so ``#egg=`` and ``#sha256=`` fragments stay), and the first
token that starts with ``-`` begins a line's options. Then:

* ``name==1.0`` / ``name===1.0`` pin a version; any other specifier is kept as one; extras
  are dropped; ``; marker`` is kept, unevaluated; ``--hash=algo:hex`` options become
  ``algo=hex`` hashes. The same name twice (with different markers) stays twice.
* ``name @ URL``, bare URLs and local paths become a :class:`~envlock.model.Source`, named by
  ``#egg=``, by the wheel or sdist file name, or by a ``pip freeze`` comment
  (``# Editable install with no version control (name==1.0)``). Where nothing names the
  package (``-e .``), the name is guessed from the path's last component (``.``: the
  file's directory) and the package is *optional*: it is checked only where a package of
  that name is installed.
* ``name @ file:///…/<pkg>_<timestamp>/work`` is how ``pip freeze`` shows a package that
  conda-build built (conda installed it): nothing but its name is checkable.
* Option lines (``-i``, ``--extra-index-url``, ``-f``, ``--no-binary``, ``--pre``, …) are
  skipped; ``-r`` / ``-c`` files are not followed (a lockfile never names a file envlock
  opens). An option pip does not know is an error, as in pip.
"""

from __future__ import annotations

import re

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
_HASH = re.compile(r"^(sha256|sha384|sha512):([0-9a-fA-F]+)$")
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


def parse(
    text: str, *, base_dir: Path, platform: str | None = None, environment: str | None = None
) -> Foreign:
    """What a pinned requirements file asks for. ``platform`` is not used: a requirements
    file chooses by markers, evaluated later against the live environment."""
    if environment is not None:
        raise UsageError("a requirements file has no named environments; leave out --environment")
    if "\x00" in text:
        raise LockfileError("not a requirements file: it contains NUL bytes")
    reader = _Reader(base_dir)
    for number, line, comment in _logical_lines(text):
        reader.line(number, line, comment)
    if not reader.wants:
        skipped = " (-r / -c files are not followed)" if reader.included else ""
        raise LockfileError(f"no requirements found{skipped}")
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
        line = _strip_comment(raw).strip()
        if line:
            yield number, line, before
        before = comment
    if joined:
        yield first, _strip_comment("".join(joined)).strip(), before


def _strip_comment(line: str) -> str:
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
        self.conda_built = 0

    def line(self, number: int, line: str, comment: str | None) -> None:
        args, options = _split_args(line)
        tokens = _tokens(number, options)
        if args:
            hashes = self._requirement_options(number, tokens)
            self.wants.append(self._requirement(number, args, hashes))
            return
        for option, value in tokens:
            if option == "--editable" and value is not None:
                self.wants.append(self._editable(number, value, comment))
            elif option in ("--requirement", "--constraint") and value is not None:
                short = "-r" if option == "--requirement" else "-c"
                self.included.append(f"{short} {common.excerpt(value)}")
            elif option == "--hash":
                raise LockfileError(f"line {number}: --hash without a requirement")

    def notes(self) -> tuple[str, ...]:
        notes = []
        if self.included:
            shown = ", ".join(self.included[:3])
            more = f" and {len(self.included) - 3} more" if len(self.included) > 3 else ""
            notes.append(
                f"{shown}{more}: not followed; envlock never opens a file a lockfile names"
            )
        if self.guessed:
            notes.append(
                f"{', '.join(self.guessed)}: the file names no package (#egg=NAME); the name "
                "is guessed from the path, and checked only where such a package is installed"
            )
        if self.conda_built:
            notes.append(
                f"{self.conda_built} packages point at conda-build paths (installed by conda): "
                "only their presence is checked"
            )
        return tuple(notes)

    def _requirement_options(
        self, number: int, tokens: list[tuple[str, str | None]]
    ) -> tuple[str, ...]:
        hashes: list[str] = []
        for option, value in tokens:
            if option == "--hash" and value is not None:
                found = _HASH.match(value)
                if not found:
                    raise LockfileError(
                        f"line {number}: --hash must be sha256:<hex> (or sha384, sha512), "
                        f"not {common.excerpt(value)}"
                    )
                digest = f"{found.group(1)}={found.group(2).lower()}"
                if digest not in hashes:
                    hashes.append(digest)
            elif option in ("--editable", "--requirement", "--constraint"):
                raise LockfileError(f"line {number}: {option} cannot follow a requirement")
        return tuple(hashes)

    def _requirement(self, number: int, text: str, hashes: tuple[str, ...]) -> PipWant:
        if _URL.match(text) and not text.lower().startswith(_DRIVES):
            return self._located(number, text, "; ", hashes)
        req = _requirement(text)
        if req is None:
            if _looks_like_path(text):
                return self._located(number, text, ";", hashes)
            raise LockfileError(f"line {number}: not a requirement: {common.excerpt(text)}")
        name = canonical_name(req.name)
        marker = str(req.marker) if req.marker is not None else None
        if req.url:
            if _is_conda_build(req.url):
                self.conda_built += 1
                return PipWant(name=name, marker=marker, hashes=hashes)
            source = common.source_from_url(req.url, self.base_dir)
            return PipWant(name=name, source=source, hashes=_with(hashes, source), marker=marker)
        version, specifier = common.pins(req)
        return PipWant(
            name=name, version=version, specifier=specifier, hashes=hashes, marker=marker
        )

    def _located(self, number: int, text: str, sep: str, hashes: tuple[str, ...]) -> PipWant:
        """A bare URL or local path, with an optional ``<sep>marker``."""
        location, _, marker = text.partition(sep)
        marker = marker.strip()
        if marker and not _valid_marker(marker):
            raise LockfileError(f"line {number}: not a marker: {common.excerpt(marker)}")
        location = _strip_extras(location.strip())
        source = common.source_from_url(location, self.base_dir)
        want = self._named(number, location, source)
        return PipWant(
            name=want.name,
            source=source,
            hashes=_with(hashes, source),
            marker=marker or None,
            optional=want.optional,
        )

    def _editable(self, number: int, value: str, comment: str | None) -> PipWant:
        location = _strip_extras(value.strip())
        source = common.source_from_url(location, self.base_dir, editable=True)
        if source.kind not in ("vcs", "directory"):
            raise LockfileError(
                f"line {number}: -e needs a local directory or a VCS URL (git+https://...), "
                f"not {common.excerpt(location)}"
            )
        frozen = _FREEZE_COMMENT.match(comment or "")
        if frozen and "egg" not in common.split_fragment(location)[1]:
            name, version = canonical_name(frozen.group(1)), frozen.group(2)
            return PipWant(name=name, version=version, source=source)
        return self._named(number, location, source)

    def _named(self, number: int, location: str, source: Source) -> PipWant:
        """A want for ``location``, named by ``#egg=``, the file name, or a guess."""
        egg = _strip_extras(common.split_fragment(location)[1].get("egg", ""))
        if egg:
            if not _NAME.match(egg):
                raise LockfileError(
                    f"line {number}: #egg= is not a package name: {common.excerpt(egg)}"
                )
            return PipWant(name=canonical_name(egg), source=source)
        if source.kind == "archive":
            name = _file_name(location)
            if name is not None:
                return PipWant(name=name, source=source)
        else:
            name = _guess_name(source, self.base_dir)
            if name is not None:
                self.guessed.append(f"line {number} ({name})")
                return PipWant(name=name, source=source, optional=True)
        raise LockfileError(
            f"line {number}: cannot tell which package {common.excerpt(location)} is: add #egg=NAME"
        )


def _split_args(line: str) -> tuple[str, str]:
    """pip's split of a line into its requirement and its options: the first token that
    starts with ``-`` begins the options."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]).strip(), " ".join(tokens[i:])
    return line, ""


def _tokens(number: int, options: str) -> list[tuple[str, str | None]]:
    """(long option name, value) pairs of an options string, as pip's option parser reads
    them; an option pip does not know is an error."""
    import shlex

    if not options:
        return []
    if not any(c in options for c in "'\"\\"):
        words = options.split()  # what shlex gives, without its quadratic time on long words
    elif len(options) > MAX_QUOTED:
        raise LockfileError(f"line {number}: quoted options longer than {MAX_QUOTED} characters")
    else:
        try:
            words = shlex.split(options)
        except ValueError as e:
            raise LockfileError(f"line {number}: {e}: {common.excerpt(options)}") from None
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
                raise LockfileError(f"line {number}: {word} takes no value")
            pairs.append((word, None))
            continue
        if word not in _WITH_VALUE:
            raise LockfileError(f"line {number}: unknown option {common.excerpt(word)}")
        if value is None:
            if i >= len(words):
                raise LockfileError(f"line {number}: {word} needs a value")
            value = words[i]
            i += 1
        pairs.append((_WITH_VALUE[word], value))
    return pairs


def _requirement(text: str) -> Requirement | None:
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
    head = text.split(";", 1)[0].strip()
    return " " not in head and (
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


def _guess_name(source: Source, base_dir: Path) -> str | None:
    """A name from the last component of a VCS URL or a directory's path."""
    if source.kind == "vcs":
        last = (source.url or source.path or "").rstrip("/").rsplit("/", 1)[-1]
        last = last.split(":")[-1]
        last = last[:-4] if last.endswith(".git") else last
    else:
        path = (source.path or "").rstrip("/")
        last = base_dir.resolve().name if path in ("", ".") else path.rsplit("/", 1)[-1]
    return canonical_name(last) if _NAME.match(last) else None
