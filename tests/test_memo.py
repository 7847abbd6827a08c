"""verify's memo (envlock/stamp.py): a result is repeated only while nothing it was computed
from has changed. Real venvs, real pip installs and uninstalls, a conda prefix on disk; every
change a user makes must run the check again, and an unchanged environment must not.

File times are coarse, so a result is kept only when what it read is more than 2 s old:
these tests wait that long (``settle``) where they need a result to be kept."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest
from condafactory import make_conda_prefix, write_history, write_record
from factory import build_wheel, make_venv, pip_install, pip_uninstall
from support import envlock
from test_blas_probe import SYSTEM_PYTHON, Alternatives, alternatives  # noqa: F401
from test_cuda_probe import STEERING, fake_nvidia_smi, find_wheel, gpu_driver_present

import envlock as api
from envlock import stamp

REPLAYED = "nothing this check depends on"


def settle() -> None:
    time.sleep(stamp.MARGIN_NS / 1e9 + 0.2)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("memo-wheels")
    for name, version in [("alpha", "1.0"), ("alpha", "2.0"), ("beta", "1.0"), ("gamma", "1.0")]:
        build_wheel(wh, name, version)
    return wh


def _env(cache: Path, venv: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["ENVLOCK_CACHE_DIR"] = str(cache)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
    env.update(extra)
    return env


def _verify(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return envlock("verify", "--no-runtime", *args, cwd=project, env=env)


def test_unchanged_venv_is_replayed_and_every_change_checks_again(
    tmp_path: Path, wheelhouse: Path, cache: Path
) -> None:
    venv = tmp_path / "venv"
    py = make_venv(venv)
    pip_install(py, "--find-links", str(wheelhouse), "alpha==1.0", "beta")
    project = tmp_path / "project"
    project.mkdir()
    env = _env(cache, venv)
    assert envlock("capture", "--no-runtime", cwd=project, env=env).returncode == 0
    settle()

    first = _verify(project, env)
    assert first.returncode == 0 and REPLAYED not in first.stderr
    again = _verify(project, env)
    assert again.returncode == 0, again.stderr
    assert REPLAYED in again.stderr  # said, not silent
    assert again.stdout == first.stdout
    assert _verify(project, env, "--no-cache").stderr.count(REPLAYED) == 0
    assert REPLAYED not in _verify(project, _env(cache, venv, OMP_NUM_THREADS="3")).stderr
    assert (
        REPLAYED
        not in _verify(project, _env(tmp_path / "off", venv, ENVLOCK_CACHE_DIR="off")).stderr
    )

    # a new version of a package, installed by pip: checked at once
    pip_install(py, "--find-links", str(wheelhouse), "alpha==2.0")
    drift = _verify(project, env)
    assert drift.returncode == 1 and REPLAYED not in drift.stderr
    assert "alpha" in drift.stdout
    settle()
    assert REPLAYED not in _verify(project, env).stderr  # the drift is checked, and kept
    kept = _verify(project, env)
    assert kept.returncode == 1 and REPLAYED in kept.stderr and kept.stdout == drift.stdout

    # a team policy that ignores the package, in a pyproject.toml that did not exist
    (project / "pyproject.toml").write_text('[tool.envlock]\nignore = ["alpha"]\n')
    assert _verify(project, env).returncode == 0
    (project / "pyproject.toml").unlink()
    assert _verify(project, env).returncode == 1

    # an uninstall, and a package added
    settle()
    assert _verify(project, env).returncode == 1
    pip_uninstall(py, "beta")
    gone = _verify(project, env)
    assert gone.returncode == 1 and "beta" in gone.stdout and REPLAYED not in gone.stderr
    pip_install(py, "--find-links", str(wheelhouse), "beta", "gamma")
    extra = _verify(project, env)
    assert "gamma" in extra.stdout and REPLAYED not in extra.stderr

    # the lockfile itself: re-captured, so the environment matches again
    assert envlock("capture", "--no-runtime", cwd=project, env=env).returncode == 0
    assert _verify(project, env).returncode == 0


def test_probe_in_another_interpreter_sees_a_pth_edited_in_place(
    tmp_path: Path, wheelhouse: Path, cache: Path
) -> None:
    """``--python``: the probe runs in a child process, so what it read is known from the
    folders on its sys.path, recorded by the host."""
    py = make_venv(tmp_path / "venv")
    pip_install(py, "--find-links", str(wheelhouse), "alpha==1.0")
    extra = tmp_path / "extra"
    pip_install(py, "--target", str(extra), "--find-links", str(wheelhouse), "gamma")
    site = next((tmp_path / "venv" / "lib").glob("python*/site-packages"))
    pth = site / "extra.pth"
    pth.write_text("# nothing yet\n")
    project = tmp_path / "project"
    project.mkdir()
    env = _env(cache)
    capture = envlock("capture", "--no-runtime", "--python", str(py), cwd=project, env=env)
    assert capture.returncode == 0
    settle()
    assert _verify(project, env, "--python", str(py)).returncode == 0
    assert REPLAYED in _verify(project, env, "--python", str(py)).stderr

    # the .pth, rewritten in place (same file, same folder), now puts a folder holding
    # a distribution on the venv's sys.path
    with open(pth, "r+", encoding="utf-8") as f:
        f.write(f"{extra}\n")
    found = _verify(project, env, "--python", str(py))
    assert "gamma" in found.stdout and REPLAYED not in found.stderr  # an extra: a warning


def test_a_folder_a_pth_names_is_watched_until_it_exists(
    tmp_path: Path, wheelhouse: Path, cache: Path
) -> None:
    """``site`` puts the folder a ``.pth`` line names on ``sys.path`` only once it exists:
    one missing when the check ran is watched, so ``pip install --target`` creating it is
    checked. Here the ``.pth`` is in the user site-packages (``PYTHONUSERBASE``), which a
    venv made with ``--system-site-packages`` imports from."""
    venv = tmp_path / "venv"
    py = make_venv(venv, system_site_packages=True)
    pip_install(py, "--find-links", str(wheelhouse), "alpha==1.0")
    user_base = tmp_path / "userbase"
    user_site = user_base / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    user_site /= "site-packages"
    user_site.mkdir(parents=True)
    shared = tmp_path / "shared"
    (user_site / "shared.pth").write_text(f"{shared}\n")
    project = tmp_path / "project"
    project.mkdir()
    env = _env(cache, venv, PYTHONUSERBASE=str(user_base))
    assert envlock("capture", "--no-runtime", cwd=project, env=env).returncode == 0
    settle()
    assert _verify(project, env).returncode == 0
    assert REPLAYED in _verify(project, env).stderr

    pip_install(py, "--target", str(shared), "--find-links", str(wheelhouse), "gamma")
    found = _verify(project, env)
    assert "gamma" in found.stdout and REPLAYED not in found.stderr  # an extra: a warning


def test_a_launcher_that_chooses_the_interpreter_is_not_kept(
    tmp_path: Path, wheelhouse: Path, cache: Path
) -> None:
    """``--python`` naming a launcher (pyenv's and asdf's shims are scripts that run the
    interpreter a file of their own names: ``pyenv global`` rewrites it): the interpreter it
    runs can change with no file the check read changing, so its result is not kept."""
    one, two = make_venv(tmp_path / "one"), make_venv(tmp_path / "two")
    pip_install(one, "--find-links", str(wheelhouse), "alpha==1.0")
    pip_install(two, "--find-links", str(wheelhouse), "alpha==2.0")
    chosen = tmp_path / "version"
    chosen.write_text(str(one))
    shim = tmp_path / "shims" / "python"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "$(cat {chosen})" "$@"\n')
    shim.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    env = _env(cache)
    assert (
        envlock("capture", "--no-runtime", "--python", str(shim), cwd=project, env=env).returncode
        == 0
    )
    settle()
    first = _verify(project, env, "-v", "--python", str(shim))
    assert first.returncode == 0, first.stderr

    chosen.write_text(str(two))  # `pyenv global`: the shim now runs another interpreter
    switched = _verify(project, env, "-v", "--python", str(shim))
    assert switched.returncode == 1 and REPLAYED not in switched.stderr
    assert "alpha: 1.0 -> 2.0" in switched.stdout
    assert "is a launcher" in first.stderr  # said with -v


def test_conda_prefix_read_from_files(tmp_path: Path, cache: Path) -> None:
    prefix = tmp_path / "env"
    make_conda_prefix(prefix)
    write_record(prefix, "zlib", "1.3.1", "h4ab18f5_1")
    write_history(prefix, [("update", ["+conda-forge/linux-64::zlib-1.3.1-h4ab18f5_1"], ["zlib"])])
    project = tmp_path / "project"
    project.mkdir()
    env = _env(cache)
    assert envlock("capture", "--prefix", str(prefix), cwd=project, env=env).returncode == 0
    settle()
    assert _verify(project, env, "--prefix", str(prefix)).returncode == 0
    assert REPLAYED in _verify(project, env, "--prefix", str(prefix)).stderr

    write_record(prefix, "xz", "5.4.6", "h166bdaf_0")
    added = _verify(project, env, "--prefix", str(prefix))
    assert "xz" in added.stdout and REPLAYED not in added.stderr  # an extra: a warning
    (prefix / "conda-meta" / "zlib-1.3.1-h4ab18f5_1.json").unlink()
    removed = _verify(project, env, "--prefix", str(prefix))
    assert removed.returncode == 1 and "zlib" in removed.stdout


def test_a_cache_folder_that_holds_the_project_watches_it(tmp_path: Path, wheelhouse: Path) -> None:
    """``ENVLOCK_CACHE_DIR`` may hold the project and its venv (a CI job that keeps its whole
    workspace, or a cache folder named like the venv's): only envlock's own folders in it are
    left unwatched, and a report written in it is still an output."""
    venv = tmp_path / "venv"
    py = make_venv(venv)
    pip_install(py, "--find-links", str(wheelhouse), "alpha==1.0")
    env = _env(tmp_path, venv)
    assert envlock("capture", "--no-runtime", cwd=tmp_path, env=env).returncode == 0
    settle()
    assert _verify(tmp_path, env).returncode == 0
    assert REPLAYED in _verify(tmp_path, env).stderr

    pip_install(py, "--find-links", str(wheelhouse), "alpha==2.0")
    drift = _verify(tmp_path, env)
    assert drift.returncode == 1 and REPLAYED not in drift.stderr
    settle()
    report = tmp_path / "report.json"
    for _ in range(2):
        report.unlink(missing_ok=True)
        done = _verify(tmp_path, env, "--format", "json", "--output", str(report))
        assert done.returncode == 1 and REPLAYED not in done.stderr and report.exists()


def test_a_report_written_to_a_file_is_never_replayed(
    tmp_path: Path, wheelhouse: Path, cache: Path
) -> None:
    venv = tmp_path / "venv"
    py = make_venv(venv)
    pip_install(py, "--find-links", str(wheelhouse), "alpha==1.0")
    project = tmp_path / "project"
    project.mkdir()
    env = _env(cache, venv)
    assert envlock("capture", "--no-runtime", cwd=project, env=env).returncode == 0
    settle()
    for _ in range(2):
        report = project / "report.json"
        report.unlink(missing_ok=True)
        done = _verify(project, env, "--format", "json", "--output", str(report))
        assert done.returncode == 0 and REPLAYED not in done.stderr and report.exists()


IMPORTING = "importing numpy (and scipy) in a child process"


def test_blas_loaded_at_runtime_kept_until_alternatives_switch(
    tmp_path: Path,
    cache: Path,
    alternatives: Alternatives,  # noqa: F811
) -> None:
    """The BLAS probe's answer is kept with the libraries it loaded; Debian's generic
    libblas.so.3 repointed by update-alternatives (no library file changes) is checked."""
    for which in ("blas", "lapack"):
        alternatives.set(which, alternatives.choice(which, "openblas-pthread"))
    lock = tmp_path / "envlock.yaml"
    env = _env(cache)
    done = envlock("capture", "--python", str(SYSTEM_PYTHON), str(lock), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    captured = api.load(lock)  # no CUDA facts (a toolkit may be here): verify asks no GPU
    only_blas = {k: replace(e, cuda=None) for k, e in captured.environments.items()}
    api.dump(replace(captured, environments=only_blas), lock)
    settle()
    verify = ["verify", "-v", "--python", str(SYSTEM_PYTHON), str(lock)]
    first = envlock(*verify, cwd=tmp_path, env=env)
    assert first.returncode == 0 and "not kept" not in first.stderr, first.stderr
    assert IMPORTING in first.stderr
    again = envlock(*verify, cwd=tmp_path, env=env)
    assert REPLAYED in again.stderr and IMPORTING not in again.stderr  # it imported nothing

    for which in ("blas", "lapack"):  # the netlib reference BLAS and LAPACK
        alternatives.set(which, alternatives.choice(which, which))
    switched = envlock(*verify, cwd=tmp_path, env=env)
    assert switched.returncode == 1 and REPLAYED not in switched.stderr
    assert "netlib" in switched.stdout


def test_a_run_that_asks_the_gpu_driver_is_not_kept(
    memo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A driver's answer can change with no file changing; nvidia-smi (the tests' stand-in,
    failing as it does without a GPU) is one of its interfaces."""
    from envlock import runtime

    bin_dir = fake_nvidia_smi(memo_root / "bin", plain=("", 9), query=("", 9))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    settle()
    memo = _memo(memo_root)
    memo.start()
    runtime.probe(Path(sys.executable), sys.prefix, blas=False, cuda=True)
    why = memo.finish(0)
    assert "asked the GPU driver" in why and "nvidia-smi" in why and not _kept(memo)


def test_cuda_libraries_read_without_a_driver_kept_until_they_change(
    tmp_path: Path, cache: Path
) -> None:
    """No GPU driver here: the CUDA probe's answer comes from files (a real libcudart from
    its pip wheel), so it is kept with them; uninstalling the wheel checks again."""
    if gpu_driver_present():
        pytest.skip("this machine has an NVIDIA driver")
    wheel = find_wheel("nvidia_cuda_runtime_cu12-*.whl")
    venv = tmp_path / "venv"
    py = make_venv(venv)
    pip_install(py, "--no-deps", str(wheel))
    project = tmp_path / "project"
    project.mkdir()
    env = {k: v for k, v in _env(cache, venv, PATH="/usr/bin:/bin").items() if k not in STEERING}
    assert envlock("capture", cwd=project, env=env).returncode == 0
    assert "cuda:" in (project / "envlock.yaml").read_text()
    settle()
    first = envlock("verify", "-v", cwd=project, env=env)
    assert first.returncode == 0 and "not kept" not in first.stderr, first.stderr
    assert REPLAYED in envlock("verify", "-v", cwd=project, env=env).stderr

    pip_uninstall(py, "nvidia-cuda-runtime-cu12")
    gone = envlock("verify", "-v", cwd=project, env=env)
    assert REPLAYED not in gone.stderr and "cuda" in gone.stdout.lower(), gone.stdout


# -- the rules, on the memo itself ----------------------------------------------------------


def _memo(tmp_path: Path) -> stamp.Memo:
    memo = stamp.open_memo(["verify", "--test", str(tmp_path)])
    assert memo is not None
    return memo


def _kept(memo: stamp.Memo) -> bool:
    return os.path.exists(memo.path)


@pytest.fixture
def memo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", str(tmp_path / "cache"))
    old = tmp_path / "old.txt"
    old.write_text("x")
    os.utime(old, ns=(0, 0))
    return tmp_path


def test_a_run_that_starts_a_process_is_not_kept(memo_root: Path) -> None:
    memo = _memo(memo_root)
    memo.start()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    memo.finish(0)
    assert memo.refused and not _kept(memo)


def test_a_file_changed_during_the_run_is_not_kept(memo_root: Path) -> None:
    settle()  # the folder and the file are old enough
    memo = _memo(memo_root)
    memo.start()
    (memo_root / "old.txt").read_text()
    (memo_root / "old.txt").write_text("changed")  # ... while the run reads it
    memo.finish(0)
    assert not _kept(memo)


def test_what_a_run_read_and_looked_at_is_kept_and_checked(memo_root: Path) -> None:
    settle()
    memo = _memo(memo_root)
    memo.start()
    (memo_root / "old.txt").read_text()
    assert not (memo_root / "new.txt").exists()
    print("the report")
    memo.finish(1)
    assert _kept(memo)
    assert memo.replay(quiet=True) == 1
    (memo_root / "new.txt").write_text("a path that was missing now exists")
    assert memo.replay(quiet=True) is None


def test_a_link_planted_in_the_cache_folder_is_not_written_through(memo_root: Path) -> None:
    """A cache folder others can write to (``ENVLOCK_CACHE_DIR`` shared by a team): a link
    planted at the name the memo is first written to must not make envlock overwrite the
    file it points to."""
    settle()
    victim = memo_root / "victim.txt"
    victim.write_text("precious")
    memo = _memo(memo_root)
    os.makedirs(os.path.dirname(memo.path))
    os.symlink(victim, f"{memo.path}.{os.getpid()}.tmp")
    memo.start()
    memo.finish(0)
    assert victim.read_bytes() == b"precious"
    assert not os.path.islink(memo.path)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: {**d, 2: (*d[2], ("/x", 2))}, id="a dependency cut short"),
        pytest.param(lambda d: {**d, 2: (*d[2], (None, 2, None))}, id="a dependency unnamed"),
        pytest.param(lambda d: {**d, 3: ((1, "ok\x1b]0;owned\x07\n"),)}, id="an escape sequence"),
        pytest.param(lambda d: {**d, 3: ((1, b"bytes\n"),)}, id="output not text"),
        pytest.param(lambda d: {**d, 3: ((1,),)}, id="output cut short"),
        pytest.param(lambda d: {**d, 4: 7}, id="an exit status never kept"),
        pytest.param(lambda d: {**d, 5: 1e300}, id="a time out of range"),
    ],
)
def test_a_damaged_or_foreign_memo_is_never_replayed(
    damage: Callable[[dict[int, Any]], dict[int, Any]],
    memo_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Not replayed, and no traceback: the check runs again. A kept output holds only what
    envlock prints, which never has a control character but the line feed."""
    settle()
    memo = _memo(memo_root)
    memo.start()
    (memo_root / "old.txt").read_text()
    print("the report")
    memo.finish(0)
    assert _kept(memo) and memo.replay(quiet=True) == 0
    capsys.readouterr()
    kept = dict(enumerate(marshal.loads(Path(memo.path).read_bytes())))
    damaged = damage(kept)
    Path(memo.path).write_bytes(marshal.dumps(tuple(damaged[i] for i in range(len(damaged)))))
    assert memo.replay(quiet=False) is None
    assert capsys.readouterr() == ("", "")


# Interpreters envlock supports on the host, where this machine has them: Python 3.9 and 3.10's
# pathlib calls the os.stat it bound when it was imported, not os.stat.
OTHER_VERSIONS = ("3.9.18", "3.10.13", "3.12.1", "3.13.0")
HOST_PYTHONS = [
    sys.executable,
    *(
        str(p)
        for p in (Path(f"/root/.pyenv/versions/{v}/bin/python") for v in OTHER_VERSIONS)
        if p.exists()
    ),
]
LOOKS = """
import os, pathlib, sys
from envlock import stamp
folder = pathlib.Path(sys.argv[1])
memo = stamp.open_memo(["verify", "--looks"])
if sys.argv[2] == "replay":
    print(memo.replay(quiet=True))
    sys.exit()
memo.start()
looked = [
    (folder / "exists").exists(), (folder / "is_file").is_file(), (folder / "is_dir").is_dir(),
    os.path.exists(folder / "os.path"), (folder / "lstat").is_symlink(),
]
print(memo.finish(0) or sorted(looked))
"""


@pytest.mark.parametrize("python", HOST_PYTHONS)
def test_every_way_of_looking_at_a_missing_path_is_recorded(python: str, memo_root: Path) -> None:
    """A path that was missing and now exists (a new pyproject.toml) runs the check again,
    however the run looked for it: pathlib, os.path, on every supported Python."""
    settle()
    env = {**os.environ, "PYTHONPATH": str(Path(stamp.__file__).parents[1])}

    def run(step: str) -> str:
        done = subprocess.run(
            [python, "-c", LOOKS, str(memo_root), step],
            capture_output=True, text=True, env=env, cwd=memo_root,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run("record") == str([False] * 5)  # kept: all were missing
    assert run("replay") == "0"
    for name in ("exists", "is_file", "is_dir", "os.path", "lstat"):
        path = memo_root / name
        path.mkdir() if name == "is_dir" else path.write_text("now here")
        assert run("replay") == "None", name  # checked again
        path.rmdir() if name == "is_dir" else path.unlink()
        assert run("replay") == "0", name


def test_exit_codes_other_than_0_and_1_are_not_kept(memo_root: Path) -> None:
    settle()
    for code in (2, 3):
        memo = _memo(memo_root)
        memo.start()
        memo.finish(code)
        assert not _kept(memo)


def test_inputs_ignore_what_names_a_session_or_a_git_hook_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = stamp._inputs(["verify"])
    monkeypatch.setenv("GIT_INDEX_FILE", "/repo/.git/next-index-4242.lock")
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 52222 10.0.0.2 22")
    monkeypatch.setenv("OLDPWD", "/elsewhere")
    assert stamp._inputs(["verify"]) == before
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert stamp._inputs(["verify"]) != before


def test_the_memo_keeps_no_variable_value(memo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "ghp_Zq0123456789abcdefMemoSecret"
    monkeypatch.setenv("GITHUB_TOKEN", secret)
    monkeypatch.setenv("PIP_INDEX_URL", f"https://u:{secret}x@pypi.example.com/simple")
    settle()
    memo = _memo(memo_root)
    memo.start()
    memo.finish(0)
    assert _kept(memo)
    files = [p for p in memo_root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert secret.encode() not in path.read_bytes(), path
    monkeypatch.setenv("GITHUB_TOKEN", secret + "2")  # a changed value is still seen
    assert _memo(memo_root).inputs != memo.inputs
