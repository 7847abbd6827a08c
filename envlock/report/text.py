"""The human report: findings grouped by category, errors first within each.

Every value (names, versions, hints, the lockfile and environment names) goes through
:func:`envlock.escape.printable` before colour is added: no value can move the cursor, change
colours or start a line of its own."""

from __future__ import annotations

from envlock.api import Result
from envlock.escape import printable
from envlock.findings import CATEGORIES, Finding

_TITLES = {
    "python": "Python",
    "platform": "Platform",
    "blas": "BLAS / LAPACK / OpenMP",
    "cuda": "CUDA and GPUs",
    "hazard": "Hazards: pip mixed into conda",
    "moved": "Moved between conda and pip",
    "imported": "Imported at another version than is installed (restart the process)",
    "missing": "Missing packages",
    "version": "Version changes",
    "build": "Build changes",
    "channel": "Channel changes",
    "subdir": "Subdir changes",
    "hash": "Hash changes",
    "source": "Source changes",
    "channels": "Channel configuration",
    "extra": "Extra packages",
    "installer": "Installer changes",
    "variables": "Variables",
}
_COLOURS = {"error": "31", "warning": "33", "info": "36", "ok": "32", "dim": "2", "bold": "1"}


def _paint(text: str, colour: str, enabled: bool) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if enabled else text


def _value(value: str | None, category: str) -> str:
    if value is not None:
        return value
    return "(unset)" if category == "variables" else "(absent)"


def _line(f: Finding, colour: bool) -> list[str]:
    tag = _paint(f"{f.severity:<7}", f.severity, colour)
    if f.category in ("missing", "extra"):
        change = f.expected if f.category == "missing" else f.actual
    else:
        change = f"{_value(f.expected, f.category)} -> {_value(f.actual, f.category)}"
    what = printable(f"{f.subject}: {change}")
    return [f"  {tag} {what}", _paint(f"          fix: {printable(f.hint)}", "dim", colour)]


def render(result: Result, lockfile: str, colour: bool = False) -> str:
    counts = result.counts()
    lines = []
    head = printable(f"{lockfile} [{result.environment}]: {_checked(result)} checked")
    problems = len(result.live.warnings)
    incomplete = (
        f"note: the environment could not be fully read ({problems} problem"
        f"{'s' if problems != 1 else ''}, named in the warnings); what could not be read "
        "was not compared\n"
        if not result.live.complete
        else ""
    )
    if not result.findings:
        return f"{head}: {_paint('matches', 'ok', colour)}\n{incomplete}"
    lines.append(head)
    for category in CATEGORIES:
        group = [f for f in result.findings if f.category == category]
        if not group:
            continue
        lines.append("")
        lines.append(_paint(f"{_TITLES.get(category, category)} ({len(group)})", "bold", colour))
        order = {"error": 0, "warning": 1, "info": 2}
        for f in sorted(group, key=lambda f: (order.get(f.severity, 3), f.subject)):
            lines.extend(_line(f, colour))
    lines.append("")
    summary = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in counts.items() if n)
    if not result.ok:
        verdict = "drift"
    elif counts.get("error") or counts.get("warning"):
        verdict = "matches, with warnings"
    else:
        verdict = "matches, with notes"
    lines.append(_paint(f"{verdict}: {summary}", "error" if not result.ok else "warning", colour))
    return "\n".join(lines) + "\n" + incomplete


def _checked(result: Result) -> str:
    """How many packages were compared: those on either side (a lockfile's missing packages
    were checked as much as the environment's), of the kinds the lockfile records."""
    sides = (result.live, result.expected)
    condas = [env.conda for env in sides if env.conda is not None]
    conda = None
    if condas and "conda" in result.compared:
        conda = len({p.name for c in condas for p in c.packages})
    if "pip" not in result.compared:
        return _packages(conda or 0, "conda ")
    return package_counts(len({p.name for env in sides for p in env.packages}), conda)


def package_counts(pip: int, conda: int | None) -> str:
    """``N packages``, or ``N conda and M pip packages`` for a conda environment."""
    return _packages(pip) if conda is None else f"{conda} conda and {pip} pip packages"


def _packages(count: int, kind: str = "") -> str:
    return f"{count} {kind}package{'' if count == 1 else 's'}"
