"""Hostile lockfiles (issue 7): every value printed from a lockfile (versions, URLs, commits,
the hints built from them, platform and variable values) is made safe by every reporter and
by ``envlock show``. Real lockfiles on disk, through the command-line tool, every
``--format``. (Names are not free text: the parser refuses a package or environment name
outside the schema's patterns, and an error message that quotes one escapes it.)

The tool's output is read as bytes, not text: text mode would turn a raw ``\\r`` into a line
break before the test could see it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from support import host_env
from test_reporters import RESULTS, table_rows

from envlock import lockfile
from envlock.commands import REPORTERS
from envlock.escape import printable, well_formed
from envlock.model import Environment, Lockfile, Platform, Python
from envlock.report import github, jsonfmt, junit, markdown, summary, text

# What no output may carry raw: C0 (but the line feed that ends each line), DEL, C1, the line
# and paragraph separators, bidirectional controls, surrogates.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
GITHUB_LINE = re.compile(r"::(error|warning|notice) file=[^:,\n]*,title=[^:,\n]*::[^\n]*")


def evil(tag: str) -> str:
    """A value that tries everything: clear the screen, set the window title, recolour, hide a
    link (OSC 8), forge a workflow command on a new line, overwrite the line, reverse the
    text, inject HTML and break a table; and the 8-bit CSI, DEL, NEL, NUL and the Unicode line
    separator. (Its brackets balance: the YAML reader refuses ``[`` nested 64 deep, and counts
    the brackets inside strings too.)"""
    return (
        f"{tag}\x1b[2J\x1b]0;title\x07\x1b[31mred\x1b]8;;https://evil\x07link\x1b]8;;\x07"
        f"\n::error::forged-{tag}\r::warning::overwritten-{tag}\u202e{tag}\u202c\u2066x\u2069"
        f"<script>alert('{tag}')</script>|pipe|\x9b1m\x7f\x85\u2028\x00end"
    )


def hostile_data(host_lockfile: Path, env_name: str = "hostile") -> dict[str, object]:
    """The host's own lockfile, with hostile values wherever the model accepts free text."""
    data = lockfile.parse(host_lockfile.read_text(encoding="utf-8"), "yaml")
    ((_, env),) = data["environments"].items()
    packages = env["packages"]
    assert "pytest" in packages
    packages["pytest"]["version"] = evil("pytest-version")
    packages["hostile-name"] = {"version": evil("version"), "installer": evil("installer")}
    packages["hostile-archive"] = {
        "version": "1",
        "source": "archive",
        "url": "https://example.org/" + evil("url"),
    }
    packages["hostile-vcs"] = {
        "version": "1",
        "source": "vcs",
        "vcs": "git",
        "url": evil("vcs-url"),
        "commit": evil("commit"),
    }
    env["python"]["implementation"] = evil("implementation")
    env["platform"]["distro"] = evil("distro")
    env["platform"]["kernel"] = evil("kernel")
    env["python"]["abi"] = evil("abi")
    env["platform"]["libc_version"] = evil("libc")
    env["variables"] = {"set": {"OMP_NUM_THREADS": evil("omp")}, "unset": []}
    env["blas"] = {"method": "static", "libraries": [], "hints": [{"vendor": evil("blas-vendor")}]}
    data["environments"] = {env_name: env}
    return data


def write(data: dict[str, object], path: Path) -> Path:
    lockfile.dump(Lockfile.from_dict(data), path)
    return path


def run(*args: str, cwd: Path, **extra: str) -> tuple[int, str, str]:
    """``python -m envlock ARGS``: exit status, stdout and stderr, decoded strictly as UTF-8."""
    done = subprocess.run(
        [sys.executable, "-m", "envlock", *args],
        cwd=cwd,
        env=host_env(**extra),
        capture_output=True,
        timeout=120,
    )
    return done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")


def assert_safe(output: str, fmt: str, where: str) -> None:
    """No raw unsafe character, and no line a value could have started."""
    found = UNSAFE.search(output)
    assert found is None, f"{where}: raw {found.group()!a}: {output[found.start() - 40 :]!a}"
    for line in output.split("\n"):
        if fmt == "github" and line:
            assert GITHUB_LINE.fullmatch(line), f"{where}: {line!a}"
        else:
            assert not line.lstrip().startswith(("::", "##[")), f"{where}: {line!a}"


def assert_shape(output: str, fmt: str) -> None:
    """What each format promises beyond that: one well-formed document, tables intact."""
    if fmt == "json":
        assert output.isascii()
        report = json.loads(output)
        subjects = {f["subject"] for f in report["findings"]}
        assert "hostile-name" in subjects
        expected = {f["expected"] for f in report["findings"]}
        assert evil("version") in expected  # JSON carries the value itself, escaped by JSON
        assert report["environment"] == "hostile"
    elif fmt == "junit":
        root = ET.fromstring(output.encode("utf-8"))
        for element in [*root.iter("failure"), *root.iter("system-out")]:
            keys = [line.split(": ", 1)[0] for line in (element.text or "").split("\n")]
            assert keys == ["expected", "actual", "severity", "fix"]
        names = {case.get("name") for case in root.iter("testcase")}
        assert "hostile-name" in names
    elif fmt == "markdown":
        assert "<script>" not in output and "</script>" not in output
        rows = table_rows(output)
        assert rows and all(len(row) == 5 for row in rows)
    elif fmt == "text":
        assert f"  error   hostile-name: {printable(evil('version'))}" in output
        assert "\\x1b[2J" in output and "\\n::error::forged-version" in output
    elif fmt == "github":
        assert "%0A::error::forged-version" in output


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, host_lockfile: Path) -> Path:
    where = tmp_path_factory.mktemp("hostile")
    write(hostile_data(host_lockfile), where / "hostile.yaml")
    write(hostile_data(host_lockfile), where / "hostile.toml")
    return where


def test_the_hostile_lockfile_is_valid(hostile: Path) -> None:
    """The model accepts every injected value: the reporters must cope, not the reader."""
    for name in ("hostile.yaml", "hostile.toml"):
        lock = lockfile.load(hostile / name)
        ((env_name, env),) = lock.environments.items()
        assert env_name == "hostile"
        assert env.package_map()["hostile-name"].version == evil("version")
        assert lock == lockfile.load(hostile / "hostile.yaml")


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_verify_every_format(hostile: Path, fmt: str) -> None:
    summary_file = hostile / f"summary-{fmt}.md"
    code, out, err = run(
        "verify",
        "--no-runtime",
        "--format",
        fmt,
        "hostile.yaml",
        cwd=hostile,
        GITHUB_STEP_SUMMARY=str(summary_file),
    )
    assert code == 1, err
    assert_safe(out, fmt, "stdout")
    assert_safe(err, "text", "stderr")
    assert_shape(out, fmt)
    if fmt == "github":
        step_summary = summary_file.read_text(encoding="utf-8")
        assert_safe(step_summary, "markdown", "job summary")
        assert_shape(step_summary, "markdown")


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_verify_output_file(hostile: Path, fmt: str) -> None:
    """``--output FILE`` holds the report in --format, as safe as stdout."""
    report = hostile / f"report.{fmt}"
    code, out, err = run(
        "verify", "--no-runtime", "--format", fmt, "--output", str(report), "hostile.toml",
        cwd=hostile,
    )  # fmt: skip
    assert code == 1, err
    assert_safe(out, "text", "stdout")
    written = report.read_text(encoding="utf-8")
    assert_safe(written, fmt, str(report))
    assert_shape(written, fmt)


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_diff_two_hostile_lockfiles(hostile: Path, host_lockfile: Path, fmt: str) -> None:
    data = hostile_data(host_lockfile)
    ((env,),) = [list(data["environments"].values())]  # type: ignore[attr-defined]
    env["packages"]["hostile-name"]["version"] = evil("other-version")
    env["packages"]["only-in-b"] = {"version": evil("b")}
    write(data, hostile / "other.yaml")
    code, out, err = run("diff", "--format", fmt, "hostile.yaml", "other.yaml", cwd=hostile)
    assert code == 1, err
    assert_safe(out, fmt, "stdout")
    assert_safe(err, "text", "stderr")
    if fmt == "json":
        findings = {(f["subject"], f["actual"]) for f in json.loads(out)["findings"]}
        assert ("hostile-name", evil("other-version")) in findings
        assert ("only-in-b", evil("b")) in findings


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_diff_against_the_live_environment(hostile: Path, fmt: str) -> None:
    code, out, err = run("diff", "--no-runtime", "--format", fmt, "hostile.yaml", cwd=hostile)
    assert code == 1, err
    assert_safe(out, fmt, "stdout")
    assert_safe(err, "text", "stderr")
    assert_shape(out, fmt)


def test_show(hostile: Path, host_lockfile: Path) -> None:
    data = hostile_data(host_lockfile)
    data["environments"].update(hostile_data(host_lockfile, "second")["environments"])  # type: ignore[attr-defined]
    write(data, hostile / "two.yaml")
    code, out, err = run("show", "two.yaml", cwd=hostile)
    assert code == 0, err
    assert_safe(out, "text", "stdout")
    assert_safe(err, "text", "stderr")
    lines = out.split("\n")
    assert lines[0] == "two.yaml: format version 1, 2 environment(s)" and lines[-1] == ""
    shape = re.compile(
        r"|\[.*\] .*, captured .*|  (python|platform|channels|packages|blas|cuda|variables) .*"
    )
    assert all(shape.fullmatch(line) for line in lines[1:]), out
    assert "\n[hostile] " in out and "\n[second] " in out
    assert f"  python    {printable(evil('implementation'))} " in out
    assert f"  variables OMP_NUM_THREADS={printable(evil('omp'))}" in out


def test_a_hostile_lockfile_name(hostile: Path, tmp_path: Path) -> None:
    """The lockfile's own name is a value too (a file in a pull request)."""
    name = "lock\x1b[2J\n::error::named\u202e.yaml"
    (tmp_path / name).write_bytes((hostile / "hostile.yaml").read_bytes())
    for fmt in sorted(REPORTERS):
        code, out, err = run("verify", "--no-runtime", "--format", fmt, name, cwd=tmp_path)
        assert code == 1, err
        assert_safe(out, fmt, f"stdout ({fmt})")
        assert_safe(err, "text", f"stderr ({fmt})")
    code, out, err = run("show", name, cwd=tmp_path)
    assert code == 0, err
    assert_safe(out, "text", "show")
    assert out.startswith("lock\\x1b[2J\\n::error::named\\u202e.yaml: format version 1")


def test_error_messages_are_escaped(hostile: Path, host_lockfile: Path) -> None:
    """Errors name lockfile values too: a bad package entry by its key, an ambiguous choice by
    the environments' names. One line each, with nothing raw."""
    bad = evil("bad-key")
    (hostile / "bad.yaml").write_text(
        f"version: 1\nenvironments:\n  a:\n    method: probe\n    packages:\n"
        f"      {json.dumps(bad)}: {{version: [1]}}\n",
        encoding="utf-8",
    )
    data = hostile_data(host_lockfile)
    data["environments"].update(hostile_data(host_lockfile, "second")["environments"])  # type: ignore[attr-defined]
    write(data, hostile / "ambiguous.yaml")
    for args in (("show", "bad.yaml"), ("verify", "--no-runtime", "ambiguous.yaml")):
        code, out, err = run(*args, cwd=hostile)
        assert code == 2 and out == "", err
        assert_safe(err, "text", " ".join(args))
        errors = [line for line in err.split("\n") if line.startswith("envlock: error:")]
        assert len(errors) == 1 and err.endswith(f"{errors[0]}\n"), err


# The escaper and the reporters on their own: values that cannot come from a lockfile (both
# parsers refuse a lone surrogate) but can from an environment's files (names that are not
# UTF-8 are read with surrogate escapes).


def test_printable() -> None:
    assert printable("a\x1b[31mb\x9b\x7f\x00") == "a\\x1b[31mb\\x9b\\x7f\\x00"
    assert printable("1\n2\r3\t4") == "1\\n2\\r3\\t4"
    assert (
        printable("\u202eabc\u2066\u2069\u200f\u061c") == "\\u202eabc\\u2066\\u2069\\u200f\\u061c"
    )
    assert printable("\u2028\u2029\x85\udc80\ufffe") == "\\u2028\\u2029\\x85\\udc80\\ufffe"
    assert printable("naïve 日本 é\\x1b C:\\dir") == "naïve 日本 é\\x1b C:\\dir"
    assert printable("a\r\n\x1b", keep="\r\n") == "a\r\n\\x1b"
    assert well_formed({"k\udc80": ["\udcff", 1, None, ("\x1b",)]}) == {
        "k\\udc80": ["\\udcff", 1, None, ["\x1b"]]
    }


def test_reporters_write_no_lone_surrogate() -> None:
    base = RESULTS["hostile"]()
    finding = replace(base.findings[0], subject="bad\udc80name", actual="1\udcff", hint="x\udc80")
    result = replace(base, findings=(finding,), environment="env\udc80")
    outputs = {
        "text": text.render(result, "lock\udc80.yaml", colour=True),
        "markdown": markdown.render(result, "lock\udc80.yaml"),
        "github": github.render(result, "lock\udc80.yaml"),
        "junit": junit.render(result, "lock\udc80.yaml"),
        "json": jsonfmt.render(result, "lock\udc80.yaml"),
    }
    for fmt, output in outputs.items():
        output.encode("utf-8")  # a lone surrogate cannot be written to a UTF-8 stream
        assert "\\udc80" in output, fmt
    assert (
        "\\\\udc80" in outputs["json"]
        and "\\udc80name" in json.loads(outputs["json"])["findings"][0]["subject"]
    )
    lock = Lockfile(environments={"e\udc80": Environment(python=Python(), platform=Platform())})
    assert "[e\\udc80]" in summary.render(lock, "x.yaml")


def test_colour_codes_are_envlocks_own() -> None:
    """With colour on, the only escape sequences are the ones the text reporter adds."""
    result = RESULTS["hostile"]()
    result = replace(result, findings=(replace(result.findings[0], subject=evil("s")),))
    out = text.render(result, evil("lock"), colour=True)
    own = {"\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[0m"}
    assert set(re.findall("\x1b\\[[0-9;]*m", out)) <= own
    assert UNSAFE.search(re.sub("\x1b\\[[0-9;]*m", "", out)) is None
