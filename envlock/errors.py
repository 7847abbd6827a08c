"""The exceptions envlock raises; the CLI maps each to one line and an exit code."""

from __future__ import annotations


class EnvlockError(Exception):
    """Base class. ``exit_code`` is what the command-line tool exits with."""

    exit_code = 2


class UsageError(EnvlockError):
    """The command line asks for something that cannot be done."""

    exit_code = 2


class LockfileError(EnvlockError):
    """A lockfile that cannot be read: not YAML/TOML, wrong shape, newer version."""

    exit_code = 2


class TargetError(EnvlockError):
    """The environment to capture or verify could not be inspected."""

    exit_code = 3


class WriteError(EnvlockError):
    """The lockfile could not be written."""

    exit_code = 4
