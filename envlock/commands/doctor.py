"""``envlock doctor``: what is broken in an environment, each with the command that fixes it."""

from __future__ import annotations

import argparse
import sys

from envlock import target
from envlock.commands import add_target_options, out, say
from envlock.escape import printable

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.doctor import Progress


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        parents=[common],
        help="list what is broken in the environment, and how to fix each",
        description="Look for broken installs in an environment (the active one by default): "
        "metadata that cannot be read, projects installed twice, leftovers of an interrupted "
        "pip, user site-packages or PYTHONPATH leaking in, legacy installs, versions that are "
        "not PEP 440, unmet or conflicting requirements, pip installed over conda; with --deep, "
        "installed files that differ from what their installer recorded. Exit 0: no error "
        "(warnings allowed); 1: at least one error; 2: usage error; 3: the environment could "
        "not be inspected.",
    )
    add_target_options(p, runtime=False)
    p.add_argument(
        "--deep",
        action="store_true",
        help="also hash every installed file and compare it with what conda or pip recorded "
        "(slow: reads the whole environment)",
    )
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="report format (default: text)"
    )


def _progress(args: argparse.Namespace) -> Progress | None:
    """An updating line on stderr when it is a terminal."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None

    def show(done: int, total: int, package: str) -> None:
        line = f"envlock: hashing [{done}/{total}] {printable(package)}"
        sys.stderr.write("\r" + line[:79].ljust(79) + ("\n" if done == total else ""))
        sys.stderr.flush()

    return show


def run(args: argparse.Namespace) -> int:
    from envlock import doctor

    where = target.resolve(python=args.python, prefix=args.prefix)
    say(args, where.describe())
    payload, conda = doctor.read(where)
    problems = doctor.diagnose(payload, conda)
    if args.deep:
        say(args, "--deep: hashing every installed file against what conda or pip recorded")
        problems = doctor.ordered([*problems, *doctor.deep(payload, conda, _progress(args))])
    problems = doctor.for_target(problems, where, doctor.has_pip(payload))
    if args.format == "json":
        out(doctor.render_json(problems, where.summary()))
    else:
        out(doctor.render_text(problems, where.describe()))
    return doctor.exit_code(problems)
