"""The pytest plugin, run as users run it: ``python -m pytest --envlock`` in a child process
on a small test project, against a lockfile captured from the interpreter that runs pytest.
``test_pytest_plugin_pytester.py`` runs it with pytest's own ``pytester``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import pytest
from support import drift_pytest, envlock, host_env

PYTEST_VERSION = version("pytest")
TRIVIAL_TEST = """\
from pathlib import Path

Path(__file__).with_name("imported").touch()  # proves the module was collected


def test_trivial():
    assert True
"""


def child_env(**extra: str) -> dict[str, str]:
    """The caller's environment with no active environment and no pytest settings; plugin
    autoloading off, so that ``-p envlock.pytest_plugin`` is the one way the plugin loads."""
    env = host_env(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PY_COLORS", "FORCE_COLOR"):
        env.pop(name, None)
    env.update(extra)
    return env


def run_pytest(
    project: Path, *args: str, env: dict[str, str] | None = None, plugin: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", *(["-p", "envlock.pytest_plugin"] if plugin else [])]
    return subprocess.run(
        [*cmd, *args],
        cwd=project,
        env=child_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=300,
    )


pytestmark = pytest.mark.usefixtures("no_lockfile_cache")


@pytest.fixture
def project(tmp_path: Path, host_lockfile: Path) -> Path:
    """A test project: pytest.ini (the rootdir), tests/test_trivial.py, envlock.yaml."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_trivial.py").write_text(TRIVIAL_TEST, encoding="utf-8")
    shutil.copy(host_lockfile, tmp_path / "envlock.yaml")
    return tmp_path


def collected(project: Path) -> bool:
    return (project / "tests" / "imported").exists()


def test_matching_environment_runs_the_tests_and_says_so_in_the_header(project: Path) -> None:
    done = run_pytest(project, "--envlock")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith("envlock:")]
    assert len(header) == 1, done.stdout
    assert re.fullmatch(
        r"envlock: envlock\.yaml \[[\w.-]+\]: \d+ packages checked: matches", lines[header[0]]
    )
    starts = next(i for i, line in enumerate(lines) if "test session starts" in line)
    assert starts < header[0] < next(i for i, line in enumerate(lines) if "collected" in line)
    assert "1 passed" in done.stdout
    assert collected(project)


def test_drift_fails_the_run_before_collection(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")
    done = run_pytest(project, "--envlock", "--junitxml=report.xml")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    change = f"pytest: 0.0.1 -> {PYTEST_VERSION}"
    lines = done.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if change in line)
    errors = next(i for i, line in enumerate(lines) if " ERRORS " in line)
    assert first < errors, "the drift report is in the header"
    assert "Version changes (1)" in done.stdout
    assert "envlock: the environment does not match envlock.yaml" in out
    assert "--envlock-warn runs the tests anyway" in out
    assert "passed" not in done.stdout
    assert not collected(project), "nothing is collected once the environment has drifted"
    # CI sees it as an error of the lockfile in the JUnit XML.
    cases = ET.parse(project / "report.xml").getroot().iter("testcase")
    (case,) = cases
    assert case.get("name") == "envlock.yaml"
    error = case.find("error")
    assert error is not None and change in (error.text or "")


def test_quiet_run_still_shows_the_drift(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")
    done = run_pytest(project, "-q", "--envlock")
    assert done.returncode == 1
    assert f"pytest: 0.0.1 -> {PYTEST_VERSION}" in done.stdout
    assert not collected(project)


def test_envlock_warn_runs_the_tests_and_warns(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")
    for args in (["--envlock", "--envlock-warn"], ["--envlock-warn"]):  # the latter implies it
        done = run_pytest(project, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 passed, 1 warning" in done.stdout
        summary = done.stdout[done.stdout.index("warnings summary") :]
        assert "EnvlockDriftWarning: this environment does not match the lockfile" in summary
        assert f"pytest: 0.0.1 -> {PYTEST_VERSION}" in summary
        assert "envlock: --envlock-warn: running the tests anyway" in done.stdout
        assert collected(project)


def test_drift_warning_made_an_error_fails_again(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")
    done = run_pytest(project, "--envlock-warn", "-W", "error::envlock.guard.EnvlockDriftWarning")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "a warnings filter makes EnvlockDriftWarning an error" in done.stdout + done.stderr
    assert not collected(project)
    (project / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n", encoding="utf-8")
    done = run_pytest(project, "--envlock-warn")
    assert done.returncode == 1, done.stdout + done.stderr
    assert not collected(project)


def test_without_the_option_the_plugin_does_nothing(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")  # would fail the run if it were checked
    (project / "tests" / "test_modules.py").write_text(
        "import sys\n\n\n"
        "def test_envlock_api_is_not_imported():\n"
        "    assert 'envlock.pytest_plugin' in sys.modules\n"
        "    assert 'envlock.api' not in sys.modules\n"
        "    assert 'yaml' not in sys.modules\n",
        encoding="utf-8",
    )
    done = run_pytest(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    out = done.stdout + done.stderr
    assert "envlock:" not in out and "Envlock" not in out
    assert "envlock.yaml" not in out


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    def imported(code: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env=child_env(),
            check=True,
        )
        rows = [line.split("|") for line in done.stderr.splitlines() if "|" in line]
        return {row[-1].strip() for row in rows[1:]}

    modules = imported("import envlock.pytest_plugin")
    assert "envlock.pytest_plugin" in modules
    heavy = {"envlock.api", "yaml", "envlock.lockfile", "envlock.target", "jsonschema"}
    assert not modules & heavy
    # On top of pytest (which has loaded by the time plugins are), only the plugin loads.
    extra = modules - imported("import pytest")
    assert extra <= {"envlock", "envlock.pytest_plugin", "envlock.guard", "envlock.errors"}, extra


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "envlock.yaml: no such lockfile (create it with `envlock capture`)"),
        (("--envlock=bad.yaml",), "bad.yaml: not valid YAML"),
        (("--envlock=bad.toml",), "bad.toml: not valid TOML"),
        (("--envlock-env", "nope"), "envlock.yaml: no environment 'nope' in the lockfile"),
    ],
)
def test_lockfile_problems_are_one_line_usage_errors(
    project: Path, host_lockfile: Path, args: tuple[str, ...], message: str
) -> None:
    (project / "envlock.yaml").unlink()
    (project / "bad.yaml").write_text("environments: [\n", encoding="utf-8")
    (project / "bad.toml").write_text("version = \n", encoding="utf-8")
    if "--envlock-env" in args:
        shutil.copy(host_lockfile, project / "envlock.yaml")
    done = run_pytest(project, "--envlock", *args)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"ERROR: envlock: {message}"), errors[0]
    assert not collected(project)


def test_default_lockfile_is_found_from_the_rootdir_toml_too(project: Path) -> None:
    from envlock import lockfile

    lock = lockfile.load(project / "envlock.yaml")
    (project / "envlock.yaml").unlink()
    lockfile.dump(lock, project / "envlock.toml")
    done = run_pytest(project / "tests", "--envlock")  # invoked below the rootdir
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("envlock:")]
    assert "envlock.toml [" in line and line.endswith(": matches")


def test_explicit_path_is_relative_to_the_invocation_directory(project: Path) -> None:
    (project / "locks").mkdir()
    (project / "envlock.yaml").rename(project / "locks" / "ci.yaml")
    done = run_pytest(project, "--envlock=locks/ci.yaml", "tests")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "envlock: locks/ci.yaml [" in done.stdout and "1 passed" in done.stdout


def test_a_test_path_after_envlock_stays_a_test_path(project: Path) -> None:
    (project / "test_elsewhere.py").write_text(
        "def test_not_selected():\n    assert False\n", encoding="utf-8"
    )
    for args in (["--envlock", "tests"], ["--envlock", "tests/test_trivial.py::test_trivial"]):
        done = run_pytest(project, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "envlock: envlock.yaml [" in done.stdout and "1 passed" in done.stdout
    # addopts puts --envlock right before the command line's paths.
    (project / "pytest.ini").write_text("[pytest]\naddopts = --envlock\n", encoding="utf-8")
    done = run_pytest(project, "tests")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "envlock: envlock.yaml [" in done.stdout and "1 passed" in done.stdout


def test_loads_from_the_pytest11_entry_point(tmp_path: Path, project: Path) -> None:
    """With the ``pytest11`` entry point (a stand-in distribution here, so that the test does
    not depend on how envlock was installed) and autoloading on, no ``-p`` is needed."""
    dist = tmp_path / "entry" / "envlock_pytest_entry-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: envlock-pytest-entry\n"
                                   "Version: 0\n", encoding="utf-8")  # fmt: skip
    (dist / "entry_points.txt").write_text(
        "[pytest11]\nenvlock = envlock.pytest_plugin\n", encoding="utf-8"
    )
    pythonpath = os.pathsep.join(filter(None, [str(dist.parent), os.environ.get("PYTHONPATH")]))
    env = child_env(PYTHONPATH=pythonpath)
    del env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
    # The lockfile of this environment, stand-in distribution included.
    assert envlock("capture", "-q", cwd=project, env=env).returncode == 0
    done = run_pytest(project, "--envlock", env=env, plugin=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^envlock: envlock\.yaml \[.*: matches$", done.stdout, re.M), done.stdout
    done = run_pytest(project, "-p", "no:envlock", env=env, plugin=False)
    assert done.returncode == 0 and "envlock:" not in done.stdout
