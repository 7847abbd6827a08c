"""Reading and writing lockfiles: round trips, determinism, atomic writes, bad input."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from support import envlock, host_env, validate

from envlock import api, lockfile
from envlock.errors import LockfileError, UsageError, WriteError
from envlock.model import (
    Environment,
    Lockfile,
    Package,
    Platform,
    Python,
    Source,
    Variables,
)


def sample() -> Lockfile:
    env = Environment(
        captured_at="2024-01-01T00:00:00Z",
        kind="venv",
        python=Python("cpython", "3.11.7", "cpython-311-x86_64-linux-gnu", False, "linux-x86_64"),
        platform=Platform(
            os="linux",
            machine="x86_64",
            libc="glibc",
            libc_version="2.36",
            cpu_level="x86-64-v3",
            cpu_flags=("avx", "avx2"),
        ),
        variables=Variables(set={"OMP_NUM_THREADS": "4"}, unset=("MKL_CBWR",)),
        packages=(
            Package("numpy", "1.26.4", "pip", True, Source("index")),
            Package("proj", "0.1", "pip", True, Source("directory", path=".", editable=True)),
            Package(
                "lib",
                "2.0",
                "pip",
                False,
                Source("vcs", url="https://github.com/o/lib.git", vcs="git", commit="ab" * 20),
            ),
            Package(
                "arch",
                "1.0",
                "uv",
                True,
                Source("archive", url="https://h/a.whl", hash="sha256=00ff"),
            ),
            Package("legacy", "0.9"),
        ),
    )
    return Lockfile(environments={"linux-64": env, "other": env})


@pytest.mark.parametrize("name", ["envlock.yaml", "envlock.toml"])
def test_round_trip_and_schema(tmp_path: Path, name: str, yaml_loader: str) -> None:
    path = tmp_path / name
    lockfile.dump(sample(), path)
    validate(path)
    assert lockfile.load(path) == sample()


@pytest.mark.parametrize("name", ["envlock.yaml", "envlock.toml"])
def test_write_read_write_is_byte_identical(tmp_path: Path, name: str, yaml_loader: str) -> None:
    first, second = tmp_path / "a" / name, tmp_path / "b" / name
    first.parent.mkdir()
    second.parent.mkdir()
    lockfile.dump(sample(), first)
    lockfile.dump(lockfile.load(first), second)
    assert second.read_bytes() == first.read_bytes()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_a_lockfile_saved_with_a_byte_order_mark_reads_the_same(
    tmp_path: Path, encoding: str, yaml_loader: str
) -> None:
    """As pip reads a requirements file: an editor (or PowerShell 5's ``>``) may save one so."""
    for name in ("envlock.yaml", "envlock.toml"):
        path = tmp_path / name
        lockfile.dump(sample(), path)
        text = path.read_text(encoding="utf-8")
        path.write_bytes(
            text.encode(encoding)
            if encoding != "utf-16-be"
            else b"\xfe\xff" + text.encode(encoding)
        )
        assert lockfile.load(path) == sample()


def test_each_yaml_loader_is_used_when_chosen(yaml_loader: str) -> None:
    import yaml

    base = yaml.SafeLoader if yaml_loader == "pure" else yaml.CSafeLoader
    assert issubclass(lockfile._strict_loader(), base)


def test_dump_is_deterministic_and_sorted(yaml_loader: str) -> None:
    text = lockfile.dumps(sample())
    assert text == lockfile.dumps(lockfile.Lockfile.from_dict(lockfile.parse(text, "yaml")))
    names = [line.split(":")[0].strip() for line in text.splitlines() if "{version:" in line]
    assert names == sorted(names[:5]) * 2
    assert "      numpy: {version: 1.26.4, installer: pip, requested: true, source: index}" in text


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "envlock.yaml"
    path.write_text("old contents\n")

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(WriteError, match="No space left"):
        lockfile.dump(sample(), path)
    assert path.read_text() == "old contents\n"
    assert os.listdir(tmp_path) == ["envlock.yaml"]  # no temporary file left behind


def test_write_keeps_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "envlock.yaml"
    path.write_text("")
    path.chmod(0o640)
    lockfile.dump(sample(), path)
    assert path.stat().st_mode & 0o777 == 0o640


BAD = {
    "not-yaml.yaml": ("version: [1\n", "not valid YAML at line"),
    "not-toml.toml": ("version = \n", "not valid TOML"),
    "list.yaml": ("- 1\n- 2\n", "top level: expected a mapping, got list"),
    "scalar.yaml": ("hello\n", "top level: expected a mapping, got string"),
    "empty.yaml": ("", "top level: expected a mapping"),
    "no-version.yaml": ("environments: {}\n", "no 'version' key"),
    "newer.yaml": ("version: 2\nenvironments: {}\n", "format version 2 is newer"),
    "bad-version.yaml": ("version: one\n", "version: expected integer, got string"),
    "bad-package.yaml": (
        "version: 1\nenvironments:\n  a:\n    method: probe\n    packages:\n"
        "      numpy: {version: [1]}\n",
        "environments.a.packages.numpy.version: expected string, got list",
    ),
    "bad-source.yaml": (
        "version: 1\nenvironments:\n  a:\n    method: probe\n    packages:\n"
        "      numpy: {version: '1', source: ftp}\n",
        "environments.a.packages.numpy.source: must be one of",
    ),
    "alias.yaml": (
        "version: 1\nx: &a [1, 2]\ny: [*a, *a]\nenvironments: {}\n",
        "YAML aliases are not allowed",
    ),
    "binary.yaml": (b"\x80\xfe\x00".decode("latin-1"), "not UTF-8 text"),
    # a UTF-16 byte-order mark, then a lone surrogate
    "binary-utf16.yaml": (b"\xff\xfev\x00\x00\xd8".decode("latin-1"), "not UTF-16 text"),
    "duplicate-key.yaml": (
        "version: 1\nenvironments: {}\nenvironments: {a: 1}\n",
        "duplicate key 'environments'",
    ),
    "number-key.yaml": ("version: 1\n1.5: x\nenvironments: {}\n", "keys must be strings"),
    "merge-key.yaml": (
        "version: 1\nenvironments:\n  a: {method: probe, packages: {}, <<: {kind: venv}}\n",
        "merge keys",
    ),
    "unknown-key.yaml": (
        "version: 1\nenvironments:\n  a: {method: probe, packages: {}, pakages: {}}\n",
        "environments.a.pakages: unknown key",
    ),
    "null-value.yaml": (
        "version: 1\nenvironments:\n  a: {method: probe, kind: , packages: {}}\n",
        "environments.a.kind: null",
    ),
    "bad-name.yaml": (
        "version: 1\nenvironments:\n  a: {method: probe, packages: {Six: {version: '1'}}}\n",
        "environments.a.packages.Six: not a normalized package name",
    ),
    "date.yaml": ("version: 1\nenvironments:\n  a: {captured_at: 2024-01-01}\n", "a timestamp"),
    "binary-tag.yaml": ("version: 1\nx: !!binary aGk=\nenvironments: {}\n", "a binary value"),
    "two-documents.yaml": ("version: 1\n---\nversion: 1\n", "not valid YAML"),
    "deep.yaml": ("version: " + "[" * 10000 + "]" * 10000 + "\n", "nested more than 64"),
    "float-version.yaml": (
        "version: 1\nenvironments:\n  a:\n    method: probe\n    packages:\n"
        "      numpy: {version: 3.10}\n",
        "a number where a string belongs",
    ),
    "octal-version.yaml": (
        "version: 1\nenvironments:\n  a:\n    method: probe\n    packages:\n"
        "      six: {version: 010}\n",
        "six.version: a number where a string belongs",
    ),
    "long-integer.yaml": ("version: 1\nenvironments: {}\nx: " + "9" * 5000 + "\n", "too long"),
    "huge-hex.yaml": ("version: 1\nenvironments: {}\nx: 0x" + "f" * 20000 + "\n", "too large"),
    "long-value.yaml": ("version: 1\nenvironments: {}\nx: " + "/t/x" * 20000 + "\n", "65,536"),
    "long-key.toml": ('version = 1\n"' + "k" * 70000 + '" = 1\n', "65,536"),
    "deep-toml.toml": ("x = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML"),
    # PyYAML's C loader crashed (SIGSEGV) on this 60 kB file: compact block nesting
    "deep-block.yaml": ("- " * 30000 + "v\n", "YAML nested more than 64 levels deep"),
    "deep-indented.yaml": (
        "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v\n",
        "YAML nested more than 64 levels deep",
    ),
    "nested-toml.toml": ("x = " + "[" * 70 + "]" * 70 + "\n", "nested more than 64 levels deep"),
    # tomllib's memory grows with the square of a dotted key's length (3 GB for this 60 kB)
    "long-dotted-key.toml": ("a" + ".a" * 30000 + " = 1\n", "a key of more than 64 dotted parts"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_lockfile_is_one_line_exit_2(tmp_path: Path, name: str, yaml_loader: str) -> None:
    content, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1" if name.startswith("binary") else "utf-8"))
    with pytest.raises(LockfileError, match=message):
        lockfile.load(path)
    done = envlock("verify", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith(f"envlock: error: {name}: "), done.stderr
    assert message in lines[-1]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("yaml", "x: [" + "1, " * 200 + "1]\n"),  # refused from the parser's events
        ("yaml", "".join(f"k{i}:\n- 1\n" for i in range(60))),
        ("toml", "x = [" + "1, " * 120 + "1]\n"),  # refused once parsed
        ("toml", "x = [" + "1, " * 300 + "1]\n"),  # refused unread
    ],
)
def test_more_values_than_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch, yaml_loader: str, fmt: str, text: str
) -> None:
    monkeypatch.setattr(lockfile, "MAX_NODES", 100)
    with pytest.raises(LockfileError, match=r"^more than 100 values: too large for a lockfile$"):
        lockfile.parse(text, fmt)


def test_nesting_up_to_the_limit_is_read(yaml_loader: str) -> None:
    block = "".join("  " * i + f"k{i}:\n" for i in range(63)) + "  " * 63 + "v\n"
    data = lockfile.parse(block, "yaml")
    for i in range(63):
        data = data[f"k{i}"]
    assert data == "v"
    assert lockfile.parse("a" + ".a" * 62 + " = 1\n", "toml")["a"]["a"]["a"]


def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path: Path) -> None:
    """A FIFO (or a link to one) committed as a lockfile would block a reader for ever."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    link = tmp_path / "envlock.yaml"
    link.symlink_to(fifo)
    (tmp_path / "dir.yaml").mkdir()
    for name in ("fifo.yaml", "envlock.yaml", "dir.yaml"):
        done = envlock("verify", name, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.strip().endswith(
            f"envlock: error: {name}: not a regular file"
        ), done.stderr
    done = envlock("verify", "--against", "fifo.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "not a regular file" in done.stderr


def test_an_error_line_is_bounded(tmp_path: Path) -> None:
    """50,000 environment names, listed in 'no environment ...; it has: ...', stay one
    readable line; and the message names the file."""
    envs = "".join(f"  e{i}: {{method: probe, packages: {{}}}}\n" for i in range(50_000))
    (tmp_path / "envlock.yaml").write_text(f"version: 1\nenvironments:\n{envs}")
    done = envlock("verify", "--env", "nope", "envlock.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("envlock: error: envlock.yaml: no environment 'nope'"), last[:200]
    assert len(last) < 1100 and last.endswith("more characters)"), last[-100:]


def test_missing_lockfile_says_how_to_create_it(tmp_path: Path) -> None:
    done = envlock("verify", cwd=tmp_path)
    assert done.returncode == 2
    assert "envlock.yaml: no such lockfile (create it with `envlock capture`)" in done.stderr


def test_traceback_only_with_verbose(tmp_path: Path) -> None:
    (tmp_path / "envlock.yaml").write_text("- 1\n")
    done = envlock("verify", "-v", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" in done.stderr


def test_capture_refuses_to_overwrite_an_invalid_lockfile(tmp_path: Path) -> None:
    path = tmp_path / "envlock.yaml"
    path.write_text("version: 7\nenvironments: {}\n")
    done = envlock("capture", "--prefix", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert path.read_text() == "version: 7\nenvironments: {}\n"


@pytest.mark.parametrize("name", ["my env", "-x", ".hidden", "a/b", "", "\u202eevil"])
def test_capture_refuses_a_name_the_format_does_not_allow(tmp_path: Path, name: str) -> None:
    """It would be written, then refused by every later read: refused first, nothing written."""
    done = envlock("capture", "--prefix", str(tmp_path), f"--name={name}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith(
        "use letters, digits, '.', '_' and '-', starting with a letter or digit\n"
    ), done.stderr
    assert "\u202e" not in done.stderr
    assert not (tmp_path / "envlock.yaml").exists()
    with pytest.raises(UsageError, match="environment name"):
        api.record(Lockfile(), name, sample().environments["other"])


def test_parsed_lockfile_cache_holds_the_bytes_it_was_parsed_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are named by a CRC-32, which a lockfile from a pull request could be made to
    share with another: an entry only counts for the very bytes it holds."""
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", str(tmp_path / "cache"))
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    lockfile.dump(sample(), first)
    other = Lockfile({"third": sample().environments["other"]})
    lockfile.dump(other, second)
    assert lockfile.load(first) == sample()  # parsed, then cached
    entries = list((tmp_path / "cache" / "lockfiles").glob("*.entry"))
    assert len(entries) == 1
    assert lockfile.load(first) == sample()  # from the cache
    # the second file's entry name, holding the first file's parse: ignored, parsed afresh
    assert lockfile.load(second) == other
    (second_entry,) = set((tmp_path / "cache" / "lockfiles").glob("*.entry")) - set(entries)
    second_entry.write_bytes(entries[0].read_bytes())
    assert lockfile.load(second) == other
    assert lockfile.load(first) == sample()


def _entry_parts(entry: Path, raw: bytes) -> tuple[bytes, bytes]:
    """A parsed-lockfile cache entry: its key (a header line, then the lockfile's bytes), and
    the parsed data (JSON)."""
    stored = entry.read_bytes()
    end = stored.index(b"\n") + 1 + len(raw)
    return stored[:end], stored[end:]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="gives a file to another user"
)
def test_parsed_lockfile_cache_reads_only_this_users_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache folder shared by a team: an entry another user wrote for the same bytes, with
    other data, must not stand for the lockfile (it would make `verify` compare against a
    lockfile no one wrote, even with --no-cache)."""
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", str(tmp_path / "cache"))
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    lockfile.dump(sample(), first)
    other = Lockfile({"third": sample().environments["other"]})
    lockfile.dump(other, second)
    assert lockfile.load(first) == sample()
    (first_entry,) = (tmp_path / "cache" / "lockfiles").glob("*.entry")
    assert lockfile.load(second) == other
    (second_entry,) = set(first_entry.parent.glob("*.entry")) - {first_entry}
    key, _ = _entry_parts(first_entry, first.read_bytes())
    _, other_data = _entry_parts(second_entry, second.read_bytes())
    first_entry.unlink()
    first_entry.write_bytes(key + other_data)
    os.chown(first_entry, 65534, 65534)
    assert lockfile.load(first) == sample()


def test_parsed_lockfile_cache_writes_no_entry_through_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link planted at an entry's temporary name (in a cache folder others can write to)
    must not make envlock overwrite the file it points to."""
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", str(tmp_path / "cache"))
    first = tmp_path / "first.yaml"
    lockfile.dump(sample(), first)
    assert lockfile.load(first) == sample()
    (entry,) = (tmp_path / "cache" / "lockfiles").glob("*.entry")
    entry.unlink()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (entry.parent / f".{entry.name}.{os.getpid()}.tmp").symlink_to(victim)
    assert lockfile.load(first) == sample()
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
def test_unicode_line_breaks_in_a_value_read_back(
    tmp_path: Path, yaml_loader: str, char: str
) -> None:
    """PyYAML writes them raw in a single-quoted string, where they fold into a space."""
    env = sample().environments["other"]
    odd = Package(name="odd", version=f"1.0{char}x", installer=f"pip{char}")
    lock = Lockfile({"e": replace(env, packages=(*env.packages, odd))})
    for name in ("envlock.yaml", "envlock.toml"):
        lockfile.dump(lock, tmp_path / name)
        assert lockfile.load(tmp_path / name) == lock


def test_a_lockfile_git_left_in_conflict_is_named_as_such(tmp_path: Path) -> None:
    """Two branches capture different thread settings; git's merge stops with both sides in
    the file. verify, diff and capture say so (not 'not valid YAML at line 8'), and capture
    leaves the file as git left it."""
    from factory import CommandError, _git

    def capture(threads: str) -> None:
        env = host_env(OMP_NUM_THREADS=threads, SOURCE_DATE_EPOCH="1700000000")
        assert envlock("capture", "--no-runtime", cwd=tmp_path, env=env).returncode == 0
        _git(tmp_path, "add", "envlock.yaml")
        _git(tmp_path, "commit", "-q", "-m", f"OMP_NUM_THREADS={threads}")

    _git(tmp_path, "init", "-q")
    capture("1")  # (the first commit adds the file)
    _git(tmp_path, "checkout", "-q", "-b", "laptop")
    capture("4")
    _git(tmp_path, "checkout", "-q", "main")
    capture("2")
    with pytest.raises(CommandError):
        _git(tmp_path, "merge", "-q", "laptop")
    conflicted = (tmp_path / "envlock.yaml").read_text()
    lines = conflicted.splitlines()
    markers = [n for n, line in enumerate(lines, 1) if line[:7] in ("<" * 7, "=" * 7, ">" * 7)]
    assert len(markers) == 3, conflicted
    message = (
        "envlock: error: envlock.yaml: unresolved merge conflict: git's markers at lines "
        f"{markers[0]}, {markers[1]} and {markers[2]}: resolve it, or keep one side and "
        "re-run `envlock capture`"
    )
    for args in (("verify",), ("diff", "envlock.yaml"), ("capture", "--no-runtime")):
        done = envlock(*args, cwd=tmp_path, env=host_env())
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines()[-1] == message
    assert (tmp_path / "envlock.yaml").read_text() == conflicted
    _git(tmp_path, "checkout", "--theirs", "envlock.yaml")  # what the message says to do
    assert envlock("verify", cwd=tmp_path, env=host_env(OMP_NUM_THREADS="4")).returncode == 0


def test_a_foreign_file_left_in_conflict_is_refused_before_the_probe(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "numpy==1.26.4\n<<<<<<< HEAD\nscipy==1.11.4\n||||||| base\nscipy==1.11.3\n"
        "=======\nscipy==1.12.0\n>>>>>>> laptop\n"
    )
    done = envlock("verify", "--against", "requirements.txt", "--python", "/nonexistent",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "envlock: error: requirements.txt: unresolved merge conflict: git's markers at lines "
        "2, 6 and 8"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a: |\n  =======\n  text\n",  # a line of '=' in a value, no conflict around it
        "a: 1\n=======\n",
        "# <<<<<<< not at a line's start\n=======\n>>>>>>> x\n",
        "<<<<<<<< eight\n=======\n>>>>>>> x\n",
        ">>>>>>> x\n=======\n<<<<<<< HEAD\n",  # out of order
    ],
)
def test_what_only_looks_like_a_conflict_is_left_to_the_parser(text: str) -> None:
    lockfile.refuse_merge_conflict(text)  # does not raise


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (lockfile.dumps(sample(), "toml"), "toml"),
        (lockfile.dumps(sample(), "yaml"), "yaml"),
        ('\n# a comment\n"version" = 1\n', "toml"),
        ("[environments.ci]\nkind = 'venv'\n", "toml"),
        ("version: 1\nnote: a = b\n", "yaml"),
        ("note: 'x = 1'\n", "yaml"),
        ("", "yaml"),
    ],
)
def test_the_format_of_a_lockfile_on_stdin_is_read_from_its_first_key(text: str, fmt: str) -> None:
    """Standard input has no file name: TOML when the first line that is not blank or a
    comment is TOML's ``key =`` or ``[table]``, YAML otherwise."""
    assert lockfile.sniff_format(text) == fmt
