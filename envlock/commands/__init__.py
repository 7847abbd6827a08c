"""One module per command: ``add_parser(subparsers, name, common)`` and ``run(args)``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from envlock.api import DEFAULT_LOCKFILE
from envlock.findings import SEVERITIES
from envlock.policy import Policy

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Union

    from envlock.api import Result
    from envlock.cluster import ClusterResult
    from envlock.model import Lockfile
    from envlock.pairs import Pairs

    AnyResult = Union[Result, ClusterResult, Pairs]

# --format NAME -> module of envlock.report
REPORTERS = {
    "text": "text",
    "json": "jsonfmt",
    "junit": "junit",
    "github": "github",
    "markdown": "markdown",
}


def add_target_options(p: argparse.ArgumentParser, runtime: bool = True) -> None:
    """``--python`` / ``--prefix``, and with ``runtime`` the ``--no-runtime`` switch."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--python", metavar="PATH", help="probe the environment of this interpreter")
    group.add_argument(
        "--prefix",
        metavar="PATH",
        help="read this environment's files without running anything in it",
    )
    if not runtime:
        return
    p.add_argument(
        "--no-runtime",
        action="store_true",
        help="do not import numpy or load CUDA libraries (BLAS: static hints only; no CUDA)",
    )


def lockfile_path(given: str | None, fmt: str | None = None, policy: Policy | None = None) -> Path:
    """The lockfile: as given; else the policy's; else envlock.toml when asked for TOML or when
    only it exists; else envlock.yaml."""
    if given:
        return Path(given)
    configured = policy.lockfile_path() if policy is not None else None
    if configured is not None:
        return configured
    # (os.path's tests: a working directory we may not look in has neither; Path's raise)
    if fmt == "toml" or (not os.path.exists(DEFAULT_LOCKFILE) and os.path.exists("envlock.toml")):
        return Path("envlock.toml")
    return Path(DEFAULT_LOCKFILE)


def from_stdin(given: str | Path | None) -> bool:
    """Whether a lockfile argument is ``-``, standard input (``diff`` and ``show``)."""
    return isinstance(given, str) and given == "-"


def load_given(given: str | Path) -> Lockfile:
    """The lockfile named on the command line: a file, or ``-`` for standard input."""
    from envlock import api, lockfile

    return lockfile.load_stdin() if from_stdin(given) else api.load(given)


def shown(given: str | Path) -> str:
    """How reports and messages name a lockfile argument: ``<stdin>`` for ``-``."""
    from envlock.lockfile import STDIN_NAME
    from envlock.redact import display_path

    return STDIN_NAME if from_stdin(given) else display_path(given)


def say(args: argparse.Namespace, message: str, now: bool = False) -> None:
    """A progress or status line on stderr, unless ``-q``; one line, whatever it names.
    ``now``: it says what this run is doing, so a repeated result does not repeat it."""
    if not getattr(args, "quiet", False):
        from envlock.escape import printable

        stream = sys.stderr
        if now:
            from envlock import stamp

            stream = stamp.unkept(stream)
        print(f"envlock: {printable(message)}", file=stream)


def warn(message: str) -> None:
    """A warning line on stderr. Warnings quote the environment (file names, a crashed
    probe's last words), so they are made safe for a terminal as reports are."""
    from envlock.escape import printable

    print(f"envlock: warning: {printable(message)}", file=sys.stderr)


def use_colour(stream: object) -> bool:
    """Whether reports on ``stream`` are coloured: a terminal, no ``NO_COLOR``, no
    ``TERM=dumb``; on Windows, a console that shows ANSI escapes (:func:`_windows_ansi`)."""
    isatty = getattr(stream, "isatty", None)
    if not (
        isatty and isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    ):
        return False
    return os.name != "nt" or _windows_ansi(stream)


def _windows_ansi(stream: object) -> bool:
    """Whether the Windows console behind ``stream`` shows ANSI escapes rather than printing
    them: its virtual-terminal processing is on, or could be turned on (Windows 10 and later;
    Windows Terminal and VS Code turn it on themselves, the old console host of cmd.exe and
    PowerShell 5 does not). Anything else, an older Windows included, gets no colour."""
    if sys.platform != "win32":  # (os.name says nt: there is no console to ask)
        return False
    import ctypes
    import msvcrt

    vt_processing = 0x0004  # ENABLE_VIRTUAL_TERMINAL_PROCESSING
    if not hasattr(stream, "fileno"):
        return False
    try:
        handle = msvcrt.get_osfhandle(stream.fileno())
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        return bool(
            mode.value & vt_processing
            or kernel32.SetConsoleMode(handle, mode.value | vt_processing)
        )
    except (AttributeError, OSError, ValueError):
        return False


def add_report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=tuple(REPORTERS),
        default="text",
        help="report format on stdout (default: text)",
    )
    p.add_argument(
        "--output",
        metavar="FILE",
        help="also write the report in --format to FILE, and print the text report",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="GLOB",
        help="ignore findings about these packages (repeatable; conda packages: conda:NAME)",
    )
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    p.add_argument(
        "--fail-on", choices=SEVERITIES, help="the lowest severity that fails (default: error)"
    )


def policy_from(args: argparse.Namespace) -> Policy:
    from envlock import policy

    return policy.load().with_flags(
        ignore=getattr(args, "ignore", ()),
        strict=getattr(args, "strict", False),
        fail_on=getattr(args, "fail_on", None),
    )


def render(result: AnyResult, label: str, fmt: str, colour: bool = False) -> str:
    import importlib

    from envlock.api import Result

    if not isinstance(result, Result):  # several results: their reporter has render_FMT
        from envlock.pairs import Pairs

        # envlock diff A B of several environments, or a Dask cluster's (verify --dask)
        several = "pairs" if isinstance(result, Pairs) else "cluster"
        module = importlib.import_module(f"envlock.report.{several}")
        extra = (colour,) if fmt == "text" else ()
        report: str = getattr(module, f"render_{fmt}")(result, label, *extra)
        return report
    module = importlib.import_module(f"envlock.report.{REPORTERS[fmt]}")
    if fmt == "text":
        text: str = module.render(result, label, colour=colour)
        return text
    rendered: str = module.render(result, label)
    return rendered


def refuse_overwrite(output: str | None, flag: str, *read: str | Path | None) -> None:
    """Refuse to write ``output`` (given with ``flag``) over a lockfile the command reads."""
    if not output:
        return
    from envlock.errors import UsageError
    from envlock.redact import display_path

    written = Path(output).absolute().resolve()
    if any(p is not None and Path(p).absolute().resolve() == written for p in read):
        raise UsageError(
            f"{display_path(Path(output))} is the lockfile itself; choose another {flag} FILE"
        )


def refuse_report_over(args: argparse.Namespace, *read: str | Path | None) -> None:
    """Refuse a report (``--output``, and ``$GITHUB_STEP_SUMMARY`` for ``--format github``,
    which is appended to) written over a lockfile the command reads."""
    refuse_overwrite(args.output, "--output", *read)
    if args.format == "github":
        refuse_overwrite(os.environ.get("GITHUB_STEP_SUMMARY"), "$GITHUB_STEP_SUMMARY", *read)


def out(text: str) -> None:
    """Write ``text`` to stdout, where every command's output goes. A stdout that cannot take
    it (a full disk, a reader that went away) is one :class:`WriteError` line, exit 4."""
    from envlock.errors import WriteError

    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # nothing more can be written: not at exit either
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), sys.stdout.fileno())
        raise WriteError(f"stdout: cannot write: {e.strerror or e}") from None


def emit(result: AnyResult, label: str, args: argparse.Namespace) -> None:
    """Print the report (and write ``--output``); the one place reports leave envlock."""
    from envlock.lockfile import write_atomic

    if args.output:
        write_atomic(Path(args.output), render(result, label, args.format))
        out(render(result, label, "text", colour=use_colour(sys.stdout)))
    else:
        out(render(result, label, args.format, colour=use_colour(sys.stdout)))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if args.format == "github" and summary_file:
        _append_summary(summary_file, render(result, label, "markdown"))


def _append_summary(path: str, text: str) -> None:
    """Add ``text`` to GitHub's job summary file; failing that, one line naming it, exit 4."""
    from envlock.errors import WriteError
    from envlock.redact import display_path

    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        where = display_path(Path(path))
        raise WriteError(f"GITHUB_STEP_SUMMARY={where}: cannot write: {e.strerror or e}") from None
