"""Team policy: ``[tool.envlock]`` in ``pyproject.toml``, found by walking up from the working
directory (past pyproject.toml files without the table), and overridden by command-line flags.

```toml
[tool.envlock]
lockfile = "envlock.yaml"             # the default lockfile
ignore = ["pip", "setuptools", "conda:ca-certificates", "types-*"]   # subjects, as globs
patch-warnings = true                 # a patch-level version change is a warning
variables = ["MY_SEED"]               # more variables to record
fail-on = "error"                     # the lowest severity that fails verify

[tool.envlock.severity]               # per category
extra = "error"
"blas" = "warning"

[tool.envlock.package-severity]       # per package (pip name, any spelling; or conda:NAME)
numpy = "warning"
```
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from envlock.errors import UsageError
from envlock.findings import CATEGORIES, ERROR, INFO, SEVERITIES, WARNING, Finding

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any

_RANK = {INFO: 0, WARNING: 1, ERROR: 2}
MAX_VARIABLES = 256  # (each is passed to the probe on its command line)
_VARIABLE_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,127}"
_KEYS = (
    "lockfile",
    "ignore",
    "patch-warnings",
    "variables",
    "fail-on",
    "severity",
    "package-severity",
)


@dataclass(frozen=True)
class Policy:
    """How strict a check is: ``[tool.envlock]`` of pyproject.toml with the command line on top."""

    lockfile: str | None = None
    ignore: tuple[str, ...] = ()
    patch_warnings: bool = False
    variables: tuple[str, ...] = ()
    fail_on: str = ERROR
    severity: Mapping[str, str] = field(default_factory=dict)
    package_severity: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None  # the pyproject.toml it came from, as shown
    directory: Path | None = None  # its directory: ``lockfile`` is relative to it

    def lockfile_path(self) -> Path | None:
        if not self.lockfile:
            return None
        import os.path

        return Path(os.path.normpath((self.directory or Path.cwd()) / self.lockfile))

    def with_flags(
        self, ignore: Iterable[str] = (), strict: bool = False, fail_on: str | None = None
    ) -> Policy:
        """Command-line flags over the file: ``--ignore``, ``--strict``, ``--fail-on``."""
        if fail_on is None:  # --strict fails on warnings, or on less if the file says so
            fail_on = min(self.fail_on, WARNING, key=_RANK.__getitem__) if strict else self.fail_on
        return replace(self, ignore=(*self.ignore, *ignore), fail_on=fail_on)

    def apply(self, findings: Iterable[Finding]) -> tuple[Finding, ...]:
        kept = []
        for f in findings:
            if any(fnmatch.fnmatchcase(f.subject, pattern) for pattern in self.ignore):
                continue
            # the most specific rule wins: a package's, then patch-warnings, then a category's
            severity = self.severity.get(f.category, f.severity)
            if self.patch_warnings and f.category == "version" and _patch_only(f):
                severity = WARNING if severity == ERROR else severity
            severity = self.package_severity.get(f.subject, severity)
            kept.append(replace(f, severity=severity) if severity != f.severity else f)
        return tuple(kept)

    def fails(self, findings: Iterable[Finding]) -> bool:
        threshold = _RANK[self.fail_on]
        return any(_RANK.get(f.severity, 2) >= threshold for f in findings)


def _subject(package: str) -> str:
    """A package as findings name it: ``conda:NAME`` as given, a pip name normalized
    (``Typing_Extensions`` is ``typing-extensions``)."""
    if package.startswith("conda:"):
        return package
    from envlock._probe import canonical_name

    return canonical_name(package)


def _patch_only(f: Finding) -> bool:
    """1.26.3 -> 1.26.4: same major and minor release."""
    if not f.expected or not f.actual:
        return False
    from packaging.version import InvalidVersion, Version

    try:
        e, a = Version(f.expected), Version(f.actual)
    except InvalidVersion:
        return False
    return e.release[:2] == a.release[:2] and e.epoch == a.epoch


def _pyprojects(start: Path | None) -> Iterator[Path]:
    """Each ``pyproject.toml`` at or above ``start``, nearest first, up to the root of the
    git repository ``start`` is in: a policy from outside the repository (a ``/tmp`` or home
    directory's pyproject.toml) must not change what a check of the repository's lockfile
    reports. A folder that cannot be looked in (not ours to search, or a path longer than
    the system takes) has none: ``os.path``'s tests say so, where ``Path``'s raise."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if os.path.isfile(candidate):
            yield candidate
        if os.path.exists(folder / ".git"):  # a directory, or a worktree's or submodule's file
            return


def load(start: Path | None = None) -> Policy:
    """The policy of the nearest ``pyproject.toml`` that has a ``[tool.envlock]`` table (an
    empty one when there is none): a monorepo's member projects have their own
    pyproject.toml, which must not hide the repository's policy (ruff and mypy look for
    their tables so). The file may come from a pull request: it is read as a lockfile is
    (bounded, and every problem one line naming it)."""
    for path in _pyprojects(start):
        found = _policy_in(path)
        if found is not None:
            return found
    return Policy()


def _policy_in(path: Path) -> Policy | None:
    """The policy of one pyproject.toml, ``None`` when it has no ``[tool.envlock]``."""
    from envlock.errors import LockfileError
    from envlock.lockfile import parse, read

    _, text = read(path)  # (a LockfileError naming the file)
    if "envlock" not in text:
        return None  # nothing for us: do not pay for parsing TOML
    shown = _display(path)
    try:
        data = parse(text, "toml", json_only=False)
    except LockfileError as e:
        raise UsageError(f"{shown}: {e}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError(f"{shown}: tool: must be a table")
    table = tool.get("envlock")
    if table is None:
        return None
    return replace(from_table(table, shown), directory=path.parent)


def _display(path: Path) -> str:
    from envlock.redact import display_path

    return display_path(path)


def from_table(table: object, where: str) -> Policy:
    """Check ``[tool.envlock]``; every problem names the key."""

    def bad(key: str, what: str) -> UsageError:
        return UsageError(f"{where}: [tool.envlock]{' ' + key if key else ''}: {what}")

    if not isinstance(table, dict):
        raise bad("", "must be a table")
    for key in table:
        if key not in _KEYS:
            raise bad(key, f"unknown key (known: {', '.join(_KEYS)})")
    t: dict[str, Any] = table

    def strings(key: str) -> tuple[str, ...]:
        value = t.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(key, "must be a list of strings")
        return tuple(value)

    def severity_map(key: str, known: tuple[str, ...] | None) -> dict[str, str]:
        value = t.get(key, {})
        if not isinstance(value, dict):
            raise bad(key, "must be a table")
        for name, severity in value.items():
            if known is not None and name not in known:
                raise bad(f"{key}.{name}", f"unknown category (known: {', '.join(known)})")
            if severity not in SEVERITIES:
                raise bad(f"{key}.{name}", f"must be one of {', '.join(SEVERITIES)}")
        return dict(value)

    lockfile = t.get("lockfile")
    if lockfile is not None and (not isinstance(lockfile, str) or not lockfile or "\0" in lockfile):
        raise bad("lockfile", "must be a path")
    patch = t.get("patch-warnings", False)
    if not isinstance(patch, bool):
        raise bad("patch-warnings", "must be true or false")
    fail_on = t.get("fail-on", ERROR)
    if fail_on not in SEVERITIES:
        raise bad("fail-on", f"must be one of {', '.join(SEVERITIES)}")
    from envlock.reader import full_match
    from envlock.redact import secret_parameter

    variables = strings("variables")
    if len(variables) > MAX_VARIABLES:
        raise bad("variables", f"more than {MAX_VARIABLES} names")
    for name in variables:
        if not full_match(_VARIABLE_NAME, name):
            raise bad("variables", f"{name[:60]!r} is not a variable name")
        if secret_parameter(name):
            raise bad(
                "variables", f"{name} looks like a credential's name: envlock never records one"
            )
    return Policy(
        lockfile=lockfile,
        ignore=strings("ignore"),
        patch_warnings=patch,
        variables=variables,
        fail_on=fail_on,
        severity=severity_map("severity", CATEGORIES),
        package_severity={
            _subject(name): severity
            for name, severity in severity_map("package-severity", None).items()
        },
        source=where,
    )
