"""envlock's Python API; the command-line tool is a thin layer over these functions."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from envlock import lockfile as _lockfile
from envlock import snapshot, static
from envlock import target as _target
from envlock.compare import compare
from envlock.errors import UsageError
from envlock.findings import ERROR, Finding
from envlock.model import ENVIRONMENT_NAME, Environment, Lockfile
from envlock.nativemodel import CUDA_COMPONENTS
from envlock.reader import full_match
from envlock.variables import VARIABLES

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Callable, Collection
    from typing import Union

    from envlock.conda import CondaPrefix
    from envlock.foreign.model import Foreign
    from envlock.policy import Policy

    PathLike = Union[str, os.PathLike[str]]

DEFAULT_LOCKFILE = "envlock.yaml"


def capture(
    *,
    python: str | None = None,
    prefix: str | None = None,
    base_dir: PathLike | None = None,
    target: _target.Target | None = None,
    runtime: bool | Collection[str] = True,
    variables: tuple[str, ...] = (),
    announce: Callable[[str], None] | None = None,
) -> Environment:
    """Snapshot an environment: the active one by default (see :func:`envlock.target.resolve`).

    ``base_dir`` is the directory local paths are recorded relative to (the lockfile's).
    ``runtime=False`` skips the child processes that import numpy and ask the CUDA
    libraries: the BLAS section then holds static hints only, and CUDA is not recorded.
    ``runtime`` may also name the probes to run (``{"blas"}``, ``{"cuda"}``).
    ``announce`` is called with a line saying so before a child process imports numpy.
    """
    if isinstance(runtime, bool):
        probes = RUNTIME_PROBES if runtime else frozenset()
    else:
        probes = frozenset(runtime)
        if probes - RUNTIME_PROBES:
            raise UsageError(
                f"runtime: no probe named {', '.join(sorted(probes - RUNTIME_PROBES))}; "
                f"there are {', '.join(sorted(RUNTIME_PROBES))}"
            )
    if target is None:
        target = _target.resolve(python=python, prefix=prefix)
    if target.method == "static":
        assert target.prefix is not None
        payload = static.read(target.prefix)
    else:
        payload = _target.probe(target, sorted({*VARIABLES, *variables}))
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    conda_side = None
    if payload.get("prefix") and (Path(payload["prefix"]) / "conda-meta").is_dir():
        from envlock import conda

        conda_side = conda.read_prefix(Path(payload["prefix"]))
    env = snapshot.from_payload(payload, base.absolute(), target.method, conda_side)
    return _with_native(env, target, payload.get("prefix"), conda_side, probes, announce)


RUNTIME_PROBES = frozenset({"blas", "cuda"})
_BLAS_USERS = frozenset({"numpy", "scipy"})


def _with_native(
    env: Environment,
    target: _target.Target,
    prefix: str | None,
    conda_side: CondaPrefix | None,
    probes: frozenset[str],
    announce: Callable[[str], None] | None,
) -> Environment:
    from envlock import blas_static, nativesnap

    records = [(r.name, r.version, r.build) for r in conda_side.records] if conda_side else None
    hints = blas_static.static_hints(Path(prefix), records) if prefix else []
    if target.method == "static":
        probes = frozenset()
    installed = {p.name for p in env.packages}
    if env.conda is not None:
        installed |= {p.name for p in env.conda.packages}
    run_blas = "blas" in probes and bool(installed & _BLAS_USERS)
    if not run_blas and "cuda" not in probes:
        if "blas" in probes:  # measured: there is nothing that would load a BLAS
            return replace(env, blas=nativesnap.blas_section({}, hints, ["numpy is not installed"]))
        why = "files only: nothing was run" if target.method == "static" else "numpy not imported"
        return replace(env, blas=nativesnap.blas_section(None, hints, [why]))
    from envlock import runtime as _runtime

    python = target.python or Path(sys.executable)
    if run_blas and announce is not None:
        announce("importing numpy (and scipy) in a child process to see which BLAS loads")
    blas, cuda, notes = _runtime.probe(
        python, prefix or sys.prefix, blas=run_blas, cuda="cuda" in probes
    )
    if run_blas:
        blas_section = nativesnap.blas_section(blas, hints, notes)
    elif "blas" in probes:
        blas_section = nativesnap.blas_section({}, hints, ["numpy is not installed"])
    else:
        blas_section = nativesnap.blas_section(None, hints, ["numpy not imported"])
    return replace(
        env,
        blas=blas_section,
        cuda=nativesnap.cuda_section(cuda) if cuda is not None else None,
        warnings=(*env.warnings, *notes),
        complete=env.complete and not notes,  # a runtime probe that failed: not recorded
    )


def default_name(env: Environment) -> str:
    return env.platform.subdir or "default"


def check_name(name: str) -> None:
    """Refuse an environment name the lockfile format does not allow (it would be written,
    then refused by every later read)."""
    if not full_match(ENVIRONMENT_NAME, name):
        from envlock.escape import printable

        raise UsageError(
            f"environment name '{printable(name)}': use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )


def record(lock: Lockfile, name: str, env: Environment, now: float | None = None) -> Lockfile:
    """``lock`` with environment ``name`` replaced by ``env``, timestamped.

    The timestamp is ``SOURCE_DATE_EPOCH`` when set; otherwise, when nothing else changed,
    the previous one, so that capturing an unchanged environment rewrites the same bytes.
    """
    check_name(name)
    stamp = os.environ.get("SOURCE_DATE_EPOCH")
    previous = lock.environments.get(name)
    captured_at: str | None
    if stamp is not None:
        try:
            seconds = int(stamp)
        except ValueError:
            raise UsageError(f"SOURCE_DATE_EPOCH={stamp!r} is not an integer") from None
        if not 0 <= seconds <= _LAST_SECOND:  # a four-digit year, as the lockfile's format
            raise UsageError(
                f"SOURCE_DATE_EPOCH={stamp!r} is out of range (0 to {_LAST_SECOND}, 1970 to 9999)"
            )
        captured_at = _iso(seconds)
    elif previous is not None and replace(previous, captured_at=None) == env:
        captured_at = previous.captured_at
    else:
        captured_at = _iso(time.time() if now is None else now)
    return lock.with_environment(name, replace(env, captured_at=captured_at))


_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def load(path: PathLike, fmt: str | None = None) -> Lockfile:
    """Read and check a lockfile."""
    return _lockfile.load(path, fmt)


def dump(lock: Lockfile, path: PathLike, fmt: str | None = None) -> None:
    """Write a lockfile atomically (YAML, or TOML for ``*.toml`` / ``fmt="toml"``)."""
    _lockfile.dump(lock, path, fmt)


def needs_runtime(lock: Lockfile) -> frozenset[str]:
    """The runtime probes whose facts ``lock`` has, so that verify runs only those: BLAS when
    a runtime capture saw numpy, CUDA when some component or GPU was found."""
    probes = set()
    for env in lock.environments.values():
        blas = env.blas
        if blas is not None and blas.method == "runtime" and (blas.libraries or blas.imported):
            probes.add("blas")
        cuda = env.cuda
        if cuda is not None and (cuda.gpus or any(cuda.component(n) for n in CUDA_COMPONENTS)):
            probes.add("cuda")
    return frozenset(probes)


def select(lock: Lockfile, live: Environment, name: str | None = None) -> str:
    """The lockfile environment to check ``live`` against: ``name``; else the only one; else
    the one for this platform. When several are (a CI matrix of Python versions), the one for
    this Python (implementation and minor version); when that leaves several, or none, the
    one named after the platform, as ``envlock capture`` names it by default."""
    names = sorted(lock.environments)
    if name is not None:
        if name not in lock.environments:
            raise UsageError(f"no environment {name!r} in the lockfile; it has: {', '.join(names)}")
        return name
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError("the lockfile has no environments; run `envlock capture`")
    subdir = live.platform.subdir
    matching = [n for n in names if subdir and lock.environments[n].platform.subdir == subdir]
    series = python_series(live)
    same_python = [n for n in matching if series and python_series(lock.environments[n]) == series]
    for candidates in (matching, same_python):
        if len(candidates) == 1:
            return candidates[0]
    if subdir in (same_python or matching):
        return subdir
    if not matching:
        raise UsageError(
            f"the lockfile has several environments ({', '.join(names)}) and none match this "
            f"platform ({subdir or 'unknown'}); choose one with --env NAME"
        )
    here = f"{subdir}, {python_label(live)}" if series else subdir
    if series is None or same_python:
        raise UsageError(
            f"several environments are for this {'platform and Python' if series else 'platform'} "
            f"({here}): {', '.join(same_python or matching)}; choose one with --env NAME"
        )
    listed = ", ".join(f"{n} ({python_label(lock.environments[n])})" for n in matching)
    raise UsageError(
        f"no environment is for this platform and Python ({here}); those for {subdir}: "
        f"{listed}; choose one with --env NAME"
    )


def other_python(a: Environment, b: Environment) -> bool:
    """Whether ``a`` and ``b`` are known to be for different Pythons (implementation or minor
    version)."""
    this, that = python_series(a), python_series(b)
    return this is not None and that is not None and this != that


def python_series(env: Environment) -> tuple[str, str] | None:
    """The Python's implementation and minor version (``('cpython', '3.12')``), if known."""
    python = env.python
    parts = python.version.split(".") if python.version else []
    if not python.implementation or len(parts) < 2:
        return None
    return python.implementation, ".".join(parts[:2])


def python_label(env: Environment) -> str:
    series = python_series(env)
    if series is None:
        return "Python unknown"
    implementation, minor = series
    return f"{'Python' if implementation == 'cpython' else implementation} {minor}"


@dataclass(frozen=True, repr=False)
class Result:
    """The outcome of :func:`verify`."""

    environment: str
    findings: tuple[Finding, ...]
    live: Environment
    expected: Environment
    fail_on: str = ERROR  # the lowest severity that fails
    notes: tuple[str, ...] = ()  # what the lockfile holds that was not checked, and why
    # whose packages were compared: a foreign lockfile may record only pip's, or only conda's
    compared: frozenset[str] = frozenset({"pip", "conda"})

    @property
    def ok(self) -> bool:
        from envlock.policy import Policy

        return not Policy(fail_on=self.fail_on).fails(self.findings)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts

    @property
    def status(self) -> str:
        """``match`` (no findings), ``warnings`` (none of which fails the run) or ``drift``."""
        if not self.findings:
            return "match"
        return "warnings" if self.ok else "drift"

    def fixes_for(self, target: _target.Target) -> Result:
        """This result with fixes that act on ``target``, where the ``pip`` on ``PATH`` and
        conda's active environment may not be its (:meth:`envlock.target.Target.fixer`)."""
        live = (*self.live.packages, *self.live.conda_dists)
        has_pip = any(p.name == "pip" for p in live)
        fix = target.fixer(has_pip=has_pip)
        if fix is None:
            return self
        from envlock.compare import installer_hint_without_pip

        pipless = target.pip_via_uv(has_pip)
        return replace(
            self,
            findings=tuple(
                replace(f, hint=(pipless and installer_hint_without_pip(f)) or fix(f.hint))
                for f in self.findings
            ),
        )

    def __repr__(self) -> str:
        """One line (a notebook shows a cell's last value): the environments and findings
        are its attributes."""
        counts = self.counts()
        tally = f"errors={counts['error']}, warnings={counts['warning']}, info={counts['info']}"
        return f"Result(environment={self.environment!r}, ok={self.ok}, {tally})"


def verify(
    lock: Lockfile | PathLike = DEFAULT_LOCKFILE,
    *,
    env: str | None = None,
    python: str | None = None,
    prefix: str | None = None,
    live: Environment | None = None,
    base_dir: PathLike | None = None,
    target: _target.Target | None = None,
    runtime: bool | Collection[str] | None = None,
    policy: Policy | None = None,
) -> Result:
    """Compare a live environment (the active one by default) with a lockfile.

    ``runtime=None`` runs the runtime probes only when the lockfile has runtime facts."""
    if not isinstance(lock, Lockfile):
        base_dir = _lockfile.directory(lock) if base_dir is None else base_dir
        lock = load(lock)
    from envlock.localpath import rebased  # paths an older envlock wrote whole, as now

    lock = rebased(lock, Path.cwd() if base_dir is None else base_dir)
    if live is not None:
        name = select(lock, live, env)
        return result(name, lock.environments[name], live, policy)
    if runtime is None:
        runtime = needs_runtime(lock)
    if target is None:
        target = _target.resolve(python=python, prefix=prefix)
    live = capture(
        base_dir=base_dir,
        target=target,
        runtime=runtime,
        variables=policy.variables if policy else (),
    )
    name = select(lock, live, env)
    also: tuple[Finding, ...] = ()
    if target.in_process:  # a notebook's kernel may have imported what pip has since replaced
        from envlock import imported

        also = tuple(imported.stale(live))
    return result(name, lock.environments[name], live, policy, also).fixes_for(target)


def result(
    name: str,
    expected: Environment,
    live: Environment,
    policy: Policy | None = None,
    also: tuple[Finding, ...] = (),
) -> Result:
    """The findings of ``live`` against ``expected`` (and ``also``), with ``policy`` applied."""
    findings = [*compare(expected, live), *also]
    if policy is None:
        return Result(name, tuple(findings), live, expected)
    return Result(name, policy.apply(findings), live, expected, policy.fail_on)


def verify_against(
    path: PathLike,
    *,
    fmt: str | None = None,
    platform: str | None = None,
    environment: str | None = None,
    groups: tuple[str, ...] | None = None,
    python: str | None = None,
    prefix: str | None = None,
    live: Environment | None = None,
    target: _target.Target | None = None,
    policy: Policy | None = None,
    text: str | None = None,
) -> Result:
    """Compare a live environment (the active one by default) with a foreign lockfile:
    ``pylock.toml``, a requirements file, a conda explicit spec, ``conda-lock.yml``,
    ``pixi.lock`` or a conda environment file (the format is read from the content unless
    ``fmt`` names it). Only what that format records is compared. ``platform`` (a conda
    subdir) and ``environment`` choose within files that hold several; the platform defaults
    to the live one. ``groups`` are a uv.lock's dependency groups to expect (``None``: uv's
    default, ``dev``; ``()``: none, as ``uv sync --no-dev``). The result's ``notes`` say what
    the file holds that was not checked. ``text``: the file's, when it has been read already
    (:func:`envlock.foreign.read`)."""
    from envlock import foreign as _foreign
    from envlock.compare_foreign import compare_foreign, marker_environment

    path = Path(path)
    if text is None:
        text = _foreign.read(path)  # a file that is not there is said before the probe runs
    captured = live is None
    if live is None:
        if target is None:
            target = _target.resolve(python=python, prefix=prefix)
        live = capture(
            base_dir=path.absolute().parent,
            target=target,
            runtime=False,
            variables=policy.variables if policy else (),
        )
    lock = _foreign.load(
        path,
        fmt,
        platform=platform or live.platform.subdir,
        environment=environment,
        markers=marker_environment(live),
        groups=groups,
        text=text,
    )
    findings = tuple(compare_foreign(lock, live))
    if policy is not None:
        findings = policy.apply(list(findings))
    label = _foreign.FORMATS[lock.format][1]
    chosen = [part for part in (lock.environment, lock.platform) if part]
    name = f"{label}: {', '.join(chosen)}" if chosen else label
    result = Result(
        name,
        findings,
        live,
        _foreign_view(lock),
        policy.fail_on if policy is not None else ERROR,
        notes=lock.notes,
        compared=frozenset(
            side for side, wants in (("pip", lock.pip), ("conda", lock.conda)) if wants is not None
        ),
    )
    return result.fixes_for(target) if captured and target is not None else result


def _foreign_view(lock: Foreign) -> Environment:
    """What a foreign lockfile pins exactly, as an :class:`Environment` (for reporters)."""
    from envlock.condamodel import CondaPackage, CondaSection
    from envlock.model import Package, Platform, Python

    packages = tuple(Package(w.name, w.version) for w in lock.pip or () if w.version)
    conda = None
    if lock.conda is not None:
        conda = CondaSection(
            packages=tuple(
                CondaPackage(w.name, w.version, w.build or "", channel=w.channel)
                for w in lock.conda
                if w.version
            ),
            method="foreign",
        )
    return Environment(
        python=Python(method="unknown"),
        platform=Platform(method="unknown"),
        packages=packages,
        conda=conda,
        method="foreign",
    )
