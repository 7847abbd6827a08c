"""Findings: one difference between a lockfile and a live environment, with its severity and
the command that fixes it."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

# Display order of categories: what changes numbers first.
CATEGORIES = (
    "python",
    "platform",
    "blas",
    "cuda",
    "hazard",
    "moved",
    "imported",
    "missing",
    "version",
    "build",
    "channel",
    "subdir",
    "hash",
    "source",
    "channels",
    "extra",
    "installer",
    "variables",
)

RECAPTURE = "re-run `envlock capture` if this change is intended"


@dataclass(frozen=True)
class Finding:
    """One difference between the lockfile and the live environment, and what to do about it."""

    category: str
    subject: str
    expected: str | None  # None: absent on that side
    actual: str | None
    severity: str
    hint: str

    def to_dict(self) -> dict[str, str | None]:
        return {
            "category": self.category,
            "subject": self.subject,
            "expected": self.expected,
            "actual": self.actual,
            "severity": self.severity,
            "hint": self.hint,
        }


def shell_word(text: str) -> str:
    """``text`` as one shell word for a hint people paste: single-quoted, and quoted safely
    when a (hostile) lockfile value holds a quote itself."""
    if "'" in text:
        import shlex

        return shlex.quote(text)
    return f"'{text}'"


def acting_on(fix: str, python: str | None, prefix: str | None, uv_finds_it: bool = False) -> str:
    """``fix`` acting on an environment that is not the active one (where the ``pip`` on
    ``PATH``, the environment uv finds and conda's active one are another's), its interpreter
    and prefix as shown: ``pip install X`` becomes ``PYTHON -m pip install X``; ``uv pip
    install X`` becomes ``uv pip install --python PYTHON X``, unless ``uv_finds_it`` (the
    project's ``.venv``); ``conda install X`` becomes ``conda install -p PREFIX X``."""
    import re

    def command(m: re.Match[str]) -> str:
        uv, pip, conda = m[1], m[2], m[3]
        if conda:
            return f"conda {conda} -p {_plain_path(prefix)}" if prefix else m[0]
        if uv:
            if uv_finds_it or not python:
                return m[0]
            return f"uv pip {pip} --python {_plain_path(python)}"
        return f"{_plain_path(python)} -m pip {pip}" if python else m[0]

    pattern = re.compile(r"(?<![\w./-])(?:(uv )?pip (install|uninstall)|conda (install|remove))\b")
    return pattern.sub(command, fix)


def _plain_path(path: str) -> str:
    """A path as one shell word, quoted only where it needs to be (``.venv/bin/python``)."""
    import shlex

    home, sep, rest = path.partition("/") if path.startswith("~") else ("", "", path)
    return home + sep + shlex.quote(rest)


def shell_path(path: str) -> str:
    """A path as one shell word (:func:`shell_word`), a home directory's leading ``~`` or
    ``~NAME`` left outside the quotes, where the shell expands it (``'~/x'`` would name a
    folder called ``~``)."""
    if not path.startswith("~"):
        return shell_word(path)
    home, sep, rest = path.partition("/")
    return home + sep + (shell_word(rest) if rest else "")


def shell_name(text: str) -> str:
    """A name or channel as one shell word: as it is when it is plain, else quoted."""
    import shlex

    return shlex.quote(text)


def pin(name: str, version: str) -> str:
    """``name==version``, or ``name===version`` for a version that is not PEP 440 (pip
    refuses ``==`` there)."""
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
    except InvalidVersion:
        return f"{name}==={version}"
    return f"{name}=={version}"
