"""Write one lockfile environment as the input another tool installs from: a pip
requirements file, a PEP 751 ``pylock.toml``, a conda ``@EXPLICIT`` spec, or a conda
``environment.yml``.

Pure functions: an :class:`Environment` in, text out; the same environment always gives the
same bytes. Every URL goes through :func:`envlock.redact.redact_url` once more, although a
lockfile holds none with credentials. Local paths are written as the lockfile records them:
relative ones stay relative to the lockfile's directory, so the output is meant to be used
from there.

What each format cannot say is said in its header, or refused with one
:class:`~envlock.errors.UsageError` line when the result would install something else.

A lockfile comes from a pull request and what it exports goes to an installer, so a value that
could say more than it holds is refused (:class:`~envlock.errors.LockfileError`) before anything
is written: a package name that is not a name (``--index-url=https://evil/``), any value with a
line break or another character that is not printable (a second line, an option or a URL of
its own; a terminal's escape sequence), and a name, version, commit, hash, channel or URL with
white space in it or starting with ``-``. Each field also holds only what such a value can
(:data:`_SHAPES`): a version with ``;`` would add a marker (``1.0;sys_platform=="x"`` skips
the package), a commit with ``#`` a URL fragment, a conda build with ``/`` another URL path
(``0/../../attacker/...``). No value may hold ``${`` (pip and conda expand ``${VAR}``: a URL
could send a CI secret away), nor a local path ``;``, `` #`` or `` -`` (pip reads a marker, a
comment, an option), nor a subdirectory ``..``, ``&`` or ``#``.
"""

from __future__ import annotations

import re

from envlock.errors import LockfileError, UsageError
from envlock.findings import pin as _pin
from envlock.redact import redact_url

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from envlock.condamodel import CondaPackage, CondaSection
    from envlock.model import Environment, Package, Source

FORMATS = ("requirements", "pylock", "conda-explicit", "environment-yml")

# The hash algorithms pip checks in a URL's fragment (``#sha256=<hex>``).
_PIP_FRAGMENT_HASHES = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512", "md5"})
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[/\\]")
_PYTHON_VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?$")
# PEP 751 ``environments``: the conservative part of the platform, as ``sys_platform``.
_SYS_PLATFORM = {"linux": "linux", "macos": "darwin", "windows": "win32"}
_ANACONDA_ORG = "https://conda.anaconda.org"
_ANACONDA_REPO = "https://repo.anaconda.com"
# For lockfiles that do not record whether a conda package came as .conda or .tar.bz2.
CONDA_EXTENSION = ".conda"


def export(env: Environment, fmt: str, *, name: str | None = None) -> str:
    """``env`` (environment ``name`` of a lockfile) in format ``fmt``, one of :data:`FORMATS`."""
    exporters: dict[str, Callable[..., str]] = {
        "requirements": requirements,
        "pylock": pylock,
        "conda-explicit": conda_explicit,
        "environment-yml": environment_yml,
    }
    if fmt not in exporters:
        raise UsageError(f"{fmt}: unknown export format (one of {', '.join(FORMATS)})")
    check_exportable(env, name)
    return exporters[fmt](env, name=name)


_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\Z")  # PEP 508's
_CONDA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\Z")  # _libgcc_mutex, _openmp_mutex
# What each field can hold (checked with fullmatch), beyond _text's rules.
_SHAPES = {
    "version": re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*"),  # PEP 440 and legacy, not ; , * @
    "vcs": re.compile(r"[a-z]+"),
    "commit": re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]*"),  # a hash, a tag, a branch
    "hash": re.compile(r"[a-z0-9_]+=[0-9a-fA-F]+"),
    "conda version": re.compile(r"[A-Za-z0-9_.+!]+"),
    "build": re.compile(r"[A-Za-z0-9_.+]+"),
    "subdir": re.compile(r"[a-z0-9]+(?:-[a-z0-9_]+)?"),  # linux-64, osx-arm64, noarch
    "md5": re.compile(r"[0-9a-fA-F]{32}"),
    "sha256": re.compile(r"[0-9a-fA-F]{64}"),
}
_PATH_NEVER = (";", " #", " -", "\t")  # a marker, a comment, an option, pip's separator


def check_exportable(env: Environment, name: str | None = None) -> None:
    """Refuse an environment whose values would write more than they hold (see above)."""
    where = f"environments.{name}" if name else "the environment"
    _text(f"{where} (its name)", name, token=False)
    _text(f"{where}.python.version", env.python.version)
    _text(f"{where}.platform.subdir", env.platform.subdir)
    for p in env.packages:
        at = f"{where}.packages.{p.name}"
        _name(at, p.name)
        _text(f"{at}.version", p.version, shape="version")
        s = p.source
        if s is not None:
            # ; a marker; # a fragment of its own (another hash, no commit); ? before a commit
            _text(f"{at}.url", s.url, never=(";", "#", *(("?",) if s.kind != "archive" else ())))
            _text(f"{at}.requested_revision", s.requested_revision)
            for field in ("vcs", "commit", "hash"):
                _text(f"{at}.{field}", getattr(s, field), shape=field)
            _text(f"{at}.path", s.path, token=False, never=_PATH_NEVER)
            if s.path and s.path.endswith("]"):  # pip reads path[extra] as extras
                _refuse(f"{at}.path", s.path, "ends with ']', which pip reads as extras")
            subdirectory_never = (*_PATH_NEVER, "&", "#", "[", "]")
            _text(f"{at}.subdirectory", s.subdirectory, token=False, never=subdirectory_never)
            if s.subdirectory and ".." in s.subdirectory.replace("\\", "/").split("/"):
                _refuse(f"{at}.subdirectory", s.subdirectory, "climbs out with '..'")
    conda = env.conda
    if conda is None:
        return
    # conda expands $VAR, ${VAR} and %VAR% in channels (os.path.expandvars)
    channel_never = ("#", "?", "$", "%")
    for channel in conda.channels:
        _text(f"{where}.conda.channels", channel, never=channel_never)
    for c in conda.packages:
        at = f"{where}.conda.packages.{c.name}"
        _name(at, c.name, _CONDA_NAME)
        _text(f"{at}.version", c.version, shape="conda version")
        for field in ("build", "subdir", "md5", "sha256"):
            _text(f"{at}.{field}", getattr(c, field), shape=field)
        for field in ("channel", "channel_url"):
            _text(f"{at}.{field}", getattr(c, field), never=channel_never)
        _text(f"{at}.archive", c.archive)


def _name(where: str, value: str, pattern: re.Pattern[str] = _NAME) -> None:
    if pattern.match(value) is None:
        raise LockfileError(f"{where}: {_shown(value)} is not a package name; not exported")


def _text(
    where: str,
    value: str | None,
    token: bool = True,
    shape: str | None = None,
    never: tuple[str, ...] = (),
) -> None:
    """``value`` printable, one line; with ``token``, no white space either. Never an option,
    never ``${``; of the :data:`_SHAPES` ``shape``; holding none of ``never``."""
    if value is None:
        return
    # (isprintable is false for every white space but " ")
    if not value.isprintable() or value.startswith("-") or (token and " " in value):
        raise LockfileError(
            f"{where}: {_shown(value)} holds a line break, white space, a character that "
            "is not printable, or a leading '-'; not exported"
        )
    if "${" in value:
        _refuse(where, value, "holds '${', which installers expand from the environment")
    if value.endswith("\\"):
        _refuse(where, value, "ends with '\\', which joins the next line in a requirements file")
    if shape is not None and _SHAPES[shape].fullmatch(value) is None:
        _refuse(where, value, f"is not a {shape}")
    found = [part for part in never if part in value]
    if found:
        _refuse(where, value, f"holds {found[0]!r}, which an installer would read as more")


def _refuse(where: str, value: str, why: str) -> None:
    raise LockfileError(f"{where}: {_shown(value)} {why}; not exported")


def _shown(value: str) -> str:
    from envlock.escape import printable

    return repr(printable(value[:80]) + ("..." if len(value) > 80 else ""))


# ---------------------------------------------------------------------------------------------
# requirements.txt
# ---------------------------------------------------------------------------------------------


def requirements(env: Environment, *, name: str | None = None) -> str:
    """A pip requirements file of the environment's Python packages (pip's, in a conda
    environment), sorted by name: ``name==version`` for index installs, ``name @ URL`` for
    VCS and archive URLs (an archive's hash as the ``#sha256=`` fragment, which pip checks
    without switching the whole file to ``--require-hashes`` mode), ``-e PATH`` for editable
    directories and a bare ``./path`` for other local ones."""
    _pip_side(env, name)
    lines = [f"# Exported by envlock from {_describe(env, name)}.", "# pip install -r <this file>"]
    if env.conda is not None:
        lines.append(
            "# Only the packages pip installed: conda's own are in "
            "`envlock export --to conda-explicit` or `--to environment-yml`."
        )
    lines += _path_notes(env, "run pip there")
    if any(_in_other_home(p) for p in _local_paths(env)):
        lines.append(f"# {_OTHER_HOMES}")
    return "\n".join(lines + requirement_lines(env)) + "\n"


def requirement_lines(env: Environment) -> list[str]:
    """One requirements line per Python package, without comments of the file's own."""
    return [_requirement(p) for p in env.packages]


def _requirement(p: Package) -> str:
    s = p.source
    pin = _pin(p.name, p.version)  # === for a version that is not PEP 440
    if s is None or s.kind == "index":
        return pin
    if s.kind == "vcs":
        return f"{p.name} @ {_vcs_url(s)}" if s.url else pin
    if s.kind == "directory":
        if s.path is not None:
            where = _join(s.path, s.subdirectory)
            if s.editable or not _is_absolute(where):
                return f"-e {_quoted(_pip_path(where))}" if s.editable else _pip_path(where)
            return f"{p.name} @ {_file_url(where)}"
        if s.url:
            url = _with_fragment(redact_url(s.url), _subdirectory(s))
            return f"-e {url}" if s.editable else f"{p.name} @ {url}"
        return pin
    # an archive
    checked = _pip_hash(s.hash)
    if s.url:
        return f"{p.name} @ {_with_fragment(redact_url(s.url), checked, _subdirectory(s))}"
    if s.path is not None:
        if _is_absolute(s.path):
            return f"{p.name} @ {_with_fragment(_file_url(s.path), checked, _subdirectory(s))}"
        notes = [n for n in (s.hash, _subdirectory(s)) if n]
        return _pip_path(s.path) + (f"  # {' '.join(notes)}" if notes else "")
    return pin


def _vcs_url(s: Source) -> str:
    url = redact_url(s.url or "")
    if s.vcs and not url.startswith(f"{s.vcs}+"):
        url = f"{s.vcs}+{url}"
    if s.commit:
        url = f"{url}@{s.commit}"
    return _with_fragment(url, _subdirectory(s))


def _pip_hash(value: str | None) -> str | None:
    """``sha256=<hex>`` as a URL fragment pip checks, when pip knows the algorithm."""
    if value and value.partition("=")[0] in _PIP_FRAGMENT_HASHES:
        return value
    return None


def _subdirectory(s: Source) -> str | None:
    return f"subdirectory={s.subdirectory}" if s.subdirectory else None


def _with_fragment(url: str, *parts: str | None) -> str:
    for part in parts:
        if part:
            url = f"{url}{'&' if '#' in url else '#'}{part}"
    return url


def _join(path: str, subdirectory: str | None) -> str:
    if not subdirectory:
        return path
    return subdirectory if path in (".", "./") else f"{path.rstrip('/')}/{subdirectory}"


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or bool(_WINDOWS_ABSOLUTE.match(path))


def _pip_path(path: str) -> str:
    """A local path as pip reads it on a requirements line: ``~`` as ``${HOME}`` (pip expands
    ``${VAR}``, not ``~``), and a relative one starting with ``./``. Another user's ``~NAME``
    stays, for a person to replace (the header says so): it cannot be written otherwise."""
    if path == "~" or path.startswith("~/"):
        return "${HOME}" + path[1:]
    if _is_absolute(path) or path.startswith(("~", "./", "../")) or path == ".":
        return path
    return f"./{path}"


def _quoted(option_value: str) -> str:
    """The value of an option on a requirements line (``-e PATH``), which pip splits as a
    shell would: quoted unless it is plain (a quote or backslash in it would be lost). pip
    expands ``${HOME}`` first, so it stays outside the quotes, readable."""
    import shlex

    home, rest = (
        ("${HOME}/", option_value[8:])
        if option_value.startswith("${HOME}/")
        else ("", option_value)
    )
    return home + shlex.quote(rest)


def _file_url(path: str) -> str:
    from urllib.parse import quote

    posix = path.replace("\\", "/")
    return f"file://{'' if posix.startswith('/') else '/'}{quote(posix)}"


def _local_paths(env: Environment) -> list[str]:
    return [
        p.source.path
        for p in env.packages
        if p.source is not None and p.source.kind in ("directory", "archive") and p.source.path
    ]


_OTHER_HOMES = "~NAME is NAME's home directory, which pip does not expand: replace it."


def _in_other_home(path: str) -> bool:
    return path.startswith("~") and path != "~" and not path.startswith("~/")


def _path_notes(env: Environment, relative: str, home: str | None = None) -> list[str]:
    """Header lines about the local paths the output has, if it has any."""
    paths = _local_paths(env)
    notes = []
    if any(not _is_absolute(p) and not p.startswith("~") for p in paths):
        notes.append(f"# Relative paths are relative to the lockfile's directory: {relative}.")
    if home and any(p.startswith("~") for p in paths):
        notes.append(f"# {home}")
    return notes


def _label(name: str | None) -> str:
    return f"environment {name}" if name else "the environment"


def _describe(env: Environment, name: str | None) -> str:
    what = _label(name)
    facts = [
        f"Python {env.python.version}" if env.python.version else None,
        env.platform.subdir,
    ]
    shown = ", ".join(f for f in facts if f)
    return f"{what} ({shown})" if shown else what


# ---------------------------------------------------------------------------------------------
# pylock.toml (PEP 751)
# ---------------------------------------------------------------------------------------------


def pylock(env: Environment, *, name: str | None = None) -> str:
    """A PEP 751 ``pylock.toml`` of the environment's Python packages.

    PEP 751 locks an index install by its wheel or sdist files and their hashes, which envlock
    does not record; a package installed from an index (or of unknown origin) therefore
    cannot be written, and a file without it would install less than the environment has.
    Such an environment is refused with an error that says what to do instead.
    """
    import tomli_w

    _pip_side(env, name)
    entries: list[dict[str, Any]] = []
    unlockable: list[str] = []
    for p in env.packages:
        entry = _pylock_package(p)
        if entry is None:
            unlockable.append(p.name)
        else:
            entries.append(entry)
    if unlockable:
        shown = ", ".join(unlockable[:5]) + (", ..." if len(unlockable) > 5 else "")
        raise UsageError(
            f"{_label(name)}: {len(unlockable)} package(s) came from an index or from "
            f"an unknown source ({shown}); a pylock.toml must name their wheel or sdist files "
            "with hashes, which the lockfile does not record: export --to requirements and "
            "lock that with `pip lock -r requirements.txt`"
        )
    data: dict[str, Any] = {"lock-version": "1.0"}
    os_marker = _SYS_PLATFORM.get(env.platform.os or "")
    if os_marker:
        data["environments"] = [f'sys_platform == "{os_marker}"']
    version = env.python.version
    if version and _PYTHON_VERSION.match(version):
        data["requires-python"] = f"=={version}"
    data["created-by"] = "envlock"
    data["packages"] = entries
    header = [
        f"# Exported by envlock from {_describe(env, name)}.",
        "# A PEP 751 lock file: install it with a tool that reads one (uv pip install -r <file>).",
    ]
    if env.conda is not None:
        header.append("# Only the packages pip installed: conda's own are not in a pylock.toml.")
    header += _path_notes(
        env, "keep this file there", "Installers do not expand ~ in a path: replace it."
    )
    return "\n".join(header) + "\n" + tomli_w.dumps(data)


def _pylock_package(p: Package) -> dict[str, Any] | None:
    s = p.source
    if s is None or s.kind == "index":
        return None
    entry: dict[str, Any] = {"name": p.name}
    if s.kind == "vcs":
        if not (s.vcs and s.url and s.commit):
            return None
        entry["version"] = p.version  # the commit fixes the code, and so the version
        entry["vcs"] = _compact(
            {
                "type": s.vcs,
                "url": redact_url(s.url),
                "requested-revision": s.requested_revision,
                "commit-id": s.commit,
                "subdirectory": s.subdirectory,
            }
        )
    elif s.kind == "directory":
        if s.path is None:
            return None
        # PEP 751: no version for a source tree, which can change under it.
        entry["directory"] = _compact(
            {"path": s.path, "editable": s.editable or None, "subdirectory": s.subdirectory}
        )
    else:  # an archive: PEP 751 requires its hashes
        if not s.hash or "=" not in s.hash or not (s.url or s.path):
            return None
        algorithm, _, value = s.hash.partition("=")
        entry["version"] = p.version
        entry["archive"] = _compact(
            {
                "url": redact_url(s.url) if s.url else None,
                "path": s.path if not s.url else None,
                "hashes": {algorithm: value},
                "subdirectory": s.subdirectory,
            }
        )
    return entry


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# conda
# ---------------------------------------------------------------------------------------------


def conda_explicit(env: Environment, *, name: str | None = None) -> str:
    """A conda ``@EXPLICIT`` spec: one package URL per line, with its md5 (or sha256).

    Each URL ends in the package file's type as captured (``.conda`` or ``.tar.bz2``); for a
    lockfile without it, ``.conda`` is written, as every channel serves new packages in it,
    and the header says so.
    """
    conda = _conda_side(env, name)
    subdir = env.platform.subdir or _main_subdir(conda)
    lines = [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
        f"# platform: {subdir or 'unknown'}",
        f"# Exported by envlock from {_describe(env, name)}.",
    ]
    if any(p.archive is None for p in conda.packages):
        lines += [
            "# The lockfile does not record some packages' file type: .conda is assumed;",
            "# where a channel has only the .tar.bz2 file, change the extension (the hash is",
            "# the file's).",
        ]
    if env.packages:
        lines.append("# pip's packages are not here: export them with --to requirements.")
    urls = [_conda_url(p, subdir) for p in conda.packages]
    if any(url and url.startswith("file://~") for url in urls):
        lines.append(f"# {_CHANNEL_HOMES}")
    lines.append("@EXPLICIT")
    for p, url in zip(conda.packages, urls):
        lines.append(url or f"# {p.name}-{p.version}-{p.build}: no channel recorded; left out")
    return "\n".join(lines) + "\n"


# A local channel in a home directory is recorded as file://~/... (file://~NAME/... in
# another user's): no home path is written into a lockfile.
_CHANNEL_HOMES = (
    "file://~ (or file://~NAME) stands for a home directory, which conda does not expand: "
    "replace it."
)


def _conda_url(p: CondaPackage, default_subdir: str | None) -> str | None:
    base = _channel_url(p)
    subdir = p.subdir or default_subdir
    if base is None or subdir is None:
        return None
    url = f"{base}/{subdir}/{p.name}-{p.version}-{p.build}{p.archive or CONDA_EXTENSION}"
    if p.md5:
        return f"{url}#{p.md5}"
    return f"{url}#sha256:{p.sha256}" if p.sha256 else url


def _channel_url(p: CondaPackage) -> str | None:
    if p.channel_url:
        return redact_url(p.channel_url).rstrip("/")
    channel = p.channel
    if not channel:
        return None
    if "://" in channel:
        return redact_url(channel).rstrip("/")
    if channel == "defaults":
        return f"{_ANACONDA_REPO}/pkgs/main"
    if channel.startswith("pkgs/"):
        return f"{_ANACONDA_REPO}/{channel}"
    return f"{_ANACONDA_ORG}/{channel}"


def _main_subdir(conda: CondaSection) -> str | None:
    subdirs = sorted({p.subdir for p in conda.packages if p.subdir and p.subdir != "noarch"})
    return subdirs[0] if len(subdirs) == 1 else None


def _pip_side(env: Environment, name: str | None) -> None:
    """Refuse an environment without Python packages: the file would install nothing."""
    if not env.packages:
        raise UsageError(
            f"{_label(name)} has no Python packages; export its conda packages with "
            "--to conda-explicit or --to environment-yml"
        )


def _conda_side(env: Environment, name: str | None) -> CondaSection:
    if env.conda is None or not env.conda.packages:
        raise UsageError(
            f"{_label(name)} has no conda packages; "
            "export its Python packages with --to requirements"
        )
    return env.conda


def environment_yml(env: Environment, *, name: str | None = None) -> str:
    """A conda ``environment.yml``: the channels, every conda package as
    ``name=version=build``, and pip's packages under ``pip:``."""
    import yaml

    conda = _conda_side(env, name)
    channels = list(conda.channels)
    channels += [c for c in conda.channels_seen() if c not in channels]
    dependencies: list[Any] = [p.install_spec() for p in conda.packages]
    pip_lines = requirement_lines(env)
    if pip_lines:  # no bare ``pip`` added: the file lists what the environment holds
        dependencies.append({"pip": pip_lines})
    data: dict[str, Any] = {"name": name or "envlock"}
    if channels:
        data["channels"] = [redact_url(c) if "://" in c else c for c in channels]
    data["dependencies"] = dependencies
    header = [
        f"# Exported by envlock from {_describe(env, name)}.",
        "# conda env create --file <this file>",
    ]
    header += _path_notes(env, "keep this file there, as conda runs pip in its directory")
    if any(c.startswith("file://~") for c in data.get("channels", [])):
        header.append(f"# {_CHANNEL_HOMES}")
    body = yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16
    )
    return "\n".join(header) + "\n" + body
