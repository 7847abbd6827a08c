"""A Markdown report (GitHub-flavoured), for pull-request comments and CI job summaries.

Every value is escaped as plain text, so that no package name, version or hint can break a
table or turn into markup: line breaks become spaces, other control and bidirectional
characters are made visible (:func:`envlock.escape.printable`), and Markdown punctuation gets a
backslash (``|`` included, which GFM tables honour even next to a backslash; ``<``, ``>`` and
``&``, so that no HTML tag or entity survives). A value from a pull request's lockfile must not
notify anyone or cross-reference an issue when the report is posted as a comment: ``@name`` and
``#123`` get a zero-width space after the sign (``&#8203;``, as Renovate's pull requests do),
which GitHub does not link."""

from __future__ import annotations

import re

from envlock.api import Result
from envlock.escape import printable
from envlock.findings import CATEGORIES
from envlock.report.text import _TITLES, _checked, _value

_SPECIAL = re.compile(r"([\\`*_\[\]<>#+!|~&$])")
_LINKED = re.compile(r"(@|\\#)(?=\w)")  # @mention, #123 (already escaped as \#)
_ORDER = {"error": 0, "warning": 1, "info": 2}


def escape(text: str) -> str:
    """``text`` as literal Markdown on one line, safe inside a table cell."""
    escaped = _SPECIAL.sub(r"\\\1", printable(" ".join(text.splitlines())))
    return _LINKED.sub(r"\1&#8203;", escaped)


def render(result: Result, lockfile: str) -> str:
    counts = result.counts()
    if not result.ok:
        status = "drift"
    elif counts.get("error") or counts.get("warning"):
        status = "matches, with warnings"
    else:
        status = "matches, with notes" if result.findings else "matches"
    where = f"{escape(lockfile)} \\[{escape(result.environment)}\\]"
    plural = {"error": "errors", "warning": "warnings", "info": "info"}
    summary = ", ".join(f"{n} {k if n == 1 else plural.get(k, k)}" for k, n in counts.items())
    lines = [f"## envlock: {status}", "", f"{where}: {_checked(result)} checked; {summary}.", ""]
    for category in CATEGORIES:
        group = [f for f in result.findings if f.category == category]
        if not group:
            continue
        lines += [f"### {escape(_TITLES.get(category, category))} ({len(group)})", ""]
        lines += ["| subject | expected | actual | severity | fix |", "|---|---|---|---|---|"]
        for f in sorted(group, key=lambda f: (_ORDER.get(f.severity, 3), f.subject)):
            cells = (f.subject, _value(f.expected, category), _value(f.actual, category))
            row = [*map(escape, cells), f.severity, escape(f.hint)]
            lines.append(f"| {' | '.join(row)} |")
        lines.append("")
    if not result.live.complete:
        n = len(result.live.warnings)
        lines += [
            f"**Note:** the environment could not be fully read ({n} problem"
            f"{'s' if n != 1 else ''}); what could not be read was not compared:",
            "",
            *(f"- {escape(w)}" for w in result.live.warnings),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"
