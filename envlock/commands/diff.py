"""``envlock diff A [B]``: what differs between two lockfiles, or a lockfile and the live
environment — "my teammate gets different numbers". Same findings and reporters as verify:
BLAS, CUDA and conda-versus-pip differences first, then the long tail."""

from __future__ import annotations

import argparse
from pathlib import Path

from envlock import api, lockfile, target
from envlock.commands import (
    add_report_options,
    add_target_options,
    emit,
    from_stdin,
    load_given,
    policy_from,
    refuse_report_over,
    say,
    shown,
)
from envlock.errors import UsageError
from envlock.model import Environment, Lockfile


def add_parser(sub: argparse._SubParsersAction, name: str, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        name,
        parents=[common],
        help="compare two lockfiles, or a lockfile with the live environment",
        description="Compare lockfile A (expected) with lockfile B (actual), or with the "
        "environment when B is left out. Two lockfiles that share several environments are "
        "compared environment by environment. A or B may be -, a lockfile read from standard "
        "input (git show HEAD~1:envlock.yaml | envlock diff - envlock.yaml). Exit 0: no "
        "difference at error severity; 1: there is.",
    )
    p.add_argument("a", metavar="A", help="the reference lockfile (-: standard input)")
    p.add_argument(
        "b",
        metavar="B",
        nargs="?",
        help="the lockfile to compare (-: standard input; default: the live environment)",
    )
    p.add_argument(
        "--env",
        metavar="NAME",
        help="environment name in A (and in B); default: each environment both files have",
    )
    p.add_argument("--env-b", metavar="NAME", help="environment name in B, when it differs")
    add_report_options(p)
    add_target_options(p)


def pick(lock: Lockfile, name: str | None, where: str, other: Lockfile | None = None) -> str:
    names = sorted(lock.environments)
    if name is not None:
        if name not in lock.environments:
            raise UsageError(f"{where}: no environment {name!r}; it has: {', '.join(names)}")
        return name
    if len(names) == 1:
        return names[0]
    common = sorted(set(names) & set(other.environments)) if other is not None else []
    if len(common) == 1:
        return common[0]
    if not names:
        raise UsageError(f"{where}: the lockfile has no environments")
    raise UsageError(f"{where} has environments {', '.join(names)}: choose one with --env NAME")


def _say_left_out(args: argparse.Namespace, lock: Lockfile, name: str, shown: str) -> None:
    others = sorted(set(lock.environments) - {name})
    if others:
        say(args, f"{shown}: not compared: {', '.join(others)} (compared: {name})")


def _directory(given: str) -> Path:
    """The directory local paths in the lockfile ``given`` are relative to: its own; the
    working one for ``-``."""
    return Path.cwd() if from_stdin(given) else lockfile.directory(given)


def _rebased(lock: Lockfile, given: str) -> Lockfile:
    from envlock.localpath import rebased

    return rebased(lock, _directory(given))


def run(args: argparse.Namespace) -> int:
    policy = policy_from(args)
    if from_stdin(args.a) and from_stdin(args.b):
        raise UsageError("A and B are both - (standard input): one of them must be a file")
    refuse_report_over(args, *(f for f in (args.a, args.b) if not from_stdin(f)))
    lock_a = _rebased(load_given(args.a), args.a)
    shown_a = shown(args.a)
    live_target = None  # the live environment's, when B is left out
    if args.b is not None:
        lock_b = _rebased(load_given(args.b), args.b)
        shown_b = shown(args.b)
        shared = set(lock_a.environments) & set(lock_b.environments)
        if args.env is None and args.env_b is None and len(shared) > 1:
            from envlock import pairs

            several = pairs.compare(lock_a, lock_b, shown_a, shown_b, policy)
            emit(several, f"{shown_a} vs {shown_b}", args)
            return several.exit_code
        name_a = pick(lock_a, args.env, shown_a, lock_b)
        name_b = args.env_b or args.env or name_a
        if args.env_b is None and len(lock_b.environments) == 1:
            (name_b,) = lock_b.environments  # a teammate's, named after their platform: compare
        name_b = pick(lock_b, name_b, shown_b)
        live: Environment = lock_b.environments[name_b]
        if args.env is None and args.env_b is None:  # chosen for the user: say what was not
            _say_left_out(args, lock_a, name_a, shown_a)
            _say_left_out(args, lock_b, name_b, shown_b)
        # The reports name the environment after the label: B's, after A's in the label when
        # they differ ("a.yaml [py311] vs b.yaml [py312]")
        label = f"{shown_a} vs {shown_b}"
        if name_b != name_a:
            label = f"{shown_a} [{name_a}] vs {shown_b}"
        reported = name_b
    else:
        where = live_target = target.resolve(python=args.python, prefix=args.prefix)
        say(args, where.describe())
        live = api.capture(
            target=where,
            base_dir=_directory(args.a),
            runtime=frozenset() if args.no_runtime else api.needs_runtime(lock_a),
            variables=policy.variables,
        )
        try:
            name_a = args.env or api.select(lock_a, live)
        except UsageError as e:  # which environment: name the file
            raise UsageError(f"{shown_a}: {e}") from None
        label, reported = f"{shown_a} vs live", name_a
    expected = lock_a.environments.get(name_a)
    if expected is None:
        raise UsageError(f"{shown_a}: no environment {name_a!r}")
    result = api.result(reported, expected, live, policy)
    if live_target is not None:  # fixes for the live environment
        result = result.fixes_for(live_target)
    emit(result, label, args)
    return result.exit_code
