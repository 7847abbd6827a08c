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


def acting_on(
    fix: str,
    python: str | None,
    prefix: str | None,
    uv_finds_it: bool = False,
    pip_via_uv: bool = False,
) -> str:
    """``fix`` acting on an environment that is not the active one (where the ``pip`` on
    ``PATH``, the environment uv finds and conda's active one are another's), its interpreter
    and prefix as shown: ``pip install X`` becomes ``PYTHON -m pip install X``; ``uv pip
    install X`` becomes ``uv pip install --python PYTHON X``, unless ``uv_finds_it`` (the
    project's ``.venv``, the active environment); ``conda install X`` becomes ``conda install
    -p PREFIX X``. ``pip_via_uv``: the environment is uv's and has no pip, so pip's commands
    are uv's too (``pip install --force-reinstall`` is ``uv pip install --reinstall``, ``pip
    uninstall -y`` is ``uv pip uninstall``, uv never asking)."""
    import re

    def command(m: re.Match[str]) -> str:
        pip, flag = m["pip"], m["flag"] or ""
        if m["conda"]:
            return f"conda {m['conda']} -p {_plain_path(prefix)}" if prefix else m[0]
        if m["uv"] or pip_via_uv:
            where = f" --python {_plain_path(python)}" if python and not uv_finds_it else ""
            return f"uv pip {pip}{where}{_UV_FLAGS.get(flag, flag)}"
        return f"{_plain_path(python)} -m pip {pip}{flag}" if python else m[0]

    return re.sub(_COMMAND, command, fix)


_COMMAND = (  # (re caches it compiled; importing re here would cost every command its time)
    r"(?<![\w./-])(?:(?P<uv>uv )?pip (?P<pip>install|uninstall)(?P<flag> -y| --force-reinstall)?"
    r"|conda (?P<conda>install|remove))\b"
)
_UV_FLAGS = {" -y": "", " --force-reinstall": " --reinstall"}  # pip's, as uv says them


def _plain_path(path: str) -> str:
    """A path as one shell word, quoted only where it needs to be (``.venv/bin/python``)."""
    import shlex

    home, sep, rest = _home_part(path) if path.startswith("~") else ("", "", path)
    return home + sep + (shlex.quote(rest) if rest or not home else "")


def shell_path(path: str) -> str:
    """A path as one shell word (:func:`shell_word`), a home directory's leading ``~`` or
    ``~NAME`` left outside the quotes, where the shell expands it (``'~/x'`` would name a
    folder called ``~``)."""
    if not path.startswith("~"):
        return shell_word(path)
    home, sep, rest = _home_part(path)
    return home + sep + (shell_word(rest) if rest else "")


def _home_part(path: str) -> tuple[str, str, str]:
    """A ``~``-based path as its ``~`` or ``~NAME``, the separator after it (``/``, or ``\\``
    in a path shown on Windows) and the rest: ``("~", "\\", "proj\\.venv")``."""
    cut = min((i for i in (path.find("/"), path.find("\\")) if i >= 0), default=len(path))
    return path[:cut], path[cut : cut + 1], path[cut + 1 :]


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
