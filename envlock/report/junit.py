"""JUnit XML, which CI systems (GitLab, Jenkins, Azure, GitHub test-report actions) show as
test results: one test case per checked item.

A finding that fails the run (error severity, or lower under a stricter ``fail-on``) is a
``<failure>``. Any other finding is a passing test case with the note in ``<system-out>``: the
check ran and did not fail the run, whereas ``<skipped>`` would say it never ran. ``<skipped>``
is kept for what was not compared: the variables when one side did not record them. When the
environment could not be fully read, the suite's ``<system-err>`` lists what could not be read
(and so was not compared), as the other reports do. No timestamp and no durations
(``time="0"``): the output is deterministic.

Every value goes through :func:`envlock.escape.printable`: the characters XML 1.0 cannot carry
at all (most control characters, lone surrogates), and the terminal controls and line breaks
that could forge a line of the failure text, are made visible; ElementTree escapes markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from envlock._probe import canonical_name
from envlock.api import Result
from envlock.escape import printable
from envlock.findings import Finding
from envlock.report.text import _value


def _case(env: str, category: str, name: str) -> ET.Element:
    attrib = {
        "name": printable(name),
        "classname": printable(f"envlock.{env}.{category}"),
        "time": "0",
    }
    return ET.Element("testcase", attrib)


def fails(result: Result, f: Finding) -> bool:
    """Whether ``f`` alone fails the run, under the result's own rule."""
    return not replace(result, findings=(f,)).ok


def _finding(result: Result, f: Finding) -> ET.Element:
    case = _case(result.environment, f.category, f.subject)
    expected, actual = _value(f.expected, f.category), _value(f.actual, f.category)
    fields = (("expected", expected), ("actual", actual), ("severity", f.severity), ("fix", f.hint))
    body = "\n".join(f"{key}: {printable(value)}" for key, value in fields)
    if fails(result, f):
        message = printable(f"{f.subject}: {expected} -> {actual}")
        ET.SubElement(case, "failure", {"message": message, "type": f.category}).text = body
    else:
        ET.SubElement(case, "system-out").text = body
    return case


def _matched_packages(result: Result) -> list[str]:
    """Packages locked and installed that no finding is about."""
    covered = {f.subject for f in result.findings}
    for f in result.findings:
        if f.category in ("moved", "hazard"):
            covered |= {canonical_name(f.subject), f"conda:{f.subject}"}
    live = {p.name for p in result.live.packages}
    names = [p.name for p in result.expected.packages if p.name in live]
    exp_conda, live_conda = result.expected.conda, result.live.conda
    if exp_conda is not None and live_conda is not None:
        live = {p.name for p in live_conda.packages}
        names += [f"conda:{p.name}" for p in exp_conda.packages if p.name in live]
    return sorted(n for n in names if n not in covered)


def render(result: Result, lockfile: str) -> str:
    env = result.environment
    cases = [_finding(result, f) for f in result.findings]
    drifted = {f.category for f in result.findings}
    unknown = None in (result.expected.variables, result.live.variables)
    for category in ("python", "platform", "variables"):
        if category not in drifted:
            cases.append(_case(env, category, category))
            if category == "variables" and unknown:
                ET.SubElement(cases[-1], "skipped", {"message": "not recorded on both sides"})
    cases += [_case(env, "packages", name) for name in _matched_packages(result)]
    cases.sort(key=lambda c: (c.get("classname", ""), c.get("name", "")))  # stable: deterministic
    counts = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": 0,
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
    }
    attrib = {"name": "envlock", **{k: str(v) for k, v in counts.items()}}
    root = ET.Element("testsuites", attrib)
    suite = ET.SubElement(root, "testsuite", {**attrib, "time": "0"})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("lockfile", lockfile), ("environment", env)):
        ET.SubElement(properties, "property", {"name": name, "value": printable(value)})
    suite.extend(cases)
    if not result.live.complete:
        n = len(result.live.warnings)
        head = f"the environment could not be fully read ({n} problem{'s' if n != 1 else ''})"
        lines = [f"{head}; what could not be read was not compared:"]
        lines += [f"- {printable(w)}" for w in result.live.warnings]
        ET.SubElement(suite, "system-err").text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
