"""GitHub Actions workflow commands: one ``::error`` / ``::warning`` / ``::notice`` line per
finding (by severity; ``::error`` for any finding that fails the run), annotating the lockfile,
and the Markdown job summary.

Values are escaped as GitHub's toolkit does (``escapeData`` / ``escapeProperty``), so that no
package name, version, path or hint can end the line and start a command of its own; before
that, every other control or bidirectional character is made visible
(:func:`envlock.escape.printable`), so that none reaches the log or an annotation."""

from __future__ import annotations

from envlock.api import Result
from envlock.escape import printable
from envlock.report import markdown
from envlock.report.junit import fails
from envlock.report.text import _value

_COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """A command's message: control and bidirectional characters other than CR and LF made
    visible, then ``%``, CR and LF percent-encoded, as the toolkit's ``escapeData`` does."""
    return (
        printable(text, keep="\r\n").replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    )


def escape_property(text: str) -> str:
    """A command's property value: as :func:`escape_data`, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, title: str, lockfile: str, message: str) -> str:
    """One workflow command line (no newline), annotating ``lockfile``."""
    props = f"file={escape_property(lockfile)},title={escape_property(title)}"
    return f"::{kind} {props}::{escape_data(message)}"


def render(result: Result, lockfile: str) -> str:
    lines = []
    for f in result.findings:
        change = f"{_value(f.expected, f.category)} -> {_value(f.actual, f.category)}"
        message = f"{f.subject}: {change} [{result.environment}]; fix: {f.hint}"
        kind = "error" if fails(result, f) else _COMMANDS.get(f.severity, "warning")
        lines.append(command(kind, f"envlock {f.category}", lockfile, message))
    title = "envlock note" if result.live.complete else "envlock could not read"
    for problem in result.live.warnings:
        lines.append(command("warning", title, lockfile, problem))
    return "".join(f"{line}\n" for line in lines)


def summary(result: Result, lockfile: str) -> str:
    """The Markdown the CLI appends to ``$GITHUB_STEP_SUMMARY``."""
    return markdown.render(result, lockfile)
