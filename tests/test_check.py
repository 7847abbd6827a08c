"""``envlock.check()``, as a notebook's first cell or a script's first lines would call it:
in a child process of the interpreter running the tests, against a lockfile captured from
that interpreter."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from factory import build_wheel, make_venv, pip_env, pip_install, site_packages
from support import drift_pytest, envlock, host_env

import envlock as envlock_package
from envlock.errors import EnvlockError, LockfileError
from envlock.guard import EnvlockDriftError, EnvlockDriftWarning, check, find_lockfile

PYTEST_VERSION = version("pytest")

# What a notebook's first cell does, reporting what happened as JSON on the last line.
SCRIPT = """\
import json, sys, warnings
from envlock.guard import EnvlockDriftError, check

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        result = check(**json.loads(sys.argv[1]))
    except EnvlockDriftError as e:
        result, error = e.result, e
    else:
        error = None
print(json.dumps({
    "ok": result.ok,
    "environment": result.environment,
    "warnings": [
        {"category": w.category.__name__, "message": str(w.message),
         "filename": w.filename, "same_result": getattr(w.message, "result", None) is result}
        for w in caught
    ],
    "error": None if error is None else {
        "type": type(error).__name__, "message": str(error), "exit_code": error.exit_code,
        "envlock_error": isinstance(error, __import__("envlock.errors").errors.EnvlockError),
    },
}))
"""


child_env = host_env


def run_python(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=child_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def notebook(cwd: Path, environ: dict[str, str] | None = None, **kwargs: object) -> dict[str, Any]:
    """Run ``check(**kwargs)`` as a script in ``cwd``; what happened, from its JSON."""
    (cwd / "notebook.py").write_text(SCRIPT, encoding="utf-8")
    done = run_python(cwd, "notebook.py", json.dumps(kwargs), env=environ)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report


pytestmark = pytest.mark.usefixtures("no_lockfile_cache")


@pytest.fixture
def project(tmp_path: Path, host_lockfile: Path) -> Path:
    shutil.copy(host_lockfile, tmp_path / "envlock.yaml")
    return tmp_path


def test_silent_when_the_environment_matches(project: Path) -> None:
    # -W error: any warning at all would fail the script.
    done = run_python(project, "-W", "error", "-c", "import envlock; envlock.check()")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    report = notebook(project)
    assert report["ok"] is True and report["warnings"] == [] and report["error"] is None


def test_drift_is_one_warning_naming_what_drifted(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")
    report = notebook(project)
    assert report["ok"] is False and report["error"] is None
    (warning,) = report["warnings"]
    assert warning["category"] == "EnvlockDriftWarning"
    assert warning["same_result"] is True
    assert Path(warning["filename"]).name == "notebook.py", "points at the caller"
    message = warning["message"]
    assert message.startswith("this environment does not match the lockfile\n")
    assert "envlock.yaml [" in message
    assert "Version changes (1)" in message
    assert f"error   pytest: 0.0.1 -> {PYTEST_VERSION}" in message
    assert "fix: pip install 'pytest==0.0.1'" in message
    assert message.rstrip().endswith("drift: 1 error")


def test_drift_warning_as_python_shows_it(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")
    (project / "script.py").write_text("import envlock\n\nenvlock.check()\n")
    done = run_python(project, "script.py")
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr.count("EnvlockDriftWarning") == 1, done.stderr
    assert re.match(r".*script\.py:3: EnvlockDriftWarning: this environment", done.stderr)
    assert f"pytest: 0.0.1 -> {PYTEST_VERSION}" in done.stderr


CALLS = {
    "package": "import envlock; envlock.check()",
    "module": "from envlock.guard import check; check()",
    "module first": "import envlock.guard; import envlock; envlock.check()",
}


@pytest.mark.parametrize("order", sorted(CALLS))
def test_envlock_check_whatever_was_imported_first(project: Path, order: str) -> None:
    done = run_python(project, "-W", "error", "-c", CALLS[order])
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_warn_false_raises(project: Path) -> None:
    drift_pytest(project / "envlock.yaml")
    report = notebook(project, warn=False)
    assert report["warnings"] == []
    error = report["error"]
    assert isinstance(error, dict)
    assert error["type"] == "EnvlockDriftError" and error["envlock_error"] is True
    assert error["exit_code"] == 1
    assert f"pytest: 0.0.1 -> {PYTEST_VERSION}" in error["message"]
    assert issubclass(EnvlockDriftError, EnvlockError)
    assert issubclass(EnvlockDriftWarning, UserWarning)


def test_checks_the_running_interpreter_whatever_virtual_env_says(
    project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    make_venv(other)  # an empty venv: no pytest, no envlock
    env = child_env(VIRTUAL_ENV=str(other))
    # `envlock verify` checks the active environment, which has drifted ...
    done = envlock("verify", cwd=project, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pytest" in done.stdout
    # ... check() checks the interpreter it runs in.
    report = notebook(project, environ=env)
    assert report["ok"] is True and report["warnings"] == []


# A notebook imports a package, then a cell installs the lockfile's version of it (the fix a
# drift report gives): the files change, the module this kernel computes with does not.
UPGRADE_IN_A_CELL = """\
import json, subprocess, sys
import envlock, stalepkg
from envlock.guard import EnvlockDriftError, this_interpreter
from envlock.api import record
from envlock.model import Lockfile

subprocess.run(json.loads(sys.argv[1]), check=True, capture_output=True)  # pip install 2.0
installed = envlock.capture(target=this_interpreter(), runtime=False)
envlock.dump(record(Lockfile(), "here", installed), "envlock.yaml")  # the installed 2.0
try:
    envlock.check(warn=False)
except EnvlockDriftError as e:
    findings = [f.to_dict() for f in e.result.findings]
    print(json.dumps({"findings": findings, "message": str(e), "module": stalepkg.__version__}))
else:
    print(json.dumps(None))
"""


def _stale_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A venv with stalepkg 1.0 installed and envlock importable; and stalepkg 2.0's wheel."""
    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    # envlock and its dependencies, as the host has them, importable in the venv
    host = [p for p in sys.path if p.endswith("site-packages")]
    root = Path(envlock_package.__file__).parents[1]
    (site / "host.pth").write_text("\n".join([str(root), *host]) + "\n", encoding="utf-8")
    pip_install(python, str(build_wheel(tmp_path / "old", "stalepkg", "1.0")))
    return python, build_wheel(tmp_path / "new", "stalepkg", "2.0")


def _upgrade_in_a_cell(
    tmp_path: Path, python: Path, upgrade: list[str], env: dict[str, str]
) -> dict[str, Any]:
    """What check() reports in a process that imported stalepkg 1.0, then ran ``upgrade``."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "notebook.py").write_text(UPGRADE_IN_A_CELL, encoding="utf-8")
    done = subprocess.run(
        [str(python), "notebook.py", json.dumps(upgrade)],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report is not None, "the kernel still runs stalepkg 1.0: check() said it matches"
    assert report["module"] == "1.0"
    return report  # type: ignore[no-any-return]


@pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="a process's start time comes from Linux's /proc"
)
def test_a_package_upgraded_after_it_was_imported_is_drift(tmp_path: Path) -> None:
    python, new = _stale_venv(tmp_path)
    upgrade = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
               "--no-deps", str(new)]  # fmt: skip
    report = _upgrade_in_a_cell(tmp_path, python, upgrade, {**child_env(), **pip_env()})
    (finding,) = report["findings"]
    assert finding["category"] == "imported" and finding["subject"] == "stalepkg"
    assert (finding["expected"], finding["actual"], finding["severity"]) == ("2.0", "1.0", "error")
    assert finding["hint"].startswith(
        "restart this Python process (a notebook: restart its kernel)"
    )
    assert (
        "Imported at another version than is installed (restart the process) (1)"
        in (report["message"])
    )


@pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="a process's start time comes from Linux's /proc"
)
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed (pip install uv)")
def test_a_package_linked_from_uvs_cache_after_it_was_imported_is_drift(tmp_path: Path) -> None:
    """uv links an installed package's files from its cache, where they keep the time they
    were unpacked: a file that was in the cache before the kernel started is still new to the
    kernel's environment (was 'matches', since its st_mtime is older than the process)."""
    python, new = _stale_venv(tmp_path)
    uv = str(shutil.which("uv"))
    uv_env = {**child_env(), "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    warm = make_venv(tmp_path / "warm")  # puts stalepkg 2.0 in the cache, unpacked
    install = ["pip", "install", "--no-index", "--no-deps", "--link-mode", "hardlink"]
    subprocess.run(
        [uv, *install, "--python", str(warm), str(new)],
        env=uv_env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    an_hour_ago = time.time() - 3600  # unpacked well before the kernel started
    for cached in (tmp_path / "uv-cache").rglob("*"):
        if cached.is_file() and not cached.is_symlink():
            os.utime(cached, (an_hour_ago, an_hour_ago))
    report = _upgrade_in_a_cell(
        tmp_path, python, [uv, *install, "--python", str(python), str(new)], uv_env
    )
    (finding,) = report["findings"]
    assert finding["category"] == "imported" and finding["subject"] == "stalepkg"
    assert (finding["expected"], finding["actual"]) == ("2.0", "1.0")
    module = site_packages(python) / "stalepkg" / "__init__.py"
    assert module.stat().st_mtime < an_hour_ago + 1  # linked from the cache, its time kept


def test_finds_the_lockfile_walking_up_to_the_project_root(project: Path) -> None:
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    deep = project / "notebooks" / "2024"
    deep.mkdir(parents=True)
    assert notebook(deep)["ok"] is True
    drift_pytest(project / "envlock.yaml")
    assert len(notebook(deep)["warnings"]) == 1


def test_toml_lockfile_and_explicit_path(project: Path) -> None:
    from envlock import lockfile

    lockfile.dump(lockfile.load(project / "envlock.yaml"), project / "envlock.toml")
    (project / "envlock.yaml").rename(project / "other.yaml")
    assert notebook(project)["ok"] is True  # envlock.toml, found by default
    drift_pytest(project / "other.yaml")
    report = notebook(project, path="other.yaml")
    assert report["ok"] is False and len(report["warnings"]) == 1


def test_env_chooses_the_lockfile_environment(project: Path, host_lockfile: Path) -> None:
    from envlock import lockfile

    name = next(iter(lockfile.load(host_lockfile).environments))
    assert notebook(project, env=name)["environment"] == name
    (project / "notebook.py").write_text("from envlock.guard import check\ncheck(env='nope')\n")
    done = run_python(project, "notebook.py")
    assert done.returncode == 1
    assert "envlock.errors.UsageError: no environment 'nope' in the lockfile" in done.stderr


def test_find_lockfile(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".git").mkdir()
    (tmp_path / "envlock.yaml").write_text("")  # above the repository: never found
    with pytest.raises(LockfileError, match=r"^no envlock\.yaml or envlock\.toml in .*b or the"):
        find_lockfile(root / "a" / "b")
    (root / "envlock.toml").write_text("")
    assert find_lockfile(root / "a" / "b") == root / "envlock.toml"
    (root / "envlock.yaml").write_text("")
    assert find_lockfile(root / "a" / "b") == root / "envlock.yaml"  # YAML first
    (root / "a" / "envlock.toml").write_text("")
    assert find_lockfile(root / "a" / "b") == root / "a" / "envlock.toml"  # nearest first
    (root / "a" / "b" / "pyproject.toml").write_text("")
    with pytest.raises(LockfileError, match=r"create one with `envlock capture`"):
        find_lockfile(root / "a" / "b")  # a pyproject.toml marks the project's root


def test_missing_lockfile_raises_whatever_warn_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    for warn in (True, False):
        with pytest.raises(LockfileError, match=r"no envlock\.yaml or envlock\.toml"):
            check(warn=warn)
    with pytest.raises(LockfileError, match=r"missing\.yaml: no such lockfile"):
        check("missing.yaml")


def test_importing_check_imports_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import envlock.guard"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "envlock.guard" in modules
    assert not modules & {"envlock.api", "yaml", "envlock.lockfile", "envlock.target"}


@pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="a process's start time comes from Linux's /proc"
)
def test_what_sys_modules_holds_is_read_without_running_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The imported finding reads each installed package's module from sys.modules: one that
    importlib.util.LazyLoader made (lazy_loader, used by scikit-image and networkx, makes
    them) ran its code when its __dict__ was asked for, so check() imported it, and a module
    that fails raised out of check(); an object that is not a module raised what its
    __getattribute__ raised."""
    import importlib.util

    from envlock import imported
    from envlock.model import Environment, Package, Platform, Python

    (tmp_path / "lazypkg.py").write_text("__version__ = '9.0'\nraise RuntimeError('ran')\n")
    spec = importlib.util.spec_from_file_location("lazypkg", tmp_path / "lazypkg.py")
    assert spec is not None and spec.loader is not None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # loaded lazily: nothing has run yet

    class Hostile:
        def __getattribute__(self, name: str) -> object:
            raise RuntimeError(name)

    monkeypatch.setitem(sys.modules, "lazypkg", module)
    monkeypatch.setitem(sys.modules, "hostile", Hostile())
    live = Environment(
        Python(), Platform(), packages=(Package("lazypkg", "1.0"), Package("hostile", "1.0"))
    )
    assert imported.stale(live) == []
    assert type(module).__name__ == "_LazyModule"  # still not run
