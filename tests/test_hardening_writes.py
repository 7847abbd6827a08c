"""Crash-safe lockfile writes (issue 7): a private temporary file in the same directory, flushed
to disk; the old file's mode kept; symbolic links written through; an unchanged lockfile left
alone; a denied, read-only or full disk one error line (exit 4) with the old lockfile intact
and no temporary file left; racing captures; byte-identical round trips.

The failures are real, made by the kernel: a directory without write permission (as root,
the child gives up the capabilities that override permissions), a file-size limit
(``RLIMIT_FSIZE``, which fails a write with ``EFBIG``), and a full tmpfs mounted in a private
user and mount namespace (``ENOSPC``)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import drift_pytest, host_env, validate
from test_hardening_output import hostile_data

from envlock import lockfile
from envlock.errors import WriteError
from envlock.model import Lockfile

CAPTURE = (sys.executable, "-m", "envlock", "capture", "--no-runtime")


def capture(
    *args: str, cwd: Path, preexec_fn: Callable[[], None] | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CAPTURE, *args],
        cwd=cwd,
        env=host_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec_fn,
    )


def leftovers(*directories: Path) -> list[str]:
    """Temporary files a write left behind."""
    return [p.name for d in directories for p in d.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def locked(tmp_path: Path, host_lockfile: Path) -> Path:
    """A lockfile of the host that a capture would change (another pytest version)."""
    path = tmp_path / "envlock.yaml"
    shutil.copyfile(host_lockfile, path)
    drift_pytest(path)
    return path


# The write itself


def test_temporary_file_is_private_flushed_and_beside_the_lockfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lockfile: Path
) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("a file descriptor's path is read from /proc (Linux)")
    synced: list[tuple[str, int, str]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
        synced.append((kind, stat.S_IMODE(st.st_mode), os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    path = tmp_path / "envlock.yaml"
    assert lockfile.dump(lockfile.load(host_lockfile), path)
    (kind, mode, where), (dir_kind, _, dir_where) = synced
    assert kind == "file" and mode == 0o600
    assert Path(where).parent == tmp_path and Path(where).name.startswith(".envlock.yaml.")
    assert dir_kind == "dir" and Path(dir_where) == tmp_path
    assert path.read_bytes() == host_lockfile.read_bytes()
    assert leftovers(tmp_path) == []


def test_modes(tmp_path: Path, host_lockfile: Path) -> None:
    lock = lockfile.load(host_lockfile)
    kept = tmp_path / "kept.yaml"
    kept.write_text("old\n")
    kept.chmod(0o640)
    lockfile.dump(lock, kept)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    old_umask = os.umask(0o027)
    try:
        new = tmp_path / "new.yaml"
        lockfile.dump(lock, new)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0666 less the umask, as open() gives


def test_symbolic_links_are_written_through(tmp_path: Path, locked: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    target = store / "real.yaml"
    locked.rename(target)
    target.chmod(0o604)
    work = tmp_path / "work"
    work.mkdir()
    (work / "middle.yaml").symlink_to("../store/real.yaml")
    (work / "envlock.yaml").symlink_to("middle.yaml")  # a chain: link -> link -> file
    done = capture("envlock.yaml", cwd=work)
    assert done.returncode == 0, done.stderr
    assert os.readlink(work / "envlock.yaml") == "middle.yaml"
    assert os.readlink(work / "middle.yaml") == "../store/real.yaml"
    assert "version: 0.0.1" not in target.read_text()  # the target has the new content
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    validate(target)
    assert leftovers(work, store) == []


def test_a_symbolic_link_loop_is_an_error(tmp_path: Path, host_lockfile: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    with pytest.raises(WriteError, match=r"a\.yaml: cannot write: a loop of symbolic links"):
        lockfile.dump(lockfile.load(host_lockfile), tmp_path / "a.yaml")
    assert os.readlink(tmp_path / "a.yaml") == "b.yaml"


def test_what_is_not_a_regular_file_is_written_to_never_replaced(
    tmp_path: Path, host_lockfile: Path
) -> None:
    """A named pipe (as /dev/null or /dev/stdout would be) is written to and stays a pipe: as
    root, replacing ``-o /dev/null`` with a file would break the machine. A directory is an
    error."""
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    lockfile.write_atomic(pipe, "hello\n")
    reader.join(timeout=30)
    assert got == [b"hello\n"] and stat.S_ISFIFO(pipe.lstat().st_mode)
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(WriteError, match=r"dir\.yaml: cannot write: Is a directory"):
        lockfile.dump(lockfile.load(host_lockfile), tmp_path / "dir.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "envlock", "export", str(host_lockfile), "--to", "requirements",
         "-o", "/dev/stdout"],
        cwd=tmp_path, env=host_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Exported by envlock from ")


def test_an_unchanged_lockfile_is_not_rewritten(tmp_path: Path) -> None:
    done = capture("envlock.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "envlock.yaml"
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = path.stat()
    again = capture("envlock.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert "envlock: unchanged, not rewritten: envlock.yaml [" in again.stderr
    assert "wrote" not in again.stderr
    assert capture("-q", "envlock.yaml", cwd=tmp_path).stderr == ""


# Failures: exit 4, one line, the old lockfile intact, no temporary file


def _has_capability(bit: int) -> bool:
    with open("/proc/self/status") as f:
        caps = next(line for line in f if line.startswith("CapEff:"))
    return bool(int(caps.split()[1], 16) >> bit & 1)


def _drop_override_capabilities() -> None:
    """In the child, before exec: give up CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
    CAP_FOWNER (root keeps only its bounding set across exec), so that root too is refused."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def unprivileged() -> Callable[[], None] | None:
    """What a child needs to run so that file permissions apply to it."""
    if not sys.platform.startswith("linux"):
        pytest.skip("real permission failures are made with Linux interfaces")
    if os.geteuid() != 0:
        return None
    if not _has_capability(8):  # CAP_SETPCAP
        pytest.skip("root without CAP_SETPCAP cannot give up the permission override")
    return _drop_override_capabilities


def assert_failed_cleanly(done: subprocess.CompletedProcess[str], path: Path, old: bytes) -> None:
    assert done.returncode == 4, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("envlock: error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].startswith(f"envlock: error: {path.name}: cannot write: "), errors[0]
    assert path.read_bytes() == old
    assert leftovers(path.parent) == []


@pytest.fixture
def writable_again(tmp_path: Path) -> Iterator[None]:
    yield
    tmp_path.chmod(0o755)  # so that pytest can remove what is in it


def test_read_only_directory(
    locked: Path, unprivileged: Callable[[], None] | None, writable_again: None
) -> None:
    old = locked.read_bytes()
    locked.parent.chmod(0o555)
    done = capture(locked.name, cwd=locked.parent, preexec_fn=unprivileged)
    assert_failed_cleanly(done, locked, old)
    assert done.stderr.rstrip().endswith("cannot write: Permission denied")


def test_read_only_lockfile(
    locked: Path, unprivileged: Callable[[], None] | None, writable_again: None
) -> None:
    """A lockfile without write permission is not replaced, although its directory allows it."""
    old = locked.read_bytes()
    locked.chmod(0o444)
    done = capture(locked.name, cwd=locked.parent, preexec_fn=unprivileged)
    assert_failed_cleanly(done, locked, old)
    assert "Permission denied (read-only file)" in done.stderr


def _limit_file_size() -> None:
    """In the child: files may not grow past 4 KiB, and a write past that fails with EFBIG
    (SIGXFSZ, which would kill the process instead, is ignored)."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="RLIMIT_FSIZE is POSIX")
def test_file_too_large(locked: Path) -> None:
    old = locked.read_bytes()
    assert len(old) > 4096
    done = capture(locked.name, cwd=locked.parent, preexec_fn=_limit_file_size)
    assert_failed_cleanly(done, locked, old)
    assert done.stderr.rstrip().endswith("cannot write: File too large")


def test_disk_full(locked: Path, tmp_path: Path) -> None:
    """A tmpfs filled to the last page, mounted in a private namespace (gone when it exits)."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        pytest.skip("needs Linux and unshare(1) for a private tmpfs")
    probe = subprocess.run([unshare, "--user", "--map-root-user", "--mount", "true"], check=False)
    if probe.returncode != 0:
        pytest.skip("user namespaces are disabled here: no private tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    old = locked.read_bytes()
    script = (
        'mount -t tmpfs -o size=64k tmpfs "$1" || exit 99\n'
        'cp "$2" "$1/envlock.yaml" && (head -c 1000000 /dev/zero > "$1/filler") 2>/dev/null\n'
        'cd "$1" && shift 2 && "$@" envlock.yaml; echo "exit=$?"\n'
        'ls -A; cat envlock.yaml > ../after.yaml\n'
    )  # fmt: skip
    done = subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(disk),
         str(locked), *CAPTURE],
        env=host_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    if "exit=" not in done.stdout:
        pytest.skip(f"tmpfs cannot be mounted in a user namespace here: {done.stderr.strip()}")
    assert "exit=4" in done.stdout, done.stdout + done.stderr
    assert sorted(done.stdout.split()[1:]) == ["envlock.yaml", "filler"]  # no temporary file
    assert (tmp_path / "after.yaml").read_bytes() == old
    errors = [line for line in done.stderr.splitlines() if line.startswith("envlock: error:")]
    assert errors == ["envlock: error: envlock.yaml: cannot write: No space left on device"]


# Races and round trips


def test_racing_captures(tmp_path: Path) -> None:
    """Two captures into one file at once, round after round, each with another timestamp so
    that both write: one complete lockfile with both environments, no temporary file."""
    path = tmp_path / "envlock.yaml"
    for round_ in range(4):
        stamp = str(1_700_000_000 + round_)
        children = [
            subprocess.Popen(
                [*CAPTURE, "-q", "--name", name, path.name],
                cwd=tmp_path,
                env=host_env(SOURCE_DATE_EPOCH=stamp),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("first", "second")
        ]
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
        validate(path)
        lock = lockfile.load(path)
        assert sorted(lock.environments) == ["first", "second"]
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(stamp)))
        assert {e.captured_at for e in lock.environments.values()} == {when}
        assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", ["yaml", "toml"])
def test_write_read_write_is_byte_identical(
    tmp_path: Path, host_lockfile: Path, suffix: str
) -> None:
    host = lockfile.load(host_lockfile)
    hostile = Lockfile.from_dict(hostile_data(host_lockfile))
    for name, lock in (("host", host), ("hostile", hostile)):
        path = tmp_path / f"{name}.{suffix}"
        assert lockfile.dump(lock, path)
        first = path.read_bytes()
        again = lockfile.load(path)
        assert again == lock
        assert lockfile.dumps(again, suffix).encode("utf-8") == first
        assert not lockfile.dump(again, path)  # nothing to write
        assert path.read_bytes() == first
    if suffix == "yaml":  # what capture wrote
        assert (tmp_path / "host.yaml").read_bytes() == host_lockfile.read_bytes()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full (Linux has one)")
def test_a_stdout_or_summary_that_cannot_be_written_is_one_line_exit_4(
    tmp_path: Path, host_lockfile: Path
) -> None:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        with open("/dev/full", "w") as full:
            return subprocess.run(
                [sys.executable, "-m", "envlock", *args], cwd=tmp_path, env=host_env(**env),
                stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
            )  # fmt: skip

    for args in (("schema",), ("show", str(host_lockfile)), ("--version",), ("verify", "--help")):
        done = run(*args)
        assert (done.returncode, done.stderr) == (
            4,
            "envlock: error: stdout: cannot write: No space left on device\n",
        )
    diff = ("diff", str(host_lockfile), str(host_lockfile), "--format", "github")
    done = subprocess.run(
        [sys.executable, "-m", "envlock", *diff], cwd=tmp_path,
        env=host_env(GITHUB_STEP_SUMMARY=str(tmp_path)), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 4
    assert done.stderr == "envlock: error: GITHUB_STEP_SUMMARY=.: cannot write: Is a directory\n"


def test_a_report_is_never_written_over_the_lockfile_it_reads(
    tmp_path: Path, host_lockfile: Path
) -> None:
    lock = tmp_path / "envlock.yaml"
    shutil.copy(host_lockfile, lock)
    before = lock.read_bytes()
    for args in (
        ("diff", "envlock.yaml", "envlock.yaml", "--format", "json", "--output", "./envlock.yaml"),
        ("verify", "--no-runtime", "--output", str(lock)),
        ("verify", "--no-runtime", "--against", "envlock.yaml", "--output", "envlock.yaml"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "envlock", *args], cwd=tmp_path, env=host_env(),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.endswith(" is the lockfile itself; choose another --output FILE\n")
        assert lock.read_bytes() == before
    done = subprocess.run(
        [sys.executable, "-m", "envlock", "verify", "--no-runtime", "--format", "github"],
        cwd=tmp_path, env=host_env(GITHUB_STEP_SUMMARY="envlock.yaml"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.endswith(
        "envlock.yaml is the lockfile itself; choose another $GITHUB_STEP_SUMMARY FILE\n"
    )
    assert lock.read_bytes() == before
