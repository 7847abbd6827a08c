"""The probe against hostile interpreters (issue 7), in a real venv: start-up output from a
``.pth`` file or ``sitecustomize`` on stdout and stderr (non-UTF-8 bytes included) never
corrupts the result; a probe that hangs is stopped after a timeout with a clear exit-3 error;
a runtime child that crashes (a numpy whose import segfaults, as a broken BLAS does) or hangs
leaves the BLAS section unmeasured with the reason, and the capture succeeds."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from factory import make_venv, site_packages

from envlock import lockfile, runtime, target
from envlock.cli import main

# Start-up output that tries to look like a payload, with bytes that are not UTF-8.
NOISY = (
    "import sys; "
    "sys.stdout.write('noise {\"probe_version\": 0} @@envlock-0@@\\n'); sys.stdout.flush(); "
    "sys.stdout.buffer.write(b'\\xff\\xfe\\x80 not utf-8 {\\n'); sys.stdout.buffer.flush(); "
    "sys.stderr.buffer.write(b'\\xff\\xfe\\x80 stderr noise\\n'); sys.stderr.buffer.flush()\n"
)
SEGFAULT_NUMPY = (
    "import os, signal, sys\n"
    "sys.stderr.buffer.write(b'\\xff about to crash\\n'); sys.stderr.flush()\n"
    "os.kill(os.getpid(), signal.SIGSEGV)\n"
)
NULL_POINTER_NUMPY = "import ctypes\nctypes.string_at(0)\n"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with no pip; tests add and remove start-up files and packages."""
    return make_venv(tmp_path_factory.mktemp("probe") / "venv")


@pytest.fixture
def site(venv: Path) -> Iterator[Path]:
    """The venv's site-packages, emptied of what a test put there afterwards."""
    where = site_packages(venv)
    before = set(where.iterdir())
    yield where
    import shutil

    for path in set(where.iterdir()) - before:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def fake_package(site: Path, name: str, init: str, version: str = "1.26.4") -> None:
    (site / name).mkdir()
    (site / name / "__init__.py").write_text(init, encoding="utf-8")
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n", encoding="utf-8"
    )
    (info / "INSTALLER").write_text("pip\n", encoding="utf-8")


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("where", ["pth", "sitecustomize"])
def test_startup_output_does_not_corrupt_the_payload(venv: Path, site: Path, where: str) -> None:
    if where == "pth":
        (site / "00-noisy.pth").write_text(NOISY, encoding="utf-8")
    else:
        (site / "sitecustomize.py").write_text(NOISY, encoding="utf-8")
    fake_package(site, "plain", "")
    payload = target._run_probe(venv, Path(target.__file__).with_name("_probe.py"), ["X"])
    assert "plain" in {d["name"] for d in payload["distributions"]}
    assert payload["variables"] == {"X": None}


def test_startup_that_replaces_sys_stdout(venv: Path, site: Path) -> None:
    """A ``.pth`` that swaps ``sys.stdout`` for its own stream (a logging shim) cannot swallow
    the payload: the probe writes to the real stdout."""
    (site / "00-shim.pth").write_text("import io, sys; sys.stdout = io.StringIO()\n")
    fake_package(site, "plain", "")
    payload = target._run_probe(venv, Path(target.__file__).with_name("_probe.py"), ["X"])
    assert "plain" in {d["name"] for d in payload["distributions"]}


def test_runtime_probes_through_a_startup_that_replaces_sys_stdout(
    venv: Path, site: Path, cli_env: Path
) -> None:
    """The BLAS and CUDA children write their answer to the real stdout too (they failed with
    "exit status 0" when a sitecustomize swapped sys.stdout)."""
    (site / "sitecustomize.py").write_text("import io, sys\nsys.stdout = io.StringIO()\n")
    fake_package(site, "numpy", "")
    code, _, err = run("capture", "--python", str(venv))
    assert code == 0, err
    assert "probe failed" not in err, err
    (env,) = lockfile.load(cli_env / "envlock.yaml").environments.values()
    assert env.blas is not None and env.blas.method == "runtime"
    assert env.cuda is not None and not [n for n in env.cuda.notes if "failed" in n]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="-P / PYTHONSAFEPATH came in 3.11")
def test_safe_path_keeps_the_first_pythonpath_entry(tmp_path: Path) -> None:
    """Under ``-P`` nothing is prepended to sys.path: its first entry is a real one (here a
    PYTHONPATH folder), which the in-process probe must not drop as the script's."""
    extra = tmp_path / "extra"
    extra.mkdir()
    fake_package(extra, "safepathpkg", "")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(PYTHONPATH=str(extra), PYTHONSAFEPATH="1", ENVLOCK_CACHE_DIR="off")
    done = subprocess.run(
        [sys.executable, "-m", "envlock", "capture", "-q", "--no-runtime", "lock.yaml"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (captured,) = lockfile.load(tmp_path / "lock.yaml").environments.values()
    assert "safepathpkg" in captured.package_map()


def test_capture_and_verify_through_noisy_startup(venv: Path, site: Path, cli_env: Path) -> None:
    (site / "00-noisy.pth").write_text(NOISY, encoding="utf-8")
    fake_package(site, "plain", "")
    code, _, err = run("capture", "--python", str(venv))
    assert code == 0, err
    lock = lockfile.load(cli_env / "envlock.yaml")
    (env,) = lock.environments.values()
    assert "plain" in env.package_map()
    code, out, err = run("verify", "--python", str(venv))
    assert code == 0, out + err
    assert "noise" not in out + err  # start-up output is not envlock's to show


def test_a_probe_that_hangs_is_stopped(
    venv: Path, site: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site / "00-hang.pth").write_text("import time; time.sleep(600)\n", encoding="utf-8")
    monkeypatch.setattr(target, "PROBE_TIMEOUT_S", 1.5)
    start = time.monotonic()
    code, out, err = run("capture", "--python", str(venv))
    assert time.monotonic() - start < 30
    assert code == 3
    assert out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("envlock: error: ") and "the probe did not finish in 2 s" in last
    assert not (cli_env / "envlock.yaml").exists()


@pytest.mark.parametrize("init", [SEGFAULT_NUMPY, NULL_POINTER_NUMPY], ids=["SIGSEGV", "NULL"])
def test_a_runtime_child_that_crashes_leaves_blas_unknown_with_the_reason(
    venv: Path, site: Path, cli_env: Path, init: str
) -> None:
    (site / "00-noisy.pth").write_text(NOISY, encoding="utf-8")  # noise on stderr too
    fake_package(site, "numpy", init)
    code, _, err = run("capture", "--python", str(venv))
    assert code == 0, err
    assert "blas probe" in err and "SIGSEGV" in err  # a warning says so
    (env,) = lockfile.load(cli_env / "envlock.yaml").environments.values()
    assert env.blas is not None
    assert env.blas.method == "static" and env.blas.libraries == ()  # not measured
    (note,) = [n for n in env.blas.notes if n.startswith("blas probe")]
    assert "killed by signal 11 (SIGSEGV)" in note and note.endswith("not recorded")
    assert "numpy" in env.package_map()
    code, out, err = run("verify", "--python", str(venv))
    assert code == 0, out + err


def test_a_runtime_child_that_hangs_is_stopped(
    venv: Path, site: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_package(site, "numpy", "import time\ntime.sleep(600)\n")
    monkeypatch.setattr(runtime, "RUNTIME_TIMEOUT_S", 1.0)
    start = time.monotonic()
    code, _, err = run("capture", "--python", str(venv))
    assert time.monotonic() - start < 30
    assert code == 0, err
    (env,) = lockfile.load(cli_env / "envlock.yaml").environments.values()
    assert env.blas is not None and env.blas.method == "static"
    assert "blas probe: no answer in 1 s; not recorded" in env.blas.notes


def test_a_probe_that_fails_says_why_in_one_line(venv: Path, site: Path, cli_env: Path) -> None:
    (site / "sitecustomize.py").write_bytes(
        b"import sys\nsys.stderr.buffer.write(b'\\xff\\xfe\\x1b[2J bad\\n')\n"
        b"raise SystemExit('broken \\xe9 start-up')\n"
    )
    code, out, err = run("capture", "--python", str(venv))
    assert code == 3 and out == ""
    (line,) = [x for x in err.splitlines() if x.startswith("envlock: error:")]
    assert "the probe failed: " in line and "broken \u00e9 start-up" in line
    assert "\x1b" not in err


def test_an_interpreter_older_than_the_probe_is_named_as_such() -> None:
    """What Python 3.6 prints when it compiles the probe (its stderr, verbatim): the error says
    the probe needs 3.8, not only that it failed."""
    stderr = (
        b'  File "/tmp/envlock/_probe.py", line 9\n'
        b"    from __future__ import annotations\n"
        b"    ^\n"
        b"SyntaxError: future feature annotations is not defined\n"
    )
    with pytest.raises(target.TargetError) as e:
        target.fenced_payload(Path("/opt/py36/bin/python"), 1, b"", stderr, target.new_marker())
    assert str(e.value).endswith(
        "the probe failed: SyntaxError: future feature annotations is not defined "
        "(envlock's probe needs Python 3.8 or later)"
    )


def test_a_probe_killed_by_a_signal_says_which(venv: Path, site: Path, cli_env: Path) -> None:
    (site / "00-crash.pth").write_text(
        "import os, signal, sys; sys.stderr.write('last words\\n'); "
        "os.kill(os.getpid(), signal.SIGSEGV)\n",
        encoding="utf-8",
    )
    code, _, err = run("capture", "--python", str(venv))
    assert code == 3
    assert "the probe failed: killed by signal 11 (SIGSEGV)" in err
    assert os.name == "posix"


def test_a_runtime_child_that_exits_says_why_safely(venv: Path, site: Path, cli_env: Path) -> None:
    fake_package(
        site,
        "numpy",
        "import os, sys\nsys.stderr.write('\\x1b]0;title\\x07\\x1b[2J libfoo.so: bad ELF\\n')\n"
        "sys.stderr.flush()\nos._exit(3)\n",
    )
    code, _, err = run("capture", "--python", str(venv))
    assert code == 0, err
    (warning,) = [x for x in err.splitlines() if "blas probe" in x]
    assert "libfoo.so: bad ELF; not recorded" in warning
    assert "\x1b" not in err and "\x07" not in err


def test_a_note_about_what_was_read_is_not_an_incomplete_read(
    venv: Path, site: Path, cli_env: Path
) -> None:
    """A version that is not PEP 440 is read, recorded and compared: a warning says so, but
    the environment was fully read (the note "could not be fully read" is for what was not)."""
    import json

    fake_package(site, "legacy", "", version="2.0-custom_build")
    code, _, err = run("capture", "--python", str(venv), "--no-runtime")
    assert code == 0 and "is not PEP 440" in err, err
    code, out, err = run("verify", "--python", str(venv), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["complete"] is True, out + err
    assert any("is not PEP 440" in w for w in report["warnings"])
    code, out, err = run("verify", "--python", str(venv))
    assert code == 0 and "could not be fully read" not in out, out
    (site / "broken-1.0.dist-info").mkdir()  # no METADATA: not read, so not compared
    code, out, err = run("verify", "--python", str(venv))
    assert "could not be fully read (2 problems" in out, out
