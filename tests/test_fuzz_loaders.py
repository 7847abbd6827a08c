"""Property tests over the lockfile loaders (issue 7). Whatever the text (random, or a real
envlock lockfile or a real foreign lockfile of the shared corpus mutated as text or as data),
``envlock.lockfile.load`` returns a lockfile or raises ``LockfileError``, and
``envlock.foreign.load`` returns or raises ``LockfileError`` or ``UsageError``: nothing else
escapes, and each call takes under 2 s and 200 MB (traced). Every lockfile that loads is
written, read and written again to the same bytes. Each test runs with both YAML loaders.

``tests/fuzz_loaders.py`` is the same idea as a standalone fuzz target, run for a while by
hand rather than by pytest."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from envlock import foreign, lockfile
from envlock._probe import canonical_name
from envlock.errors import LockfileError, UsageError
from envlock.model import Lockfile, Package

T = TypeVar("T")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LIMIT_S = 2.0
LIMIT_BYTES = 200 * 2**20
FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_N", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text that means something to YAML or TOML, for insertions.
TOKENS = [
    *"[]{}:-?,#&*!|>'\"=.%@`\n\t ",
    "&a ",
    "*a",
    "!!binary aGk=",
    "!!set {a}",
    "!!timestamp ",
    "!!python/object:os.system ",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "<<: *a\n",
    "2024-01-01",
    "3.10",
    "0x1F",
    "1e999",
    "nan",
    "inf",
    "null",
    "~",
    "yes",
    "[[",
    "]]",
    "a.b.c",
    '"""',
    "'''",
    "\\u0000",
    "\x00",
    "\x1b[2J",
    "\ufeff",
    "\u2028",
    "- - - - - - - -",
    "[" * 80,
    "{" * 80,
]


def bounded(call: Callable[[], T]) -> T | Exception:
    """``call()``'s value, or the documented error it raised; any other exception escapes.
    Fails when the call takes 2 s or more, or traces 200 MB or more."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result: T | Exception = call()
    except (LockfileError, UsageError) as e:
        result = e
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < LIMIT_S, f"took {elapsed:.1f} s"
    assert peak < LIMIT_BYTES, f"traced {peak / 2**20:.0f} MB"
    if isinstance(result, LockfileError):
        assert "\n" not in str(result), "an error is one line"
    return result


def check_lockfile(path: Path, fmt: str | None = None) -> None:
    """Load ``path``; when it loads, its writing must read back to the same bytes."""
    result = bounded(lambda: lockfile.load(path, fmt))
    if isinstance(result, Lockfile):
        kind = lockfile.format_for(path, fmt)
        text = lockfile.dumps(result, kind)
        again = Lockfile.from_dict(lockfile.parse(text, kind))
        assert lockfile.dumps(again, kind) == text


# ---------------------------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------------------------


@st.composite
def text_mutation(draw: st.DrawFn, seed: str) -> str:
    """``seed`` with a few edits: a span deleted, duplicated or replaced, a token inserted,
    lines swapped or re-indented."""
    text = seed
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "insert", "swap", "indent", "line"]))
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 200)))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] * draw(st.integers(1, 50)) + text[j:]
        elif op == "insert":
            token = draw(st.sampled_from(TOKENS) | st.text(max_size=20))
            text = text[:i] + token + text[i:]
        else:
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            m = draw(st.integers(0, len(lines) - 1))
            if op == "swap":
                lines[k], lines[m] = lines[m], lines[k]
            elif op == "indent":
                lines[k] = " " * draw(st.integers(0, 12)) + lines[k].lstrip(" ")
            else:
                lines[k] = draw(st.sampled_from(TOKENS) | st.text(max_size=40))
            text = "\n".join(lines)
    return text


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["probe", "static", "index", "vcs", "archive", "directory", "1.0", "3.10"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def data_mutation(draw: st.DrawFn, seed: Any) -> Any:
    """``seed`` (parsed lockfile data) with a few values replaced, deleted, renamed, or
    wrapped in a list or a mapping."""
    data = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        op = draw(st.sampled_from(["replace", "delete", "rename", "wrap-list", "wrap-map"]))
        if op == "replace":
            parent[key] = draw(VALUES)
        elif op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = parent.pop(key)
        elif op == "wrap-list":
            parent[key] = [parent[key]]
        elif op == "wrap-map":
            parent[key] = {draw(st.text(max_size=8)): parent[key]}
    return data


def _richer(data: dict[str, Any]) -> dict[str, Any]:
    """The example lockfile with the sections it lacks: conda, BLAS, CUDA, every kind of
    source."""
    env = next(iter(data["environments"].values()))
    env["packages"]["vcs"] = {
        "version": "1",
        "source": "vcs",
        "vcs": "git",
        "url": "https://github.com/o/r.git",
        "commit": "a" * 40,
    }
    env["packages"]["arch"] = {
        "version": "1",
        "source": "archive",
        "path": "d/a.whl",
        "hash": "sha256=00",
    }
    env["packages"]["dir"] = {"version": "1", "source": "directory", "path": ".", "editable": True}
    env["conda"] = {
        "manager": "conda",
        "method": "conda-meta",
        "channels": ["conda-forge"],
        "channel_priority": "strict",
        "virtual_packages": {"__glibc": "2.36"},
        "hazards": [
            {"kind": "pip-over-conda", "subject": "numpy", "detail": "pip 2.0 over conda 1.0"}
        ],
        "packages": {
            "zlib": {
                "version": "1.3.1",
                "build": "h0_0",
                "build_number": 0,
                "channel": "conda-forge",
                "subdir": "linux-64",
                "md5": "0" * 32,
                "requested": True,
                "spec": "zlib",
            }
        },
    }
    env["blas"] = {
        "method": "runtime",
        "libraries": [{"api": "blas", "vendor": "openblas", "version": "0.3.27", "num_threads": 4}],
        "hints": [{"vendor": "openblas", "file": "libopenblas.so"}],
        "imported": {"numpy": "2.1.3"},
        "build": {"blas": {"name": "scipy-openblas"}},
        "notes": ["a note"],
    }
    env["cuda"] = {
        "method": "runtime",
        "runtime": {"version": "12.4", "method": "cudaRuntimeGetVersion"},
        "gpus": [{"name": "H100", "compute_capability": "9.0", "memory_mib": 81559}],
        "frameworks": {"torch": {"version": "2.5.1", "cuda": "12.4"}},
        "notes": [],
    }
    return data


def _seed(fmt: str) -> tuple[str, Any]:
    text = (EXAMPLES / f"envlock.{fmt}").read_text(encoding="utf-8")
    return text, _richer(lockfile.parse(text, fmt))


YAML_TEXT, YAML_DATA = _seed("yaml")
TOML_TEXT, TOML_DATA = _seed("toml")


def test_the_richer_seed_is_a_valid_lockfile(yaml_loader: str) -> None:
    for fmt, data in (("yaml", YAML_DATA), ("toml", TOML_DATA)):
        lock = Lockfile.from_dict(data)
        env = next(iter(lock.environments.values()))
        assert env.conda is not None and env.blas is not None and env.cuda is not None
        assert Lockfile.from_dict(lockfile.parse(lockfile.dumps(lock, fmt), fmt)) == lock


# ---------------------------------------------------------------------------------------------
# envlock's own lockfiles
# ---------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes(tmp_path: Path, yaml_loader: str, data: bytes) -> None:
    for name in ("envlock.yaml", "envlock.toml"):
        path = tmp_path / name
        path.write_bytes(data)
        check_lockfile(path)


@FUZZ
@given(text=text_mutation(YAML_TEXT))
def test_mutated_yaml_text(tmp_path: Path, yaml_loader: str, text: str) -> None:
    path = tmp_path / "envlock.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_lockfile(path)


@FUZZ
@given(text=text_mutation(TOML_TEXT))
def test_mutated_toml_text(tmp_path: Path, yaml_loader: str, text: str) -> None:
    path = tmp_path / "envlock.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_lockfile(path)


def _yaml(data: Any, flow: bool) -> str:
    import yaml

    return yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)


@FUZZ
@given(data=data_mutation(YAML_DATA), flow=st.booleans())
def test_mutated_yaml_data(tmp_path: Path, yaml_loader: str, data: Any, flow: bool) -> None:
    path = tmp_path / "envlock.yaml"
    path.write_text(_yaml(data, flow), encoding="utf-8", errors="surrogatepass")
    check_lockfile(path)


@FUZZ
@given(data=data_mutation(TOML_DATA))
def test_mutated_toml_data(tmp_path: Path, yaml_loader: str, data: Any) -> None:
    import tomli_w

    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):  # None, or a top level that is not a table
        assume(False)
        return
    path = tmp_path / "envlock.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check_lockfile(path)


@FUZZ
@given(value=VALUES)
def test_any_json_value_anywhere(yaml_loader: str, value: Any) -> None:
    """Values of every JSON type (and floats that JSON cannot hold) at the top and inside
    an environment: only the documented error."""
    for data in (
        value,
        {"version": 1, "environments": value},
        {"version": 1, "environments": {"e": value}},
    ):
        result = bounded(lambda data=data: Lockfile.from_dict(data))  # type: ignore[misc]
        if isinstance(result, Lockfile):
            text = lockfile.dumps(result)
            assert lockfile.dumps(Lockfile.from_dict(lockfile.parse(text, "yaml"))) == text


@pytest.mark.parametrize(
    "text",
    [
        "x = 2024-01-01T00:00:00Z\n",
        "version = 1\n[environments.a]\nmethod = 'probe'\n[environments.a.blas]\n"
        "method = 'x'\nbuild = {when = 1979-05-27}\n",
        "x = 07:32:00\n",
    ],
)
def test_toml_dates_are_refused_as_yaml_dates_are(tmp_path: Path, text: str) -> None:
    path = tmp_path / "envlock.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockfileError, match=r"a (datetime|date|time) value is not allowed"):
        lockfile.load(path)


def test_non_finite_floats_are_refused(tmp_path: Path, yaml_loader: str) -> None:
    for name, text in (("envlock.toml", "x = nan\n"), ("envlock.yaml", "x: .inf\n")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(LockfileError, match="not a finite number"):
            lockfile.load(path)


# ---------------------------------------------------------------------------------------------
# Foreign lockfiles
# ---------------------------------------------------------------------------------------------


def _foreign_seeds() -> list[Path]:
    from conftest import CORPUS

    folder = CORPUS / "lockfiles"
    if not folder.is_dir():
        return []
    small = [p for p in sorted(folder.glob("*/*")) if p.is_file() and p.stat().st_size < 20_000]
    return small


FOREIGN_SEEDS = _foreign_seeds()


def test_the_corpus_gives_seeds_of_every_format(corpus: Path) -> None:
    assert {p.parent.name for p in FOREIGN_SEEDS} >= {
        "conda-lock",
        "env-export",
        "explicit",
        "pixi",
        "pylock",
        "requirements",
    }


@st.composite
def foreign_case(draw: st.DrawFn) -> tuple[str, str, str | None, str | None]:
    seed = draw(st.sampled_from(FOREIGN_SEEDS))
    text = draw(text_mutation(seed.read_text(encoding="utf-8", errors="replace")))
    fmt = draw(st.sampled_from([None, None, *foreign.FORMATS]))
    platform = draw(st.sampled_from([None, "linux-64", "osx-arm64", "win-64", "bogus"]))
    return seed.name, text, fmt, platform


@FUZZ
@given(case=foreign_case())
def test_mutated_foreign_lockfiles(
    tmp_path: Path, corpus: Path, yaml_loader: str, case: Any
) -> None:
    name, text, fmt, platform = case
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    bounded(lambda: foreign.load(path, fmt, platform=platform))


@FUZZ
@given(data=st.binary(max_size=300), fmt=st.sampled_from([None, *foreign.FORMATS]))
def test_random_bytes_as_a_foreign_lockfile(
    tmp_path: Path, yaml_loader: str, data: bytes, fmt: str | None
) -> None:
    path = tmp_path / "lockfile"
    path.write_bytes(data)
    bounded(lambda: foreign.load(path, fmt))


# ---------------------------------------------------------------------------------------------
# Standard input (`envlock diff -`, `envlock show -`)
# ---------------------------------------------------------------------------------------------

# Lines that steer the readers of a lockfile piped into ``-``: git's conflict markers, the
# first key line sniff_format reads, the keys foreign.detect places another tool's file by.
STDIN_TOKENS = [
    "<<<<<<< HEAD\n",
    "=======\n",
    ">>>>>>> b\n",
    "version: 1\n",
    "version = 1\n",
    "version: 6\n",
    "version: '" + "9" * 4400 + "'\n",  # more digits than int() converts
    "package:\n",
    "packages:\n",
    "metadata:\n",
    "dependencies:\n",
    "environments:\n",
    "@EXPLICIT\n",
    "[[package]]\n",
    "lock-version = '1.0'\n",
    "\r\n",
    "\r",
    *TOKENS,
]


def from_stdin(raw: bytes) -> Lockfile:
    """:func:`envlock.lockfile.load_stdin` reading ``raw`` as piped into it."""
    import io
    import sys
    from unittest import mock

    with mock.patch.object(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw))):
        return lockfile.load_stdin()


@FUZZ
@given(parts=st.lists(st.sampled_from(STDIN_TOKENS) | st.text(max_size=10), max_size=30))
def test_text_on_stdin(no_lockfile_cache: None, yaml_loader: str, parts: list[str]) -> None:
    """Whatever is piped into ``-``: a lockfile, or one line naming ``<stdin>``; what names
    another tool's file (foreign.detect) sees the broken text too."""
    result = bounded(lambda: from_stdin("".join(parts).encode("utf-8", "surrogatepass")))
    if isinstance(result, LockfileError):
        assert str(result).startswith("<stdin>: ")


# ---------------------------------------------------------------------------------------------
# What fuzzing found
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x @ http://[bad/x-1.0-py3-none-any.whl\n",  # urlsplit: ValueError (IPv6)
        "x @ file://[x/y-1.0.tar.gz\n",
        "https://[::1/simple/x-1.0-py3-none-any.whl\n",
    ],
)
def test_urls_urlsplit_refuses_are_a_lockfile_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    bounded(lambda: foreign.load(path))


def test_a_direct_url_that_urlsplit_refuses_is_masked(tmp_path: Path) -> None:
    from envlock.snapshot import source_from_direct_url

    source = source_from_direct_url(
        {"url": "https://u:pw@[::1/x.whl", "archive_info": {}}, tmp_path
    )
    assert source is not None and source.url == "***"


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"hashes": {"sha256": "ab12"}}, "sha256=ab12"),
        ({"hashes": {"sha256": "not hex"}}, None),
        ({"hashes": {"sha256": ""}}, None),
        ({"hash": "sha256=AB12"}, "sha256=AB12"),
        ({"hash": "sha256=ab12\n--index-url x"}, None),
        ({"hash": "=ab12"}, None),
    ],
)
def test_an_archive_hash_is_recorded_only_when_it_is_one(
    tmp_path: Path, info: dict[str, object], expected: str | None
) -> None:
    """What direct_url.json holds is written into the lockfile only in the schema's shape
    (ALGORITHM=HEX); anything else is unknown, and the lockfile stays one that reads back."""
    from envlock.model import Environment, Platform, Python
    from envlock.snapshot import source_from_direct_url

    source = source_from_direct_url({"url": "https://h/x.whl", "archive_info": info}, tmp_path)
    assert source is not None and source.kind == "archive" and source.hash == expected
    env = Environment(
        python=Python(), platform=Platform(), packages=(Package("x", "1", source=source),)
    )
    lock = Lockfile(environments={"e": env})
    assert Lockfile.from_dict(lockfile.parse(lockfile.dumps(lock), "yaml")) == lock


@pytest.mark.parametrize(
    "url",
    ["https://h/x-1.0-py3-none-any.whl", "file:///srv/wheels/x-1.0-py3-none-any.whl"],
)
def test_an_archive_hash_in_the_url_is_recorded_as_pip_records_it(tmp_path: Path, url: str) -> None:
    """uv keeps the ``#sha256=HEX`` it was given in direct_url.json's URL and leaves
    ``archive_info`` empty; pip moves it into ``archive_info``: one source either way."""
    from envlock.snapshot import source_from_direct_url

    pip = source_from_direct_url({"url": url, "archive_info": {"hash": "sha256=ab12"}}, tmp_path)
    uv = source_from_direct_url({"url": url + "#sha256=ab12", "archive_info": {}}, tmp_path)
    assert uv == pip and pip is not None and pip.hash == "sha256=ab12"
    odd = source_from_direct_url({"url": url + "#egg=x", "archive_info": {}}, tmp_path)
    assert odd is not None and odd.hash is None


def test_format_detection_is_linear_in_blank_lines() -> None:
    start = time.perf_counter()
    assert foreign.detect("\n" * 400_000 + "x==1\n") == "requirements"
    assert time.perf_counter() - start < 1.0  # was quadratic: minutes


def test_a_python_version_the_format_cannot_hold_is_unknown(tmp_path: Path) -> None:
    """A conda record's or a custom build's version that is not X.Y.Z[a|b|rcN][+]: recorded as
    unknown, with a warning, so that the lockfile capture writes reads back."""
    from envlock.snapshot import from_payload

    payload = {"distributions": [], "python": {"version": "3.12.0.final.0", "method": "probe"}}
    env = from_payload(payload, tmp_path, "probe")
    assert env.python.version is None and env.python.method == "probe"
    assert env.warnings == ("Python version '3.12.0.final.0' is not X.Y.Z; recorded as unknown",)
    lock = Lockfile(environments={"e": env})
    assert Lockfile.from_dict(lockfile.parse(lockfile.dumps(lock), "yaml")) == lock


# What capture writes, whatever the environment's files hold, is a lockfile every reader
# accepts: the probe's payload (names, versions, INSTALLER, direct_url.json, variables and
# platform facts are read from files anyone can write) through the same path capture takes.
_TEXT = st.text(max_size=12)
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_DIRECT_URL = st.fixed_dictionaries(
    {"url": st.sampled_from(["https://u:p@h/x.whl", "file:///tmp/x", "git+ssh://h/r", "x"])},
    optional={
        "vcs_info": st.dictionaries(
            st.sampled_from(["vcs", "commit_id", "requested_revision"]), _JSONISH
        ),
        "dir_info": st.dictionaries(st.sampled_from(["editable"]), _JSONISH),
        "archive_info": st.dictionaries(st.sampled_from(["hashes", "hash"]), _JSONISH),
        "subdirectory": _JSONISH,
    },
)
_DIST = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=12),
        "version": st.text(min_size=1, max_size=12),
        "path": st.just("/site/x.dist-info"),
        "kind": st.sampled_from(["dist-info", "egg-info"]),
    },
    optional={
        "installer": _TEXT,
        "requested": st.booleans(),
        "direct_url": _DIRECT_URL | _JSONISH,
    },
)
_FACTS = st.dictionaries(
    st.sampled_from(["implementation", "version", "abi", "platform_tag", "os", "distro"]),
    _TEXT,
)


@FUZZ
@given(
    dists=st.lists(_DIST, max_size=6, unique_by=lambda d: canonical_name(d["name"])),  # as scan
    python=_FACTS,
    platform=_FACTS,
    variables=st.dictionaries(
        st.sampled_from(sorted(__import__("envlock.variables").variables.VARIABLES)),
        st.none() | _TEXT,
        max_size=4,
    ),
)
def test_what_capture_writes_reads_back(
    tmp_path: Path, dists: list[dict[str, Any]], python: Any, platform: Any, variables: Any
) -> None:
    from envlock.snapshot import from_payload

    payload = {
        "distributions": dists,
        "python": {**python, "method": "probe"},
        "platform": {**platform, "method": "probe"},
        "variables": variables,
    }
    env = from_payload(payload, tmp_path, "probe")
    lock = Lockfile(environments={"linux-64": env})
    for fmt in ("yaml", "toml"):
        assert Lockfile.from_dict(lockfile.parse(lockfile.dumps(lock, fmt), fmt)) == lock


def test_a_version_of_more_digits_than_int_reads_is_no_internal_error(tmp_path: Path) -> None:
    """foreign.detect read a conda-lock's or an old pixi.lock's ``version:`` with int(), which
    refuses more than 4,300 digits: ValueError, 'internal error' (exit 3) from ``show``,
    ``diff -`` and ``verify --against`` given any broken file with such a line."""
    from support import envlock

    text = "package:\nversion: " + "9" * 5000 + "\n"
    assert foreign.detect(text) == "pixi"
    assert foreign.detect(text.replace("9" * 5000, "0" * 5000 + "1")) == "conda-lock"
    (tmp_path / "envlock.yaml").write_text(text, encoding="utf-8")
    for args, data in ((("show",), None), (("show", "-"), text)):
        done = envlock(*args, cwd=tmp_path, input=data)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "another tool's lockfile (pixi.lock)" in done.stderr
