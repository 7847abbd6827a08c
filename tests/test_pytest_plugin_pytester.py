"""The pytest plugin, exercised with pytest's own ``pytester``.

The runs are in-process (``pytester.runpytest``, ``--runpytest=inprocess``, the default): each
builds a fresh ``Config`` and plugin manager, so ``-p envlock`` (the ``pytest11`` entry point's
name: pytest loads the entry point by it) registers the plugin there without colliding with the
copy this session already loaded, and the interpreter the plugin checks is the one that
captured the lockfile: this one. One test runs the same through a fresh interpreter
(``runpytest_subprocess``).

The lockfile is captured once per module, without the runtime probes
(``capture(runtime=False)``): the plugin's verify then skips them too, since the lockfile has
no runtime facts, and an in-process run costs a few tens of milliseconds.
"""

from __future__ import annotations

import os
import re
from importlib.metadata import entry_points, version

import pytest

from envlock import api
from envlock.guard import this_interpreter
from envlock.model import Lockfile

pytest_plugins = ["pytester"]

PYTEST_VERSION = version("pytest")
DRIFT = f"pytest: 0.0.1 -> {PYTEST_VERSION}"
_EPS = entry_points()  # Python 3.9: a dict of groups; later: selectable
_PLUGINS = _EPS.select(group="pytest11") if hasattr(_EPS, "select") else _EPS.get("pytest11", ())
INSTALLED = any(ep.name == "envlock" for ep in _PLUGINS)
# The entry point's name when envlock is installed; the module when it is only on sys.path.
PLUGIN = "envlock" if INSTALLED else "envlock.pytest_plugin"
# In-process, ``-p`` asks pytest to assertion-rewrite a package this process imported long
# ago; it says so with a PytestAssertRewriteWarning that a fresh interpreter never shows.
IN_PROCESS = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
HEADER = r"envlock: envlock\.yaml \[x\]: \d+ packages checked"

TESTS = """\
def test_one():
    assert True


def test_two(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("{plugin}")
""".replace("{plugin}", PLUGIN)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str | None]:
    """A lockfile (environment ``x``) describing this interpreter, captured once, and the
    ``HOME`` it was captured under."""
    path = tmp_path_factory.mktemp("captured") / "envlock.yaml"
    env = api.capture(target=this_interpreter(), base_dir=path.parent, runtime=False)
    lock = api.record(Lockfile(), "x", env)
    assert not api.needs_runtime(lock), "verify will not run the runtime probes"
    api.dump(lock, path)
    return path.read_text(encoding="utf-8"), os.environ.get("HOME")


@pytest.fixture
def project(
    pytester: pytest.Pytester, captured: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A pytester directory with two tests and the matching ``envlock.yaml``; plugin
    autoloading off, so that only ``-p`` brings envlock (and nothing else) in."""
    text, home = captured
    # pytester points HOME at its directory; the capture recorded paths under the real home
    # directory as ``~/...`` (an editable checkout there), so the live side must see it too.
    if home is None:
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", home)
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", "off")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_example=TESTS)
    (pytester.path / "envlock.yaml").write_text(text, encoding="utf-8")
    return pytester


def drift(pytester: pytest.Pytester) -> None:
    """Record pytest 0.0.1 in the lockfile (still valid and canonical)."""
    path = pytester.path / "envlock.yaml"
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(r"^(\s+pytest: \{version: )[^,}]+", r"\g<1>0.0.1", text, flags=re.M)
    assert n == 1, "pytest is not in the lockfile"
    path.write_text(text, encoding="utf-8")


def test_matching_lockfile_runs_the_tests(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", PLUGIN, *IN_PROCESS, "--envlock")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=2, warnings=0)
    result.stdout.re_match_lines([rf"{HEADER}: matches$", r"collected 2 items"])
    assert sum(line.startswith("envlock:") for line in result.outlines) == 1


def test_matching_lockfile_in_a_fresh_interpreter(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", PLUGIN, "--envlock")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2, warnings=0)
    result.stdout.re_match_lines([rf"{HEADER}: matches$", r"collected 2 items"])


def test_drifted_lockfile_fails_before_collection(project: pytest.Pytester) -> None:
    drift(project)
    result = project.runpytest("-p", PLUGIN, *IN_PROCESS, "--envlock")
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(errors=1)  # the drift: a collection error of the lockfile, no tests
    result.stdout.re_match_lines(
        [
            rf"{HEADER}$",
            r"Version changes \(1\)$",
            rf"  error   {re.escape(DRIFT)}$",
            r"\s+fix: pip install 'pytest==0\.0\.1', or re-run `envlock capture`",
            r"drift: 1 error$",
            r"_+ ERROR collecting envlock\.yaml _+$",
        ]
    )
    out = result.stdout.str()
    assert "envlock: the environment does not match envlock.yaml [x] (1 error)" in out
    assert "--envlock-warn runs the tests anyway" in out
    result.stdout.no_fnmatch_line("collected *")
    result.stdout.no_fnmatch_line("*passed*")


def test_envlock_warn_runs_the_tests_and_warns(project: pytest.Pytester) -> None:
    drift(project)
    result = project.runpytest("-p", PLUGIN, *IN_PROCESS, "--envlock-warn")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.re_match_lines(
        [
            rf"{HEADER}$",
            rf"  error   {re.escape(DRIFT)}$",
            r"envlock: --envlock-warn: running the tests anyway$",
            r"collected 2 items",
            r"=+ warnings summary =+",
            r".*EnvlockDriftWarning: this environment does not match the lockfile$",
            rf".*{re.escape(DRIFT)}$",
        ]
    )


def test_without_the_option_there_is_no_envlock_output(project: pytest.Pytester) -> None:
    drift(project)  # would fail the run if it were checked
    result = project.runpytest("-p", PLUGIN, *IN_PROCESS)  # loaded, not asked for
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=2, warnings=0)
    out = result.stdout.str() + result.stderr.str()
    assert "envlock:" not in out and "Envlock" not in out and "envlock.yaml" not in out


@pytest.mark.skipif(not INSTALLED, reason="envlock is not installed: no pytest11 entry point")
def test_plain_runpytest_is_unaffected(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wherever envlock is installed, its entry point loads into every pytester run of every
    project; a plain ``pytester.runpytest()`` must not notice."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    drift(project)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=2, warnings=0)  # test_two: the plugin is loaded
    result.stdout.re_match_lines([r"plugins: .*\benvlock-"])  # listed, and silent:
    assert not [line for line in result.outlines if "envlock" in line.replace("envlock-", "")]
    assert result.stderr.str() == ""
