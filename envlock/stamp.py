"""``verify``'s memo: a result is replayed while nothing it was computed from has changed.

A check of an unchanged environment against an unchanged lockfile gives the same answer, so
``envlock verify`` keeps its answer (the exit code and every line it printed) together with
what that answer was computed from:

* its *inputs*: envlock's version, the interpreter running it, the arguments, the working
  directory, every environment variable but a few that only name a terminal session, whether
  stdout and stderr are terminals, the machine (``uname``, the boot id, the CPUs it may use),
  kept as one SHA-256 digest (so no variable's value is written to the cache);
* its *files*, as the run itself touched them: every file it opened and every folder it
  listed (recorded by an audit hook: the lockfile, ``pyproject.toml``, conda's records and
  history, envlock's own modules, the metadata folder of each distribution, the folders on
  the target's ``sys.path``) with their device, inode, mode, size, mtime and ctime; and every
  path it only looked at (``os.stat`` / ``os.lstat``), with whether it exists, its type and
  inode. A file that was missing is recorded as missing.

A later run with the same inputs whose files are all as recorded prints the same output,
says on stderr when the check it repeats ran, and exits with the same code, in about the
time Python takes to start. Anything else runs the check (and records it again).

A probe run in another process is accounted for by what it reports: the folders on its
``sys.path`` (:func:`watch_sites`); for the BLAS runtime probe every shared library it
had loaded, their folders, the loader's cache and Debian's alternatives
(:func:`watch_loaded`); for the CUDA probe, on a machine with no GPU driver, what it read,
listed, ran, loaded and looked at, the loader's cache and folders (:func:`watch_cuda`).

What is deliberately not kept: a run that asked a GPU driver (it can change with no file here
changing: a kernel module loaded, a GPU partitioned), started any other process or opened a
network connection, or probed through a launcher (a pyenv shim: it picks the interpreter from
files of its own); a run that wrote a file (``--output``); exit codes other than 0 and 1; and
a run during which, or less than 2 s before which, a file it read changed: file times are
coarse, and a change in the same tick as the recorded one could go unseen. Installers (pip,
uv, conda) replace or add files rather than edit them in place, which is what the folder times
see; a metadata file edited in place by hand is not seen: ``--no-cache`` (or
``ENVLOCK_CACHE_DIR=off``) always checks.

Standard library only, and cheap to import: the replay path is what ``envlock verify`` costs
on an unchanged environment.
"""

from __future__ import annotations

import marshal
import os
import sys

from envlock import __version__
from envlock.cache import LOCKFILES, mine, remove, write_new

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    Sig = tuple[int, ...] | None

FORMAT = 2  # 2: the inputs kept as a digest
MARGIN_NS = 2_000_000_000
MAX_ENTRIES = 64
FULL, SEEN = 2, 1  # a file read or folder listed: all of its status; a path looked at: identity

# Variables that name a terminal session or connection, or that git and pre-commit set for a
# hook (GIT_INDEX_FILE names a new temporary index on each `git commit -a`): never what a check
# computes; envlock's check runs no git, and a run that starts any process is never kept.
_SESSION = frozenset(
    {"_", "OLDPWD", "SHLVL", "WINDOWID", "GPG_TTY", "XDG_SESSION_ID", "INVOCATION_ID"}
)
_SESSION_PREFIXES = (
    *("SSH_", "TERM_SESSION", "ITERM_", "KITTY_WINDOW", "TMUX_PANE", "VSCODE_IPC"),
    *("GIT_", "PRE_COMMIT"),
)

_recording: Memo | None = None
_hooked = False


def _sig(path: str, level: int, stat: Callable[[str], os.stat_result] = os.stat) -> Sig:
    try:
        st = stat(path)
    except (OSError, ValueError):
        return None
    if level == SEEN:
        return (st.st_dev, st.st_ino, st.st_mode >> 12)
    return (st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _inputs(argv: list[str]) -> str:
    env = sorted(
        (k, v)
        for k, v in os.environ.items()
        if k not in _SESSION and not k.startswith(_SESSION_PREFIXES)
    )
    uname = tuple(os.uname()) if hasattr(os, "uname") else sys.platform
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            boot = f.read().strip()
    except OSError:
        boot = b""
    ttys = tuple(bool(getattr(s, "isatty", None) and s.isatty()) for s in (sys.stdout, sys.stderr))
    cpus = tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else None
    where = (uname, boot, os.cpu_count(), cpus)
    inputs = (FORMAT, __version__, sys.executable, sys.version, os.getcwd(), argv, env, ttys, where)
    return _sha256(repr(inputs).encode("utf-8", "surrogateescape"))


def _sha256(data: bytes) -> str:
    """SHA-256 of ``data`` in hex. The memo keeps this digest of its inputs, never the inputs
    (a token in an environment variable must not land in a cache file). From the interpreter's
    own module where there is one: hashlib loads OpenSSL, which costs milliseconds."""
    for name in ("_sha2", "_sha256", "hashlib"):  # 3.12+, 3.9-3.11, a build without either
        try:
            module: Any = __import__(name)
        except ImportError:
            continue
        return str(module.sha256(data).hexdigest())
    raise ImportError("no SHA-256 implementation")  # (hashlib always has one)


def open_memo(argv: list[str]) -> Memo | None:
    """The memo for this ``envlock`` invocation, or ``None`` when memos are off."""
    from envlock import cache

    root = cache.root()
    if root is None:
        return None
    try:
        inputs = _inputs(argv)
    except (OSError, ValueError):
        return None
    # One memo per working directory and arguments; the rest of the inputs is compared whole.
    name = _fnv1a("\0".join([os.getcwd(), *argv]).encode("utf-8", "surrogateescape"))
    return Memo(inputs, root, os.path.join(root, "verified", f"{name:016x}"))


def _fnv1a(data: bytes) -> int:
    """A cheap, stable hash for a file name (hashlib and zlib each cost a library load)."""
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class Memo:
    """One invocation's memo: :meth:`replay` it, or :meth:`start` recording and
    :meth:`finish` with the exit code."""

    def __init__(self, inputs: str, root: str, path: str) -> None:
        self.inputs = inputs
        self.root = root
        self.path = path
        # envlock's own folders in the cache's: neither what a check depends on nor an output
        self.own = (os.path.join(root, LOCKFILES), os.path.dirname(path))
        self.seen: dict[str, tuple[int, Sig]] = {}
        self.output: list[tuple[int, str]] = []
        self.refused = ""
        self.start_ns = 0
        self.children = 0
        self._streams: tuple[TextIO, TextIO] | None = None
        self._patched: list[tuple[object, str, Any]] = []  # (owner, name, original)

    # -- replay ---------------------------------------------------------------------------

    def replay(self, quiet: bool) -> int | None:
        """Print the recorded output and return its exit code, if everything it depended on
        is as it was; ``None`` otherwise."""
        try:
            with open(self.path, "rb") as f:
                if not mine(f.fileno()):
                    return None  # a shared cache folder: only this user's own memos count
                data = marshal.loads(f.read())
            fmt, inputs, deps, output, code, when = data
        except (OSError, ValueError, EOFError, TypeError):
            return None
        if fmt != FORMAT or inputs != self.inputs or not _well_formed(deps, output, code):
            return None
        for path, level, sig in deps:
            if _sig(path, level) != sig:
                return None
        import time

        try:
            at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
        except (TypeError, ValueError, OverflowError, OSError):
            return None
        for stream, text in output:
            (sys.stdout if stream == 1 else sys.stderr).write(text)
        sys.stdout.flush()
        if not quiet:
            print(
                f"envlock: nothing this check depends on ({len(deps)} files and folders) has "
                f"changed since it ran at {at}; its result stands (--no-cache checks again)",
                file=sys.stderr,
            )
        return int(code)

    # -- record ---------------------------------------------------------------------------

    def start(self) -> None:
        """Record what the run touches and prints, until :meth:`finish`."""
        global _recording, _hooked
        import time

        self.start_ns = time.time_ns()
        _recording = self
        if not _hooked:
            sys.addaudithook(_audit)
            _hooked = True
        # Python 3.9 and 3.10: pathlib calls the os.stat it bound when it was imported
        accessor = getattr(sys.modules.get("pathlib"), "_NormalAccessor", None)
        for name in ("stat", "lstat"):
            watching = _watching(getattr(os, name))
            self._patch(os, name, watching)
            if accessor is not None and name in vars(accessor):
                self._patch(accessor, name, staticmethod(watching))
        self._streams = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, 1, self.output)
        sys.stderr = _Tee(sys.stderr, 2, self.output)

    def _patch(self, owner: object, name: str, value: Any) -> None:
        self._patched.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def refuse(self, why: str) -> None:
        """Do not keep this run's result, because of ``why``."""
        self.refused = self.refused or why

    def finish(self, code: int) -> str:
        """Stop recording; keep the result when it may be replayed. Returns why it was
        not kept, or ``""``."""
        global _recording
        _recording = None
        while self._patched:
            owner, name, original = self._patched.pop()
            setattr(owner, name, original)
        if self._streams is not None:
            sys.stdout, sys.stderr = self._streams
            self._streams = None
        if self.refused or code not in (0, 1):
            return self.refused or f"exit status {code}"
        for module in list(sys.modules.values()):  # the code that ran, whenever it was imported
            source = getattr(module, "__file__", None)
            if isinstance(source, str):
                self.note(source, FULL)
        deps = self._deps()
        if isinstance(deps, str):
            return deps
        import time

        data = (FORMAT, self.inputs, deps, tuple(self.output), code, time.time())
        return self._write(marshal.dumps(data))

    def _deps(self) -> tuple[tuple[str, int, Sig], ...] | str:
        """Each path with its status now; or, when one changed during the run or too
        shortly before it for its times to tell a later change apart, which."""
        limit = self.start_ns - MARGIN_NS
        deps = []
        for path in sorted(self.seen):
            level, then = self.seen[path]
            now = _sig(path, level)
            if now != then:
                return f"{_shown(path)} changed during the check"
            if level == FULL and now is not None and max(now[4], now[5]) >= limit:
                return f"{_shown(path)} changed less than {MARGIN_NS // 10**9} s before the check"
            deps.append((path, level, now))
        return tuple(deps)

    def _write(self, blob: bytes) -> str:
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            write_new(self.path, f"{self.path}.{os.getpid()}.tmp", blob)
        except OSError as e:
            return f"cannot write {_shown(self.path)}: {e.strerror}"
        _prune(folder)
        return ""

    # -- what the run touches -------------------------------------------------------------

    def note(self, path: str, level: int) -> None:
        """``path`` (absolute, or relative to the working directory) was read or listed
        (``FULL``) or looked at (``SEEN``)."""
        if self.children:  # the probe's own work, in its scratch folder: see watch_sites
            return
        watched = _dependency(os.path.abspath(path), self.own)
        if watched is None:
            return
        if watched.endswith((".dist-info", ".egg-info")):
            level = FULL  # a file in it was read: the folder's times follow what it holds
        known = self.seen.get(watched)
        if known is None or known[0] < level:
            self.seen[watched] = (level, _sig(watched, level))


def _well_formed(deps: object, output: object, code: object) -> bool:
    """Whether a kept result has the shape :meth:`Memo.finish` writes, and its output only
    what envlock prints (it escapes every control character but the line feed): a memo that
    is damaged, or that envlock did not write, is never replayed."""
    return (
        code in (0, 1)
        and isinstance(deps, tuple)
        and all(
            isinstance(d, tuple) and len(d) == 3 and isinstance(d[0], str) and d[1] in (FULL, SEEN)
            for d in deps
        )
        and isinstance(output, tuple)
        and all(
            isinstance(o, tuple)
            and len(o) == 2
            and o[0] in (1, 2)
            and isinstance(o[1], str)
            and o[1].replace("\n", "").isprintable()
            for o in output
        )
    )


class child:
    """A context in which starting the target's probes does not stop the run from being
    kept: what they read is recorded by :func:`watch_sites`, :func:`watch_loaded` or
    :func:`watch_cuda` instead."""

    def __init__(self) -> None:
        self.memo = _recording

    def __enter__(self) -> None:
        if self.memo is not None:
            self.memo.children += 1

    def __exit__(self, *exc: object) -> None:
        if self.memo is not None:
            self.memo.children -= 1


def unkept(stream: TextIO) -> TextIO:
    """``stream`` without the memo's copy: for a line that a repeated result must not repeat
    (one that says what the run is doing now)."""
    return stream._stream if isinstance(stream, _Tee) else stream


class _Tee:
    """A text stream that also keeps what is written to it, in order with the other."""

    def __init__(self, stream: TextIO, number: int, into: list[tuple[int, str]]) -> None:
        self._stream = stream
        self._number = number
        self._into = into

    def write(self, text: str) -> int:
        self._into.append((self._number, text))
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


_STDLIB = os.path.dirname(os.__file__) + os.sep
_SITE = (_STDLIB + "site-packages" + os.sep, _STDLIB + "dist-packages" + os.sep)
_VOLATILE = ("/proc/", "/sys/", "/dev/")


def _dependency(path: str, own: tuple[str, ...]) -> str | None:
    """The path to watch for ``path``: compiled modules stand for their sources, files in a
    distribution's metadata folder for that folder; the standard library (the interpreter's
    version is an input), the kernel's pseudo-files (the boot id is) and envlock's own
    folders in its cache (``own``) are not watched."""
    if (path.startswith(_STDLIB) and not path.startswith(_SITE)) or path == _STDLIB[:-1]:
        return None
    if path.startswith(_VOLATILE) or _within(path, own):
        return None
    folder, base = os.path.split(path)
    if os.path.basename(folder) == "__pycache__" and base.endswith(".pyc"):
        return os.path.join(os.path.dirname(folder), base.split(".", 1)[0] + ".py")
    if folder.endswith((".dist-info", ".egg-info")):
        return folder
    return path


def _within(path: str, folders: tuple[str, ...]) -> bool:
    """Whether ``path`` is one of ``folders`` or in one (a path that only begins with the
    same characters, or a folder that holds one of them, is not)."""
    return any(path == folder or path.startswith(folder + os.sep) for folder in folders)


_PROCESSES = frozenset(
    {"subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.spawn", "os.fork"}
)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    memo = _recording
    if memo is None:
        return
    try:
        _record(memo, event, args)
    except Exception as e:  # never break the check being recorded; just do not keep it
        memo.refuse(f"its {event} could not be recorded: {type(e).__name__}")


def _record(memo: Memo, event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return
        path = os.fsdecode(path)
        writes = (
            any(c in mode for c in "wax+")
            if isinstance(mode, str)
            else bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        )
        if writes:  # the probe's scratch files and the cache are not outputs
            if not memo.children and not _within(os.path.abspath(path), memo.own):
                memo.refuse(f"it wrote {_shown(path)}")
            return
        memo.note(path, FULL)
    elif event in ("os.listdir", "os.scandir"):
        path = args[0]
        if path is None:
            path = "."
        if not isinstance(path, int):
            memo.note(os.fsdecode(path), FULL)
    elif event in _PROCESSES:
        if not memo.children:
            memo.refuse("it started a process other than the probe")
    elif event == "socket.connect":
        memo.refuse("it connected to a network address")


def _watching(real: Callable[..., os.stat_result]) -> Callable[..., os.stat_result]:
    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        memo = _recording
        if (
            memo is not None
            and isinstance(path, (str, bytes, os.PathLike))
            and "dir_fd" not in kwargs
        ):
            try:
                memo.note(os.fsdecode(path), SEEN)
            except Exception as e:  # as in _audit: never break the check
                memo.refuse(f"a stat could not be recorded: {type(e).__name__}")
        return real(path, *args, **kwargs)

    return stat


def _shown(path: str) -> str:
    from envlock.redact import display_path

    return display_path(path)


def recording() -> Memo | None:
    """The run being recorded, if any (probes then say what their answers came from)."""
    return _recording


def watch(path: str | os.PathLike[str]) -> None:
    """Record ``path`` as read, when a run is being recorded."""
    if _recording is not None:
        _recording.note(os.fspath(path), FULL)


def watch_sites(entries: list[str]) -> None:
    """Record what a probe run in another process read: the folders on its ``sys.path``
    (missing ones too), each distribution's metadata folder in them, the ``.pth`` and
    ``*customize.py`` files that shape ``sys.path`` at start-up, and the paths the ``.pth``
    files name (``site`` adds a missing folder once it exists)."""
    memo = _recording
    if memo is None:
        return
    from envlock.static import pth_entries  # (recording only: the replay path never needs it)

    for entry in entries:
        memo.note(entry, FULL)
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info", ".egg-link", ".pth")) or name in (
                "sitecustomize.py",
                "usercustomize.py",
            ):
                memo.note(os.path.join(entry, name), FULL)
            if name.endswith(".pth"):
                for path in pth_entries(os.path.join(entry, name)):
                    memo.note(path, SEEN)


def watch_loaded(payload: object) -> None:
    """Record what the BLAS probe's answer depends on: every shared library it had loaded
    (as mapped, and as threadpoolctl names them), their folders, the loader's cache and
    Debian's alternatives (``update-alternatives`` repoints a ``libblas.so.3`` there)."""
    memo = _recording
    if memo is None:
        return
    files = payload.get("files") if isinstance(payload, dict) else None
    if not isinstance(files, list):
        memo.refuse("the BLAS probe did not list the libraries it loaded")
        return
    for path in files:
        if isinstance(path, str):
            memo.note(path, FULL)
            memo.note(os.path.dirname(path), FULL)
    memo.note("/etc/ld.so.cache", FULL)
    memo.note("/etc/alternatives", FULL)


def watch_cuda(payload: object) -> None:
    """Record what the CUDA probe's answer depends on, when it comes from files alone: what
    the probe read, listed, ran, loaded and looked at (its ``watched`` list), the loader's
    cache and folders, and the folders on ``LD_LIBRARY_PATH``. When any interface to a GPU
    driver exists here (NVML, libcuda, nvidia-smi), the answer is the driver's, which can
    change with no file changing (a kernel module loaded, a GPU partitioned): not kept."""
    memo = _recording
    if memo is None:
        return
    watched = payload.get("watched") if isinstance(payload, dict) else None
    if not isinstance(watched, dict):
        memo.refuse("the CUDA probe did not say what its answer came from")
        return
    driver = watched.get("driver")
    if driver != []:
        shown = ", ".join(map(str, driver)) if isinstance(driver, list) else "unknown"
        memo.refuse(f"it asked the GPU driver ({shown}), which can change with no file changing")
        return
    files, looked = watched.get("files"), watched.get("looked")
    if watched.get("complete") is not True or not _strings(files) or not _strings(looked):
        memo.refuse("the CUDA probe could not say all that its answer came from")
        return
    for path in files or ():
        memo.note(path, FULL)
    for path in looked or ():
        memo.note(path, SEEN)
    memo.note("/etc/ld.so.cache", FULL)
    multiarch = getattr(sys.implementation, "_multiarch", "")
    for lib in ("/lib", "/lib64", "/usr/lib", "/usr/lib64"):
        memo.note(lib, FULL)
        if multiarch:
            memo.note(os.path.join(lib, multiarch), FULL)
    for entry in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if entry:
            memo.note(entry, FULL)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _prune(folder: str) -> None:
    """Keep the newest ``MAX_ENTRIES`` memos."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e.stat().st_mtime_ns, e.path) for e in it)
    except OSError:
        return
    for _, path in entries[: max(0, len(entries) - MAX_ENTRIES)]:
        remove(path)
