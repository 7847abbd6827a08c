"""The CI reporters (JUnit XML, GitHub workflow commands, Markdown) and the JSON report's
schema, on results with real drift from the pure API."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from test_compare import BASE

from envlock import api
from envlock.condamodel import CondaPackage, CondaSection
from envlock.findings import CATEGORIES, SEVERITIES
from envlock.model import Environment, Lockfile, Package, Source, Variables
from envlock.report import github, jsonfmt, junit, markdown

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas/report.schema.json").read_text())
CONDA = CondaSection(
    packages=(
        CondaPackage("libfoo", "2.0", "h1_0", channel="conda-forge"),
        CondaPackage("zlib", "1.3", "h2_0", channel="conda-forge"),
    )
)


def verify(live: Environment, expected: Environment = BASE) -> api.Result:
    return api.verify(Lockfile(environments={"linux-64": expected}), live=live)


def drift() -> api.Result:
    """Errors (python minor, version, variable), a warning (extra) and info (kernel)."""
    return verify(
        replace(
            BASE,
            python=replace(BASE.python, version="3.12.1"),
            platform=replace(BASE.platform, kernel="6.8"),
            variables=Variables(set={}, unset=("MKL_CBWR", "OMP_NUM_THREADS")),
            packages=(
                *[p for p in BASE.packages if p.name != "numpy"],
                Package("numpy", "2.0.0", "pip", True, Source("index")),
                Package("extra", "0.1", "pip", False, Source("index")),
            ),
        )
    )


def warnings_only() -> api.Result:
    live = replace(BASE, platform=replace(BASE.platform, cpu_level="x86-64-v4"), variables=None)
    return verify(replace(live, warnings=("conda-meta/broken.json: invalid JSON",), complete=False))


def conda_drift() -> api.Result:
    expected = replace(BASE, conda=CONDA)
    live_conda = replace(CONDA, packages=(CONDA.packages[0], replace(CONDA.packages[1], build="x")))
    return verify(replace(BASE, conda=live_conda), expected)


def hostile() -> api.Result:
    """Names, versions and hints that try to inject workflow commands and break tables."""
    evil = (
        Package("evil\n::error::pwned", "1.0\r\n::add-mask::1.0", "pip"),
        Package("pct%0A::warning::x", "1|`2`|3", "pip"),
        Package("pipe|name`tick`", "a\\|b", "pip"),
    )
    return verify(replace(BASE, packages=(*BASE.packages, *evil)))


def clean() -> api.Result:
    return verify(BASE)


RESULTS: dict[str, Callable[[], api.Result]] = {
    "drift": drift,
    "warnings": warnings_only,
    "conda": conda_drift,
    "hostile": hostile,
    "clean": clean,
}


# JUnit


def junit_root(result: api.Result) -> ET.Element:
    text = junit.render(result, "envlock.yaml")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode())


def check_junit_structure(root: ET.Element) -> None:
    """What the JUnit XSD (Jenkins' junit-10.xsd, which GitLab and Azure read too) asks."""
    assert root.tag == "testsuites"
    suites = list(root)
    assert [s.tag for s in suites] == ["testsuite"]
    suite = suites[0]
    for key in ("name", "tests", "failures", "errors", "skipped", "time"):
        assert key in suite.attrib, key
    assert "timestamp" not in suite.attrib
    children = list(suite)
    assert children[0].tag == "properties"
    assert {p.tag for p in children[0]} <= {"property"}
    for p in children[0]:
        assert set(p.attrib) == {"name", "value"}
    if children[-1].tag == "system-err":  # the XSD's order: properties, testcase*, system-err
        assert not list(children.pop())
    cases = children[1:]
    assert cases and all(c.tag == "testcase" for c in cases)
    for case in cases:
        assert {"name", "classname"} <= set(case.attrib)
        assert case.get("classname", "").startswith("envlock.linux-64.")
        tags = [c.tag for c in case]
        assert set(tags) <= {"failure", "skipped", "system-out"} and len(tags) <= 1
        for child in case:
            assert not list(child)  # failure, skipped and system-out hold text only
    assert int(suite.get("tests", "")) == len(cases)
    assert int(suite.get("failures", "")) == len(suite.findall("testcase/failure"))
    assert int(suite.get("skipped", "")) == len(suite.findall("testcase/skipped"))
    assert suite.get("errors") == "0"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")
    }


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_junit_is_well_formed_and_deterministic(name: str) -> None:
    result = RESULTS[name]()
    check_junit_structure(junit_root(result))
    assert junit.render(result, "envlock.yaml") == junit.render(RESULTS[name](), "envlock.yaml")


def test_junit_counts_failures_and_matched_packages() -> None:
    result = drift()
    errors = [f for f in result.findings if f.severity == "error"]
    suite = junit_root(result)[0]
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    # One case per finding, plus lib (locked, installed, matching); python, platform and
    # variables have findings, so they are their own cases.
    assert len(cases) == len(result.findings) + 1
    assert ("envlock.linux-64.packages", "lib") in cases
    assert suite.get("failures") == str(len(errors)) == "3"
    numpy = cases[("envlock.linux-64.version", "numpy")].find("failure")
    assert numpy is not None and numpy.get("type") == "version"
    assert numpy.get("message") == "numpy: 1.26.4 -> 2.0.0"
    assert "expected: 1.26.4\nactual: 2.0.0" in (numpy.text or "")
    assert "fix: pip install 'numpy==1.26.4'" in (numpy.text or "")
    extra = cases[("envlock.linux-64.extra", "extra")]
    assert extra.find("failure") is None and extra.find("skipped") is None
    assert "severity: warning" in (extra.findtext("system-out") or "")


def test_junit_clean_conda_and_unknown_variables() -> None:
    clean = junit_root(verify(BASE))[0]
    assert clean.get("tests") == "5" and clean.get("failures") == "0"
    assert [c.get("name") for c in clean.iter("testcase")] == [
        "lib", "numpy", "platform", "python", "variables",
    ]  # fmt: skip
    conda = junit_root(conda_drift())[0]
    names = {c.get("name"): c for c in conda.iter("testcase")}
    assert "conda:libfoo" in names and names["conda:zlib"].find("failure") is not None
    assert conda.get("failures") == "1"
    unknown = junit_root(warnings_only())[0]
    assert unknown.get("skipped") == "1" and unknown.get("failures") == "0"
    assert unknown.findtext("system-err") == (
        "the environment could not be fully read (1 problem); what could not be read was not"
        " compared:\n- conda-meta/broken.json: invalid JSON"
    )
    assert clean.find("system-err") is None


def test_junit_escapes_markup_and_control_characters() -> None:
    result = replace(hostile(), environment="a&b")
    subject = "<x a='1'>&\x00\x1b]]>"
    nasty = replace(result.findings[0], subject=subject, severity="error", hint="</failure>")
    text = junit.render(replace(result, findings=(nasty,)), 'lock "1".yaml')
    suite = ET.fromstring(text.encode())[0]
    failure = suite.find("testcase/failure")
    assert failure is not None and (failure.text or "").endswith("fix: </failure>")
    names = [c.get("name") for c in suite.iter("testcase")]
    assert "<x a='1'>&\\x00\\x1b]]>" in names
    assert {p.get("name"): p.get("value") for p in suite.iter("property")} == {
        "lockfile": 'lock "1".yaml',
        "environment": "a&b",
    }


class Strict(api.Result):
    """A result whose rule fails on any finding, as ``fail-on = "info"`` does."""

    @property
    def ok(self) -> bool:
        return not self.findings


def test_failures_follow_the_results_rule_not_only_severity() -> None:
    r = drift()
    strict = Strict(r.environment, r.findings, r.live, r.expected)
    suite = junit_root(strict)[0]
    assert suite.get("failures") == str(len(strict.findings)) == "5"
    lines = github.render(strict, "envlock.yaml").splitlines()
    assert all(line.startswith("::error ") for line in lines) and len(lines) == 5


# GitHub workflow commands


def test_github_one_line_per_finding() -> None:
    result = drift()
    lines = github.render(result, "envlock.yaml").splitlines()
    assert len(lines) == len(result.findings)
    numpy = next(line for line in lines if "numpy" in line)
    assert numpy == (
        "::error file=envlock.yaml,title=envlock version::numpy: 1.26.4 -> 2.0.0 [linux-64]; "
        "fix: pip install 'numpy==1.26.4', or re-run `envlock capture` if this change is intended"
    )
    kinds = sorted(line.split(" ", 1)[0] for line in lines)
    assert kinds == ["::error"] * 3 + ["::notice", "::warning"]
    assert github.render(verify(BASE), "envlock.yaml") == ""


def runner_unescape(text: str) -> str:
    """What the Actions runner does to a command's values (ActionCommand.Unescape)."""
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, char)
    return text


def test_github_cannot_be_injected() -> None:
    result = hostile()
    lockfile = "dir:x,y/env%lock.yaml"
    out = github.render(result, lockfile)
    assert out.endswith("\n") and "\r" not in out
    lines = out[:-1].split("\n")
    assert len(lines) == len(result.findings) == 3
    for line, finding in zip(lines, result.findings):
        # The runner reads a command up to the first "::" after the leading one.
        assert line.startswith("::")
        command, data = line[2:].split("::", 1)
        kind, props = command.split(" ", 1)
        assert kind == "warning"
        values = dict(p.split("=", 1) for p in props.split(","))
        assert {k: runner_unescape(v) for k, v in values.items()} == {
            "file": lockfile,
            "title": "envlock extra",
        }
        assert runner_unescape(data) == (
            f"{finding.subject}: (absent) -> {finding.actual} [linux-64]; fix: {finding.hint}"
        )
    assert "evil%0A::error::pwned" in out
    assert "pct%250A::warning::x" in out  # an encoded newline stays text, never decoded
    assert "1.0%0D%0A::add-mask::1.0" in out


def test_github_escaping_matches_the_toolkit() -> None:
    assert github.escape_data("50%\r\n:,") == "50%25%0D%0A:,"
    assert github.escape_property("50%\r\n:,") == "50%25%0D%0A%3A%2C"
    incomplete = github.render(warnings_only(), "envlock.yaml").splitlines()
    assert incomplete[-1] == (
        "::warning file=envlock.yaml,title=envlock could not read::"
        "conda-meta/broken.json: invalid JSON"
    )


def test_github_summary_is_the_markdown_report() -> None:
    assert github.summary(drift(), "envlock.yaml") == markdown.render(drift(), "envlock.yaml")


# Markdown


def table_rows(text: str) -> list[list[str]]:
    """Rows of every table, split on unescaped pipes as GFM does."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells, cell, i = [], "", 1
            while i < len(line):
                if line[i] == "\\" and i + 1 < len(line):
                    cell, i = cell + line[i : i + 2], i + 2
                    continue
                if line[i] == "|":
                    cells.append(cell.strip())
                    cell = ""
                else:
                    cell += line[i]
                i += 1
            rows.append(cells)
    return rows


def test_markdown_report() -> None:
    text = markdown.render(drift(), "envlock.yaml")
    assert text.startswith("## envlock: drift\n\nenvlock.yaml \\[linux-64\\]: 3 packages checked;")
    assert "3 errors, 1 warning, 1 info." in text
    assert "### Version changes (1)" in text and "### Extra packages (1)" in text
    assert text.index("### Python") < text.index("### Version changes")
    assert "| numpy | 1.26.4 | 2.0.0 | error | pip install 'numpy==1.26.4', or re-run " in text
    assert "| MKL\\_CBWR | AUTO | (unset) | error |" in text
    assert "| extra | (absent) | 0.1 | warning |" in text
    assert "could not be fully read" not in text
    assert markdown.render(verify(BASE), "x.yaml").startswith("## envlock: matches\n")
    warned = markdown.render(warnings_only(), "envlock.yaml")
    assert warned.startswith("## envlock: matches, with warnings\n")
    assert "could not be fully read (1 problem)" in warned
    assert "- conda-meta/broken.json: invalid JSON" in warned


def test_markdown_pipes_and_backticks_never_break_the_table() -> None:
    text = markdown.render(hostile(), "envlock.yaml")
    rows = table_rows(text)
    assert rows[0] == ["subject", "expected", "actual", "severity", "fix"]
    assert all(len(row) == 5 for row in rows)
    assert len(rows) == 2 + 3
    assert "| pipe\\|name\\`tick\\` | (absent) | a\\\\\\|b | warning |" in text
    assert "| evil ::error::pwned | (absent) | 1.0 ::add-mask::1.0 | warning |" in text
    assert "| pct%0A::warning::x | (absent) | 1\\|\\`2\\`\\|3 | warning |" in text
    assert markdown.escape("*a* _b_ <c> [d](e) $f$ &amp;") == (
        "\\*a\\* \\_b\\_ \\<c\\> \\[d\\](e) \\$f\\$ \\&amp;"
    )


def test_markdown_never_mentions_anyone_or_links_an_issue() -> None:
    """A lockfile from a pull request can hold ``@org/everyone`` or ``#1``: posted as a comment,
    the report must not notify or cross-reference (GitHub does not link ``@``/``#`` followed by
    a zero-width space)."""
    assert markdown.escape("ping @org/team see #12, a@b") == (
        "ping @&#8203;org/team see \\#&#8203;12, a@&#8203;b"
    )
    assert markdown.escape("@ alone, # alone, C#") == "@ alone, \\# alone, C\\#"


# JSON report and its schema


def validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA)


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_json_report_validates_against_the_schema(name: str) -> None:
    data = json.loads(jsonfmt.render(RESULTS[name](), "envlock.yaml"))
    validator().validate(data)


def test_schema_rejects_inconsistent_reports() -> None:
    good = json.loads(jsonfmt.render(drift(), "envlock.yaml"))
    bad: list[dict[str, Any]] = [
        {**good, "exit_code": 0},
        {**good, "status": "match"},
        {**good, "complete": False},
        {**good, "findings": [{**good["findings"][0], "category": "nope"}]},
        {**good, "findings": [{**good["findings"][0], "severity": "fatal"}]},
        {k: v for k, v in good.items() if k != "warnings"},
    ]
    for data in bad:
        assert not validator().is_valid(data), data


def test_json_report_keys_are_the_schema_keys() -> None:
    """The contract: a key added to or removed from the JSON report must be added to or removed
    from schemas/report.schema.json in the same change (and README's JSON report section)."""
    for name in sorted(RESULTS):
        data = json.loads(jsonfmt.render(RESULTS[name](), "envlock.yaml"))
        assert list(data) == SCHEMA["required"] == list(SCHEMA["properties"])
        counts = SCHEMA["properties"]["counts"]
        assert list(data["counts"]) == counts["required"] == list(counts["properties"])
        finding = SCHEMA["$defs"]["finding"]
        for item in data["findings"]:
            assert list(item) == finding["required"] == list(finding["properties"])
    assert SCHEMA["$defs"]["finding"]["properties"]["category"]["enum"] == list(CATEGORIES)
    assert SCHEMA["$defs"]["finding"]["properties"]["severity"]["enum"] == list(SEVERITIES)
    assert SCHEMA["properties"]["report_version"] == {"const": jsonfmt.REPORT_VERSION}


def test_a_result_is_one_line_as_a_notebook_shows_it() -> None:
    assert repr(verify(BASE)) == (
        "Result(environment='linux-64', ok=True, errors=0, warnings=0, info=0)"
    )
    assert repr(drift()).startswith("Result(environment='linux-64', ok=False, errors=3, ")
