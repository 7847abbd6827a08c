"""``envlock doctor``: what is broken in an environment, each with its severity and the one
command that fixes it.

:func:`diagnose` goes from the probe's payload (``details=True``: see
:func:`envlock._probe.collect`) and the prefix's conda side to :class:`Problem` values:

* what the probe found while scanning (its ``problems``): a ``*.dist-info`` without readable
  or decodable METADATA, a project installed twice in one directory (or shadowed by another
  directory), ``~name`` leftovers of an interrupted pip, ``.egg-link`` develop installs, and
  ``sys.path`` entries from the user site-packages or ``PYTHONPATH``;
* versions that are not PEP 440, legacy ``.egg-info`` installs, pip installed over conda
  (:func:`envlock.condaenv.split`'s hazards), conda records that cannot be read;
* ``pip check``: each distribution's ``Requires-Dist``, read here from its files (never on
  capture's path), with markers evaluated in the target's marker environment (from
  ``_doctor_probe.py``, run inside it) and extras left out, against the installed versions.

:func:`deep` (``--deep``) hashes every installed file against its installer's record
(:mod:`envlock.integrity`). Only :func:`examine` and :func:`read` start anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from envlock._probe import canonical_name
from envlock.findings import ERROR, INFO, SEVERITIES, WARNING, pin, shell_path
from envlock.redact import redact_text

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from envlock.conda import CondaPrefix
    from envlock.integrity import Damage
    from envlock.target import Target

    Progress = Callable[[int, int, str], None]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Problem:
    kind: str  # what is wrong: "duplicate", "unmet", "altered", ...
    severity: str  # error / warning / info
    subject: str  # the distribution ("numpy", "conda:numpy") or the path concerned
    message: str
    fix: str  # one line: a command to run, or what to do

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "subject": redact_text(self.subject),
            "message": redact_text(self.message),  # (no home path, whatever a check wrote)
            "fix": redact_text(self.fix),
        }


def quote(text: str) -> str:
    """``text`` as one single-quoted shell word, redacted (:func:`redact_text`, so a home
    path is never printed): a path in a home directory as ``~/'rest'``
    (:func:`envlock.findings.shell_path`)."""
    return shell_path(redact_text(text))


def exit_code(problems: tuple[Problem, ...]) -> int:
    return 1 if any(p.severity == ERROR for p in problems) else 0


def ordered(problems: list[Problem]) -> tuple[Problem, ...]:
    """Errors first, then warnings, then notes; within each, by kind and subject."""
    unique = dict.fromkeys(problems)
    return tuple(sorted(unique, key=lambda p: (SEVERITIES.index(p.severity), p.kind, p.subject)))


# ---------------------------------------------------------------------------------------------
# What the probe found
# ---------------------------------------------------------------------------------------------


def _name_version(path: str) -> tuple[str, str | None]:
    """Name and version from a ``name-1.0.dist-info`` / ``name-1.0-py3.11.egg-info`` name."""
    stem = os.path.basename(path.rstrip("/\\"))
    for suffix in (".dist-info", ".egg-info", ".egg-link"):
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    name, _, rest = stem.partition("-")
    return canonical_name(name), (rest.split("-")[0] or None)


def _pin(name: str, version: str | None) -> str:
    return quote(name if version is None else pin(name, version))  # === where not PEP 440


def _reinstall(name: str, version: str | None) -> str:
    return f"pip install --force-reinstall --no-deps {_pin(name, version)}"


def _from_probe(problem: dict[str, Any]) -> Problem | None:
    kind, path = problem.get("kind"), str(problem.get("path"))
    shown = redact_text(path)
    if kind in ("no-metadata", "no-name-version", "undecodable"):
        name, version = _name_version(path)
        what = {
            "no-metadata": f"no readable {problem.get('file')}: pip and importers cannot see it",
            "no-name-version": f"{problem.get('file')} has no Name or Version",
            "undecodable": f"{problem.get('file')} is not valid UTF-8",
        }[kind]
        fix = _reinstall(name, version)
        if kind != "undecodable":
            fix = f"rm -rf {quote(path)} && {fix}"
        severity = WARNING if kind == "undecodable" else ERROR
        return Problem(kind, severity, name, f"{shown}: {what}", fix)
    name = canonical_name(str(problem.get("name", "")))
    if kind == "duplicate":
        return _duplicate(problem, name)
    if kind == "shadowed":
        return Problem(
            kind,
            INFO,
            name,
            f"{shown}: {name} {problem.get('version')} is hidden by {name} "
            f"{problem.get('other_version')} earlier on sys.path ({redact_text(problem['other'])})",
            f"nothing, unless {os.path.dirname(path)} should not be on sys.path",
        )
    if kind == "leftover":
        return Problem(
            kind,
            WARNING,
            shown,
            f"{shown}: left behind by an interrupted pip run (pip renames what it removes to ~...)",
            f"rm -rf {quote(path)}",
        )
    if kind == "egg-link":
        target = str(problem.get("target") or "")
        fix = f"pip uninstall -y {quote(name)}"
        if target:
            fix += f" && pip install -e {quote(target)}"
        return Problem(
            kind,
            WARNING,
            name,
            f"{shown}: a legacy develop install (setup.py develop) of {name} from "
            f"{redact_text(target) or 'an unknown directory'}",
            fix,
        )
    if kind == "leak":
        count = int(problem.get("count") or 0)
        origin = str(problem.get("origin"))
        user = "user" in origin
        return Problem(
            "user-site" if user else "pythonpath",
            WARNING if count else INFO,
            shown,
            f"{shown}: on sys.path through {origin}, with {count} distribution(s)",
            "export PYTHONNOUSERSITE=1 (or run python -s)"
            if user
            else f"remove {quote(path)} from PYTHONPATH (or unset PYTHONPATH)",
        )
    return None


def _duplicate(problem: dict[str, Any], name: str) -> Problem:
    """Two installations of one project in one directory: keep the newer one."""
    from packaging.version import InvalidVersion, Version

    this, other = str(problem.get("version")), str(problem.get("other_version"))
    keep, stale = other, problem["path"]  # the one imports see, by default
    try:
        if Version(this) > Version(other):
            keep, stale = this, problem["other"]
    except InvalidVersion:
        pass
    if this == other:  # one version, two metadata folders (Debian ships some so): no choice
        return Problem(
            "duplicate",
            WARNING,
            name,
            f"{redact_text(problem['path'])}: {name} {this} has two metadata folders in one "
            f"directory (also {redact_text(problem['other'])}); the version imported is the same",
            f"rm -rf {quote(stale)} && {_reinstall(name, keep)}",
        )
    return Problem(
        "duplicate",
        ERROR,
        name,
        f"{redact_text(problem['path'])}: {name} is installed twice in one directory "
        f"({this} and {other}); which one imports, and which files belong to it, is undefined",
        f"rm -rf {quote(stale)} && {_reinstall(name, keep)}",
    )


# ---------------------------------------------------------------------------------------------
# pip check
# ---------------------------------------------------------------------------------------------


def requires(dist: dict[str, Any]) -> list[str]:
    """An installed distribution's ``Requires-Dist``; for an egg-info without any, its
    ``requires.txt`` as ``name; marker`` lines (extras' sections left out)."""
    path: str = dist["path"]
    meta = path
    if not os.path.isfile(path):
        meta = os.path.join(path, "METADATA" if path.endswith(".dist-info") else "PKG-INFO")
    try:
        with open(meta, "rb") as f:
            data = f.read()
    except OSError:
        return []
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    found = [line[14:].strip() for line in head.splitlines() if line.startswith("Requires-Dist:")]
    if found or meta == path or path.endswith(".dist-info"):
        return found
    try:
        with open(os.path.join(path, "requires.txt"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    marker, skip = "", False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):  # [extra], [:marker] or [extra:marker]
            extra, _, marker = line[1:].rstrip("]").partition(":")
            marker, skip = marker.strip(), bool(extra.strip())
        elif line and not line.startswith("#") and not skip:
            req, _, own = line.partition(";")
            if marker:
                line = f"{req}; ({own}) and ({marker})" if own.strip() else f"{req}; {marker}"
            found.append(line)
    return found


def marker_environment(payload: dict[str, Any]) -> dict[str, str]:
    """The target's marker values: the probe's, or for a files-only read what its layout
    tells (the Python version, the OS); packaging fills the rest in from this machine."""
    measured = payload.get("marker_environment")
    if isinstance(measured, dict):
        return {str(k): str(v) for k, v in measured.items()}
    env: dict[str, str] = {}
    python = payload.get("python") or {}
    version = python.get("version")
    if isinstance(version, str) and version:
        env["python_full_version"] = version
        env["python_version"] = ".".join(version.split(".")[:2])
    implementation = python.get("implementation")
    if isinstance(implementation, str):
        env["implementation_name"] = implementation
        env["platform_python_implementation"] = {"cpython": "CPython", "pypy": "PyPy"}.get(
            implementation, implementation
        )
    os_name = (payload.get("platform") or {}).get("os")
    if os_name == "windows":
        env.update(os_name="nt", sys_platform="win32", platform_system="Windows")
    return env


def requirements(
    distributions: list[dict[str, Any]],
    environment: dict[str, str],
    conda_owned: frozenset[str] = frozenset(),
) -> Iterator[Problem]:
    """Each distribution's requirements that no installed distribution satisfies.

    ``conda_owned`` holds the paths of the distributions conda installed: what they need
    is fixed with conda, not pip."""
    from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    installed = {canonical_name(d["name"]): d for d in distributions}
    env = {**environment, "extra": ""}
    for dist in distributions:
        owner = canonical_name(dist["name"])
        who = f"{owner} {dist['version']}"
        for line in requires(dist):
            try:
                req = Requirement(line)
                if req.marker is not None and not req.marker.evaluate(env):
                    continue
            except (InvalidRequirement, InvalidMarker, UndefinedComparison) as exc:
                yield Problem(
                    "requirement",
                    INFO,
                    owner,
                    f"{who}: requirement {line!r} cannot be read ({type(exc).__name__})",
                    f"nothing; {owner}'s metadata is malformed",
                )
                continue
            except UndefinedEnvironmentName:
                continue
            dep_name = canonical_name(req.name)
            dep = installed.get(dep_name)
            wanted = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
            wanted += f" @ {req.url}" if req.url else str(req.specifier)
            by_conda = (dep if dep is not None else dist)["path"] in conda_owned
            fix = f"{'conda' if by_conda else 'pip'} install {quote(wanted)}"
            if dep is None:
                yield Problem(
                    "unmet", ERROR, owner, f"{who} requires {wanted}, which is not installed", fix
                )
                continue
            if not req.specifier:
                continue
            try:
                ok = req.specifier.contains(Version(dep["version"]), prereleases=True)
            except InvalidVersion:
                yield Problem(
                    "requirement",
                    INFO,
                    owner,
                    f"{who} requires {wanted}; {dep_name} {dep['version']} is not a PEP 440 "
                    "version, so whether it fits cannot be told",
                    f"check by hand that {dep_name} {dep['version']} fits {req.specifier}",
                )
                continue
            if not ok:
                yield Problem(
                    "conflict",
                    ERROR,
                    owner,
                    f"{who} requires {wanted}, but {dep_name} {dep['version']} is installed",
                    fix,
                )


# ---------------------------------------------------------------------------------------------
# Everything together
# ---------------------------------------------------------------------------------------------


def diagnose(payload: dict[str, Any], conda: CondaPrefix | None = None) -> tuple[Problem, ...]:
    """The problems of the environment a detailed payload describes, most severe first."""
    found: list[Problem] = []
    for raw in payload.get("problems") or ():
        problem = _from_probe(raw) if isinstance(raw, dict) else None
        if problem is not None:
            found.append(problem)
    distributions: list[dict[str, Any]] = payload["distributions"]
    pip_side = distributions
    if conda is not None:
        from envlock import condaenv

        pip_side, hazards = condaenv.split(payload["prefix"], distributions, conda)
        for hazard in hazards:
            reinstall = f"conda install --force-reinstall {quote(hazard.subject)}"
            if hazard.kind == "pip-over-conda":
                fix = f"pip uninstall -y {quote(hazard.subject)} && {reinstall}"
                found.append(Problem(hazard.kind, WARNING, hazard.subject, hazard.detail, fix))
            else:  # missing-dist-info: conda's package lost its files
                subject = f"conda:{hazard.subject}"
                found.append(Problem(hazard.kind, ERROR, subject, hazard.detail, reinstall))
        for warning in (*conda.warnings, *conda.notes):  # two records for a name too
            found.append(
                Problem(
                    "conda-meta",
                    WARNING,
                    warning.partition(":")[0],
                    warning,
                    "reinstall the package the file belongs to (conda install --force-reinstall)",
                )
            )
    found.extend(_legacy(pip_side))
    found.extend(_odd_versions(distributions))
    found.extend(_bad_names(distributions))
    pip_paths = {d["path"] for d in pip_side}
    owned = frozenset(d["path"] for d in distributions if d["path"] not in pip_paths)
    found.extend(requirements(distributions, marker_environment(payload), owned))
    return ordered(_for_its_installer(found, payload))


# PEP 668: an interpreter whose packages the system's package manager owns (Debian's and
# Ubuntu's /usr/bin/python3): pip refuses to change it, and removing a folder of it breaks a
# package of the system's. A fix there is the system package manager's, or a venv.
SYSTEM_MANAGED = (
    "this Python's packages belong to the system's package manager (EXTERNALLY-MANAGED, "
    "PEP 668): repair with it (e.g. apt install --reinstall of the package that owns the files), "
    "or work in a virtual environment"
)


def _for_its_installer(found: list[Problem], payload: dict[str, Any]) -> list[Problem]:
    """``found``, with every pip or ``rm`` fix replaced where the system manages the packages."""
    if not payload.get("externally_managed"):
        return found
    return [
        Problem(p.kind, p.severity, p.subject, p.message, SYSTEM_MANAGED)
        if "pip " in p.fix or "rm -rf" in p.fix
        else p
        for p in found
    ]


def _odd_versions(distributions: list[dict[str, Any]]) -> Iterator[Problem]:
    from envlock.snapshot import is_pep440

    for dist in distributions:
        if not is_pep440(dist["version"]):
            name = canonical_name(dist["name"])
            yield Problem(
                "version",
                WARNING,
                name,
                f"{redact_text(dist['path'])}: version {dist['version']!r} is not PEP 440: pip "
                "and uv cannot compare it; envlock records it as is and compares it exactly",
                f"reinstall {name} from a build with a PEP 440 version",
            )


def _bad_names(distributions: list[dict[str, Any]]) -> Iterator[Problem]:
    from envlock.snapshot import valid_name

    for dist in distributions:
        if not valid_name(dist["name"]):
            path = redact_text(dist["path"])
            yield Problem(
                "name",
                ERROR,
                path,
                f"{path}: {dist['name']!r} is not a valid project name (PEP 508): no installer "
                "can name it, and envlock does not record it",
                f"rm -rf {quote(path)}, then reinstall the project it belongs to",
            )


def _legacy(pip_side: list[dict[str, Any]]) -> Iterator[Problem]:
    from envlock.snapshot import legacy_egg_info

    for dist in filter(legacy_egg_info, pip_side):
        name = canonical_name(dist["name"])
        yield Problem(
            "egg-info",
            WARNING,
            name,
            f"{redact_text(dist['path'])}: installed in the legacy .egg-info format "
            "(setup.py install): its installer and source are unknown",
            _reinstall(name, dist["version"]),
        )


def deep(
    payload: dict[str, Any],
    conda: CondaPrefix | None = None,
    progress: Progress | None = None,
) -> tuple[Problem, ...]:
    """Every file of every conda package and pip-installed ``*.dist-info``, hashed and
    compared with what its installer recorded. Slow: it reads the whole environment.
    ``progress(done, total, package)`` is called before each package."""
    from pathlib import Path

    from envlock import integrity

    distributions: list[dict[str, Any]] = payload["distributions"]
    pip_side = distributions
    prefix = Path(payload["prefix"]) if payload.get("prefix") else None
    if conda is not None and prefix is not None:
        from envlock import condaenv

        pip_side = condaenv.split(str(prefix), distributions, conda)[0]
    pip_side = [d for d in pip_side if d.get("kind") == "dist-info"]
    records = conda.records if conda is not None and prefix is not None else ()
    total, done = len(records) + len(pip_side), 0
    found: list[Problem] = []
    for record in records:
        assert prefix is not None
        if progress is not None:
            progress(done, total, f"conda:{record.name}")
        done += 1
        entries, note = integrity.conda_entries(prefix, record)
        damage = integrity.check(str(prefix), entries)
        spec = f"{record.name}={record.version}={record.build}"
        fix = f"conda install --force-reinstall {quote(spec)}"
        found.extend(_damage(f"conda:{record.name}", record.version, damage, fix))
        if note is not None:  # an old record without paths_data: existence only
            found.append(Problem("unchecked", INFO, f"conda:{record.name}", note, fix))
    for dist in pip_side:
        name = canonical_name(dist["name"])
        if progress is not None:
            progress(done, total, name)
        done += 1
        entries, note = integrity.record_entries(dist["path"])
        damage = integrity.check(os.path.dirname(dist["path"]), entries)
        fix = _reinstall(name, dist["version"])
        found.extend(_damage(name, dist["version"], damage, fix))
        if note is not None:  # no RECORD: pip can neither check nor uninstall it
            message = f"{redact_text(dist['path'])}: {note}"
            found.append(Problem("unchecked", WARNING, name, message, fix))
    if progress is not None:
        progress(total, total, "")
    return ordered(_for_its_installer(found, payload))


def _damage(subject: str, version: str, damage: Damage, fix: str) -> Iterator[Problem]:
    def listed(paths: tuple[str, ...]) -> str:
        return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")

    who = f"{subject} {version}"
    if damage.altered:
        yield Problem(
            "altered",
            ERROR,
            subject,
            f"{who}: {len(damage.altered)} file(s) differ from what was installed: "
            f"{listed(damage.altered)}",
            fix,
        )
    if damage.missing:
        yield Problem(
            "missing-file",
            ERROR,
            subject,
            f"{who}: {len(damage.missing)} installed file(s) are missing: {listed(damage.missing)}",
            fix,
        )


# ---------------------------------------------------------------------------------------------
# The Python API
# ---------------------------------------------------------------------------------------------


def examine(
    *,
    python: str | None = None,
    prefix: str | None = None,
    deep_check: bool = False,
    progress: Progress | None = None,
) -> tuple[Problem, ...]:
    """The problems of an environment (the active one by default, as for capture):
    ``doctor``'s answer. ``deep_check`` hashes every installed file too."""
    from envlock import target as _target

    where = _target.resolve(python=python, prefix=prefix)
    payload, conda = read(where)
    problems = diagnose(payload, conda)
    if deep_check:
        problems = ordered([*problems, *deep(payload, conda, progress)])
    return for_target(problems, where, has_pip(payload))


def has_pip(payload: dict[str, Any]) -> bool:
    """Whether the environment of a probe's ``payload`` has pip installed."""
    return any(str(d.get("name", "")).lower() == "pip" for d in payload["distributions"])


def for_target(
    problems: tuple[Problem, ...], where: Target, has_pip: bool = True
) -> tuple[Problem, ...]:
    """``problems`` with the target's own: a venv read with ``--prefix`` whose interpreter
    links to a Python that is gone; and fixes that name the environment where it is not the
    active one, or use uv's commands in a venv of uv's without pip (``has_pip``: whether the
    environment has pip, :func:`has_pip`; :meth:`envlock.target.Target.fixer`)."""
    from dataclasses import replace

    from envlock.target import interpreter_gone

    gone = interpreter_gone(where.prefix) if where.method == "static" and where.prefix else ""
    if gone:
        recreate = "recreate the environment with a Python that exists, then reinstall its packages"
        problems = ordered([*problems, Problem("interpreter", ERROR, "python", gone, recreate)])
    fixer = where.fixer(has_pip=has_pip)
    return problems if fixer is None else tuple(replace(p, fix=fixer(p.fix)) for p in problems)


def read(where: Target) -> tuple[dict[str, Any], CondaPrefix | None]:
    """The detailed payload of a resolved :class:`envlock.target.Target`, and its prefix's
    conda side."""
    from pathlib import Path

    from envlock import static
    from envlock import target as _target

    if where.prefix is not None and where.method == "static":
        payload = static.read(where.prefix, details=True)
        payload["externally_managed"] = not (where.prefix / "pyvenv.cfg").exists() and any(
            where.prefix.glob("lib/python3*/EXTERNALLY-MANAGED")
        )
    else:
        from envlock import _doctor_probe

        payload = _target.probe(where, [], details=True)
        if where.in_process:
            payload["marker_environment"] = _doctor_probe.marker_environment()
            payload["externally_managed"] = _doctor_probe.externally_managed()
        else:
            assert where.python is not None
            script = Path(_doctor_probe.__file__)
            facts = _target._run_probe(where.python, script, [])
            if isinstance(facts.get("marker_environment"), dict):
                payload["marker_environment"] = facts["marker_environment"]
            payload["externally_managed"] = facts.get("externally_managed") is True
    conda_side = None
    if payload.get("prefix") and (Path(payload["prefix"]) / "conda-meta").is_dir():
        from envlock import conda

        conda_side = conda.read_prefix(Path(payload["prefix"]))
    return payload, conda_side


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


def counts(problems: tuple[Problem, ...]) -> dict[str, int]:
    found = dict.fromkeys(SEVERITIES, 0)
    for p in problems:
        found[p.severity] += 1
    return found


def render_text(problems: tuple[Problem, ...], label: str) -> str:
    """Each problem on one line with its severity, and its fix on the next."""
    from envlock.escape import printable

    lines = [f"envlock doctor: {label}"]
    for p in problems:
        lines.append(f"{p.severity}: [{p.kind}] {p.message}")
        lines.append(f"  fix: {p.fix}")
    n = counts(problems)
    if problems:
        lines.append(f"{n[ERROR]} error(s), {n[WARNING]} warning(s), {n[INFO]} note(s)")
    else:
        lines.append("no problems found")
    # a name or path from the environment holds no terminal control and forges no line, and
    # no home path is shown, whatever a check wrote
    return "".join(f"{printable(redact_text(line))}\n" for line in lines)


def render_json(problems: tuple[Problem, ...], label: str) -> str:
    import json

    data = {
        "version": FORMAT_VERSION,
        "environment": label,
        "ok": exit_code(problems) == 0,
        "counts": counts(problems),
        "problems": [p.to_dict() for p in problems],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
