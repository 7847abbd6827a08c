"""End to end on real environments: venvs built here, packages really installed by pip
(wheels from a local wheelhouse, an editable project, a git repository, an sdist archive),
captured and verified through the command-line tool. No network."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from factory import build_wheel, make_git_repo, make_project, make_sdist, make_venv, pip_install
from support import envlock, read_yaml, validate

import envlock as api

# Another minor version of Python than the one running the tests, where this machine has one
OTHER_PYTHON = next(
    (
        python
        for version in ("3.12.1", "3.13.0", "3.11.7", "3.10.13")
        if (python := Path(f"/root/.pyenv/versions/{version}/bin/python")).exists()
        and not version.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    ),
    None,
)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("wheelhouse")
    for name, version, requires in [
        ("alpha", "1.0", []),
        ("alpha", "2.0", []),
        ("beta", "1.0", ["alpha"]),
        ("gamma", "1.0", []),
        ("delta", "1.0", []),
    ]:
        build_wheel(wh, name, version, requires=requires)
    return wh


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project directory: lockfiles go here; local sources live under it."""
    return tmp_path_factory.mktemp("project")


@pytest.fixture(scope="module")
def sources(work: Path) -> dict[str, object]:
    editable = make_project(work / "src" / "proj", "proj", "0.1.0")
    plain_dir = make_project(work / "src" / "dirpkg", "dirpkg", "0.2.0")
    git_dir = make_project(work / "src" / "gitpkg", "gitpkg", "0.3.0")
    commit = make_git_repo(git_dir)
    archive = make_sdist(
        make_project(work / "build" / "archpkg", "archpkg", "0.4.0"), work / "dist"
    )
    return {
        "editable": editable,
        "dir": plain_dir,
        "git": git_dir,
        "commit": commit,
        "archive": archive,
    }


def populate(
    python: Path, wheelhouse: Path, sources: dict[str, object], alpha: str = "1.0"
) -> None:
    pip_install(python, "--find-links", str(wheelhouse), "beta==1.0", f"alpha=={alpha}", "gamma")
    pip_install(python, "-e", str(sources["editable"]))
    pip_install(python, str(sources["dir"]))
    pip_install(python, f"gitpkg @ git+file://{sources['git']}@{sources['commit']}")
    pip_install(python, str(sources["archive"]))


@pytest.fixture(scope="module")
def venv(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, sources: dict[str, object]
) -> Path:
    python = make_venv(tmp_path_factory.mktemp("venvs") / "main")
    populate(python, wheelhouse, sources)
    return python


@pytest.fixture(scope="module")
def locked(venv: Path, work: Path) -> Path:
    path = work / "envlock.yaml"
    done = envlock("capture", "--python", str(venv), str(path), cwd=work, env=_env())
    assert done.returncode == 0, done.stderr
    return path


def uninstall(python: Path, name: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "uninstall", "-y", name],
        check=True,
        capture_output=True,
    )


def _env(**extra: str) -> dict[str, str]:
    from envlock.variables import VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    for k in ("VIRTUAL_ENV", "CONDA_PREFIX", "SOURCE_DATE_EPOCH", "NO_COLOR"):
        env.pop(k, None)
    env.update(extra)
    return env


def test_target_interpreter_lacks_envlock(venv: Path) -> None:
    done = subprocess.run([str(venv), "-c", "import envlock"], capture_output=True, cwd=venv.parent)
    assert done.returncode != 0


def test_python_given_as_a_relative_path_to_the_running_interpreter(tmp_path: Path) -> None:
    # `--python bin/python` from inside the venv envlock runs in: probed in-process, and the
    # runtime probes, which run in a temporary directory, were given the relative path and
    # could not start ("cuda probe: cannot run python").
    where = Path(sys.prefix).parent
    relative = os.path.relpath(sys.executable, where)  # e.g. 3.11.7/bin/python
    lockfile = tmp_path / "l.yaml"
    done = envlock("capture", str(lockfile), "--python", relative, cwd=where, env=_env())
    assert done.returncode == 0, done.stderr
    assert "in-process" in done.stderr
    assert "cannot run" not in done.stderr, done.stderr
    assert "cuda" in validate(lockfile)["environments"]["linux-64"]


@pytest.mark.parametrize("variable", ["VIRTUAL_ENV", "CONDA_PREFIX"])
def test_active_environment_given_as_a_relative_path(
    venv: Path, locked: Path, variable: str
) -> None:
    # The probe runs in a temporary directory: it was given `main/bin/python` and could not
    # start.
    prefix = venv.parent.parent
    env = _env(**{variable: prefix.name})
    done = envlock("verify", str(locked), "--no-runtime", cwd=prefix.parent, env=env)
    assert done.returncode == 0, done.stderr
    assert f"environment {prefix.name} ({variable}; probe in its interpreter)" in done.stderr


def test_capture_records_what_pip_wrote(locked: Path, sources: dict[str, object]) -> None:
    data = validate(locked)
    (name,) = data["environments"]
    env = data["environments"][name]
    pkgs = env["packages"]
    assert env["method"] == "probe" and env["kind"] == "venv"
    assert env["python"]["version"] == _python_version(None)
    assert pkgs["alpha"] == {
        "version": "1.0",
        "installer": "pip",
        "requested": True,
        "source": "index",
    }
    assert pkgs["beta"]["requested"] is True
    assert pkgs["proj"] == {
        "version": "0.1.0",
        "installer": "pip",
        "requested": True,
        "source": "directory",
        "path": "src/proj",
        "editable": True,
    }
    assert pkgs["dirpkg"]["source"] == "directory" and "editable" not in pkgs["dirpkg"]
    assert pkgs["gitpkg"]["source"] == "vcs"
    assert pkgs["gitpkg"]["vcs"] == "git"
    assert pkgs["gitpkg"]["commit"] == sources["commit"]
    assert pkgs["archpkg"]["source"] == "archive"
    assert pkgs["archpkg"]["path"] == "dist/" + Path(str(sources["archive"])).name
    assert set(env["variables"]["unset"]) >= {"OMP_NUM_THREADS", "MKL_CBWR"}


def test_no_word_of_numpy_where_there_is_none(venv: Path, tmp_path: Path) -> None:
    done = envlock("capture", "--python", str(venv), str(tmp_path / "e.yaml"), env=_env())
    assert done.returncode == 0 and "importing numpy" not in done.stderr, done.stderr


def test_dependency_not_requested(tmp_path: Path, wheelhouse: Path) -> None:
    python = make_venv(tmp_path / "v")
    pip_install(python, "--find-links", str(wheelhouse), "beta==1.0")
    env = api.capture(python=str(python))
    pkgs = env.package_map()
    assert pkgs["alpha"].requested is False and pkgs["beta"].requested is True


def test_one_package_is_counted_in_the_singular(tmp_path: Path, wheelhouse: Path) -> None:
    python = make_venv(tmp_path / "v")
    pip_install(python, "--find-links", str(wheelhouse), "gamma==1.0")
    done = envlock("capture", "--python", str(python), "--no-runtime", cwd=tmp_path, env=_env())
    assert done.stderr.splitlines()[-1] == "envlock: wrote envlock.yaml [linux-64]: 1 package"
    done = envlock("verify", "--python", str(python), "--no-runtime", cwd=tmp_path, env=_env())
    assert done.stdout == "envlock.yaml [linux-64]: 1 package checked: matches\n", done.stderr


def _python_version(python: Path | None) -> str:
    exe = str(python) if python else sys.executable
    return subprocess.run(
        [exe, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_verify_matches_right_after_capture(locked: Path, venv: Path, work: Path) -> None:
    done = envlock("verify", "--python", str(venv), str(locked), cwd=work, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matches" in done.stdout
    assert "probe in its interpreter" in done.stderr  # the one-line announcement


def test_capture_is_byte_identical(locked: Path, venv: Path, work: Path) -> None:
    before = locked.read_bytes()
    done = envlock("capture", "--python", str(venv), str(locked), cwd=work, env=_env())
    assert done.returncode == 0
    assert locked.read_bytes() == before
    a, b = work / "a.yaml", work / "b.yaml"
    for path in (a, b):
        envlock(
            "capture",
            "--python",
            str(venv),
            str(path),
            cwd=work,
            env=_env(SOURCE_DATE_EPOCH="1700000000"),
        )
    assert a.read_bytes() == b.read_bytes()
    assert "captured_at: '2023-11-14T22:13:20Z'" in a.read_text()


def test_toml_capture_and_verify(venv: Path, work: Path) -> None:
    path = work / "envlock.toml"
    assert (
        envlock("capture", "--python", str(venv), str(path), cwd=work, env=_env()).returncode == 0
    )
    validate(path)
    done = envlock("verify", "--python", str(venv), str(path), cwd=work, env=_env())
    assert done.returncode == 0, done.stdout
    # --format alone names the default file; against a name, every reader would misread it
    done = envlock("capture", "--python", str(venv), "--format", "toml", cwd=work, env=_env())
    assert done.returncode == 0 and (work / "envlock.toml").exists(), done.stderr
    done = envlock("capture", "--format", "toml", "f.yaml", cwd=work, env=_env())
    assert (done.returncode, done.stderr.splitlines()[-1]) == (
        2,
        "envlock: error: f.yaml: --format toml does not match the file's name, by which every "
        "other command reads it: name it *.toml",
    )
    assert not (work / "f.yaml").exists()


def test_every_drift_category_for_real(
    tmp_path: Path, locked: Path, work: Path, wheelhouse: Path, sources: dict[str, object]
) -> None:
    python = make_venv(tmp_path / "drifted")
    populate(python, wheelhouse, sources, alpha="2.0")  # version
    uninstall(python, "gamma")  # missing
    pip_install(python, "--find-links", str(wheelhouse), "delta")  # extra
    # source: the same version from another commit of the repository
    (Path(str(sources["git"])) / "CHANGES").write_text("another commit\n")
    new_commit = make_git_repo(Path(str(sources["git"])))
    pip_install(
        python,
        "--force-reinstall",
        "--no-deps",
        f"gitpkg @ git+file://{sources['git']}@{new_commit}",
    )
    done = envlock(
        "verify",
        "--python",
        str(python),
        "--format",
        "json",
        str(locked),
        cwd=work,
        env=_env(OMP_NUM_THREADS="3", MKL_CBWR="COMPATIBLE"),
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    got = {
        (f["category"], f["subject"], f["expected"], f["actual"], f["severity"])
        for f in report["findings"]
    }
    assert ("version", "alpha", "1.0", "2.0", "error") in got
    assert ("missing", "gamma", "1.0", None, "error") in got
    assert ("extra", "delta", None, "1.0", "warning") in got
    assert ("variables", "OMP_NUM_THREADS", None, "3", "warning") in got
    assert ("variables", "MKL_CBWR", None, "COMPATIBLE", "error") in got
    source = [f for f in report["findings"] if f["category"] == "source"]
    assert [f["subject"] for f in source] == ["gitpkg"]
    assert sources["commit"] in source[0]["expected"] and new_commit in source[0]["actual"]
    fix = f"{python} -m pip install --force-reinstall --no-deps 'gitpkg @ git+"
    assert source[0]["hint"].startswith(fix)
    assert report["exit_code"] == 1 and report["status"] == "drift"
    assert report["counts"]["error"] == 4


def test_version_drift_text_report(
    tmp_path: Path, locked: Path, work: Path, wheelhouse: Path, sources: dict[str, object]
) -> None:
    python = make_venv(tmp_path / "v")
    populate(python, wheelhouse, sources, alpha="2.0")
    done = envlock("verify", "--python", str(python), str(locked), cwd=work, env=_env())
    assert done.returncode == 1
    assert "Version changes (1)" in done.stdout
    assert "alpha: 1.0 -> 2.0" in done.stdout
    assert f"fix: {python} -m pip install 'alpha==1.0'" in done.stdout  # not the active env's
    assert "\033[" not in done.stdout  # no colour when not a terminal


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed (pip install uv)")
def test_installer_drift(
    tmp_path: Path, locked: Path, work: Path, wheelhouse: Path, sources: dict[str, object]
) -> None:
    python = make_venv(tmp_path / "v")
    populate(python, wheelhouse, sources)
    subprocess.run(
        [
            "uv",
            "pip",
            "install",
            "--python",
            str(python),
            "--offline",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "--reinstall-package",
            "gamma",
            "gamma==1.0",
        ],
        check=True,
        capture_output=True,
    )
    result = api.verify(locked, python=str(python))
    assert [(f.category, f.subject, f.expected, f.actual, f.severity) for f in result.findings] == [
        ("installer", "gamma", "pip", "uv", "warning")
    ]
    assert result.exit_code == 0
    # the fix given, run (offline, from the wheelhouse), puts pip's record back; it names
    # the interpreter given, whose environment is not the active one
    fix = result.findings[0].hint.split("; ", 1)[1].split(", or ")[0]
    assert fix == f"{python} -m pip install --force-reinstall --no-deps 'gamma==1.0'"
    # (the host's pip with --python: this venv has none)
    pip_install(python, *shlex.split(fix)[4:], "--find-links", str(wheelhouse))
    assert api.verify(locked, python=str(python)).findings == ()


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed (pip install uv)")
def test_uv_environment_hints_are_uvs_commands(tmp_path: Path, wheelhouse: Path) -> None:
    """A project's ``.venv`` made by uv has no pip: the fixes for what uv installed are uv's
    commands, which find ``.venv`` from the project directory. Run as printed, they restore
    the environment, installer included."""
    offline = ["--offline", "--no-index", "--find-links", str(wheelhouse)]
    uv_env = {**_env(), "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}

    def uv(*args: str) -> None:
        subprocess.run(["uv", *args], cwd=tmp_path, env=uv_env, check=True, capture_output=True)

    uv("venv", "-q", "--python", sys.executable, ".venv")
    uv("pip", "install", *offline, "alpha==1.0", "gamma==1.0")
    python = tmp_path / ".venv" / "bin" / "python"
    assert envlock("capture", cwd=tmp_path, env=_env()).returncode == 0  # finds ./.venv
    uv("pip", "install", *offline, "alpha==2.0", "delta==1.0")
    uv("pip", "uninstall", "gamma")
    done = envlock("verify", "--format", "json", cwd=tmp_path, env=_env())  # ./.venv
    assert done.returncode == 1, done.stderr
    fixes = {f["subject"]: f["hint"].split(", or ")[0] for f in json.loads(done.stdout)["findings"]}
    assert fixes == {
        "alpha": "uv pip install 'alpha==1.0'",
        "delta": "uv pip uninstall delta",
        "gamma": "uv pip install 'gamma==1.0'",
    }
    for fix in fixes.values():
        args = shlex.split(fix)[1:]
        uv(*args, *(offline if args[1] == "install" else []))
    assert api.verify(tmp_path / "envlock.yaml", python=str(python)).findings == ()
    # With --python (the environment named, so maybe not the one uv finds): uv is told which.
    uv("pip", "install", *offline, "alpha==2.0")
    (finding,) = api.verify(tmp_path / "envlock.yaml", python=str(python)).findings
    assert finding.hint.startswith(f"uv pip install --python {python} 'alpha==1.0', or ")


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed (pip install uv)")
def test_uv_fixes_from_a_subdirectory_act_on_the_projects_venv(
    tmp_path: Path, wheelhouse: Path
) -> None:
    """From a subdirectory of a git repository, envlock checks the repository's ``.venv``
    (``../.venv``) and uv's fixes, run there as printed, act on it: uv finds it too."""
    offline = ["--offline", "--no-index", "--find-links", str(wheelhouse)]
    uv_env = {**_env(), "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    repo = tmp_path / "repo"
    sub = repo / "notebooks"
    sub.mkdir(parents=True)
    make_git_repo(repo)

    def uv(*args: str) -> None:
        subprocess.run(["uv", *args], cwd=sub, env=uv_env, check=True, capture_output=True)

    uv("venv", "-q", "--python", sys.executable, "../.venv")
    uv("pip", "install", *offline, "alpha==1.0")
    done = envlock("capture", "--no-runtime", "../envlock.yaml", cwd=sub, env=_env())
    assert done.returncode == 0, done.stderr
    assert "(../.venv; probe in its interpreter)" in done.stderr.splitlines()[0], done.stderr
    uv("pip", "install", *offline, "alpha==2.0")
    args = ("verify", "--no-runtime", "--format", "json", "../envlock.yaml")
    done = envlock(*args, cwd=sub, env=_env())
    assert done.returncode == 1, done.stderr
    (finding,) = json.loads(done.stdout)["findings"]
    fix = finding["hint"].split(", or ")[0]
    assert fix == "uv pip install 'alpha==1.0'"
    uv(*shlex.split(fix)[1:], *offline)
    assert envlock(*args, cwd=sub, env=_env()).returncode == 0


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed (pip install uv)")
def test_a_uv_venv_without_pip_gets_uvs_commands_for_what_pip_installed(
    tmp_path: Path, wheelhouse: Path
) -> None:
    """The team's lockfile says pip installed alpha; this project's ``.venv`` was made by
    ``uv venv``, which puts no pip in it: ``python -m pip`` would fail ("No module named
    pip") and the ``pip`` on ``PATH`` is another environment's, active or not. The fixes are
    uv's, told ``--python`` only where uv would not find the environment, and work as
    printed; a reinstall to put pip back as the installer cannot be had there, and says so.
    ``doctor``'s fixes too."""
    offline = ["--offline", "--no-index", "--find-links", str(wheelhouse)]
    uv_env = {**_env(), "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}

    def uv(*args: str) -> None:
        subprocess.run(["uv", *args], cwd=tmp_path, env=uv_env, check=True, capture_output=True)

    team = make_venv(tmp_path / "team")  # pip's
    pip_install(team, "--find-links", str(wheelhouse), "alpha==1.0", "gamma==1.0")
    done = envlock("capture", "--no-runtime", "--python", str(team), cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    uv("venv", "-q", "--python", sys.executable, ".venv")
    assert "uv" in (tmp_path / ".venv" / "pyvenv.cfg").read_text()
    uv("pip", "install", *offline, "alpha==2.0", "gamma==1.0")

    def fixes(*args: str, **env: str) -> dict[tuple[str, str], str]:
        done = envlock("verify", "--format", "json", *args, cwd=tmp_path, env=_env(**env))
        assert done.returncode == 1, done.stderr
        findings = json.loads(done.stdout)["findings"]
        return {(f["category"], f["subject"]): f["hint"] for f in findings}

    installer = (
        "installed by uv, locked as installed by pip; this environment has no pip (uv made it): "
        "re-run `envlock capture` if this change is intended"
    )
    # ./.venv, not active; and active: uv finds it by itself
    for env in ({}, {"VIRTUAL_ENV": str(tmp_path / ".venv")}):
        assert fixes(**env) == {
            ("version", "alpha"): "uv pip install 'alpha==1.0', or re-run `envlock capture` if "
            "this change is intended",
            ("installer", "alpha"): installer,
            ("installer", "gamma"): installer,
        }, env
    # named: uv is told which
    for option in ("--python", "--prefix"):
        where = ".venv/bin/python" if option == "--python" else ".venv"
        alpha = fixes(option, where)[("version", "alpha")]
        assert alpha.startswith("uv pip install --python .venv/bin/python 'alpha==1.0', or ")
    subprocess.run(
        f"{alpha.split(', or ')[0]} {shlex.join(offline)}", shell=True, cwd=tmp_path, env=uv_env,
        check=True, capture_output=True,
    )  # fmt: skip
    done = envlock("verify", "--format", "json", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stdout  # alpha is back; the installers are warnings
    assert {f["category"] for f in json.loads(done.stdout)["findings"]} == {"installer"}
    # doctor: a dist-info whose METADATA is gone, reinstalled by uv as printed
    (metadata,) = (tmp_path / ".venv").glob("lib/*/site-packages/gamma-1.0.dist-info/METADATA")
    metadata.unlink()
    done = envlock("doctor", "--format", "json", "--python", ".venv/bin/python", cwd=tmp_path)
    (problem,) = json.loads(done.stdout)["problems"]
    fix = "uv pip install --python .venv/bin/python --reinstall --no-deps 'gamma==1.0'"
    assert problem["fix"].endswith(f" && {fix}"), problem
    subprocess.run(
        f"{problem['fix']} {shlex.join(offline)}", shell=True, cwd=tmp_path, env=uv_env,
        check=True, capture_output=True,
    )  # fmt: skip
    done = envlock("doctor", "--format", "json", "--python", ".venv/bin/python", cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["problems"] == [], done.stdout


def test_fixes_for_a_project_venv_that_is_not_active_run_its_pip(
    tmp_path: Path, wheelhouse: Path
) -> None:
    """envlock installed elsewhere (pipx), the project's ``.venv`` not activated: the ``pip``
    on ``PATH`` is another environment's, so the fix runs the ``.venv``'s own, and works as
    printed."""
    python = make_venv(tmp_path / ".venv", with_pip=True)
    offline = ["--no-index", "--find-links", str(wheelhouse)]
    pip_install(python, *offline, "alpha==1.0", "gamma==1.0")
    assert envlock("capture", "--no-runtime", cwd=tmp_path, env=_env()).returncode == 0
    pip_install(python, *offline, "alpha==2.0")
    done = envlock("verify", "--no-runtime", cwd=tmp_path, env=_env())
    assert done.returncode == 1
    assert "environment .venv (./.venv; probe in its interpreter)" in done.stderr
    fix = "fix: .venv/bin/python -m pip install 'alpha==1.0', or re-run"
    assert fix in done.stdout, done.stdout
    command = fix.removeprefix("fix: ").split(", or ")[0]
    subprocess.run(f"{command} {shlex.join(offline)} -q", shell=True, cwd=tmp_path, check=True)
    done = envlock("verify", "--no-runtime", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stdout


def _uv_pip_install(python: Path, cache: Path, *args: str) -> None:
    """``uv pip install`` into ``python``'s environment, offline, with a cache of its own."""
    cmd = ["uv", "pip", "install", "--python", str(python), "--offline", "--no-index"]
    subprocess.run([*cmd, "--cache-dir", str(cache), *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed (pip install uv)")
def test_an_archive_reinstalled_by_uv_is_the_same_source(
    tmp_path: Path, locked: Path, work: Path, wheelhouse: Path, sources: dict[str, object]
) -> None:
    """pip records an archive's hash, uv does not (an empty ``archive_info``; a ``#sha256=``
    it was given stays in the URL): the same file is the same source, only the installer
    differs; an archive at another place is still source drift."""
    python = make_venv(tmp_path / "v")
    populate(python, wheelhouse, sources)
    archive = Path(str(sources["archive"]))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    pinned = f"archpkg @ {archive.as_uri()}#sha256={digest}"
    for spec in (str(archive), pinned):
        _uv_pip_install(python, tmp_path / "uv-cache", "--reinstall-package", "archpkg", spec)
        result = api.verify(locked, python=str(python))
        assert [(f.category, f.subject, f.expected, f.actual) for f in result.findings] == [
            ("installer", "archpkg", "pip", "uv")
        ], spec
    other = tmp_path / "elsewhere" / archive.name
    other.parent.mkdir()
    shutil.copy(archive, other)
    _uv_pip_install(python, tmp_path / "uv-cache", "--reinstall-package", "archpkg", str(other))
    result = api.verify(locked, python=str(python))
    assert [(f.category, f.subject) for f in result.findings] == [
        ("source", "archpkg"),
        ("installer", "archpkg"),
    ]


@pytest.mark.skipif(OTHER_PYTHON is None, reason="no other Python under /root/.pyenv")
def test_python_drift(
    tmp_path: Path, locked: Path, work: Path, wheelhouse: Path, sources: dict[str, object]
) -> None:
    assert OTHER_PYTHON is not None
    python = make_venv(tmp_path / "v", python=str(OTHER_PYTHON))
    populate(python, wheelhouse, sources)
    result = api.verify(locked, python=str(python))
    other = _python_version(OTHER_PYTHON)
    assert ("python", "version", _python_version(None), other, "error") in [
        (f.category, f.subject, f.expected, f.actual, f.severity) for f in result.findings
    ]
    assert result.exit_code == 1


def test_platform_drift_from_another_machines_lockfile(
    tmp_path: Path, locked: Path, venv: Path
) -> None:
    text = locked.read_text()
    other = tmp_path / "envlock.yaml"
    other.write_text(
        text.replace("machine: x86_64", "machine: aarch64").replace("os: linux", "os: macos")
    )
    result = api.verify(other, python=str(venv))
    got = {(f.category, f.subject, f.severity) for f in result.findings}
    assert {("platform", "machine", "error"), ("platform", "os", "error")} <= got


def test_prefix_reads_files_only(venv: Path, locked: Path, work: Path) -> None:
    prefix = venv.parent.parent
    out = work / "static.yaml"
    done = envlock(
        "capture", "--prefix", str(prefix), "--name", "static", str(out), cwd=work, env=_env()
    )
    assert done.returncode == 0, done.stderr
    env = validate(out)["environments"]["static"]
    assert env["method"] == "static"
    assert env["python"]["method"] == "pyvenv.cfg"
    assert env["python"]["version"] == _python_version(None)
    assert "variables" not in env and env["platform"] == {"method": "unknown"}
    probed = read_yaml(locked)["environments"]
    assert env["packages"] == next(iter(probed.values()))["packages"]
    # unknown values are not drift: the static view of the same env verifies clean
    done = envlock("verify", "--prefix", str(prefix), str(locked), cwd=work, env=_env())
    assert done.returncode == 0, done.stdout


def test_default_target_is_the_active_environment(venv: Path, locked: Path, work: Path) -> None:
    prefix = venv.parent.parent
    done = envlock("verify", str(locked), cwd=work, env=_env(VIRTUAL_ENV=str(prefix)))
    assert done.returncode == 0, done.stdout
    assert "(VIRTUAL_ENV; probe in its interpreter)" in done.stderr
    done = envlock("verify", str(locked), cwd=work, env=_env(CONDA_PREFIX=str(prefix)))
    assert "(CONDA_PREFIX;" in done.stderr


def test_dot_venv_in_working_directory(tmp_path: Path, wheelhouse: Path) -> None:
    python = make_venv(tmp_path / ".venv")
    pip_install(python, "--find-links", str(wheelhouse), "gamma")
    done = envlock("capture", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    assert "environment .venv (./.venv;" in done.stderr
    assert "gamma" in (tmp_path / "envlock.yaml").read_text()
    assert envlock("verify", cwd=tmp_path, env=_env()).returncode == 0


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["--prefix", "/nonexistent/env"], {}, "/nonexistent/env: no such directory"),
        (["--python", "/nonexistent/python"], {}, "/nonexistent/python: no such interpreter"),
        (
            [],
            {"VIRTUAL_ENV": "empty"},
            "empty (VIRTUAL_ENV) is not a Python environment: no interpreter in it",
        ),
    ],
)
def test_environment_that_cannot_be_inspected_exits_3(
    tmp_path: Path, args: list[str], extra_env: dict[str, str], message: str
) -> None:
    (tmp_path / "empty").mkdir()
    done = envlock("capture", *args, cwd=tmp_path, env=_env(**extra_env))
    assert done.returncode == 3
    assert done.stderr.strip().splitlines()[-1] == f"envlock: error: {message}"
    assert not (tmp_path / "envlock.yaml").exists()


def test_prefix_that_is_not_an_environment(tmp_path: Path) -> None:
    done = envlock("capture", "--prefix", str(tmp_path), cwd=tmp_path, env=_env())
    assert done.returncode == 3
    assert "is not a Python environment: no site-packages in it" in done.stderr


def test_prefix_of_debians_usr_reads_its_dist_packages(tmp_path: Path) -> None:
    """Debian's and Ubuntu's /usr: pip's packages in local/lib/pythonX.Y/dist-packages, apt's in
    lib/python3/dist-packages (installed here by pip --target, so the files are pip's own);
    the first of a project on the path is the one imported, as for the interpreter."""
    wheels = tmp_path / "wheels"
    for name, version in (("shared", "2.0"), ("pipped", "1.0")):
        build_wheel(wheels, name, version)
    build_wheel(tmp_path / "old", "shared", "1.0")
    build_wheel(tmp_path / "old", "apted", "3.0")
    usr = tmp_path / "usr"
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (usr / "lib" / version).mkdir(parents=True)  # the standard library's directory
    local = usr / "local" / "lib" / version / "dist-packages"
    apt = usr / "lib" / "python3" / "dist-packages"
    for target, where, names in (
        (local, wheels, "shared pipped"),
        (apt, tmp_path / "old", "shared apted"),
    ):
        for name in names.split():
            pip_install(Path(sys.executable), "--no-deps", "--no-index", "--find-links", str(where),
                        "--target", str(target), name)  # fmt: skip
    done = envlock("capture", "--prefix", str(usr), "--no-runtime", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    (env,) = validate(tmp_path / "envlock.yaml")["environments"].values()
    found = {name: p["version"] for name, p in env["packages"].items()}
    assert found == {"shared": "2.0", "pipped": "1.0", "apted": "3.0"}
    assert env["python"]["version"] == version[len("python") :]


def test_prefix_reads_what_the_interpreter_imports(tmp_path: Path) -> None:
    """A venv with ``--system-site-packages`` (its base's packages too), a ``.pth`` that adds
    a folder, and a leftover ``lib/pythonX.Y`` of another version: ``--prefix`` reads, from
    files alone, the distributions the interpreter imports, so that it matches a lockfile
    captured by running that interpreter."""
    python = make_venv(tmp_path / "venv", system_site_packages=True)
    venv = python.parent.parent
    site = next(venv.glob("lib/python*/site-packages"))
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "viapth", "2.0")
    pip_install(Path(sys.executable), "--no-deps", "--no-index", "--find-links", str(wheels),
                "--target", str(tmp_path / "extra"), "viapth")  # fmt: skip
    (site / "extra.pth").write_text(f"# a comment\nimport os\n{tmp_path / 'extra'}\n")
    stale = venv / "lib" / "python3.1" / "site-packages" / "stale-1.0.dist-info"  # sorts first
    stale.mkdir(parents=True)
    (stale / "METADATA").write_text("Metadata-Version: 2.1\nName: stale\nVersion: 1.0\n")
    done = envlock("capture", "--python", str(python), "--no-runtime", "ran.yaml", cwd=tmp_path,
                   env=_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = envlock("capture", "--prefix", str(venv), "read.yaml", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    ran, read = (
        set(next(iter(validate(tmp_path / f)["environments"].values()))["packages"])
        for f in ("ran.yaml", "read.yaml")
    )
    assert "viapth" in ran and "stale" not in ran
    assert ran == _importable(python)  # the base's too (where the base has any)
    assert read == ran
    done = envlock("verify", "--prefix", str(venv), "ran.yaml", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stdout


def test_prefix_of_a_venv_made_from_a_venv_reads_the_real_base(tmp_path: Path) -> None:
    """Python 3.10 and older, asked for a ``--system-site-packages`` venv by another venv's
    interpreter, write that venv's ``bin`` as ``home``; the interpreter's base is still the
    Python at the end of the chain. ``--prefix`` read the venv in between's packages too."""
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "between", "1.0")
    first = make_venv(tmp_path / "first")
    pip_install(first, "--no-deps", "--no-index", "--find-links", str(wheels), "between")
    python = make_venv(tmp_path / "venv", python=str(first), system_site_packages=True)
    cfg = python.parent.parent / "pyvenv.cfg"
    text = cfg.read_text()
    home = next(line for line in text.splitlines() if line.startswith("home"))
    cfg.write_text(text.replace(home, f"home = {first.parent}"))  # as Python 3.10 writes it
    assert "between" not in _importable(python)
    done = envlock("capture", "--prefix", str(python.parent.parent), "read.yaml", cwd=tmp_path,
                   env=_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    read = set(next(iter(validate(tmp_path / "read.yaml")["environments"].values()))["packages"])
    assert read == _importable(python)


def _importable(python: Path) -> set[str]:
    """The canonical names of the distributions ``python`` imports, as importlib sees them."""
    from packaging.utils import canonicalize_name

    names = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m\n"
         "for d in m.distributions(): print(d.metadata['Name'])"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return {canonicalize_name(name) for name in names}


def test_named_environments(venv: Path, work: Path, tmp_path: Path, wheelhouse: Path) -> None:
    path = tmp_path / "multi.yaml"
    other = make_venv(tmp_path / "other")
    pip_install(other, "--find-links", str(wheelhouse), "delta")
    for name, python in (("ci", venv), ("laptop", other)):
        done = envlock(
            "capture", "--python", str(python), "--name", name, str(path), cwd=work, env=_env()
        )
        assert done.returncode == 0
    data = validate(path)
    assert sorted(data["environments"]) == ["ci", "laptop"]
    laptop_before = data["environments"]["laptop"]
    pip_install(venv.parent.parent / "bin" / "python", "--find-links", str(wheelhouse), "delta")
    try:
        envlock("capture", "--python", str(venv), "--name", "ci", str(path), cwd=work, env=_env())
        data = validate(path)
        assert "delta" in data["environments"]["ci"]["packages"]
        assert data["environments"]["laptop"] == laptop_before
    finally:
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(venv), "uninstall", "-y", "delta"],
            check=True,
            capture_output=True,
        )
    # two environments on the same platform: verify must be told which
    done = envlock("verify", "--python", str(other), str(path), cwd=work, env=_env())
    assert done.returncode == 2
    assert "several environments are for this platform and Python" in done.stderr
    assert "ci, laptop; choose one with --env NAME" in done.stderr
    done = envlock(
        "verify", "--python", str(other), "--env", "laptop", str(path), cwd=work, env=_env()
    )
    assert done.returncode == 0
    done = envlock(
        "verify", "--python", str(other), "--env", "nope", str(path), cwd=work, env=_env()
    )
    assert done.returncode == 2 and "no environment 'nope'" in done.stderr
    # ... unless one of them has the name capture gives by default: the platform's
    subdir = validate(path)["environments"]["laptop"]["platform"]["subdir"]
    done = envlock(
        "capture", "--python", str(other), "--name", subdir, str(path), cwd=work, env=_env()
    )
    assert done.returncode == 0
    for command in ("verify", "diff"):
        args = (str(path),) if command == "verify" else (str(path), "--no-runtime")
        done = envlock(command, "--python", str(other), *args, cwd=work, env=_env())
        assert done.returncode == 0, done.stderr
        assert f"[{subdir}]" in done.stdout or subdir in done.stdout, done.stdout


def test_secrets_and_home_never_reach_the_lockfile(tmp_path: Path, wheelhouse: Path) -> None:
    home = tmp_path / "home"
    project = home / "proj"
    project.mkdir(parents=True)
    python = make_venv(tmp_path / "v")
    pip_install(python, "--find-links", str(wheelhouse), "gamma", "delta")
    # What pip records for installs from an authenticated private URL and a token-bearing
    # VCS URL (pip keeps user names it cannot tell from tokens).
    site = next((tmp_path / "v" / "lib").glob("python*/site-packages"))
    (site / "gamma-1.0.dist-info" / "direct_url.json").write_text(
        json.dumps(
            {
                "url": "https://build:s3cretpw@pkgs.example.com/gamma-1.0-py3-none-any.whl?token=abc123",
                "archive_info": {"hashes": {"sha256": "00" * 32}},
            }
        )
    )
    (site / "delta-1.0.dist-info" / "direct_url.json").write_text(
        json.dumps(
            {
                "url": "https://ghp_SECRETTOKEN@github.com/o/delta.git",
                "vcs_info": {"vcs": "git", "commit_id": "c" * 40},
            }
        )
    )
    env = _env(HOME=str(home), XLA_FLAGS=f"--xla_dump_to={home}/dumps")
    done = envlock("capture", "--python", str(python), cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    text = (project / "envlock.yaml").read_text()
    for secret in ("s3cretpw", "abc123", "ghp_SECRETTOKEN", "build:", str(home)):
        assert secret not in text
        assert secret not in done.stderr
    assert "https://pkgs.example.com/gamma-1.0-py3-none-any.whl?token=***" in text
    assert "XLA_FLAGS: --xla_dump_to=~/dumps" in text
    done = envlock("verify", "--python", str(python), cwd=project, env=env)
    assert done.returncode == 0
    assert str(home) not in done.stdout + done.stderr


def test_other_users_homes_and_secrets_in_any_field(tmp_path: Path, wheelhouse: Path) -> None:
    """What pip wrote from another user's home, or a person wrote into any field of a
    dist-info, reaches neither the lockfile nor any output: homes as ``~NAME``."""
    python = make_venv(tmp_path / "v")
    pip_install(python, "--find-links", str(wheelhouse), "gamma", "delta", "alpha==1.0")
    site = next((tmp_path / "v" / "lib").glob("python*/site-packages"))
    urls = {
        "gamma": {"url": "file:///home/alice/src/gamma", "dir_info": {"editable": True}},
        "delta": {
            "url": "git+file:///Users/carol/repos/delta",
            "vcs_info": {
                "vcs": "git",
                "commit_id": "c" * 40,
                "requested_revision": "https://x:S3cretRev@h.example.com/",
            },
            "subdirectory": "/home/alice/sub",
        },
    }
    for name, data in urls.items():
        (site / f"{name}-1.0.dist-info" / "direct_url.json").write_text(json.dumps(data))
    (site / "alpha-1.0.dist-info" / "INSTALLER").write_text("https://u:S3cretInst@h.example.com\n")
    env = _env(HOME=str(tmp_path / "me"), XLA_FLAGS="--xla_dump_to=C:\\Users\\bob\\dump")
    done = envlock("capture", "--python", str(python), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "envlock.yaml").read_text()
    assert "path: ~alice/src/gamma" in text and "'git+file://~carol/repos/delta'" in text
    assert "--xla_dump_to=~bob\\dump" in text
    (site / "alpha-1.0.dist-info" / "INSTALLER").write_text(
        "https://u:S3cretTwo@other.example.com\n"
    )
    shown = [text, done.stderr]
    for args in (("verify",), ("verify", "--format", "json"), ("diff", "envlock.yaml")):
        run = envlock(*args, "--python", str(python), cwd=tmp_path, env=env)
        shown += [run.stdout, run.stderr]
    show = envlock("show", cwd=tmp_path, env=env)
    shown += [show.stdout, show.stderr]
    assert "other.example.com" in shown[2]  # the drift is reported, without its secret
    for where in shown:
        for leak in ("/home/alice", "/Users/carol", "Users\\bob", "S3cret"):
            assert leak not in where, where


def test_broken_metadata_warns_and_continues(tmp_path: Path, wheelhouse: Path) -> None:
    python = make_venv(tmp_path / "v")
    pip_install(python, "--find-links", str(wheelhouse), "gamma", "delta")
    site = next((tmp_path / "v" / "lib").glob("python*/site-packages"))
    (site / "delta-1.0.dist-info" / "METADATA").unlink()
    done = envlock("capture", "--python", str(python), cwd=tmp_path, env=_env())
    assert done.returncode == 0
    assert "warning: " in done.stderr and "delta-1.0.dist-info: no readable METADATA" in done.stderr
    assert "gamma" in (tmp_path / "envlock.yaml").read_text()


def test_an_installer_is_compared_by_its_name_not_its_version(
    tmp_path: Path, wheelhouse: Path
) -> None:
    """Poetry (1.4 and later) writes its version into INSTALLER (``Poetry 2.5.1``): a teammate
    with another Poetry has the same installer, and what it installed from an index is
    recorded as such (Poetry writes direct_url.json for everything else, as pip does)."""
    python = make_venv(tmp_path / "v")
    pip_install(python, "--find-links", str(wheelhouse), "gamma", "delta")
    site = next((tmp_path / "v" / "lib").glob("python*/site-packages"))

    def installed_by(text: str) -> None:
        for name in ("gamma", "delta"):
            (site / f"{name}-1.0.dist-info" / "INSTALLER").write_text(text + "\n")

    installed_by("Poetry 2.5.1")
    done = envlock("capture", "--python", str(python), "--no-runtime", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    (env,) = read_yaml(tmp_path / "envlock.yaml")["environments"].values()
    assert env["packages"]["gamma"]["source"] == "index"
    installed_by("Poetry 2.4.3")
    result = api.verify(tmp_path / "envlock.yaml", python=str(python), runtime=False)
    assert result.findings == ()
    installed_by("uv")
    result = api.verify(tmp_path / "envlock.yaml", python=str(python), runtime=False)
    assert {(f.category, f.expected, f.actual) for f in result.findings} == {
        ("installer", "Poetry 2.5.1", "uv")
    }


def test_python_api(venv: Path, locked: Path) -> None:
    lock = api.load(locked)
    env = api.capture(python=str(venv), base_dir=locked.parent)
    result = api.verify(lock, live=env)
    assert result.ok and result.findings == ()
    assert isinstance(lock, api.Lockfile) and isinstance(env, api.Environment)
    out = locked.parent / "api.toml"
    api.dump(lock, out)
    assert api.load(out) == lock
    from envlock.errors import UsageError

    for call in (api.capture, partial(api.verify, lock)):  # a misspelt probe: no silent skip
        with pytest.raises(
            UsageError, match=r"^runtime: no probe named blsa; there are blas, cuda$"
        ):
            call(python=str(venv), runtime={"blas", "blsa"})


@pytest.mark.parametrize(
    ("stamp", "message"),
    [
        ("soon", "SOURCE_DATE_EPOCH='soon' is not an integer"),
        ("253402300800", "SOURCE_DATE_EPOCH='253402300800' is out of range"),  # year 10000
        ("-1", "SOURCE_DATE_EPOCH='-1' is out of range"),
        ("9" * 20, "is out of range (0 to 253402300799, 1970 to 9999)"),  # (an OverflowError)
    ],
)
def test_source_date_epoch_outside_a_four_digit_year_is_refused(
    stamp: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written, it would make a lockfile no later read accepts."""
    from envlock import api as core
    from envlock.errors import UsageError
    from envlock.model import Environment, Lockfile, Platform, Python

    monkeypatch.setenv("SOURCE_DATE_EPOCH", stamp)
    with pytest.raises(UsageError, match=re.escape(message)):
        core.record(Lockfile(), "x", Environment(Python(), Platform()))


def test_a_local_path_is_relative_however_the_lockfile_directory_is_named(tmp_path: Path) -> None:
    """Through a symbolic link to the lockfile's directory or not, a project inside it is
    recorded relative to it (pip records the real path of the working directory)."""
    from envlock.snapshot import source_from_direct_url

    real = tmp_path / "real"
    (real / "hp").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    for url in ((real / "hp").as_uri(), (tmp_path / "link" / "hp").as_uri()):
        for base in (real, tmp_path / "link"):
            data = {"url": url, "dir_info": {"editable": True}}
            source = source_from_direct_url(data, base)
            assert source is not None and source.path == "hp", (url, base)
    outside = source_from_direct_url({"url": tmp_path.as_uri(), "dir_info": {}}, real)
    assert outside is not None and outside.path == tmp_path.as_posix()


def test_eggs_on_sys_path_are_recorded(tmp_path: Path) -> None:
    """easy_install's eggs, a zip file and a directory with EGG-INFO, named by
    easy-install.pth: importlib lists them, so capture records them, run or read."""
    import zipfile

    python = make_venv(tmp_path / "venv")
    venv = python.parent.parent
    site = next(venv.glob("lib/python*/site-packages"))
    info = "Metadata-Version: 1.1\nName: {}\nVersion: {}\n\n"
    with zipfile.ZipFile(site / "zipped-1.5-py3.egg", "w") as egg:
        egg.writestr("EGG-INFO/PKG-INFO", info.format("zipped", "1.5"))
        egg.writestr("zipped.py", "")
    (site / "unzipped-2.5-py3.egg" / "EGG-INFO").mkdir(parents=True)
    (site / "unzipped-2.5-py3.egg" / "EGG-INFO" / "PKG-INFO").write_text(
        info.format("unzipped", "2.5")
    )
    (site / "easy-install.pth").write_text("./zipped-1.5-py3.egg\n./unzipped-2.5-py3.egg\n")
    for i, how in enumerate((("--python", str(python), "--no-runtime"), ("--prefix", str(venv)))):
        done = envlock("capture", *how, f"lock{i}.yaml", cwd=tmp_path, env=_env())
        assert done.returncode == 0, done.stderr
        (env,) = validate(tmp_path / f"lock{i}.yaml")["environments"].values()
        assert {n: p["version"] for n, p in env["packages"].items()} == {
            "zipped": "1.5",
            "unzipped": "2.5",
        }, how


def test_a_ci_matrix_lockfile_is_checked_against_the_environment_of_this_python(
    tmp_path: Path,
) -> None:
    """One lockfile for a CI matrix of Python versions on one platform: verify picks the
    environment for the Python it checks (implementation and minor version), before the one
    named after the platform; it says which environments are there when it cannot choose."""
    from dataclasses import replace

    from envlock.model import Environment, Lockfile

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["ENVLOCK_CACHE_DIR"] = "off"
    path = tmp_path / "envlock.yaml"
    done = envlock("capture", "--no-runtime", "--name", "this", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    this = api.load(path).environments["this"]
    subdir, minor = this.platform.subdir, "{}.{}".format(*sys.version_info)
    assert subdir is not None

    def on(version: str) -> Environment:
        return replace(this, python=replace(this.python, version=version))

    def verify(environments: dict[str, Environment]) -> subprocess.CompletedProcess[str]:
        api.dump(Lockfile(environments=environments), path)
        return envlock("verify", "--no-runtime", cwd=tmp_path, env=env)

    done = verify({"this": this, "older": on("3.7.17"), subdir: on("3.6.15")})
    assert done.returncode == 0 and "envlock.yaml [this]:" in done.stdout, done.stderr
    done = verify({subdir: on("3.7.17"), "oldest": on("3.6.15")})  # none for this Python
    assert done.returncode == 1 and f"envlock.yaml [{subdir}]:" in done.stdout, done.stderr
    done = verify({"a": this, "b": this, "older": on("3.7.17")})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "envlock: error: envlock.yaml: several environments are for this platform and Python "
        f"({subdir}, Python {minor}): a, b; choose one with --env NAME"
    )
    done = verify({"older": on("3.7.17"), "oldest": on("3.6.15")})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "envlock: error: envlock.yaml: no environment is for this platform and Python "
        f"({subdir}, Python {minor}); those for {subdir}: older (Python 3.7), oldest "
        "(Python 3.6); choose one with --env NAME"
    )


def test_capture_over_another_pythons_environment_of_the_same_name_warns(tmp_path: Path) -> None:
    """A matrix job that captures without --name replaces the platform's environment, which
    another Python's job recorded: said, with the name that keeps both."""
    from dataclasses import replace

    from envlock.model import Lockfile

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["ENVLOCK_CACHE_DIR"] = "off"
    path = tmp_path / "envlock.yaml"
    assert envlock("capture", "--no-runtime", cwd=tmp_path, env=env).returncode == 0
    lock = api.load(path)
    ((name, this),) = lock.environments.items()
    older = replace(this, python=replace(this.python, version="3.7.17"))
    api.dump(Lockfile(environments={name: older}), path)
    done = envlock("capture", "--no-runtime", cwd=tmp_path, env=env)
    minor = "{}.{}".format(*sys.version_info)
    assert done.returncode == 0
    assert done.stderr.strip().splitlines()[-1] == (
        f"envlock: warning: envlock.yaml [{name}] was recorded for Python 3.7 and now holds "
        f"Python {minor}'s; to keep one environment per Python, name each: "
        f"`envlock capture --name py{minor}`"
    )
    api.dump(Lockfile(environments={name: older}), path)
    done = envlock("capture", "--no-runtime", "--name", name, cwd=tmp_path, env=env)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr  # named on purpose
    done = envlock("capture", "--no-runtime", cwd=tmp_path, env=env)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr  # same Python
