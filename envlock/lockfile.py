"""Reading and writing lockfiles: YAML (default) or TOML, deterministic, atomic.

Lockfiles arrive in pull requests, so reading is defensive: a size limit, no YAML aliases
(which can expand exponentially), a typed parse that names the bad key, and a clear error
for a format version newer than this envlock.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

from envlock import cache
from envlock.errors import LockfileError, WriteError
from envlock.model import Lockfile
from envlock.redact import display_path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

MAX_BYTES = 32 * 1024 * 1024
HEADER = (
    "# envlock lockfile: what makes this environment compute what it computes.\n"
    "# Written by `envlock capture`; check an environment with `envlock verify`.\n"
)


def format_for(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in ("yaml", "toml"):
            raise LockfileError(f"{fmt}: unknown lockfile format (yaml or toml)")
        return fmt
    return "toml" if path.suffix.lower() == ".toml" else "yaml"


def directory(path: str | os.PathLike[str]) -> Path:
    """The lockfile's directory, which local paths in it are relative to. For a symbolic
    link, its target's (the file ``capture`` writes): one file reads the same whatever name
    it is given."""
    path = Path(path)
    return Path(os.path.realpath(path)).parent if os.path.islink(path) else path.absolute().parent


def load(path: str | os.PathLike[str], fmt: str | None = None) -> Lockfile:
    """Read and check a lockfile; raises :class:`LockfileError` naming the file."""
    path = Path(path)
    raw, text = read(path, missing="no such lockfile (create it with `envlock capture`)")
    return _load(raw, text, format_for(path, fmt), path)


STDIN_NAME = "<stdin>"  # how messages and reports name it


def load_stdin(fmt: str | None = None) -> Lockfile:
    """Read and check a lockfile from standard input (``git show REV:envlock.yaml | envlock
    diff - envlock.yaml``), with a file's defences; its format is ``fmt``, else
    :func:`sniff_format`'s. :class:`LockfileError` naming ``<stdin>``."""
    raw, text = read_stdin()
    return _load(raw, text, format_for(Path(), fmt) if fmt else sniff_format(text), None)


def _load(raw: bytes, text: str, fmt: str, path: Path | None) -> Lockfile:
    where = display_path(path) if path is not None else STDIN_NAME
    data = cache.get(raw, fmt)
    cached = data is not None
    try:
        if not cached:
            data = parse(text, fmt)
        lock = Lockfile.from_dict(data)
    except MergeConflict as e:
        raise LockfileError(
            f"{where}: {e}: resolve it, or keep one side and re-run `envlock capture`"
        ) from None
    except LockfileError as e:
        raise LockfileError(f"{where}: {_foreign_kind(path, text) or e}") from None
    if not cached:
        cache.put(raw, fmt, data)
    return lock


def sniff_format(text: str) -> str:
    """The format of a lockfile known only by its text (read from standard input): TOML when
    its first line that is neither blank nor a comment is TOML's ``key = value`` or a
    ``[table]`` header (envlock's TOML starts with ``version = 1``, its YAML with
    ``version: 1``); YAML otherwise."""
    import re

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return "toml" if re.match(_TOML_FIRST_LINE, stripped) else "yaml"
    return "yaml"


# A bare, quoted or dotted key and ``=`` (no ``:`` before it, as in YAML's ``key: a=b``); or
# a table header.
_TOML_FIRST_LINE = r"""(?:[A-Za-z0-9_"' .-]+=|\[\[?[A-Za-z0-9_"' .-]+\]\]?(?:\s*#.*)?$)"""


def _foreign_kind(path: Path | None, text: str) -> str | None:
    """What to say of a file that is not an envlock lockfile but another tool's (``envlock
    verify pixi.lock``: "format version 6 is newer than this envlock reads" would send the
    user to upgrade envlock), or ``None``. ``path`` is ``None`` for standard input."""
    import shlex

    from envlock import foreign

    try:
        kind = foreign.detect(text)
    except LockfileError:  # envlock's own
        return None
    if kind == "requirements" and (path is None or path.suffix.lower() not in (".txt", ".in")):
        return None  # what detect cannot place otherwise: a broken lockfile, most likely
    shown = shlex.quote(display_path(path)) if path is not None else "FILE"
    save = "" if path is not None else "save it to a file and "
    return (
        f"another tool's lockfile ({foreign.FORMATS[kind][1]}), not envlock's: {save}check "
        f"an environment against it with `envlock verify --against {shown}`"
    )


# Byte-order marks of the encodings read besides UTF-8, as pip reads a requirements file
# (Windows PowerShell 5 writes ``pip freeze > requirements.txt`` as UTF-16); UTF-32's first.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def read(path: Path, missing: str = "no such file") -> tuple[bytes, str]:
    """The bytes and text of an untrusted file: at most MAX_BYTES, UTF-8 (a BOM is dropped),
    or UTF-16 or UTF-32 after their byte-order mark; :class:`LockfileError` naming the file
    otherwise."""
    where = display_path(path)
    try:
        # Non-blocking, so that opening a FIFO (or a link to one) returns at once, to be refused.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise LockfileError(f"{where}: not a regular file")
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise LockfileError(f"{where}: {missing}") from None
    except IsADirectoryError:  # (from open(fd): io refuses a directory before fstat could)
        raise LockfileError(f"{where}: not a regular file") from None
    except OSError as e:
        raise LockfileError(f"{where}: cannot read: {e.strerror}") from None
    return raw, _decode(raw, where)


def read_stdin() -> tuple[bytes, str]:
    """:func:`read` for standard input, which the user chose to read (``-``): a pipe is
    read to its end, as ``cat`` would; a terminal is refused, rather than waited on."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise LockfileError(f"{STDIN_NAME}: no standard input to read (it is closed)")
    try:
        if stream.isatty():
            raise LockfileError(
                f"{STDIN_NAME}: standard input is a terminal: pipe a lockfile into `-`, "
                "e.g. `git show HEAD~1:envlock.yaml | envlock diff - envlock.yaml`"
            )
        raw = stream.read(MAX_BYTES + 1)
    except OSError as e:  # closed, or a directory given with `< DIR`
        raise LockfileError(f"{STDIN_NAME}: cannot read: {e.strerror or e}") from None
    except ValueError:  # a closed file object
        raise LockfileError(f"{STDIN_NAME}: no standard input to read (it is closed)") from None
    if not raw:
        raise LockfileError(f"{STDIN_NAME}: empty: nothing was piped into `-`")
    return raw, _decode(raw, STDIN_NAME)


def _decode(raw: bytes, where: str) -> str:
    """The text of ``raw`` read from ``where`` (see :func:`read`)."""
    if len(raw) > MAX_BYTES:
        raise LockfileError(f"{where}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    bom, codec, encoding = next((b for b in _BOMS if raw.startswith(b[0])), (b"", "utf-8", "UTF-8"))
    try:
        text = raw[len(bom) :].decode(codec)
    except UnicodeDecodeError as e:
        raise LockfileError(f"{where}: not {encoding} text (byte {len(bom) + e.start})") from None
    return text.removeprefix("\ufeff")


MAX_DEPTH = 64  # nested mappings and lists, in YAML and TOML
MAX_FLOW_DEPTH = MAX_DEPTH
MAX_NODES = 1_000_000  # values (mappings, lists, scalars, keys): 10 times a 1.6 MB pixi.lock
MAX_STRING = 65_536  # characters in one value or key: 8 times the longest URL browsers take
MAX_INT = 2**63  # what envlock's own lockfile's integers may reach
MAX_INT_BITS = 8192  # what another tool's lockfile's may: 2,467 digits (Python prints 4,300)


def parse(text: str, fmt: str, *, json_only: bool = True) -> Any:
    """The data of a lockfile's text; :class:`LockfileError` for anything else, whatever the
    input (hostile input included). ``json_only``: JSON's types only, as in envlock's own
    lockfiles (TOML dates and times, infinities and NaN refused); foreign formats may need
    more (pylock.toml's ``upload-time`` is a TOML datetime).

    Besides the size cap (:func:`read`), nesting and size are bounded twice. Before parsing,
    from the text, where a parser would crash or take time out of proportion: deep flow
    nesting (``[[[...``: libyaml's time grows with the square of the depth), deep block
    nesting (``- - - ...``: PyYAML's C composer overflows the C stack near 25,000 levels),
    YAML with more values than :data:`MAX_NODES` (counted from the parser's events, before
    any is built), TOML with far more separators than that, and TOML keys of more than
    :data:`MAX_DEPTH` dotted parts (``tomllib``'s memory grows with the square of their
    length). After parsing, exactly: at most :data:`MAX_DEPTH` levels and :data:`MAX_NODES`
    values."""
    refuse_merge_conflict(text)
    data = _parse_toml(text) if fmt == "toml" else _parse_yaml(text)
    _check_shape(data, json_only)
    return data


class MergeConflict(LockfileError):
    """The file holds git's conflict markers: a merge or rebase stopped and left both sides."""


def refuse_merge_conflict(text: str) -> None:
    """Raise :class:`MergeConflict` if ``text`` holds git's conflict markers (``<<<<<<<``,
    ``=======`` and ``>>>>>>>``, in that order, each a line's start): said as such, rather
    than as whatever a parser makes of them."""
    if "\n=======" not in text:  # one scan in C: no conflict can be there
        return
    lines: list[int] = []  # where the markers found so far are
    for number, line in enumerate(text.splitlines(), 1):
        marker = _CONFLICT_MARKERS[len(lines)]
        if line == marker or line.startswith(marker + " "):
            lines.append(number)
            if len(lines) == len(_CONFLICT_MARKERS):
                where = ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
                raise MergeConflict(f"unresolved merge conflict: git's markers at lines {where}")


_CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>")


def _parse_toml(text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    if _long_dotted_key(text):
        raise LockfileError(f"not valid TOML: a key of more than {MAX_DEPTH} dotted parts")
    # Each value but the top table follows one of these (two, for a key and its value):
    # past twice the limit the text is refused unread, as tomllib builds everything at once.
    if sum(map(text.count, ",.=[{")) > 2 * MAX_NODES:
        raise LockfileError(_too_many())
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LockfileError(f"not valid TOML: {e}") from None
    except (RecursionError, ValueError, UnicodeError) as e:
        raise LockfileError(f"not valid TOML: {type(e).__name__}") from None


def _parse_yaml(text: str) -> Any:
    import yaml

    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise LockfileError(f"YAML nested more than {MAX_FLOW_DEPTH} levels deep")
    loader = _strict_loader()
    try:
        if _may_have_anchor(text) or _may_be_too_large(text):
            _check_events(yaml.parse(text, loader))
        return yaml.load(text, loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise LockfileError(f"not valid YAML{at}: {problem}") from None
    except RecursionError:
        raise LockfileError("YAML nested too deeply") from None
    except ValueError:  # an integer of over 4,300 digits (Python's limit on converting one)
        raise LockfileError("not valid YAML: a number too long to read") from None


def _may_have_anchor(text: str) -> bool:
    """Whether YAML ``text`` may define an anchor, without which no alias can exist (an alias
    to an undefined anchor is a parse error). A ``*`` is common in lockfiles (conda specs such as
    ``python_abi 3.12.* *_cp312``), a ``&`` that starts a node is not; an over-estimate is
    safe: it costs one more pass over the parser's events."""
    import re

    return re.search(r"(?:^|[\s\[{,:?-])&[^\s\[\]{},]", text) is not None


def _may_be_too_large(text: str) -> bool:
    """Whether YAML ``text`` might nest deeper than :data:`MAX_DEPTH` in block style or hold
    more than :data:`MAX_NODES` values. A block collection only starts after indentation and
    the indicators ``-``, ``?`` and ``:`` (each level one column further in, or as far in as
    its mapping key), so a text whose lines all start with fewer of those has no deep block
    nesting; and every value but the top one follows one of ``-?:,[{``."""
    import re

    if re.search(rf"^[ \t?:-]{{{MAX_DEPTH},}}", text, re.MULTILINE):
        return True
    return 2 * sum(map(text.count, "-?:,[{")) + 1 > MAX_NODES


def _check_events(events: Any) -> None:
    """Refuse aliases, and nesting or size over the limits, from the parser's events: before
    PyYAML builds anything, so that a crash, or memory out of proportion, cannot happen."""
    import yaml

    depth = nodes = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise LockfileError(f"YAML nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            continue
        elif isinstance(event, yaml.AliasEvent):
            raise LockfileError("YAML aliases are not allowed in a lockfile")
        elif not isinstance(event, yaml.ScalarEvent):
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise LockfileError(_too_many())


def _too_large(value: int, json_only: bool) -> bool:
    """Over 2**63 in envlock's own lockfiles; in others (a pixi.lock's all-digit hash is an
    integer to YAML) over 8,192 bits, whose text would be too long to print."""
    return abs(value) > MAX_INT if json_only else value.bit_length() > MAX_INT_BITS


def _too_long() -> str:
    return f"a value of more than {MAX_STRING:,} characters: too long for a lockfile"


def _too_many() -> str:
    return f"more than {MAX_NODES:,} values: too large for a lockfile"


def _check_shape(data: Any, json_only: bool) -> None:
    """Parsed data within :data:`MAX_DEPTH` and :data:`MAX_NODES` and, with ``json_only``, of
    JSON's types only (TOML's dates and times are refused as YAML's are; and infinities and
    NaN, which JSON cannot hold). Without recursion: the data may be deeper than Python's
    stack."""
    import math

    nodes = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise LockfileError(_too_many())
        if isinstance(value, dict):
            children: Any = value.values()
            nodes += len(value)  # the keys
            if any(isinstance(k, str) and len(k) > MAX_STRING for k in value):
                raise LockfileError(_too_long())
        elif isinstance(value, list):
            children = value
        elif isinstance(value, str):
            if len(value) > MAX_STRING:
                raise LockfileError(_too_long())
            continue
        elif (
            isinstance(value, int) and not isinstance(value, bool) and _too_large(value, json_only)
        ):
            raise LockfileError("an integer too large for a lockfile")
        elif not json_only or value is None or isinstance(value, int):
            continue
        elif not isinstance(value, float):
            raise LockfileError(f"a {type(value).__name__} value is not allowed (quote it)")
        elif math.isfinite(value):
            continue
        else:
            raise LockfileError(f"{value} is not a finite number (quote it)")
        if depth > MAX_DEPTH:
            raise LockfileError(f"nested more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in children)


def _long_dotted_key(text: str) -> bool:
    """Whether TOML ``text`` may hold a key of more than :data:`MAX_DEPTH` dotted parts (read
    from the text, strings included: an over-estimate, which is safe)."""
    import re

    if text.count(".") < MAX_DEPTH:
        return False
    part = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
    start = r"""(?<![A-Za-z0-9_"'.-])"""  # a chain is tried from its first part only: linear
    chain = rf"{start}{part}(?:[ \t]*\.[ \t]*{part}){{{MAX_DEPTH}}}"
    return re.search(chain, text) is not None


def _flow_depth(text: str) -> int:
    """How deep ``[`` / ``{`` nest (an over-estimate inside quoted strings, which is safe):
    checked before the C parser sees the text, as it can crash on very deep nesting."""
    import re

    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return 0  # too few to nest deeper than the limit
    depth = deepest = 0
    for match in re.finditer(r"[\[\]{}]", text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
        if deepest > MAX_FLOW_DEPTH:
            break  # deep enough to refuse: the rest cannot change that
    return deepest


_LOADERS: dict[str, Any] = {}


def _strict_loader() -> Any:
    """The safe loader, stricter: string keys only, no duplicate keys (PyYAML keeps the last
    silently), and only JSON's types (no dates, ``!!binary``, ``!!set``).

    It is built on PyYAML's C loader (``CSafeLoader``, libyaml) where PyYAML has it, else on
    the pure-Python ``SafeLoader``; ``ENVLOCK_YAML_LOADER=pure`` chooses the pure-Python one
    (the test suite runs with both; ``c``, or anything else, means the default)."""
    import yaml

    pure = os.environ.get("ENVLOCK_YAML_LOADER", "").lower() == "pure"
    choice = "pure" if pure or not hasattr(yaml, "CSafeLoader") else "c"
    if choice not in _LOADERS:
        base = yaml.SafeLoader if choice == "pure" else yaml.CSafeLoader

        class Loader(base):  # type: ignore[misc,valid-type]
            pass

        def mapping(loader: Any, node: Any) -> dict[str, Any]:
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag != "tag:yaml.org,2002:str":
                    merge = key_node.tag == "tag:yaml.org,2002:merge"
                    why = "merge keys (<<) are not allowed" if merge else "keys must be strings"
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{why} (quote it)", key_node.start_mark
                    )
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
            value: dict[str, Any] = loader.construct_mapping(node, deep=True)
            return value

        def reject(loader: Any, node: Any) -> None:
            kind = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"a {kind} value is not allowed (quote it)", node.start_mark
            )

        Loader.add_constructor("tag:yaml.org,2002:map", mapping)
        for tag in ("timestamp", "binary", "set", "omap", "pairs"):
            Loader.add_constructor(f"tag:yaml.org,2002:{tag}", reject)
        _LOADERS[choice] = Loader
    return _LOADERS[choice]


class _FlowMap(dict):  # type: ignore[type-arg]
    """A mapping written on one line: one package per line keeps diffs readable."""


class _FlowList(list):  # type: ignore[type-arg]
    pass


def dumps(lockfile: Lockfile, fmt: str = "yaml") -> str:
    data = lockfile.to_dict()
    if fmt == "toml":
        import tomli_w

        return HEADER + tomli_w.dumps(data)
    import yaml

    for env in data["environments"].values():
        env["packages"] = {k: _FlowMap(v) for k, v in env["packages"].items()}
        if "cpu_flags" in env["platform"]:
            env["platform"]["cpu_flags"] = _FlowList(env["platform"]["cpu_flags"])
    return HEADER + yaml.dump(
        data,
        Dumper=_yaml_dumper(),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )


_DUMPER: Any = None


def _yaml_dumper() -> Any:
    global _DUMPER
    if _DUMPER is None:
        import yaml

        class Dumper(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:
                return True

        Dumper.add_representer(
            _FlowMap,
            lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True),
        )
        Dumper.add_representer(
            _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, True)
        )
        Dumper.add_representer(str, _represent_str)
        _DUMPER = Dumper
    return _DUMPER


def _represent_str(dumper: Any, value: str) -> Any:
    """PyYAML writes the Unicode line breaks raw inside a single-quoted string, where a reader
    folds them (U+0085 reads back as a space): a string holding one is double-quoted, where
    they are escaped."""
    style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def dump(lockfile: Lockfile, path: str | os.PathLike[str], fmt: str | None = None) -> bool:
    """Write ``lockfile`` to ``path`` with :func:`write_atomic`. An unchanged lockfile is not
    rewritten (its modification time stays): ``False`` when the file already held exactly
    these bytes, ``True`` when it was written."""
    path = Path(path)
    data = _encode(path, dumps(lockfile, format_for(path, fmt)))
    try:
        if stat.S_ISREG(os.stat(path).st_mode):  # never read a pipe or a device
            with open(path, "rb") as f:
                old = f.read(len(UTF8_BOM) + len(data) + data.count(b"\n") + 1)
            data = in_the_style_of(old, data)
            if old == data:
                return False
    except OSError:
        pass  # absent or unreadable: write it, and let the write say what is wrong
    write_atomic(path, data)
    return True


UTF8_BOM = b"\xef\xbb\xbf"


def in_the_style_of(old: bytes, data: bytes) -> bytes:
    """``data``, written with ``\\n`` and no byte-order mark, in the style of the file it
    replaces: with CRLF line endings when that file's first line ends so, as git's
    ``core.autocrlf`` checks a lockfile out on Windows, and with a UTF-8 byte-order mark when
    it starts with one, as Windows editors (Notepad before 2019) save. Formatters such as
    black and ruff keep a file's own line endings too."""
    first, newline, _ = old.partition(b"\n")
    if newline and first.endswith(b"\r"):
        data = data.replace(b"\n", b"\r\n")
    return UTF8_BOM + data if old.startswith(UTF8_BOM) else data


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``path`` so that readers, and a crash or a full disk at any moment, leave either
    the old file or the new one, never a mix and no temporary file.

    The new content goes to a temporary file (created ``0600``) in the same directory, is
    flushed to disk, given the old file's mode (or ``0666`` less the umask for a new file) and
    owner where allowed, and renamed over the old file; then the directory is flushed
    (best-effort). A symbolic link is written through: it stays a link, and its target is
    replaced, in the target's directory. A file without write permission is not replaced.
    What is not a regular file (``/dev/null``, ``/dev/stdout``, a named pipe) is written to,
    never replaced: there is nothing to keep whole, and replacing ``/dev/null`` as root would
    break the machine. Any failure is one :class:`WriteError` line."""
    import tempfile

    data = _encode(path, text)
    with contextlib.suppress(OSError):  # (/dev/stdout's real path is pipe:[N], not a file)
        kind = os.stat(path).st_mode
        if stat.S_ISDIR(kind):
            raise WriteError(f"{display_path(path)}: cannot write: Is a directory")
        if not stat.S_ISREG(kind):
            try:
                with open(path, "wb") as f:
                    f.write(data)
            except OSError as e:
                raise _write_error(path, e) from None
            return
    target = Path(os.path.realpath(path))
    if os.path.islink(target):  # (os.path's: a path too long to look up is said below)
        raise WriteError(f"{display_path(path)}: cannot write: a loop of symbolic links")
    try:
        old: os.stat_result | None = target.stat()
    except FileNotFoundError:
        old = None
    except OSError as e:
        raise _write_error(path, e) from None
    if old is not None and not os.access(target, os.W_OK):
        raise WriteError(f"{display_path(path)}: cannot write: Permission denied (read-only file)")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if old is not None:
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
            if hasattr(os, "chown"):
                with contextlib.suppress(OSError):  # a group we are not in, or not root
                    os.chown(tmp, old.st_uid, old.st_gid)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _write_error(path, e) from None
        raise
    _fsync_directory(target.parent)


def _encode(path: Path, text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, from a file name that is not UTF-8
        raise WriteError(
            f"{display_path(path)}: cannot write: {text[e.start : e.end]!a} is not valid Unicode"
        ) from None


def _write_error(path: Path, e: OSError) -> WriteError:
    return WriteError(f"{display_path(path)}: cannot write: {e.strerror or e}")


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it (``os.umask`` sets
    it, which another thread could see)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; best-effort (not every system can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
