"""Reports of a Dask cluster's verification (:class:`envlock.cluster.ClusterResult`), in every
format ``verify`` has. Pure: result in, string out.

Members with identical findings are one group, shown once with its member list: a summary
line per group (and per member that could not be checked) comes first, then each group that
has findings, rendered by the single-environment reporter. JSON has a shape of its own
(``kind: "dask-cluster"``, schema in ``schemas/cluster-report.schema.json``) whose ``groups``
are single-environment reports; JUnit has one test suite per group, and one for the members
that could not be checked, whose test cases are errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from envlock.cluster import UNCHECKED_WORDS, ClusterResult, Group, Unchecked
from envlock.escape import printable
from envlock.report import github, jsonfmt, junit, markdown, text
from envlock.report.text import _paint

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from envlock.remote import Member

REPORT_VERSION = 1
KIND = "dask-cluster"
SHOWN = 6  # workers named in a text or GitHub line; Markdown names more, JSON all
_COLOURS = {"drift": "error", "warnings": "warning", "match": "ok"}


def who(members: Sequence[Member], limit: int | None = SHOWN) -> str:
    """``client, scheduler tcp://…, 3 workers: tcp://a, tcp://b and 1 more``."""
    others = [m.label for m in members if m.role != "worker"]
    workers = [m.label for m in members if m.role == "worker"]
    if workers:
        shown = workers if limit is None or len(workers) <= limit else workers[:limit]
        names = ", ".join(shown) + (f" and {len(workers) - len(shown)} more" * (shown != workers))
        others.append(f"{len(workers)} worker{'s' if len(workers) != 1 else ''}: {names}")
    return ", ".join(others)


def _unchecked_rows(result: ClusterResult) -> list[tuple[str, list[Member], str]]:
    """Members that could not be checked, one row per (status, problem)."""
    rows: dict[tuple[str, str], list[Member]] = {}
    for u in result.unchecked:
        rows.setdefault((u.status, u.problem), []).append(u.member)
    return [(status, members, problem) for (status, problem), members in rows.items()]


def _has_details(group: Group) -> bool:
    return bool(group.result.findings or group.result.live.warnings)


def _headline(result: ClusterResult, lockfile: str) -> str:
    total = result.checked + len(result.unchecked)
    return (
        f"{lockfile}, Dask cluster {result.scheduler or '(unknown address)'}: "
        f"{total} member{'s' if total != 1 else ''}, {result.checked} checked"
    )


def verdict(result: ClusterResult) -> str:
    total = result.checked + len(result.unchecked)
    unchecked = len(result.unchecked)
    if result.status == "drift":
        drifting = sum(len(g.members) for g in result.groups if g.status == "drift")
        tail = f"; {unchecked} could not be checked" if unchecked else ""
        return f"cluster: drift on {drifting} of {result.checked} checked members{tail}"
    if result.status == "incomplete":
        return f"cluster: {unchecked} of {total} members could not be checked; the others match"
    if result.status == "warnings":
        return f"cluster: all {total} members match, with warnings"
    return f"cluster: all {total} members match"


def render_text(result: ClusterResult, lockfile: str, colour: bool = False) -> str:
    lines = [printable(_headline(result, lockfile))]
    rows = [(g.status, list(g.members), "") for g in result.groups]
    for status, members, problem in [*rows, *_unchecked_rows(result)]:
        word = f"{UNCHECKED_WORDS.get(status, status):<10}"
        word = _paint(word, _COLOURS.get(status, "error"), colour)
        lines.append(f"  {word} {printable(who(members) + (f': {problem}' if problem else ''))}")
    for group in result.groups:
        if _has_details(group):
            lines += ["", _paint(printable(f"== {who(group.members)}"), "bold", colour)]
            lines.append(text.render(group.result, lockfile, colour=colour).rstrip("\n"))
    status = result.status
    lines += ["", _paint(verdict(result), _COLOURS.get(status, "error"), colour)]
    return "\n".join(lines) + "\n"


def report_data(result: ClusterResult, lockfile: str) -> dict[str, Any]:
    groups = []
    members: list[tuple[Member, dict[str, Any]]] = []
    for index, group in enumerate(result.groups):
        data = json.loads(jsonfmt.render(group.result, lockfile))
        data["members"] = [m.label for m in group.members]
        groups.append(data)
        members += [(m, _member(m, group.status, index, None)) for m in group.members]
    members += [(u.member, _member(u.member, u.status, None, u.problem)) for u in result.unchecked]
    statuses = [entry["status"] for _, entry in members]
    return {
        "report_version": REPORT_VERSION,
        "kind": KIND,
        "lockfile": lockfile,
        "scheduler": result.scheduler,
        "status": result.status,
        "exit_code": result.exit_code,
        "counts": {
            "members": len(members),
            "checked": result.checked,
            **{s: statuses.count(s) for s in ("match", "warnings", "drift")},
            "not_checked": len(result.unchecked),
        },
        "not_checked": list(result.notes),
        "members": [entry for _, entry in sorted(members, key=lambda m: m[0].sort_key())],
        "groups": groups,
    }


def _member(member: Member, status: str, group: int | None, problem: str | None) -> dict[str, Any]:
    return {
        "member": member.label,
        "role": member.role,
        "address": member.address,
        "name": member.name,
        "status": status,
        "group": group,
        "problem": problem,
    }


def render_json(result: ClusterResult, lockfile: str) -> str:
    return jsonfmt.dumps(report_data(result, lockfile))


def render_junit(result: ClusterResult, lockfile: str) -> str:
    root = ET.Element("testsuites", {"name": "envlock"})
    for group in result.groups:
        single = ET.fromstring(junit.render(group.result, lockfile).encode("utf-8"))
        suite = single.find("testsuite")
        assert suite is not None
        suite.set("name", printable(f"envlock: {who(group.members, None)}"))
        properties = suite.find("properties")
        assert properties is not None
        members = ", ".join(m.label for m in group.members)
        ET.SubElement(properties, "property", {"name": "members", "value": printable(members)})
        root.append(suite)
    if result.unchecked:
        root.append(_unchecked_suite(result.unchecked, lockfile))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _unchecked_suite(unchecked: Sequence[Unchecked], lockfile: str) -> ET.Element:
    n = str(len(unchecked))
    attrib = {"name": "envlock: not checked", "tests": n, "failures": "0", "errors": n}
    suite = ET.Element("testsuite", {**attrib, "skipped": "0", "time": "0"})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", {"name": "lockfile", "value": printable(lockfile)})
    for u in unchecked:
        name = printable(u.member.label)
        attrib = {"name": name, "classname": f"envlock.cluster.{u.status}", "time": "0"}
        case = ET.SubElement(suite, "testcase", attrib)
        ET.SubElement(case, "error", {"message": printable(u.problem), "type": u.status})
    return suite


def render_github(result: ClusterResult, lockfile: str) -> str:
    out = []
    for group in result.groups:
        where = f"{group.result.environment}: {who(group.members)}"
        out.append(github.render(replace(group.result, environment=where), lockfile))
    for u in result.unchecked:
        message = f"{u.member.label}: {UNCHECKED_WORDS.get(u.status, u.status)}: {u.problem}"
        out.append(github.command("error", "envlock could not check", lockfile, message) + "\n")
    return "".join(out)


def render_markdown(result: ClusterResult, lockfile: str) -> str:
    status = {"incomplete": "not every member could be checked"}.get(result.status, result.status)
    lines = [
        f"## envlock: Dask cluster: {status}",
        "",
        f"{markdown.escape(_headline(result, lockfile))}. {markdown.escape(verdict(result))}.",
        "",
        "| status | members |",
        "|---|---|",
    ]
    for group in result.groups:
        lines.append(f"| {group.status} | {markdown.escape(who(group.members, 50))} |")
    for status, members, problem in _unchecked_rows(result):
        cell = markdown.escape(f"{who(members, 50)}: {problem}")
        lines.append(f"| {UNCHECKED_WORDS.get(status, status)} | {cell} |")
    lines.append("")
    if result.notes:
        lines += ["**Not checked on cluster members:**", ""]
        lines += [f"- {markdown.escape(note)}" for note in result.notes] + [""]
    for group in result.groups:
        if not _has_details(group):
            continue
        single = markdown.render(group.result, lockfile).replace("\n### ", "\n#### ")
        head, _, body = single.partition("\n")
        heading = head.removeprefix("## envlock: ")
        lines += [f"### {markdown.escape(who(group.members, 50))}: {heading}", body]
    return "\n".join(lines).rstrip("\n") + "\n"
