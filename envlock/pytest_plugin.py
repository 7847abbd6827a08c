"""pytest plugin: check the interpreter running the tests against the lockfile first.

    pytest --envlock                    # envlock.yaml (else envlock.toml) in the rootdir
    pytest --envlock=ci/envlock.yaml    # another lockfile (relative to the invocation dir)
    pytest --envlock --envlock-env linux-64
    pytest --envlock --envlock-warn     # report drift as a warning and run the tests anyway

The report is in the session header. Drift at error severity stops the run before collection
with exit status 1 (``pytest.exit``), as ``envlock verify`` exits 1; a missing or invalid
lockfile is a usage error (exit status 4, one line naming the file). With ``--envlock-warn``
drift is an ``envlock.guard.EnvlockDriftWarning`` in the warnings summary instead; a warnings
filter that makes it an error (``-W error::envlock.guard.EnvlockDriftWarning``, or
``filterwarnings = error``) fails the run again. ``--envlock-env`` and ``--envlock-warn``
imply ``--envlock``.

Installed envlock registers this module as the ``envlock`` plugin (entry point ``pytest11``),
so it loads by itself; use ``-p envlock.pytest_plugin`` only where plugin autoloading is off
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``). Without the options it does nothing and costs nothing:
this module imports only pytest; envlock's API, PyYAML and the probe load when asked for.
Under pytest-xdist only the controller checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.api import Result

LOCKFILE_SUFFIXES = (".yaml", ".yml", ".toml")


@dataclass
class _State:
    lockfile: str  # as shown
    result: Result
    header: list[str]
    fail: str | None  # why the run stops, or None
    nodeid: str = ""  # the lockfile, as a collection error names it
    report: str = ""  # the text report, without colour


_STATE = pytest.StashKey[_State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("envlock", "envlock: check the environment against a lockfile")
    group.addoption(
        "--envlock",
        dest="envlock",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="before collecting, verify the running interpreter against the lockfile PATH "
        "(default: envlock.yaml, else envlock.toml, in the rootdir); drift fails the run",
    )
    group.addoption(
        "--envlock-env",
        dest="envlock_env",
        default=None,
        metavar="NAME",
        help="the lockfile environment to check against (default: the only one, else the "
        "one for this platform); implies --envlock",
    )
    group.addoption(
        "--envlock-warn",
        dest="envlock_warn",
        action="store_true",
        default=False,
        help="report drift as a warning and run the tests anyway; implies --envlock",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Give a test path read as ``--envlock``'s value back to pytest.

    ``--envlock`` takes an optional value, so argparse reads ``pytest --envlock tests/``
    (or ``addopts = --envlock`` before a path on the command line) as the lockfile
    ``tests/``. A value that is a test path (an existing directory, a ``.py`` file, a node id
    with ``::``) and not a lockfile name is left to pytest; ``--envlock`` then means the
    default lockfile. ``--envlock=PATH`` is never rewritten.
    """
    for i, arg in enumerate(args[:-1]):
        if arg == "--":
            return
        if arg == "--envlock" and _is_test_path(args[i + 1], early_config.invocation_params.dir):
            args[i] = "--envlock="  # argparse: the value "", the default lockfile
            known = early_config.known_args_namespace
            if getattr(known, "envlock", None) == args[i + 1]:
                known.envlock = ""
                known.file_or_dir = [*(getattr(known, "file_or_dir", None) or ()), args[i + 1]]


def _is_test_path(arg: str, invocation_dir: Path) -> bool:
    if arg.startswith("-") or arg.lower().endswith(LOCKFILE_SUFFIXES):
        return False
    if "::" in arg or arg.endswith(".py"):
        return True
    return (invocation_dir / arg).is_dir()


def _lockfile(config: pytest.Config) -> Path | None:
    """The lockfile to check against, or ``None`` when the plugin is not asked for."""
    value: str | None = config.getoption("envlock", None)
    if value is None:
        if not config.getoption("envlock_warn", False) and not config.getoption(
            "envlock_env", None
        ):
            return None
        value = ""
    if value:
        return config.invocation_params.dir / os.path.expanduser(value)
    root = config.rootpath
    from envlock import policy
    from envlock.errors import EnvlockError

    try:
        configured = policy.load(Path(str(root))).lockfile_path()  # [tool.envlock] lockfile
    except EnvlockError as e:
        raise pytest.UsageError(f"envlock: {e}") from None
    if configured is not None:
        return configured
    if not (root / "envlock.yaml").exists() and (root / "envlock.toml").exists():
        return root / "envlock.toml"
    return root / "envlock.yaml"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller has checked
        return
    path = _lockfile(config)
    if path is None:
        return
    config.stash[_STATE] = _verify(config, path)


def _verify(config: pytest.Config, path: Path) -> _State:
    from envlock import api, policy
    from envlock.errors import EnvlockError, LockfileError
    from envlock.guard import EnvlockDriftWarning, drift_message, this_interpreter
    from envlock.redact import display_path, redact_text
    from envlock.report import text

    try:
        result = api.verify(
            path,
            env=config.getoption("envlock_env"),
            target=this_interpreter(),
            policy=policy.load(Path(str(config.rootpath))),
        )
    except EnvlockError as e:
        message = str(e) if isinstance(e, LockfileError) else f"{display_path(path)}: {e}"
        raise pytest.UsageError(f"envlock: {redact_text(message)}") from None
    shown = display_path(path)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    colour = bool(getattr(reporter, "hasmarkup", False))
    lines = text.render(result, shown, colour=colour).rstrip("\n").split("\n")
    header = [f"envlock: {lines[0]}", *lines[1:]]
    header.extend(f"envlock: warning: {redact_text(message)}" for message in result.live.warnings)
    if result.ok:
        return _State(shown, result, header, None)
    counts = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in result.counts().items() if n)
    drift = f"envlock: the environment does not match {shown} [{result.environment}] ({counts})"
    fail: str | None = drift
    if not config.getoption("envlock_warn"):
        fail = f"{drift}; --envlock-warn runs the tests anyway"
    else:
        warning = EnvlockDriftWarning(drift_message(result, path), result)
        try:
            config.issue_config_time_warning(warning, stacklevel=2)  # envlock: drift
        except EnvlockDriftWarning:  # -W or filterwarnings: error::...EnvlockDriftWarning
            fail = f"{drift} (a warnings filter makes EnvlockDriftWarning an error)"
        else:
            header.append("envlock: --envlock-warn: running the tests anyway")
            fail = None
    try:
        nodeid = path.relative_to(config.rootpath).as_posix()
    except ValueError:
        nodeid = shown
    report = f"{drift}\n\n{text.render(result, shown, colour=False)}"
    return _State(shown, result, header, fail, nodeid, report)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return None
    return state.header


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Stop before collecting anything when the environment has drifted: the drift is a
    collection error of the lockfile (red summary, ``ERRORS`` section, JUnit XML), and the run
    exits with status 1."""
    state = session.config.stash.get(_STATE, None)
    if state is None or state.fail is None:
        return
    report = pytest.CollectReport(state.nodeid, "failed", state.report, [])
    session.config.hook.pytest_collectreport(report=report)
    pytest.exit(state.fail, returncode=1)
