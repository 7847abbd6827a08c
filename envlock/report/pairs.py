"""Reports of ``envlock diff A B`` over several environments (:class:`envlock.pairs.Pairs`),
in every format ``diff`` has. Pure: result in, string out.

Each environment both files have is reported by the single-environment reporter, one after
the other, by name; the environments only one file has follow as "not compared", and a last
line (text) or heading (Markdown) gives the verdict. JSON has a shape of its own
(``kind: "lockfile-diff"``, schema in ``schemas/diff-report.schema.json``) whose
``environments`` are single-environment reports; JUnit has one test suite per environment, and
one whose skipped test cases are the environments not compared."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from envlock.escape import printable
from envlock.report import github, jsonfmt, junit, markdown, text
from envlock.report.text import _paint

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

    from envlock.pairs import Pairs

REPORT_VERSION = 1
KIND = "lockfile-diff"
_COLOURS = {"drift": "error", "warnings": "warning", "match": "ok"}


def not_compared(result: Pairs) -> list[tuple[str, str]]:
    """(environment, ``only in a.yaml; not compared``), one per environment only one file
    has."""
    why = "only in {}; not compared"
    return [(name, why.format(result.a)) for name in result.only_in_a] + [
        (name, why.format(result.b)) for name in result.only_in_b
    ]


def verdict(result: Pairs) -> str:
    total = len(result.results)
    names = {s: [r.environment for r in result.results if r.status == s] for s in _COLOURS}
    if result.status == "drift":
        drifting = names["drift"]
        return f"drift in {len(drifting)} of {total} environments: {', '.join(drifting)}"
    if result.status == "warnings":
        return f"all {total} environments match, with warnings in {', '.join(names['warnings'])}"
    return f"all {total} environments match"


def render_text(result: Pairs, label: str, colour: bool = False) -> str:
    blocks = [text.render(r, label, colour=colour).rstrip("\n") for r in result.results]
    skipped = [printable(f"{name}: {why}") for name, why in not_compared(result)]
    if skipped:
        blocks.append("\n".join(skipped))
    blocks.append(_paint(printable(verdict(result)), _COLOURS[result.status], colour))
    return "\n\n".join(blocks) + "\n"


def report_data(result: Pairs, label: str) -> dict[str, Any]:
    environments = [json.loads(jsonfmt.render(r, label)) for r in result.results]
    statuses = [r.status for r in result.results]
    return {
        "report_version": REPORT_VERSION,
        "kind": KIND,
        "lockfile": label,
        "a": result.a,
        "b": result.b,
        "status": result.status,
        "exit_code": result.exit_code,
        "counts": {
            "environments": len(environments),
            **{s: statuses.count(s) for s in ("match", "warnings", "drift")},
        },
        "only_in_a": list(result.only_in_a),
        "only_in_b": list(result.only_in_b),
        "environments": environments,
    }


def render_json(result: Pairs, label: str) -> str:
    return jsonfmt.dumps(report_data(result, label))


def render_junit(result: Pairs, label: str) -> str:
    root = ET.Element("testsuites", {"name": "envlock"})
    for r in result.results:
        for suite in ET.fromstring(junit.render(r, label)):
            suite.set("name", f"envlock [{printable(r.environment)}]")
            root.append(suite)
    if result.only_in_a or result.only_in_b:
        suite = ET.SubElement(root, "testsuite", {"name": "envlock: not compared", "time": "0"})
        for name, why in not_compared(result):
            case = ET.SubElement(
                suite,
                "testcase",
                {"name": printable(name), "classname": "envlock.environments", "time": "0"},
            )
            ET.SubElement(case, "skipped", {"message": printable(why)})
        suite.set("tests", str(len(suite)))
        suite.set("skipped", str(len(suite)))
        suite.set("failures", "0")
        suite.set("errors", "0")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def render_github(result: Pairs, label: str) -> str:
    lines = [github.render(r, label) for r in result.results]
    lines += [
        github.command("notice", "envlock not compared", label, f"{name}: {why}") + "\n"
        for name, why in not_compared(result)
    ]
    return "".join(lines)


def render_markdown(result: Pairs, label: str) -> str:
    heading = {"match": "match", "warnings": "matches, with warnings"}.get(
        result.status, result.status
    )
    lines = [
        f"## envlock diff: {heading}",
        "",
        f"{markdown.escape(label)}: {markdown.escape(verdict(result))}.",
        "",
    ]
    lines += [f"- {markdown.escape(f'{name}: {why}')}" for name, why in not_compared(result)]
    for r in result.results:
        single = markdown.render(r, label).replace("\n### ", "\n#### ")
        head, _, body = single.partition("\n")
        lines += ["", f"### {markdown.escape(r.environment)}: {head.removeprefix('## envlock: ')}"]
        lines.append(body.rstrip("\n"))
    return "\n".join(lines).rstrip("\n") + "\n"
