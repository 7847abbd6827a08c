"""The command-line tool: parses arguments, runs one command, and maps every error to one
line on stderr and an exit code (0 ok, 1 drift, 2 usage or lockfile, 3 environment,
4 cannot write). Tracebacks only with ``-v``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from envlock import __version__
from envlock.commands import capture, diff, schema, show, verify
from envlock.commands import doctor as doctor_command
from envlock.commands import export as export_command
from envlock.errors import EnvlockError
from envlock.redact import redact_text

COMMANDS = {
    "capture": capture,
    "verify": verify,
    "diff": diff,
    "show": show,
    "schema": schema,
    "doctor": doctor_command,
    "export": export_command,
}


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more output"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="less output"
    )
    return common


def parser() -> argparse.ArgumentParser:
    common = _common()
    p = argparse.ArgumentParser(
        prog="envlock",
        description="Lock what makes a Python environment compute what it computes, "
        "and check live environments against it.",
        parents=[common],
    )
    p.add_argument("--version", action="version", version=f"envlock {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        module.add_parser(sub, name, common)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(args_list)
    except SystemExit as e:  # argparse has printed its message (or --help)
        return int(e.code or 0) if isinstance(e.code, int) else 2
    verbose = getattr(args, "verbose", 0)
    try:
        code: int = COMMANDS[args.command].run(args)
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


def _fail(message: str, verbose: int) -> None:
    if verbose:
        import traceback

        traceback.print_exc()
    from envlock.escape import printable

    print(f"envlock: error: {printable(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
