"""How users invoke envlock and lay out their files: the working directory a command runs
in, launchers that choose an interpreter from it, relative paths, symbolic links. Real venvs,
real pip installs from wheels built here, a real pyenv where this machine has one. No
network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from factory import _git, build_wheel, make_git_repo, make_project, make_venv, pip_env, pip_install
from support import host_env, read_yaml, validate

from envlock.redact import home_to_tilde
from envlock.variables import VARIABLES

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment: no active environment, no numerics variable, no pyenv
    version chosen by a variable, no PYTHONPATH unless given."""
    env = {
        k: v
        for k, v in host_env().items()
        if k not in VARIABLES and k not in ("PYENV_VERSION", "PYTHONPATH", "SOURCE_DATE_EPOCH")
    }
    env.update(extra)
    return env


def envlock(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envlock", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _python_version(lockfile: Path) -> str:
    (env,) = read_yaml(lockfile)["environments"].values()
    return str(env["python"]["version"])


def _packages(lockfile: Path) -> dict[str, object]:
    (env,) = read_yaml(lockfile)["environments"].values()
    return dict(env["packages"])


# The probes run in the working directory, as the user's own commands do


def test_a_relative_pythonpath_entry_is_the_working_directorys(tmp_path: Path) -> None:
    # `PYTHONPATH=src envlock capture --python .venv/bin/python` from the project: the probe
    # ran in a temporary directory, where `src` is another folder, and the distribution that
    # leaks in through it (which the in-process capture records) was missed.
    project = tmp_path / "project"
    make_venv(project / ".venv")
    wheel = build_wheel(tmp_path / "wheels", "leaky", "1.0")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--target", str(project / "src"),
         str(wheel)],
        check=True, capture_output=True, env=pip_env(),
    )  # fmt: skip
    env = _env(PYTHONPATH="src")
    done = envlock("capture", "--no-runtime", "--python", ".venv/bin/python", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert "leaky" in _packages(project / "envlock.yaml")
    assert f"{project / 'src'}: on sys.path through PYTHONPATH" in done.stderr


def _pyenv_versions() -> list[tuple[str, Path]]:
    """pyenv's Python versions that can run the probe (3.8 and newer), by name."""
    versions = PYENV_ROOT / "versions"
    found = []
    for folder in sorted(versions.iterdir()) if versions.is_dir() else []:
        python = folder / "bin" / "python"
        parts = folder.name.split(".")
        if (
            python.is_file()
            and len(parts) == 3
            and parts[0] == "3"
            and parts[1].isdigit()
            and int(parts[1]) >= 8
        ):
            found.append((folder.name, python))
    return found


def test_a_pyenv_shim_chooses_from_the_working_directory(tmp_path: Path) -> None:
    # `--python ~/.pyenv/shims/python` in a project whose .python-version names 3.12: the
    # shim, run in the probe's temporary directory, did not see the file and ran pyenv's
    # global version, which was recorded instead (or failed, for `python3.12`).
    shim = PYENV_ROOT / "shims" / "python"
    versions = _pyenv_versions()
    if not shim.is_file() or len(versions) < 2:
        pytest.skip(f"needs pyenv with two Python versions of 3.8 or newer ({PYENV_ROOT})")
    project = tmp_path / "project"
    project.mkdir()
    for name, _ in versions[-2:]:  # one of them at least is not pyenv's global version
        (project / ".python-version").write_text(f"{name}\n")
        done = envlock("capture", "--no-runtime", "--python", str(shim), cwd=project, env=_env())
        assert done.returncode == 0, done.stderr
        assert _python_version(project / "envlock.yaml") == name
        (project / "envlock.yaml").unlink()


# The lockfile's directory, which local paths in it are relative to


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project (its name has a space and a non-ASCII letter) with a venv in ``.venv`` and
    a package of its own installed editable from ``src/``, captured into ``envlock.yaml``."""
    root = tmp_path_factory.mktemp("paths") / "my projé"
    python = make_venv(root / ".venv")
    pip_install(python, "-e", str(make_project(root / "src" / "tool", "tool", "0.1.0")))
    done = envlock("capture", "--no-runtime", "--python", ".venv/bin/python", cwd=root, env=_env())
    assert done.returncode == 0, done.stderr
    assert _packages(root / "envlock.yaml")["tool"] == {
        "version": "0.1.0",
        "installer": "pip",
        "requested": True,
        "source": "directory",
        "path": "src/tool",
        "editable": True,
    }
    return root


def test_a_symbolic_link_to_the_lockfile_reads_as_the_file(project: Path) -> None:
    # `locks/envlock.yaml -> ../envlock.yaml`: verify took the link's directory for the
    # lockfile's, so `src/tool` (recorded relative to the file) was not where the editable
    # install is (source drift, exit 1); and capture through the link, which writes the file,
    # recorded the path relative to the link's directory instead.
    locks = project / "locks"
    locks.mkdir()
    (locks / "envlock.yaml").symlink_to("../envlock.yaml")
    before = (project / "envlock.yaml").read_bytes()
    python = "../.venv/bin/python"
    done = envlock("verify", "--no-runtime", "--python", python, cwd=locks, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    done = envlock("capture", "--no-runtime", "--python", python, cwd=locks, env=_env())
    assert done.returncode == 0, done.stderr
    assert "unchanged, not rewritten" in done.stderr
    assert (project / "envlock.yaml").read_bytes() == before


def test_diff_with_the_live_environment_from_another_directory(project: Path) -> None:
    # `envlock diff ../envlock.yaml` from a subdirectory: the live side's local paths were
    # made relative to the working directory, not the lockfile's, so an unchanged editable
    # install was source drift (exit 1) where verify said "matches".
    sub = project / "src"
    args = ("--no-runtime", "--python", "../.venv/bin/python", "../envlock.yaml")
    verified = envlock("verify", *args, cwd=sub, env=_env())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    done = envlock("diff", *args, cwd=sub, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("../envlock.yaml vs live [")
    assert "matches" in done.stdout


def _monorepo(root: Path) -> Path:
    """A git repository whose policy keeps the lockfile in ``locks/``, with a project in
    ``packages/pa`` and a wheel in ``dist/``; returns the wheel."""
    (root / "pyproject.toml").parent.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.envlock]\nlockfile = "locks/envlock.yaml"\n')
    (root / "locks").mkdir()
    make_project(root / "packages" / "pa", "pa", "0.1.0")
    wheel = build_wheel(root / "dist", "beta", "1.0")
    (root / ".gitignore").write_text(".venv/\n")
    make_git_repo(root)
    return wheel


def test_a_monorepo_lockfile_records_paths_in_the_repository_relative_to_it(
    tmp_path: Path,
) -> None:
    # `lockfile = "locks/envlock.yaml"` in the repository's pyproject.toml: an editable
    # install of packages/pa and a wheel installed from dist/ were recorded as absolute
    # paths (outside the lockfile's directory), so a teammate's checkout at another place
    # was source drift on every local package.
    repo = tmp_path / "team" / "repo"
    wheel = _monorepo(repo)
    python = make_venv(repo / ".venv")
    pip_install(python, "-e", str(repo / "packages" / "pa"), str(wheel))
    args = ("--no-runtime", "--python", ".venv/bin/python")
    done = envlock("capture", *args, cwd=repo, env=_env())
    assert done.returncode == 0, done.stderr
    lockfile = repo / "locks" / "envlock.yaml"
    validate(lockfile)
    text = lockfile.read_text()
    assert str(tmp_path) not in text and "~" not in text, text
    packages = _packages(lockfile)
    assert packages["pa"] == {
        "version": "0.1.0",
        "installer": "pip",
        "requested": True,
        "source": "directory",
        "path": "../packages/pa",
        "editable": True,
    }
    assert isinstance(packages["beta"], dict)
    assert packages["beta"]["path"] == "../dist/beta-1.0-py3-none-any.whl"
    # `export` writes them relative to the lockfile's directory, where pip is to run
    done = envlock("export", "--to", "requirements", "-o", "locks/req.txt", cwd=repo, env=_env())
    assert done.returncode == 0, done.stderr
    exported = (repo / "locks" / "req.txt").read_text()
    assert "-e ../packages/pa\n" in exported and "\n../dist/beta-1.0-py3-none-any.whl" in exported
    # A teammate's checkout elsewhere, its own venv installed from the exported file there
    moved = tmp_path / "other" / "checkout"
    moved.parent.mkdir()
    shutil.move(repo, moved)
    shutil.rmtree(moved / ".venv")
    python = make_venv(moved / ".venv")
    pip_install(python, "-r", "req.txt", cwd=moved / "locks")
    done = envlock("verify", *args, cwd=moved, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matches" in done.stdout
    # another tool's lockfile with the same relative paths reads the same
    done = envlock("verify", *args, "--against", "locks/req.txt", cwd=moved, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    # a path outside the repository stays whole
    outside = make_project(tmp_path / "outside" / "pb", "pb", "0.2.0")
    pip_install(python, "-e", str(outside))
    done = envlock("capture", *args, cwd=moved, env=_env())
    assert done.returncode == 0, done.stderr
    assert _packages(moved / "locks" / "envlock.yaml")["pb"] == {
        "version": "0.2.0",
        "installer": "pip",
        "requested": True,
        "source": "directory",
        "path": home_to_tilde(outside.as_posix()),
        "editable": True,
    }


# The working directory


@pytest.mark.parametrize(
    "args",
    [
        ("capture", "--no-runtime", "{lockfile}"),
        ("verify", "--no-runtime", "{lockfile}"),
        ("diff", "--no-runtime", "{lockfile}"),
        ("show", "{lockfile}"),
        ("doctor",),
    ],
    ids=lambda args: args[0],
)
def test_a_removed_working_directory_is_one_line(
    tmp_path: Path, host_lockfile: Path, args: tuple[str, ...]
) -> None:
    # `rm -rf build` from a shell inside build/, then envlock with absolute paths: every
    # command said "internal error: FileNotFoundError: [Errno 2] No such file or directory"
    # (exit 3), naming nothing.
    removed = tmp_path / "build"
    removed.mkdir()
    lockfile = str(tmp_path / "envlock.yaml")
    Path(lockfile).write_bytes(host_lockfile.read_bytes())
    command = [sys.executable, "-m", "envlock", *(a.format(lockfile=lockfile) for a in args)]
    done = subprocess.run(
        ["sh", "-c", 'cd "$0" && rmdir "$0" && exec "$@"', str(removed), *command],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    where = home_to_tilde(str(removed)) if sys.platform.startswith("linux") else "."
    assert done.stderr.splitlines() == [
        f"envlock: error: {where}: the working directory cannot be read (No such file or "
        "directory): run envlock from an existing directory"
    ]


@pytest.mark.parametrize(
    "args", [("show",), ("verify",), ("capture", "--no-runtime")], ids=lambda args: args[0]
)
def test_a_working_directory_deeper_than_the_system_takes_is_no_internal_error(
    tmp_path: Path, host_lockfile: Path, args: tuple[str, ...]
) -> None:
    """A working directory whose path is longer than the system looks up (4,096 bytes on
    Linux): the walks up for [tool.envlock], for the git repository's root and for a
    project's .venv looked at each folder with pathlib, whose tests raise there ('File name
    too long'): 'internal error' (exit 3) from every command. Relative paths still work."""
    _git(tmp_path, "init", "-q")
    deep = (  # made and entered one folder at a time: no single path could name it
        "import os, shutil, sys\n"
        "for _ in range(25):\n"
        "    os.mkdir('d' * 200)\n"
        "    os.chdir('d' * 200)\n"
        "shutil.copy(sys.argv[1], 'envlock.yaml')\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'envlock', *sys.argv[2:]])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", deep, str(host_lockfile), *args],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if args[0] == "capture":  # its file's real path is too long to replace it atomically
        assert done.returncode == 4, done.stderr
        assert done.stderr.splitlines()[-1] == (
            "envlock: error: envlock.yaml: cannot write: File name too long"
        )
    else:
        assert done.returncode == 0, done.stderr


def test_folders_we_may_not_look_in_hold_no_project_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sudo -u someone envlock verify`` from a folder only its owner may search: every
    look at a file there is refused (EACCES). The walks up for [tool.envlock], the git root
    and a project's .venv raised PermissionError ('internal error', exit 3); what cannot be
    looked at is not there, and the lockfile's read says why it cannot be read."""
    from envlock import commands, policy, target
    from envlock.localpath import repository_root

    _git(tmp_path, "init", "-q")
    (tmp_path / "pyproject.toml").write_text("[tool.envlock]\nfail-on = 'warning'\n")
    locked = tmp_path / "locked"
    work = locked / "work"
    work.mkdir(parents=True)
    real_stat = os.stat

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if str(path).startswith(str(locked) + os.sep):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "lstat", lambda path: stat(path, follow_symlinks=False))
    assert policy.load(work).fail_on == "warning"  # the repository's, past the locked folders
    assert repository_root(work) == tmp_path
    assert target.resolve(environ={}, cwd=work).reason == "this interpreter"
    monkeypatch.chdir(work)
    assert commands.lockfile_path(None) == Path("envlock.yaml")


# A venv whose Python was moved or removed


@pytest.mark.parametrize("how", ["--python", "VIRTUAL_ENV", "./.venv"])
def test_a_venv_whose_python_is_gone_says_so(tmp_path: Path, how: str) -> None:
    # A venv's bin/python links to the Python it was made from; after that Python is
    # uninstalled (pyenv uninstall, a Homebrew upgrade) the link dangles, and envlock said
    # "no such interpreter" (--python) or "is not a Python environment: no interpreter in it"
    # (VIRTUAL_ENV, ./.venv), of a file that is there and a folder that is one.
    base = tmp_path / "base" / "python3"
    base.parent.mkdir()
    base.symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    project = tmp_path / "project"
    make_venv(project / ".venv", python=str(base))
    base.unlink()
    args = ["capture", "--no-runtime", str(tmp_path / "envlock.yaml")]
    env = _env()
    if how == "--python":
        args += ["--python", ".venv/bin/python"]
    elif how == "VIRTUAL_ENV":
        env["VIRTUAL_ENV"] = str(project / ".venv")
    done = envlock(*args, cwd=project, env=env)
    assert done.returncode == 3, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("envlock: error: "), line
    assert f".venv/bin/python links to {base}, which does not exist: " in line, line
    assert not (tmp_path / "envlock.yaml").exists()


def test_doctor_reads_a_venv_whose_python_is_gone_as_broken(tmp_path: Path) -> None:
    # `doctor --prefix` reads files only: it said "no problems found" of a venv no command
    # can run.
    base = tmp_path / "base" / "python3"
    base.parent.mkdir()
    base.symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    make_venv(tmp_path / "v", python=str(base))
    done = envlock("doctor", "--prefix", "v", cwd=tmp_path, env=_env())
    assert done.returncode == 0 and done.stdout.endswith("no problems found\n"), done.stdout
    base.unlink()
    done = envlock("doctor", "--prefix", "v", "--format", "json", cwd=tmp_path, env=_env())
    assert done.returncode == 1, done.stderr
    (problem,) = json.loads(done.stdout)["problems"]
    assert (problem["kind"], problem["severity"]) == ("interpreter", "error")
    assert problem["message"].startswith("v/bin/python links to base/python3, which does not")


def test_a_project_venv_link_to_a_removed_folder_says_so(tmp_path: Path) -> None:
    # ./.venv linking to a venv that was removed: envlock checked the interpreter it runs in
    # instead, saying so only in the status line.
    project = tmp_path / "project"
    project.mkdir()
    (project / ".venv").symlink_to(tmp_path / "gone")
    done = envlock("capture", "--no-runtime", cwd=project, env=_env())
    assert done.returncode == 3, done.stderr
    assert done.stderr == (
        f"envlock: error: .venv (./.venv) links to {tmp_path / 'gone'}, which does not exist: "
        "recreate the environment, or remove the link\n"
    )


def test_a_project_venv_that_is_a_file_is_named_in_the_status_line(tmp_path: Path) -> None:
    # Some tools keep an environment's name in a file called .venv: envlock checks the
    # interpreter it runs in, and says why it did not take ./.venv.
    (tmp_path / ".venv").write_text("analysis\n")
    done = envlock("capture", "--no-runtime", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0].endswith(
        "(this interpreter; .venv is a file, not an environment; in-process)"
    ), done.stderr


def _git_init(folder: Path) -> None:
    subprocess.run(["git", "init", "-q", str(folder)], check=True, capture_output=True)


def test_a_project_venv_is_found_from_a_subdirectory_of_the_repository(tmp_path: Path) -> None:
    # `envlock verify` from the project's notebooks/: the lockfile was found through
    # [tool.envlock] (the policy is looked for up to the repository's root), but the
    # environment checked was the interpreter running envlock, not the project's .venv.
    wheels = tmp_path / "wheels"
    for version in ("1.0", "2.0"):
        build_wheel(wheels, "alpha", version)
    offline = ["--no-index", "--find-links", str(wheels)]
    repo = tmp_path / "repo"
    notebooks = repo / "notebooks"
    notebooks.mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[tool.envlock]\nlockfile = "envlock.yaml"\n')
    _git_init(repo)
    python = make_venv(repo / ".venv", with_pip=True)
    pip_install(python, *offline, "alpha==1.0")
    done = envlock("capture", "--no-runtime", cwd=notebooks, env=_env())
    assert done.returncode == 0, done.stderr
    venv = home_to_tilde(str(repo / ".venv"))
    assert done.stderr.splitlines()[0] == (
        f"envlock: environment {venv} (../.venv; probe in its interpreter)"
    )
    assert _packages(repo / "envlock.yaml")["alpha"] == {
        "version": "1.0",
        "installer": "pip",
        "requested": True,
        "source": "index",
    }
    pip_install(python, *offline, "alpha==2.0")
    done = envlock("verify", "--no-runtime", cwd=notebooks, env=_env())
    assert done.returncode == 1, done.stdout + done.stderr
    # the fix runs the .venv's own pip (the one on PATH is another environment's), as printed
    fix = f"fix: {venv}/bin/python -m pip install 'alpha==1.0', or re-run"
    assert fix in done.stdout, done.stdout
    command = fix.removeprefix("fix: ").split(", or ")[0]
    subprocess.run(f"{command} {' '.join(offline)} -q", shell=True, cwd=notebooks, check=True)
    done = envlock("verify", "--no-runtime", cwd=notebooks, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_project_venv_is_looked_for_up_to_the_repositorys_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envlock.errors import TargetError
    from envlock.target import resolve

    make_venv(tmp_path / ".venv")
    deep = tmp_path / "repo" / "a" / "b"
    deep.mkdir(parents=True)
    # no repository: the working directory's alone
    assert resolve(environ={}, cwd=deep).reason == "this interpreter"
    # a .venv above the repository's root is another project's
    _git_init(tmp_path / "repo")
    assert resolve(environ={}, cwd=deep).reason == "this interpreter"
    # the repository's own, from two folders down (the repository's root is looked in)
    make_venv(tmp_path / "repo" / ".venv")
    target = resolve(environ={}, cwd=deep)
    assert (target.prefix, target.reason) == (tmp_path / "repo" / ".venv", "../../.venv")
    assert target.project_venv and target.uv_finds_it
    # from inside another venv, uv acts on that one: the fixes name the interpreter
    inner = tmp_path / "repo" / "a"
    (inner / "pyvenv.cfg").write_text("home = /usr/bin\n")
    target = resolve(environ={}, cwd=deep)
    assert target.reason == "../../.venv" and not target.uv_finds_it
    (inner / "pyvenv.cfg").unlink()
    # a .venv file nearer (an environment's name) is the project's: none is looked for above
    monkeypatch.chdir(deep)
    (inner / ".venv").write_text("analysis\n")
    assert resolve(environ={}, cwd=deep).reason == (
        f"this interpreter; {home_to_tilde(str(inner / '.venv'))} is a file, not an environment"
    )
    # a link to a removed folder is an error, named as found
    (inner / ".venv").unlink()
    (inner / ".venv").symlink_to(tmp_path / "gone")
    with pytest.raises(TargetError, match=r" \(\.\./\.venv\) links to .*gone, which does not"):
        resolve(environ={}, cwd=deep)


# What --python names is not a Python interpreter


def test_an_executable_that_is_not_python_is_said_so(tmp_path: Path) -> None:
    # `--python /bin/true`, or a wrapper script that drops its arguments: envlock said "the
    # probe failed: exit status 0", which does not say what is wrong.
    wrapper = tmp_path / "python"
    wrapper.write_text("#!/bin/sh\necho 'hello from a wrapper'\n")
    wrapper.chmod(0o755)
    for python in (str(wrapper), "/bin/true"):
        done = envlock("capture", "--no-runtime", "--python", python, cwd=tmp_path, env=_env())
        assert done.returncode == 3, done.stderr
        (line,) = done.stderr.splitlines()[1:]
        assert line == (
            f"envlock: error: {python if python.startswith('/bin') else 'python'}: the probe "
            "failed: it did not run it (exit status 0, no result): is it a Python interpreter?"
        )
    assert not (tmp_path / "envlock.yaml").exists()


def test_a_pyenv_shim_that_finds_no_such_command_says_what_pyenv_said(tmp_path: Path) -> None:
    # `--python python3.12` where .python-version picks a version without it: pyenv prints
    # "pyenv: python3.12: command not found", then where the command exists, then a note;
    # envlock showed the note's last line alone ("Python versions to be found at the same
    # time."), which does not say what failed.
    versions = _pyenv_versions()
    if len(versions) < 2:
        pytest.skip(f"needs pyenv with two Python versions of 3.8 or newer ({PYENV_ROOT})")
    (chosen, _), (other, _) = versions[-2:]
    command = "python" + ".".join(other.split(".")[:2])
    shim = PYENV_ROOT / "shims" / command
    if not shim.is_file() or chosen.split(".")[:2] == other.split(".")[:2]:
        pytest.skip(f"no pyenv shim {command} for a version other than {chosen}")
    (tmp_path / ".python-version").write_text(f"{chosen}\n")
    done = envlock("capture", "--no-runtime", "--python", str(shim), cwd=tmp_path, env=_env())
    assert done.returncode == 3, done.stderr
    (line,) = done.stderr.splitlines()[1:]
    assert line.startswith(
        f"envlock: error: {home_to_tilde(str(shim))}: the probe failed: "
        f"pyenv: {command}: command not found ... "
    ), line


@pytest.mark.parametrize(
    ("option", "given", "message"),
    [
        (
            "--python",
            ".venv",
            ".venv: a directory, not an interpreter: give its interpreter (bin/python in a "
            "venv), or the folder with --prefix",
        ),
        (
            "--prefix",
            ".venv/bin/python",
            ".venv/bin/python: not a directory: --prefix takes an environment's folder (an "
            "interpreter goes with --python)",
        ),
    ],
)
def test_a_folder_for_an_interpreter_or_the_other_way_round(
    tmp_path: Path, option: str, given: str, message: str
) -> None:
    # `--python .venv` said ".venv: no such interpreter", and `--prefix .venv/bin/python`
    # ".venv/bin/python: no such directory", of paths that are there.
    make_venv(tmp_path / ".venv")
    done = envlock("capture", "--no-runtime", option, given, cwd=tmp_path, env=_env())
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines() == [f"envlock: error: {message}"]
