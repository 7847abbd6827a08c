"""Which environment to look at, and how to get its facts.

The default target is the active environment: ``VIRTUAL_ENV``, then ``CONDA_PREFIX``, then
a project's ``.venv`` (in the working directory, else in the nearest folder above it up to the
git repository's root), then the interpreter running envlock. ``--python`` runs the probe
inside that interpreter; ``--prefix`` reads the environment's files without running anything
in it. When the target is the running interpreter the probe runs in-process, which costs
nothing.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from envlock.errors import TargetError
from envlock.redact import display_path, redact_text

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

PROBE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Target:
    """A resolved environment: its prefix (when known), the interpreter to probe (``None``
    for a static read), and why it was chosen."""

    prefix: Path | None
    python: Path | None
    reason: str
    in_process: bool = False
    # a project's .venv found from the working directory, not activated (its reason is its
    # path as found, ./.venv or ../.venv); and whether uv, run there, finds it by itself
    project_venv: bool = False
    uv_finds_it: bool = False

    @property
    def method(self) -> str:
        return "static" if self.python is None and not self.in_process else "probe"

    def fixer(self, has_pip: bool = True) -> Callable[[str], str] | None:
        """What makes a fix (a finding's hint, a doctor problem's) act on this environment
        when the ``pip`` on ``PATH`` and conda's active environment may be another's: one
        named with ``--python`` or ``--prefix``, or a project's ``.venv`` that is not active
        (:func:`envlock.findings.acting_on`, with its interpreter and prefix as shown).

        ``has_pip``: whether the environment has pip (a ``pip`` distribution in it). A venv
        uv made (:meth:`pip_via_uv`) has none unless asked: there, whichever environment it
        is, pip's commands become uv's (``uv pip install``, told ``--python`` unless uv finds
        the environment itself), as ``python -m pip`` would fail ("No module named pip") and
        the ``pip`` on ``PATH`` is another environment's. Another environment without pip
        keeps pip's commands: ``python -m pip`` says what is missing, and ``ensurepip``,
        which could add it, is not in every Python (Debian and Ubuntu disable it in theirs).

        ``None`` where fixes stand as they are: the active environment and the running
        interpreter, with pip or not made by uv."""
        named = self.reason in ("--python", "--prefix") or self.project_venv
        via_uv = self.pip_via_uv(has_pip)
        if not named and not via_uv:
            return None
        python, prefix = self._location()
        from functools import partial

        from envlock.findings import acting_on

        return partial(
            acting_on,
            python=display_path(python) if python is not None else None,
            prefix=display_path(prefix) if prefix is not None else None,
            uv_finds_it=self.uv_finds_it or self.reason in UV_FINDS,
            pip_via_uv=via_uv,
        )

    def pip_via_uv(self, has_pip: bool) -> bool:
        """Whether pip's commands are uv's here: the environment (``has_pip``: whether a
        ``pip`` distribution is in it) is a venv made by ``uv venv`` (its ``pyvenv.cfg`` has a
        ``uv = VERSION`` line), which has no pip unless asked (``--seed``)."""
        if has_pip:
            return False
        from envlock.static import pyvenv_cfg

        prefix = self._location()[1]
        return prefix is not None and "uv" in pyvenv_cfg(prefix)

    def _location(self) -> tuple[Path | None, Path | None]:
        """The interpreter and the prefix, each worked out from the other where not known."""
        python = self.python or (interpreter_in(self.prefix) if self.prefix else None)
        prefix = self.prefix
        if prefix is None and python is not None:  # bin/python, Scripts/python.exe, python.exe
            home = python.parent
            prefix = home.parent if home.name in ("bin", "Scripts") else home
        return python, prefix

    def describe(self) -> str:
        return f"environment {self.summary()}"

    def summary(self) -> str:
        """Where the environment is, why it was chosen and how it is read."""
        where = display_path(self.prefix) if self.prefix else display_path(str(self.python))
        how = (
            "files only"
            if self.method == "static"
            else ("in-process" if self.in_process else "probe in its interpreter")
        )
        return f"{where} ({self.reason}; {how})"


# The reasons for an active environment, which uv finds by itself, without --python, as
# resolve does: VIRTUAL_ENV, then CONDA_PREFIX (a project's .venv: Target.uv_finds_it).
UV_FINDS = ("VIRTUAL_ENV", "CONDA_PREFIX")


INTERPRETERS = ("bin/python", "bin/python3", "Scripts/python.exe", "python.exe")


def interpreter_in(prefix: Path) -> Path | None:
    for rel in INTERPRETERS:
        candidate = prefix / rel
        if os.path.isfile(candidate):  # (a folder we may not look in has none)
            return candidate
    return None


def _dangling(path: Path) -> str:
    """Why ``path`` is there but runs nothing: a symbolic link to a file that is gone (a
    venv's link to the Python it was made from, moved or uninstalled since), or ``""``."""
    if not os.path.islink(path) or os.path.exists(path):
        return ""
    return (
        f"{display_path(path)} links to {display_path(os.path.realpath(path))}, which does "
        "not exist: the Python it was made from was moved or removed; recreate the environment"
    )


def interpreter_gone(prefix: Path) -> str:
    """Why the environment at ``prefix`` has no interpreter that runs, when its interpreter
    is a link to a Python that is gone; else ``""``."""
    if interpreter_in(prefix) is not None:
        return ""
    return next(filter(None, (_dangling(prefix / rel) for rel in INTERPRETERS)), "")


def _same_path(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _from_prefix(prefix: Path, reason: str) -> Target:
    if not prefix.is_dir():
        raise TargetError(f"{display_path(prefix)} ({reason}): no such directory")
    if _same_path(prefix, sys.prefix):
        return Target(prefix, Path(sys.executable), reason, in_process=True)
    python = interpreter_in(prefix)
    if python is None:
        why = interpreter_gone(prefix)
        if why:
            raise TargetError(f"{display_path(prefix)} ({reason}): {why}")
        raise TargetError(
            f"{display_path(prefix)} ({reason}) is not a Python environment: no interpreter in it"
        )
    return Target(prefix, python, reason)


def resolve(
    python: str | None = None,
    prefix: str | None = None,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Target:
    environ = dict(os.environ) if environ is None else environ
    cwd = cwd or Path.cwd()
    if python and prefix:
        raise TargetError("give --python or --prefix, not both")
    if prefix:
        path = Path(prefix).absolute()
        if not path.is_dir():
            raise TargetError(
                f"{display_path(path)}: not a directory: --prefix takes an environment's folder "
                "(an interpreter goes with --python)"
                if path.exists()
                else f"{display_path(path)}: no such directory"
            )
        return Target(path, None, "--prefix")
    if python:
        exe = Path(python)
        if not exe.is_file():
            found = _which(python)
            if found is None:
                if exe.is_dir():
                    raise TargetError(
                        f"{display_path(exe)}: a directory, not an interpreter: give its "
                        "interpreter (bin/python in a venv), or the folder with --prefix"
                    )
                raise TargetError(_dangling(exe) or f"{display_path(exe)}: no such interpreter")
            exe = found
        exe = exe.absolute()
        if os.path.abspath(exe) == os.path.abspath(sys.executable):
            return Target(Path(sys.prefix), exe, "--python", in_process=True)
        return Target(None, exe, "--python")
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = environ.get(var)
        if value:
            return _from_prefix(Path(value).absolute(), var)
    reason = "this interpreter"
    for folder, found_as in _project_folders(cwd.absolute()):
        dot_venv = folder / ".venv"
        # (os.path's tests: a folder that cannot be looked in has no .venv, where Path's raise)
        if os.path.isdir(dot_venv):
            return replace(
                _from_prefix(dot_venv, found_as),
                project_venv=True,
                uv_finds_it=_uv_finds(dot_venv, cwd.absolute()),
            )
        if os.path.islink(dot_venv) and not os.path.exists(dot_venv):  # not this interpreter
            raise TargetError(
                f"{display_path(dot_venv)} ({found_as}) links to "
                f"{display_path(os.path.realpath(dot_venv))}, which does not exist: recreate "
                "the environment, or remove the link"
            )
        if os.path.exists(dot_venv):  # a file (some tools keep an environment's name in one): the
            # project's environment is not a .venv, nor an outer project's (nor for uv)
            reason += f"; {display_path(dot_venv)} is a file, not an environment"
            break
    return Target(Path(sys.prefix), Path(sys.executable), reason, in_process=True)


def _project_folders(cwd: Path) -> Iterator[tuple[Path, str]]:
    """Where a project's ``.venv`` is looked for, nearest first, each with its ``.venv`` as
    found from ``cwd`` (``./.venv``, ``../.venv``): the working directory, and each folder
    above it up to the root of the git repository it is in (a notebook's folder in a
    project); with no repository, the working directory alone."""
    from envlock.localpath import repository_root

    yield cwd, "./.venv"
    root = repository_root(cwd)
    if root is None or root == cwd:
        return
    for up, folder in enumerate(cwd.parents, 1):
        yield folder, "../" * up + ".venv"
        if folder == root:
            return


def _uv_finds(dot_venv: Path, cwd: Path) -> bool:
    """Whether ``uv pip``, run in ``cwd``, acts on ``dot_venv`` by itself. uv takes, in the
    nearest folder at or above ``cwd`` where it finds either, the folder itself when it is a
    virtual environment (``cwd`` inside another venv), else its ``.venv`` when that has a
    ``pyvenv.cfg`` (not a conda environment named ``.venv``)."""
    for folder in (cwd, *cwd.parents):
        if os.path.isfile(folder / "pyvenv.cfg"):
            return _same_path(folder, dot_venv)
        if folder == dot_venv.parent:
            break
    return os.path.isfile(dot_venv / "pyvenv.cfg")


def _which(name: str) -> Path | None:
    import shutil

    found = shutil.which(name)
    return Path(found) if found else None


def probe(target: Target, variable_names: list[str], details: bool = False) -> dict[str, Any]:
    """The probe's payload for ``target`` (which must not be a static target); ``details``
    adds what ``envlock doctor`` needs."""
    from envlock import _probe, stamp

    if target.in_process:
        payload = _probe.collect(variable_names, in_process=True, details=details)
    else:
        assert target.python is not None
        stamp.watch(target.python)
        with stamp.child():
            payload = _run_probe(target.python, Path(_probe.__file__), variable_names, details)
    memo = stamp.recording()
    if memo is not None:
        sites = payload.get("sys_path")
        stamp.watch_sites([str(p) for p in sites] if isinstance(sites, list) else [])
        if isinstance(payload.get("prefix"), str):
            stamp.watch(os.path.join(payload["prefix"], "pyvenv.cfg"))
        launcher = _launcher(target, payload)
        if launcher:
            memo.refuse(launcher)
    return payload


def _launcher(target: Target, payload: dict[str, Any]) -> str:
    """Why ``target.python`` is a launcher, or ``""``: the interpreter that ran the probe is
    not that file (nor a link to it), so it was chosen by the launcher (a pyenv or asdf shim,
    a wrapper script) from files of its own (``pyenv global`` rewrites one)."""
    if target.in_process or target.python is None:
        return ""
    ran = payload.get("executable")
    if isinstance(ran, str) and ran and _same_path(ran, target.python):
        return ""
    shown = display_path(ran) if isinstance(ran, str) and ran else "an unknown interpreter"
    return (
        f"{display_path(target.python)} is a launcher (it ran {shown}), which can choose "
        "another interpreter with no file this check read changing"
    )


def _run_probe(
    python: Path, script: Path, variable_names: list[str], details: bool = False
) -> dict[str, Any]:
    import subprocess
    import tempfile

    # The child runs in the working directory, as the user's own commands do: a launcher
    # finds its interpreter from there (a pyenv shim reads ./.python-version), and a relative
    # PYTHONPATH entry is resolved against it.
    marker = new_marker()
    with tempfile.TemporaryDirectory(prefix="envlock-probe-") as tmp:
        if not script.is_file():  # envlock imported from a zip: give the child a real file
            from envlock import _probe

            copy = Path(tmp) / "envlock_probe.py"
            copy.write_text(Path(_probe.__file__).read_text(encoding="utf-8"), encoding="utf-8")
            script = copy
        cmd = [str(python), str(script), marker, json.dumps(variable_names)]
        if details:
            cmd.append(json.dumps({"details": True}))
        try:
            done = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PROBE_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise TargetError(
                f"{display_path(python)}: the probe did not finish in {PROBE_TIMEOUT_S:.0f} s"
            ) from None
        except OSError as e:
            raise TargetError(f"{display_path(python)}: cannot run: {e.strerror}") from None
    return fenced_payload(python, done.returncode, done.stdout, done.stderr, marker)


def new_marker() -> str:
    return "@@envlock-" + os.urandom(8).hex() + "@@"


def _signal_name(number: int) -> str:
    """``11 (SIGSEGV)``, or the number alone where the system has no name for it."""
    import signal

    try:
        return f"{number} ({signal.Signals(number).name})"
    except ValueError:
        return str(number)


def _last_words(stderr: bytes) -> str:
    """What a failed child's stderr says of why: a Python traceback's last line; else the
    first and the last line (a launcher, such as a pyenv shim, says what failed first, then
    explains: 'pyenv: python3.12: command not found ... found at the same time.')."""
    lines = [x.strip() for x in stderr.decode("utf-8", "replace").splitlines() if x.strip()]
    if len(lines) < 2 or any(x.startswith(("Traceback (", 'File "')) for x in lines):
        return lines[-1] if lines else ""
    return f"{lines[0]} ... {lines[-1]}"


def fenced_payload(
    python: Path, returncode: int, stdout: bytes, stderr: bytes, marker: str
) -> dict[str, Any]:
    """The JSON mapping a probe printed between two markers; :class:`TargetError` if none."""
    out = stdout.decode("utf-8", "replace")
    start = out.find(marker)
    end = out.find(marker, start + len(marker)) if start >= 0 else -1
    if returncode != 0 or end < 0:
        last = _last_words(stderr) or f"exit status {returncode}"
        if returncode < 0:  # a crash: stderr's last line may be anyone's start-up output
            last = f"killed by signal {_signal_name(-returncode)}"
        elif returncode == 0:  # /bin/true, a script that ignores its arguments
            last = "it did not run it (exit status 0, no result): is it a Python interpreter?"
        elif last.startswith("SyntaxError"):  # the probe's own syntax: Python 3.8's
            last += " (envlock's probe needs Python 3.8 or later)"
        raise TargetError(f"{display_path(python)}: the probe failed: {redact_text(last)}")
    try:
        payload = json.loads(out[start + len(marker) : end])
    except ValueError:
        raise TargetError(f"{display_path(python)}: the probe printed invalid JSON") from None
    if not isinstance(payload, dict):
        raise TargetError(f"{display_path(python)}: the probe printed no mapping")
    return payload
