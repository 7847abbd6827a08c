"""Read a conda prefix from its files: ``conda-meta/*.json`` records, ``conda-meta/history``,
and the condarc files conda would read for it. Nothing in the prefix is executed.

Standard library only; PyYAML is imported only when a condarc file exists. Bad content never
raises: every problem becomes one warning line naming the file, and the record concerned is
skipped.

* Records can be megabytes (``paths_data``, long ``files`` lists). Only the ``files`` entries
  that name a ``*.dist-info`` / ``*.egg-info`` are looked at, and a large record's
  ``paths_data`` value is cut out of the text before it is parsed.
* macOS AppleDouble files (``conda-meta/._*``, left by copying a prefix off a Mac) are
  resource forks, not records: they are ignored, with one warning line per prefix that
  counts them.
* ``# cmd:`` lines of the history are read only to tell which tool wrote the prefix
  (``conda`` / ``mamba`` / ``micromamba``); the command itself is never kept.
* condarc files are found in conda's own search order (``conda/base/constants.py``
  ``SEARCH_PATH``): system (``/etc/conda``, ``/var/lib/conda``), the base installation
  (``$CONDA_ROOT``), ``$XDG_CONFIG_HOME/conda``, ``~/.config/conda``, ``~/.conda``,
  ``~/.condarc`` (``~``: ``%USERPROFILE%`` on Windows, as conda expands it), the prefix's own
  ``.condarc`` / ``condarc`` / ``condarc.d``, and last ``$CONDARC``. Later files win for
  scalars; ``channels`` lists are merged as conda does: higher-precedence lists first, then
  de-duplicated.
* Channel URLs lose their credentials (``user:password@``, anaconda.org ``/t/<token>/``)
  before they are stored anywhere, warnings included.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from envlock.condamodel import ARCHIVES
from envlock.redact import REDACTED, redact_text, redact_url

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any


@dataclass(frozen=True)
class CondaRecord:
    """One ``conda-meta/<name>-<version>-<build>.json`` PrefixRecord."""

    name: str
    version: str
    build: str
    build_number: int | None
    channel: str | None  # canonical: "conda-forge", "pkgs/main", or a redacted base URL
    channel_url: str | None  # redacted base URL without the subdir; None for a bare name
    subdir: str | None
    md5: str | None
    sha256: str | None
    requested_spec: str | None  # what the user asked for; None when not explicitly requested
    python_dists: tuple[str, ...]  # prefix-relative POSIX paths of its dist-info / egg-info
    file: str  # the conda-meta file name, for messages
    archive: str | None = None  # the package file's type: ".conda" or ".tar.bz2"


@dataclass(frozen=True)
class CondaPrefix:
    records: tuple[CondaRecord, ...]  # sorted by name
    channels: tuple[str, ...]  # from the condarc files, canonical, highest precedence first
    channel_priority: str | None  # "strict" / "flexible" / "disabled"; None when unset
    condarc_files: tuple[str, ...]  # the condarc files read, in reading order (~ for home)
    channels_seen: tuple[str, ...]  # distinct CondaRecord.channel values, sorted
    manager: str | None  # "pixi", "micromamba", "mamba", "conda" or None
    warnings: tuple[str, ...]  # what could not be read
    notes: tuple[str, ...] = ()  # what was read and how (two records for a name: which is kept)


# conda's KNOWN_SUBDIRS (conda/base/constants.py), plus a few that newer tools use.
KNOWN_SUBDIRS = frozenset(
    {
        "noarch",
        "emscripten-wasm32",
        "wasi-wasm32",
        "freebsd-64",
        "linux-32",
        "linux-64",
        "linux-aarch64",
        "linux-armv6l",
        "linux-armv7l",
        "linux-ppc64",
        "linux-ppc64le",
        "linux-riscv64",
        "linux-s390x",
        "osx-64",
        "osx-arm64",
        "win-32",
        "win-64",
        "win-arm64",
        "zos-z",
    }
)
# Hosts whose channel URLs have a short conda name: the path is the name.
_ANACONDA_ORG = frozenset({"conda.anaconda.org", "conda.binstar.org"})
_DEFAULTS_HOSTS = frozenset({"repo.anaconda.com", "repo.continuum.io", "repo.anaconda.cloud"})
_PACKAGE_SUFFIXES = (".conda", ".tar.bz2")
_TOKEN_SEGMENT = re.compile(r"/t/[^/]+(?=/|$)")

# System-wide condarc directories, lowest precedence first (a module constant so tests can
# point it at a temporary directory).
SYSTEM_CONDARC_DIRS: tuple[str, ...] = (
    ("C:/ProgramData/conda",) if os.name == "nt" else ("/etc/conda", "/var/lib/conda")
)
_CONDARC_NAMES = (".condarc", "condarc")
_YAML_SUFFIXES = (".yml", ".yaml")
_PRIORITIES = ("strict", "flexible", "disabled")

# A record larger than this has its ``paths_data`` value cut out before it is parsed.
_CUT_ABOVE = 2048
_PATHS_DATA_KEY = re.compile(r'"paths_data"\s*:\s*(?=\{\s*"paths)')
# Inside ``paths_data`` the only ``]`` outside strings closes the ``paths`` list.
_PATHS_DATA_END = re.compile(r'\]\s*(?:,\s*"paths_version"\s*:\s*\d+\s*)?\}')

_HISTORY_HEADER = re.compile(r"^==>\s*(.*?)\s*<==$")
_HISTORY_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2}$")
_HISTORY_CMD = re.compile(r"^#\s*cmd:\s*(.*)$")
_HISTORY_SPECS = re.compile(r"^#\s*(\w+)\s+specs:\s*(.*)$")
# Which tool a ``# cmd:`` line ran: the first word that is conda, mamba or micromamba
# (a path's last component, ``conda.exe`` and ``conda-script.py`` included).
_TOOL = re.compile(
    r"(?:^|[\s/\\])(micromamba|mamba|conda)(?:\.exe|\.bat|-script\.py|[/\\]__main__\.py)?(?=\s|$)",
    re.IGNORECASE,
)
_SPEC_NAME = re.compile(r"[^\s=<>!~\[\]()@,;|*'\"]+")
_OLD_SPEC_CONTINUATION = re.compile(r"^\s*[<>=!~]?\d")


# ---------------------------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------------------------


def canonical_channel(value: str) -> tuple[str, str | None]:
    """(canonical name, redacted base URL or None) for a record's ``channel`` / ``schannel`` /
    ``url`` or a condarc channel entry.

    ``https://conda.anaconda.org/conda-forge/linux-64`` -> ``("conda-forge", URL without the
    subdir)``, ``https://repo.anaconda.com/pkgs/main/noarch/x-1-0.conda`` -> ``("pkgs/main",
    ...)``, a bare name -> ``(name, None)``; for any other host the name is the base URL.
    Credentials never survive: ``user:password@`` goes, and so does a ``/t/<token>`` segment.
    """
    return _canonical(value.strip())


@functools.lru_cache(maxsize=512)  # a prefix repeats a handful of channel strings
def _canonical(text: str) -> tuple[str, str | None]:
    if "://" not in text:
        name = _strip_subdir(text.strip("/"))
        return name, None
    from urllib.parse import urlsplit

    url = redact_url(text)
    if url == REDACTED:  # not parseable: masked whole
        return url, None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return url, None
    path = _TOKEN_SEGMENT.sub("", parts.path).rstrip("/")
    if path.endswith(_PACKAGE_SUFFIXES):
        path = path.rpartition("/")[0]
    path = _strip_subdir(path)
    netloc = parts.netloc.rpartition("@")[2]
    base = f"{parts.scheme}://{netloc}{path}"
    short = path.strip("/")
    if short and (host in _ANACONDA_ORG or host in _DEFAULTS_HOSTS):
        return short, base
    return base, base


def _strip_subdir(path: str) -> str:
    head, sep, last = path.rpartition("/")
    return head if sep and last in KNOWN_SUBDIRS else path


def _trailing_subdir(value: str) -> str | None:
    path = value.split("?", 1)[0].rstrip("/")
    if path.endswith(_PACKAGE_SUFFIXES):
        path = path.rpartition("/")[0]
    last = path.rpartition("/")[2]
    return last if last in KNOWN_SUBDIRS else None


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------


def parse_history(text: str) -> dict[str, str]:
    """name -> the spec the user last asked for, from a ``conda-meta/history`` text.

    Follows conda's ``History.get_requested_specs_map``: per revision, ``remove specs``
    forget names, then ``update`` / ``install`` / ``create`` specs set them, then
    ``neutered specs`` override them. Python-repr lists (conda), JSON lists (micromamba) and
    conda < 4.5's comma-separated lists are all read. ``# cmd:`` lines are never returned.
    """
    return _read_history(text).specs


@dataclass
class _History:
    specs: dict[str, str]
    manager: str | None
    problems: list[str]


def _read_history(text: str) -> _History:
    specs: dict[str, str] = {}
    manager: str | None = None
    problems: list[str] = []
    pending: list[tuple[str, list[str]]] = []
    in_revision = False

    def close_revision() -> None:
        for wanted in (("remove", "uninstall"), ("update", "install", "create"), ("neutered",)):
            for action, entries in pending:
                if action not in wanted:
                    continue
                for spec in entries:
                    name = spec_name(spec)
                    if name is None:
                        continue
                    if action in ("remove", "uninstall"):
                        specs.pop(name, None)
                    else:
                        specs[name] = spec
        pending.clear()

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        header = _HISTORY_HEADER.match(line)
        if header:
            close_revision()
            in_revision = True
            if not _HISTORY_DATE.match(header.group(1)):
                problems.append(f"line {lineno}: revision header without a valid date")
            continue
        if not in_revision:
            problems.append(f"line {lineno}: text before the first revision header")
            in_revision = True  # report it once; read on as conda would
        if not line.startswith("#"):
            continue  # +/- package lines: the records say what is installed
        cmd = _HISTORY_CMD.match(line)
        if cmd:
            tool = _TOOL.search(cmd.group(1))
            if tool:
                manager = tool.group(1).lower()
            continue
        found = _HISTORY_SPECS.match(line)
        if found:
            entries = _spec_list(found.group(2))
            if entries is None:
                problems.append(f"line {lineno}: {found.group(1)} specs cannot be parsed")
            else:
                pending.append((found.group(1).lower(), entries))
    close_revision()
    return _History(specs, manager, problems)


def _spec_list(text: str) -> list[str] | None:
    """The specs of a ``# ... specs:`` line, or None when it cannot be read."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        value: object
        try:
            value = json.loads(text)  # micromamba: ["xtl=0.7.2"]
        except ValueError:
            import ast

            try:
                value = ast.literal_eval(text)  # conda: ['python=3.13', 'pip']
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        entries: list[str] = value
    else:  # conda < 4.5: "python>=3.5.1,jupyter >=1.0.0,<2.0"
        entries = []
        for piece in text.split(","):
            if entries and _OLD_SPEC_CONTINUATION.match(piece):
                entries[-1] = f"{entries[-1]},{piece}"
            else:
                entries.append(piece)
    return [e.strip() for e in entries if e.strip() and not e.strip().endswith("@")]


def spec_name(spec: str) -> str | None:
    """The package name of a conda match spec, lower-cased: ``conda-forge::numpy=1.2``,
    ``numpy[version='>=1.2']``, ``numpy >=1.2``, ``defaults/osx-64::blas==1.0=mkl``,
    ``python_abi[build=*_cp313t]`` ... ; None when it names no package (``*``)."""
    text = spec.strip()
    bracket = text.find("[")
    head = text if bracket < 0 else text[:bracket]
    if head.endswith(_PACKAGE_SUFFIXES):  # an explicit package URL or file name
        stem = head.rpartition("/")[2]
        stem = stem[: -len(".conda")] if stem.endswith(".conda") else stem[: -len(".tar.bz2")]
        parts = stem.rsplit("-", 2)
        return parts[0].lower() if len(parts) == 3 and parts[0] else None
    if "::" in head:
        text = text[head.rfind("::") + 2 :]
    match = _SPEC_NAME.match(text)
    return match.group(0).lower() if match else None


# ---------------------------------------------------------------------------------------------
# condarc
# ---------------------------------------------------------------------------------------------


def _home(environ: Mapping[str, str]) -> str | None:
    """The folder conda's ``~`` is (``os.path.expanduser``'s): ``HOME``; on Windows
    ``USERPROFILE`` (else ``HOMEDRIVE`` and ``HOMEPATH``), since Python 3.8 there ignores
    ``HOME``, which Git Bash or a company's network home may set to another folder."""
    if os.name == "nt":
        home = environ.get("USERPROFILE") or (
            environ.get("HOMEDRIVE", "") + environ.get("HOMEPATH", "")
        )
    else:
        home = environ.get("HOME") or environ.get("USERPROFILE") or ""
    return home.rstrip("/\\") or None


def _display(path: str, home: str | None) -> str:
    if home and (path == home or path.startswith((home + "/", home + "\\"))):
        return "~" + path[len(home) :]
    return path


def _root_prefix(prefix: Path, environ: Mapping[str, str]) -> str | None:
    """The base installation conda would call ``$CONDA_ROOT`` for this prefix, if known."""
    if environ.get("CONDA_ROOT"):
        return environ["CONDA_ROOT"]
    if prefix.parent.name == "envs" and (prefix.parent.parent / "conda-meta").is_dir():
        return str(prefix.parent.parent)
    if (prefix / "condabin").is_dir():  # the prefix is a base installation
        return str(prefix)
    return None


def _search_path(prefix: Path, environ: Mapping[str, str]) -> list[str]:
    """conda's SEARCH_PATH (conda/base/constants.py), expanded for this prefix; lowest
    precedence first. ``$CONDA_PREFIX`` is the prefix being read."""
    home = _home(environ)
    places: list[str] = list(SYSTEM_CONDARC_DIRS)
    root = _root_prefix(prefix, environ)
    if root:
        places.append(root)
    xdg = environ.get("XDG_CONFIG_HOME") or (os.path.join(home, ".config") if home else None)
    if xdg:
        places.append(os.path.join(xdg, "conda"))
    if home:
        places.append(os.path.join(home, ".config", "conda"))
        places.append(os.path.join(home, ".conda"))
    entries: list[str] = []
    for place in places:
        entries += [os.path.join(place, ".condarc"), os.path.join(place, "condarc")]
        entries.append(os.path.join(place, "condarc.d") + os.sep)
    if home:
        entries.append(os.path.join(home, ".condarc"))
    entries += [
        str(prefix / ".condarc"),
        str(prefix / "condarc"),
        str(prefix / "condarc.d") + os.sep,
    ]
    condarc = environ.get("CONDARC")
    if condarc:
        if home and condarc.startswith("~"):
            condarc = home + condarc[1:]
        entries.append(condarc)
    return entries


def _condarc_files(prefix: Path, environ: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    for entry in _search_path(prefix, environ):
        candidates: list[str] = []
        if os.path.isdir(entry):
            try:
                names = sorted(os.listdir(entry))
            except OSError:
                continue
            candidates = [os.path.join(entry, n) for n in names if n.endswith(_YAML_SUFFIXES)]
            candidates = [c for c in candidates if os.path.isfile(c)]
        elif not entry.endswith(os.sep) and os.path.isfile(entry):
            base = os.path.basename(entry)
            if base in _CONDARC_NAMES or base.endswith(_YAML_SUFFIXES):
                candidates = [entry]
        for path in candidates:
            key = os.path.realpath(path)
            if key not in seen:  # conda keeps the first place a file is found
                seen.add(key)
                found.append(os.path.normpath(path))
    return found


def _read_condarc(path: str, shown: str, warnings: list[str]) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        warnings.append(f"{shown}: cannot be read ({exc.strerror or exc}); ignored")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        warnings.append(f"{shown}: not UTF-8 text; ignored")
        return None
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        warnings.append(f"{shown}: PyYAML is not installed; ignored")
        return None
    try:
        loaded = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        warnings.append(f"{shown}: not valid YAML{where}; ignored")
        return None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        warnings.append(f"{shown}: not a YAML mapping; ignored")
        return None
    return loaded


def _condarc(
    prefix: Path, environ: Mapping[str, str], warnings: list[str]
) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """(channels, channel_priority, files read) from the condarc files."""
    home = _home(environ)
    lists: list[list[str]] = []
    priority: str | None = None
    read: list[str] = []
    for path in _condarc_files(prefix, environ):
        shown = _display(path, home)
        config = _read_condarc(path, shown, warnings)
        if config is None:
            continue
        read.append(shown)
        channels = config.get("channels")
        if isinstance(channels, list):
            names = []
            for entry in channels:
                if isinstance(entry, str) and entry.strip():
                    names.append(canonical_channel(entry)[0])
                else:
                    warnings.append(f"{shown}: a channels entry is not a channel name; ignored")
            lists.append(names)
        elif channels is not None:
            warnings.append(f"{shown}: channels is not a list; ignored")
        value = config.get("channel_priority")
        if isinstance(value, bool):  # conda reads true / false as flexible / disabled
            priority = "flexible" if value else "disabled"
        elif isinstance(value, str) and value.strip().lower() in _PRIORITIES:
            priority = value.strip().lower()
        elif value is not None:
            warnings.append(
                f"{shown}: channel_priority is not strict, flexible or disabled; ignored"
            )
    merged: list[str] = []
    for names in reversed(lists):  # conda: higher-precedence lists first, then de-duplicated
        merged += [n for n in names if n not in merged]
    return tuple(merged), priority, tuple(read)


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


def _load_record(text: str) -> object:
    """The parsed record; a large record's ``paths_data`` is cut out first (parsing it is
    most of the cost, and nothing in it is needed). Raises ValueError for invalid JSON."""
    if len(text) > _CUT_ABOVE:
        # str.find scans at memchr speed; the patterns only confirm what it found.
        key = _PATHS_DATA_KEY.match(text, max(text.find('"paths_data"'), 0))
        if key:
            end = None
            close = text.find("]", key.end())
            while close >= 0 and end is None:
                end = _PATHS_DATA_END.match(text, close)
                close = text.find("]", close + 1)
            if end:
                try:
                    return json.loads(text[: key.end()] + "{}" + text[end.end() :])
                except ValueError:
                    pass  # the cut went wrong (a "]}" inside a string?): parse it all
    return json.loads(text)


def _python_dists(files: object) -> tuple[str, ...]:
    """The ``*.dist-info`` directories and ``*.egg-info`` files or directories that ``files``
    puts directly into a ``site-packages`` directory (vendored copies inside a package, like
    ``bleach/_vendor/html5lib-1.1.dist-info``, are not distributions of the environment)."""
    if not isinstance(files, list) or not files:
        return ()
    try:
        joined = "\n".join(files)  # then str.find does the scanning, at C speed
    except TypeError:  # not all strings
        joined = "\n".join(f for f in files if isinstance(f, str))
    found: set[str] = set()
    hit = joined.find("-info")
    while hit >= 0:
        start = joined.rfind("\n", 0, hit) + 1
        end = joined.find("\n", hit)
        end = len(joined) if end < 0 else end
        path = _dist_dir(joined[start:end].replace("\\", "/"))
        if path is not None:
            found.add(path)
        hit = joined.find("-info", end)
    return tuple(sorted(found))


def _dist_dir(path: str) -> str | None:
    """The dist-info / egg-info that the file ``path`` belongs to, when it sits directly in a
    ``site-packages`` directory."""
    ends = [
        i + len(suffix)
        for suffix in (".dist-info", ".egg-info")
        for i in (path.find(suffix + "/"),)
        if i > 0
    ]
    if ends:
        path = path[: min(ends)]  # the directory
    elif not path.endswith(".egg-info"):
        return None  # e.g. "x.dist-info.txt", or "-info" elsewhere in the name
    parent = path.rpartition("/")[0]
    return path if parent.rpartition("/")[2].lower() == "site-packages" else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _digest(value: object, length: int) -> str | None:
    """A hex digest of ``length`` digits, in lower case; ``None`` for anything else (an empty
    or placeholder value in a hand-made record is unknown, not a digest to compare)."""
    text = _str(value)
    if text is None or len(text) != length:
        return None
    text = text.lower()
    return text if all(c in "0123456789abcdef" for c in text) else None


def _public(spec: str | None) -> str | None:
    """A spec as envlock may record it: one that names a channel by URL
    (``https://user:pw@host/t/<token>/ch::numpy``) loses the URL's credentials, one that
    names it by path (``/home/me/bld::numpy``) is written from ``~``."""
    return redact_text(spec) if spec is not None else spec


def _requested(data: dict[str, Any]) -> str | None:
    """The record's own ``requested_spec`` (conda writes the string "None" for packages
    nobody asked for) or the first of rattler's ``requested_specs``."""
    spec = data.get("requested_spec")
    if isinstance(spec, str) and spec.strip() and spec.strip() != "None":
        return spec.strip()
    specs = data.get("requested_specs")
    if isinstance(specs, list):
        for entry in specs:
            if isinstance(entry, str) and entry.strip():
                return entry.strip()
    return None


def _channel(data: dict[str, Any]) -> tuple[str | None, str | None]:
    name: str | None = None
    url: str | None = None
    for key in ("channel", "schannel", "url"):
        value = _str(data.get(key))
        if value is None or value in ("<unknown>", "None"):
            continue
        canonical, base = canonical_channel(value)
        if name is None:
            name = canonical
        if base is not None:
            url = base
            break
    return name, url


def _record(fn: str, text: str, history: dict[str, str]) -> CondaRecord | str:
    """A record, or the problem (a warning without the file name)."""
    try:
        data = _load_record(text)
    except ValueError as exc:
        where = ""
        if isinstance(exc, json.JSONDecodeError):
            where = f" (line {exc.lineno}, column {exc.colno})"
        return f"not valid JSON{where}; record skipped"
    except RecursionError:
        return "JSON nested too deeply; record skipped"
    if not isinstance(data, dict):
        return f"not a JSON object (a {type(data).__name__}); record skipped"
    name, version = _str(data.get("name")), _str(data.get("version"))
    build = _str(data.get("build")) or _str(data.get("build_string"))
    missing = [k for k, v in (("name", name), ("version", version), ("build", build)) if not v]
    if name is None or version is None or build is None:
        return f"no {'/'.join(missing)} in the record; record skipped"
    if fn[: -len(".json")] != f"{name}-{version}-{build}":
        return f"file name does not match its record {name}-{version}-{build}; record skipped"
    number = data.get("build_number")
    if isinstance(number, str) and number.isdigit():
        number = int(number)
    channel, channel_url = _channel(data)
    subdir = _str(data.get("subdir"))
    if subdir is None:
        for key in ("channel", "url"):
            subdir = subdir or _trailing_subdir(_str(data.get(key)) or "")
    return CondaRecord(
        name=name,
        version=version,
        build=build,
        build_number=number if type(number) is int and number >= 0 else None,  # not a bool
        channel=channel,
        channel_url=channel_url,
        subdir=subdir,
        md5=_digest(data.get("md5"), 32),
        sha256=_digest(data.get("sha256"), 64),
        requested_spec=_public(history.get(name.lower()) or _requested(data)),
        python_dists=_python_dists(data.get("files")),
        file=fn,
        archive=_archive(data),
    )


def _archive(data: dict[str, Any]) -> str | None:
    """Whether the package came as a ``.conda`` or a ``.tar.bz2`` file (from ``fn`` or
    ``url``): the one thing besides name, version and build that its URL needs."""
    for key in ("fn", "url"):
        value = _str(data.get(key)) or ""
        for suffix in ARCHIVES:
            if value.endswith(suffix):
                return suffix
    return None


def _read_text(path: str) -> str:
    """The file's text; raises OSError, or UnicodeDecodeError for non-UTF-8 bytes."""
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


def _record_files(meta: str, warnings: list[str]) -> Iterator[str]:
    apple_double: list[str] = []
    try:
        with os.scandir(meta) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".json"))
    except OSError as exc:
        warnings.append(f"conda-meta: cannot be listed ({exc.strerror or exc})")
        return
    for fn in names:
        if fn.startswith("._"):
            apple_double.append(fn)
        else:
            yield fn
    if apple_double:
        shown = ", ".join(apple_double[:3]) + (", ..." if len(apple_double) > 3 else "")
        warnings.append(
            f"conda-meta: {len(apple_double)} macOS AppleDouble file(s) ignored ({shown})"
        )


def read_prefix(prefix: Path, environ: Mapping[str, str] | None = None) -> CondaPrefix | None:
    """The conda side of ``prefix``; None when it has no ``conda-meta`` directory.

    Never raises for bad content: each problem is a warning naming the file. ``environ``
    (default ``os.environ``) supplies HOME (USERPROFILE on Windows), XDG_CONFIG_HOME, CONDARC
    and CONDA_ROOT for finding the condarc files.
    """
    prefix = Path(prefix)
    meta = os.path.join(prefix, "conda-meta")
    if not os.path.isdir(meta):
        return None
    env = os.environ if environ is None else environ
    warnings: list[str] = []

    history: dict[str, str] = {}
    manager: str | None = None
    history_path = os.path.join(meta, "history")
    if os.path.isfile(history_path):
        try:
            with open(history_path, "rb") as f:
                data = f.read()
        except OSError as exc:
            warnings.append(f"conda-meta/history: cannot be read ({exc.strerror or exc})")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:  # e.g. a cp1252 path in a "# cmd:" line: read on
                text = data.decode("utf-8", errors="replace")
                warnings.append("conda-meta/history: not UTF-8 text; read with replacements")
            parsed = _read_history(text)
            history, manager = parsed.specs, parsed.manager
            for problem in parsed.problems[:3]:
                warnings.append(f"conda-meta/history: {problem}")
            if len(parsed.problems) > 3:
                warnings.append(f"conda-meta/history: {len(parsed.problems) - 3} more problems")
    if os.path.exists(os.path.join(meta, "pixi")):
        manager = "pixi"

    records: list[CondaRecord] = []
    for fn in _record_files(meta, warnings):
        path = os.path.join(meta, fn)
        try:
            text = _read_text(path)
        except OSError as exc:
            warnings.append(
                f"conda-meta/{fn}: cannot be read ({exc.strerror or exc}); record skipped"
            )
            continue
        except UnicodeDecodeError:
            warnings.append(f"conda-meta/{fn}: not UTF-8 text (binary or corrupt); record skipped")
            continue
        if not text or text.isspace():
            warnings.append(f"conda-meta/{fn}: empty file; record skipped")
            continue
        found = _record(fn, text, history)
        if isinstance(found, str):
            warnings.append(f"conda-meta/{fn}: {found}")
        else:
            records.append(found)
    records.sort(key=lambda r: (r.name, r.file))
    files: dict[str, list[str]] = {}
    for r in records:
        files.setdefault(r.name, []).append(r.file)
    notes = [  # the lockfile holds one record per name (condaenv.section): say which
        f"conda-meta: more than one record for {name} ({', '.join(same)}): {same[-1]} is recorded"
        for name, same in files.items()
        if len(same) > 1
    ]

    channels, priority, condarc_files = _condarc(prefix, env, warnings)
    seen = sorted({r.channel for r in records if r.channel is not None})
    return CondaPrefix(
        records=tuple(records),
        channels=channels,
        channel_priority=priority,
        condarc_files=condarc_files,
        channels_seen=tuple(seen),
        manager=manager,
        warnings=tuple(redact_text(w) for w in warnings),
        notes=tuple(redact_text(n) for n in notes),
    )
