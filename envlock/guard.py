"""``envlock.check()``: one line at the top of a notebook or script.

    import envlock
    envlock.check()                 # silent when this interpreter matches envlock.yaml
    envlock.check(warn=False)       # raise EnvlockDriftError instead of warning

It checks the *running* interpreter (in-process, whatever ``VIRTUAL_ENV`` says), against
``envlock.yaml`` (then ``envlock.toml``) found in the working directory or the directories
above it, up to the first that holds ``.git`` or ``pyproject.toml``. As with
``envlock verify``, only drift at error severity counts: a match with warnings is silent.

Importing this module is cheap: envlock's API (and PyYAML) load when :func:`check` runs.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from envlock.errors import EnvlockError, LockfileError

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    import os
    from typing import Union

    from envlock.api import Result
    from envlock.target import Target

    PathLike = Union[str, os.PathLike[str]]

__all__ = ["EnvlockDriftError", "EnvlockDriftWarning", "check", "find_lockfile"]

LOCKFILE_NAMES = ("envlock.yaml", "envlock.toml")
PROJECT_MARKERS = (".git", "pyproject.toml")


class EnvlockDriftWarning(UserWarning):
    """The running environment does not match the lockfile. ``result`` is the
    :class:`envlock.api.Result` (``None`` when the warning was unpickled)."""

    def __init__(self, message: str, result: Result | None = None) -> None:
        super().__init__(message)
        self.result = result


class EnvlockDriftError(EnvlockError):
    """The running environment does not match the lockfile (``check(warn=False)``)."""

    exit_code = 1

    def __init__(self, message: str, result: Result | None = None) -> None:
        super().__init__(message)
        self.result = result


def find_lockfile(start: PathLike | None = None) -> Path:
    """``envlock.yaml``, else ``envlock.toml``, in ``start`` (the working directory) or the
    nearest directory above it; the search stops at the filesystem root or at the first
    directory holding ``.git`` or ``pyproject.toml`` (the project's root)."""
    from envlock import policy
    from envlock.redact import home_to_tilde

    here = Path(start if start is not None else Path.cwd()).absolute()
    configured = policy.load(here).lockfile_path()  # [tool.envlock] lockfile
    if configured is not None:
        return configured
    directory = here
    for directory in (here, *here.parents):
        for name in LOCKFILE_NAMES:
            candidate = directory / name
            if os.path.isfile(candidate):  # (os.path's: a folder we cannot look in has none)
                return candidate
        if any(os.path.exists(directory / marker) for marker in PROJECT_MARKERS):
            break
    searched = home_to_tilde(str(here))
    if directory != here:
        searched += f" or the directories above it up to {home_to_tilde(str(directory))}"
    raise LockfileError(
        f"no envlock.yaml or envlock.toml in {searched} (create one with `envlock capture`)"
    )


def this_interpreter() -> Target:
    """The interpreter running this code, probed in-process."""
    from envlock.target import Target

    return Target(
        prefix=Path(sys.prefix),
        python=Path(sys.executable),
        reason="this interpreter",
        in_process=True,
    )


def drift_message(result: Result, lockfile: PathLike) -> str:
    """The text report of ``result``, as one multi-line message."""
    from envlock.redact import display_path
    from envlock.report import text

    report = text.render(result, display_path(lockfile), colour=False).rstrip("\n")
    return f"this environment does not match the lockfile\n{report}"


def check(path: PathLike | None = None, *, warn: bool = True, env: str | None = None) -> Result:
    """Check the running interpreter against a lockfile (see :func:`find_lockfile` for the
    default) and return the :class:`~envlock.api.Result`.

    Silent when it matches (warning-severity findings allowed, as for ``envlock verify``).
    On drift: one :class:`EnvlockDriftWarning` listing what drifted when ``warn`` is true,
    else :class:`EnvlockDriftError`. ``env`` picks the lockfile environment (default: the
    only one, else this platform's). A missing or invalid lockfile raises
    :class:`~envlock.errors.LockfileError`, whatever ``warn`` says.
    """
    from envlock import api

    lockfile = Path(path) if path is not None else find_lockfile()
    from envlock import policy

    result = api.verify(lockfile, env=env, target=this_interpreter(), policy=policy.load())
    if result.ok:
        return result
    message = drift_message(result, lockfile)
    if warn:
        warnings.warn(EnvlockDriftWarning(message, result), stacklevel=2)
        return result
    raise EnvlockDriftError(message, result)
