"""Conda environment files: ``conda env export`` output (``name=version=build`` pins, with or
without ``--no-builds``; ``--from-history`` names) and hand-written ``environment.yml``.

A mapping with a ``dependencies`` list of conda match specs and at most one ``{pip: [...]}``
entry of pip requirement lines; ``name``, ``channels``, ``prefix`` and ``variables`` say
nothing about what is installed and are not checked.

Conda specs, read as conda's ``MatchSpec`` reads them:

* ``name=1.2=build`` (or ``name 1.2 build``, ``name==1.2``, ``name 1.2``): an exact version,
  ``CondaWant.version``, and the build. A build may be a glob (``py39*``): compare builds with
  :func:`fnmatch.fnmatchcase`.
* ``name=1.26``: conda reads a single ``=`` as a prefix, ``1.26.*``, which is what
  ``CondaWant.spec`` holds (an export of ``conda env export --no-builds`` pins that way, so
  ``numpy=1.26.4`` accepts ``1.26.4`` and ``1.26.4.1`` but not ``1.26.40``).
* Anything else (``>=3.9``, ``<2``, ``!=1.0``, ``1.26.*``, ``>=1,<2``, ``1.1|1.2``) is kept in
  ``CondaWant.spec`` as conda's version spec, spaces removed. A comparison must apply conda's
  ``VersionSpec`` rules: ``,`` is *and*, ``|`` is *or* (binding looser), ``X.*`` / ``X*``
  match versions whose components start with ``X``'s, ``==`` / a bare version are equality
  under conda's version ordering, ``!=X.*`` excludes a prefix, ``~=`` is compatible-release.
* ``channel::name...`` sets ``CondaWant.channel`` (canonical); bracket fields
  (``name[version='>=1',build=py*,channel=conda-forge,subdir=linux-64,md5=...]``) are read too.
* Bare names: only presence is checked.
* A package listed twice is an error.

pip (the ``pip:`` entry): conda hands the list to pip as a requirements file, so each item is
read as one line of one, by :func:`envlock.foreign.requirements.read_line` (names, pins and
specifiers, markers, ``name @ URL``, ``-e``, ``--hash``, unnamed locations: see
:mod:`envlock.foreign.requirements`; local paths are relative to the file's directory). What
is particular to these files:

* Each option (``--index-url``, ``--extra-index-url``, ``--pre``, ... on a line of its own or
  after a requirement) is noted as not checked, item by item; ``-r`` / ``-c`` files are never
  followed. An option pip does not know is an error, as in a requirements file.
* A URL or path with a template placeholder (``${VAR}``, ``{VAR}``; ``${HOME}`` at the start
  of a path is read as ``~``) checks only the package's name, with a note.
* The same name twice with different markers stays twice (only the item whose marker holds
  is checked), as in a requirements file; two locations whose names are guessed may guess
  the same one.

A file without a ``pip:`` entry records nothing about pip packages (hand-written files rarely
list them), so ``Foreign.pip`` is ``None``; with one, even empty, it is the tuple of what it
lists.

The platform: these files do not name one (only build strings hint at it), so
``Foreign.platform`` is the one asked for and no platform is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from envlock.errors import LockfileError
from envlock.foreign.model import CondaWant, Foreign, PipWant
from envlock.reader import Reader

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.foreign.requirements import Line

FORMAT = "environment-yml"
_MAX_SPEC = 1000  # characters; conda's version/build pattern is slow on long hostile input
_VERSION_BUILD = re.compile(
    r"((?:.+?)[^><!,|]?)(?:(?<![=!|,<>~])(?:[ =])([^-=,|<>~]+?))?$"
)  # conda's _parse_version_plus_build
_NAME_REST = re.compile(r"^([^ =<>!~]+)(.*)$")
_CONDA_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.+-]*$")
_EXACT = re.compile(r"^[A-Za-z0-9_.+!]+$")
_VERSION_ATOM = re.compile(r"^(?:==|!=|>=|<=|~=|>|<|=)?[A-Za-z0-9_.+!*]+$")
_BUILD = re.compile(r"^[A-Za-z0-9_.+*!-]+$")
_BRACKET_FIELD = re.compile(
    r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('[^']*'|"[^"]*"|[^,]*)\s*(?:,|$)"""
)
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{[A-Za-z_][A-Za-z0-9_]*\}")
_EDITABLE = re.compile(r"^(?:-e|--editable(?:\s|=))")


def parse(
    text: str, *, base_dir: Path, platform: str | None = None, environment: str | None = None
) -> Foreign:
    """What a conda environment file says the environment contains."""
    from envlock.foreign import common
    from envlock.foreign.explicit import no_environments

    no_environments(environment)
    top = Reader(common.data(text, "yaml"), "")
    dependencies = top.get("dependencies", list)
    if dependencies is None:
        raise LockfileError("dependencies: required (is this a conda environment file?)")
    channels = top.strings("channels")
    top.get("prefix", str)
    top.child("variables")
    conda: dict[str, CondaWant] = {}
    pip: list[PipWant] | None = None
    notes: list[str] = []
    for i, item in enumerate(dependencies):
        where = f"dependencies[{i}]"
        if isinstance(item, dict):
            section = Reader(item, where)
            if set(section.data) != {"pip"}:
                raise LockfileError(f"{where}: expected a conda spec or a pip: list")
            pip = [] if pip is None else pip
            pip.extend(pip_lines(section.get("pip", list) or [], f"{where}.pip", base_dir, notes))
            continue
        if not isinstance(item, str):
            raise LockfileError(f"{where}: expected a conda spec, got {_kind(item)}")
        spec = conda_spec(item, where, notes)
        if spec is not None:
            _add(conda, spec, where)
    notes.extend(_notes(top, channels, pip is None))
    return Foreign(
        format=FORMAT,
        pip=None if pip is None else tuple(pip),
        conda=tuple(conda.values()),
        platform=platform,
        notes=tuple(dict.fromkeys(notes)),
    )


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {bool: "boolean", int: "integer", float: "number", list: "list"}.get(
        type(value), type(value).__name__
    )


def _add(wants: dict[str, CondaWant], want: CondaWant, where: str) -> None:
    if want.name in wants:
        raise LockfileError(f"{where}: {want.name} is listed twice")
    wants[want.name] = want


def _notes(top: Reader, channels: tuple[str, ...] | None, no_pip: bool) -> list[str]:
    notes = []
    if no_pip:
        notes.append("the file has no pip: section: pip packages are not checked")
    if channels:
        notes.append("the channels list is not checked (only a channel:: prefix on a spec is)")
    if top.data.get("variables"):
        notes.append("variables: are not checked")
    platforms = top.get("platforms", list)
    if platforms:
        notes.append("platforms: (a conda-lock extension) is not checked")
    return notes


# ---------------------------------------------------------------------------------------------
# Conda match specs
# ---------------------------------------------------------------------------------------------


def conda_spec(text: str, where: str, notes: list[str] | None = None) -> CondaWant | None:
    """A :class:`CondaWant` from a conda match spec (see the module docstring); None, with a
    note, for a spec with a template placeholder (``${VAR}``) that cannot be read."""
    from envlock.foreign.common import excerpt

    spec = text.split("#", 1)[0].strip()
    if not spec or len(spec) > _MAX_SPEC:
        raise LockfileError(f"{where}: not a conda spec: {excerpt(text, 120)}")
    if _PLACEHOLDER.search(spec):
        if notes is not None:
            notes.append(f"{where}: {excerpt(spec, 120)} has a template placeholder: not checked")
        return None
    fields: dict[str, str] = {}
    if spec.endswith("]") and "[" in spec:
        spec, _, inner = spec[:-1].partition("[")
        fields = _brackets(inner, where)
    channel_text = fields.get("channel")
    if "::" in spec:
        prefix, _, spec = spec.rpartition("::")
        channel_text = channel_text or prefix
    match = _NAME_REST.match(spec.strip())
    name = match.group(1).lower() if match else ""
    if not match or not _CONDA_NAME.match(name):
        raise LockfileError(f"{where}: not a conda spec: {excerpt(text, 120)}")
    version_text, build = _version_build(match.group(2).strip())
    version_text = fields.get("version", version_text)
    build = fields.get("build", fields.get("build_string", build))
    if build and not _BUILD.match(build):
        raise LockfileError(f"{where}: not a conda build string: {excerpt(text, 120)}")
    version, vspec = _version(version_text, build)
    if (vspec is not None and not _valid_spec(vspec)) or version_text == "":
        raise LockfileError(f"{where}: not a conda version spec: {excerpt(text, 120)}")
    channel, channel_url, subdir = _channel(channel_text, fields.get("subdir"))
    return CondaWant(
        name=name,
        version=version,
        spec=vspec,
        build=build or None,
        channel=channel,
        channel_url=channel_url,
        subdir=subdir,
        md5=_digest(fields, "md5", _MD5, where),
        sha256=_digest(fields, "sha256", _SHA256, where),
    )


def _brackets(inner: str, where: str) -> dict[str, str]:
    """``version='>=1',build=py*`` -> fields (quotes removed)."""
    fields: dict[str, str] = {}
    rest = inner.strip()
    while rest:
        match = _BRACKET_FIELD.match(rest)
        if not match or not match.group(0):
            raise LockfileError(f"{where}: cannot read the [...] fields of this conda spec")
        value = match.group(2).strip()
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        fields[match.group(1).lower()] = value.strip()
        rest = rest[match.end() :].strip()
    return fields


def _version_build(rest: str) -> tuple[str | None, str | None]:
    if not rest:
        return None, None
    match = _VERSION_BUILD.search(rest)
    if match is None:
        return rest.replace(" ", ""), None
    version, build = match.groups()
    return version.replace(" ", ""), (build.strip() if build else None)


def _version(text: str | None, build: str | None) -> tuple[str | None, str | None]:
    """(exact version, version spec) as conda's MatchSpec reads a version: ``=1.2`` is
    ``1.2.*`` unless a build follows, ``==1.2`` and a bare ``1.2`` are exact."""
    if not text:
        return None, None
    if text.startswith("=="):
        text = text[2:]
    elif text.startswith("=") and not any(c in text[1:] for c in "=,|"):
        text = text[1:]
        if build is None and not text.endswith("*"):
            text = f"{text.rstrip('.')}.*"
    if text in ("*", "*.*"):
        return None, None
    if _EXACT.match(text):
        return text, None
    return None, text


def _valid_spec(spec: str) -> bool:
    """Whether every term of a conda version spec (``,`` and ``|`` separate them, parentheses
    group them) is an optional operator and a version."""
    terms = re.split(r"[,|]", spec.replace("(", "").replace(")", ""))
    return all(_VERSION_ATOM.match(term) for term in terms)


def _channel(text: str | None, subdir: str | None) -> tuple[str | None, str | None, str | None]:
    """(canonical channel, base URL, subdir) from a ``channel::`` prefix such as
    ``conda-forge``, ``conda-forge/linux-64`` or a URL."""
    from envlock.conda import KNOWN_SUBDIRS, canonical_channel
    from envlock.redact import home_to_tilde

    if not text:
        return None, None, subdir
    last = text.rstrip("/").rpartition("/")[2]
    if subdir is None and last in KNOWN_SUBDIRS:
        subdir = last
    channel, base = canonical_channel(text)
    return home_to_tilde(channel), home_to_tilde(base) if base else None, subdir


def _digest(fields: dict[str, str], algo: str, pattern: re.Pattern[str], where: str) -> str | None:
    value = fields.get(algo)
    if value is None:
        return None
    if not pattern.match(value.lower()):
        raise LockfileError(f"{where}: [{algo}=...] is not a {algo} digest")
    return value.lower()


# ---------------------------------------------------------------------------------------------
# pip requirement lines
# ---------------------------------------------------------------------------------------------


def pip_lines(items: list[object], where: str, base_dir: Path, notes: list[str]) -> list[PipWant]:
    """The :class:`PipWant` entries of a ``pip:`` list, each item one line of a requirements
    file (conda hands the list to pip as one) read by
    :func:`envlock.foreign.requirements.read_line`; options become notes."""
    from envlock.foreign.requirements import read_line, strip_comment

    wants = []
    before: str | None = None  # the comment item just before (pip freeze names -e there)
    for j, item in enumerate(items):
        at = f"{where}[{j}]"
        if not isinstance(item, str):
            raise LockfileError(f"{at}: expected a requirement line, got {_kind(item)}")
        line = strip_comment(item).strip()
        if line:
            want = _pip_want(read_line(line, at, base_dir, before), at, notes)
            if want is not None:
                wants.append(want)
        before = item.strip() if item.lstrip().startswith("#") else None
    return wants


def requirement(
    text: str, where: str, base_dir: Path, notes: list[str] | None = None
) -> PipWant | None:
    """A :class:`PipWant` from one requirement line, not an option line (``name==1.0``,
    ``name>=1; marker``, ``name @ URL``, ``-e URL-or-path#egg=name``, with optional
    ``--hash`` options), read as a ``pip:`` item is. None, with a note, for a location that
    names no package."""
    from envlock.foreign.common import excerpt
    from envlock.foreign.requirements import read_line, strip_comment

    line = strip_comment(text).strip()
    if not line or (line.startswith("-") and not _EDITABLE.match(line)):
        raise LockfileError(f"{where}: not a requirement: {excerpt(line, 120)}")
    return _pip_want(read_line(line, where, base_dir), where, [] if notes is None else notes)


def _pip_want(read: Line, where: str, notes: list[str]) -> PipWant | None:
    """The want of one line, with notes for its options and for what is not checked."""
    from dataclasses import replace

    from envlock.foreign.requirements import GUESSED, UNNAMED

    notes.extend(_option_note(where, option) for option, _ in read.options)
    if read.unnamed is not None:
        notes.append(f"{where} ({read.unnamed}): {UNNAMED}")
    want = read.want
    if want is None:
        return None
    if want.optional:
        notes.append(f"{where} ({want.name}): {GUESSED}")
    if read.conda_built:
        notes.append(
            f"{where} ({want.name}): a conda-build path (installed by conda): only its "
            "presence is checked"
        )
    source = want.source
    if source is not None and _PLACEHOLDER.search(f"{source.url or ''} {source.path or ''}"):
        notes.append(f"{where}: the location has a template placeholder; only the name is checked")
        return replace(want, source=None)
    return want


def _option_note(where: str, option: str) -> str:
    """What an option of a ``pip:`` line leaves unchecked (``option``: its long name)."""
    short = {"--requirement": "-r", "--constraint": "-c"}.get(option)
    if short is not None:
        return f"{where}: {short} FILE is not followed: envlock never opens a file a lockfile names"
    return f"{where}: pip option {option} is not checked"
