"""The command-line tool: parses arguments, runs one command, and maps every error to one
line on stderr and an exit code (0 ok, 1 drift, 2 usage or lockfile, 3 environment,
4 cannot write). Tracebacks only with ``-v``."""

from __future__ import annotations

import os
import sys

from envlock import __version__

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import ModuleType
    from typing import Any

    from envlock.stamp import Memo

MAX_MESSAGE = 1000  # characters of an error message shown

# Imported when used: an unchanged ``envlock verify`` is replayed before argparse is loaded.
COMMANDS = ("capture", "verify", "diff", "show", "schema", "doctor", "export")


def _command(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(f"envlock.commands.{name}")


def _common(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    import argparse

    common = parser_class(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more output"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="less output"
    )
    return common


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, that command's alone (the others' modules
    are not imported: what ``envlock verify`` does not use, it does not pay for)."""
    parser_class = _parser_class()
    common = _common(parser_class)
    p = parser_class(
        prog="envlock",
        description="Lock what makes a Python environment compute what it computes, "
        "and check live environments against it.",
        parents=[common],
    )
    p.add_argument("--version", action="version", version=f"envlock {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else (only,):
        _command(name).add_parser(sub, name, common)
    return p


def _parser_class() -> type[argparse.ArgumentParser]:
    """argparse's parser, measuring the terminal without ``shutil``: argparse's help formatter
    imports it (and with it bz2, lzma and fnmatch) when it is given no width, and argparse
    makes one on every ``add_argument``."""
    import argparse

    class Formatter(argparse.HelpFormatter):
        """argparse's default formatter, given the terminal's width."""

        def __init__(self, prog: str, **kwargs: Any) -> None:
            kwargs.setdefault("width", _columns() - 2)
            super().__init__(prog, **kwargs)

    class Parser(argparse.ArgumentParser):
        # A formatter class rather than an override of _get_formatter: Python 3.14's
        # add_subparsers makes a formatter from formatter_class itself.
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", Formatter)
            super().__init__(*args, **kwargs)

        def _print_message(self, message: str, file: Any = None) -> None:
            """--help and --version write to stdout as every command does, flushed (a stdout
            that cannot take it is one line and exit 4: ``envlock --help > /dev/full``);
            argparse drops a write's error, which Python 3.15 raises from the write itself."""
            if message and file is sys.stdout:
                from envlock.commands import out

                out(message)
            else:
                super()._print_message(message, file)

    return Parser


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: ``$COLUMNS``, then the
    terminal of stdout, then 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _chosen(args: list[str]) -> str | None:
    """The command named on the command line (options before it take no value)."""
    for arg in args:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    memo = _memo(args_list)
    if memo is not None:
        replayed = memo.replay(quiet="-q" in args_list or "--quiet" in args_list)
        if replayed is not None:
            return replayed
    from envlock.errors import WriteError

    try:
        args = parser(_chosen(args_list)).parse_args(args_list)
    except SystemExit as e:  # argparse has printed its message (or --help, --version)
        return int(e.code or 0) if isinstance(e.code, int) else 2
    except WriteError as e:  # --help or --version, on a stdout that cannot take it
        _fail(str(e), 0)
        return e.exit_code
    if memo is not None and (args.command != "verify" or args.no_cache):
        memo = None
    if memo is None:
        return _run(args)
    memo.start()
    code = 3
    try:
        code = _run(args)
    finally:
        why = memo.finish(code)
    verbose: int = getattr(args, "verbose", 0)
    if why and verbose:
        from envlock.escape import printable

        print(f"envlock: result not kept for repeating: {printable(why)}", file=sys.stderr)
    return code


def _memo(args: list[str]) -> Memo | None:
    """The memo of a ``verify`` run (see :mod:`envlock.stamp`), or ``None``."""
    if _chosen(args) != "verify":
        return None
    from envlock import stamp

    return stamp.open_memo(args)


def _run(args: argparse.Namespace) -> int:
    from envlock.errors import EnvlockError
    from envlock.redact import redact_text

    verbose = getattr(args, "verbose", 0)
    try:
        if args.command != "schema":  # which reads no file
            _check_working_directory()
        code: int = _command(args.command).run(args)
        return code
    except EnvlockError as e:
        _fail(redact_text(str(e)), verbose)
        return e.exit_code
    except KeyboardInterrupt:
        print("envlock: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the one boundary: never a traceback unless asked
        _fail(f"internal error: {type(e).__name__}: {redact_text(str(e))}", verbose)
        return 3


def _check_working_directory() -> None:
    """Every path envlock reads, writes or shows is taken from the working directory (a
    relative argument, [tool.envlock], ./.venv): one that was removed is said in one line."""
    try:
        os.getcwd()
    except OSError as e:
        from envlock.errors import UsageError
        from envlock.redact import home_to_tilde

        try:  # Linux names the removed directory
            where = home_to_tilde(os.readlink("/proc/self/cwd").removesuffix(" (deleted)"))
        except OSError:
            where = "."
        raise UsageError(
            f"{where}: the working directory cannot be read ({e.strerror}): run envlock from "
            "an existing directory"
        ) from None


def _fail(message: str, verbose: int) -> None:
    if verbose:
        import traceback

        traceback.print_exc()
    from envlock.escape import printable

    if len(message) > MAX_MESSAGE:  # a key or a list of names from a hostile file
        message = f"{message[:MAX_MESSAGE]}... ({len(message) - MAX_MESSAGE:,} more characters)"
    print(f"envlock: error: {printable(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
