"""``envlock diff A B`` of two lockfiles that share several environments (a Linux CI box and
a Mac laptop, in the team's file and in a teammate's): each environment both files have is
compared by the same rules and policy as ``verify``, and those only one file has are named,
not compared. Reports: :mod:`envlock.report.pairs`."""

from __future__ import annotations

from dataclasses import dataclass

from envlock import api

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.api import Result
    from envlock.model import Lockfile
    from envlock.policy import Policy


@dataclass(frozen=True)
class Pairs:
    """One result per environment both lockfiles have, by name; ``a`` and ``b`` are the
    files as shown."""

    a: str
    b: str
    results: tuple[Result, ...]
    only_in_a: tuple[str, ...] = ()
    only_in_b: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def status(self) -> str:
        """``drift`` when some environment fails the run, ``warnings`` when some has findings,
        else ``match``: as each environment's own report says."""
        if not self.ok:
            return "drift"
        return "warnings" if any(r.findings for r in self.results) else "match"


def compare(a: Lockfile, b: Lockfile, shown_a: str, shown_b: str, policy: Policy) -> Pairs:
    names_a, names_b = set(a.environments), set(b.environments)
    results = tuple(
        api.result(name, a.environments[name], b.environments[name], policy)
        for name in sorted(names_a & names_b)
    )
    only_a, only_b = tuple(sorted(names_a - names_b)), tuple(sorted(names_b - names_a))
    return Pairs(shown_a, shown_b, results, only_a, only_b)
