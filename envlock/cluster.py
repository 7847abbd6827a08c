"""Verify every member of a Dask cluster against a lockfile, and capture a cluster's common
environment.

Each member (the client, the scheduler, every worker) is probed through Dask
(:mod:`envlock.remote`); its payload becomes an :class:`~envlock.model.Environment` through
the same snapshot code as a local probe, and is compared with the lockfile by the same rules
and policy as ``envlock verify``. Members with identical findings form one :class:`Group`,
so that 200 identical workers are reported once. The numerics variables are compared on the
workers only, where the computations run (Dask's nanny sets ``PYTHONHASHSEED`` and thread
counts there); the client and the scheduler are checked for Python, platform and packages,
which must agree across a cluster for Dask itself to work.

What members are not asked: the runtime probes (which BLAS loads, the CUDA libraries) and the
conda side (``conda-meta``) — both are read on the machine that runs envlock, which is not the
worker's. The results' ``notes`` say so when the lockfile holds such facts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from envlock import api, localpath, lockfile, snapshot
from envlock.errors import EnvlockError, TargetError
from envlock.model import Lockfile
from envlock.remote import DEFAULT_TIMEOUT_S, Member
from envlock.variables import VARIABLES

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, Union

    from envlock.api import PathLike, Result
    from envlock.model import Environment
    from envlock.policy import Policy
    from envlock.remote import Answer

    ClientLike = Union[str, Any]  # a scheduler address or a distributed.Client

RUNTIME_NOTE = (
    "BLAS / LAPACK / OpenMP and CUDA as loaded at run time: the runtime probes do not run on "
    "cluster members; `envlock verify` on a worker's machine checks them"
)
VARIABLES_NOTE = (
    "variables: compared on the workers, where the computations run (Dask's nanny sets some "
    "there); the client and the scheduler are checked for Python, platform and packages"
)
CONDA_NOTE = (
    "conda packages: conda-meta is not read on cluster members, so they are not compared, and "
    "the Python distributions conda installed are left out"
)
UNCHECKED_WORDS = {"timeout": "no answer", "lost": "lost", "failed": "failed"}


@dataclass(frozen=True)
class Group:
    """Members with identical findings, and the result of the first of them."""

    result: Result
    members: tuple[Member, ...]

    @property
    def status(self) -> str:
        return self.result.status


@dataclass(frozen=True)
class Unchecked:
    """A member that could not be checked: ``status`` is ``timeout``, ``lost`` or ``failed``."""

    member: Member
    status: str
    problem: str


@dataclass(frozen=True)
class ClusterResult:
    """The outcome of :func:`verify_cluster`: groups of members with identical drift (drift
    first, then larger groups first), and the members that could not be checked."""

    scheduler: str | None
    groups: tuple[Group, ...]
    unchecked: tuple[Unchecked, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.unchecked and all(g.result.ok for g in self.groups)

    @property
    def exit_code(self) -> int:
        """1 when a member drifts; else 3 when a member could not be checked; else 0."""
        if any(not g.result.ok for g in self.groups):
            return 1
        return 3 if self.unchecked else 0

    @property
    def status(self) -> str:
        if self.exit_code == 1:
            return "drift"
        if self.unchecked:
            return "incomplete"
        return "warnings" if any(g.result.findings for g in self.groups) else "match"

    @property
    def checked(self) -> int:
        return sum(len(g.members) for g in self.groups)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for g in self.groups for n in g.result.notes))


class WorkersDisagree(EnvlockError):
    """``capture_cluster``: the workers do not share one environment. ``result`` holds each
    worker checked against the reference (the largest group's first worker)."""

    exit_code = 1

    def __init__(self, message: str, result: ClusterResult, reference: Member) -> None:
        super().__init__(message)
        self.result = result
        self.reference = reference


def member_environment(payload: dict[str, Any], base_dir: Path) -> Environment:
    """A member's payload as an environment: as for a local probe, with no conda side and no
    runtime facts (see the module)."""
    return snapshot.from_payload(payload, base_dir, "probe")


def _variable_names(policy: Policy | None) -> list[str]:
    return sorted({*VARIABLES, *(policy.variables if policy else ())})


def _ask(
    client: ClientLike, names: list[str], timeout: float, workers_only: bool = False
) -> tuple[str | None, list[Answer]]:
    from envlock import remote

    own = isinstance(client, str)
    connected: Any = remote.connect(client, timeout) if own else client
    try:
        members = remote.workers(connected) if workers_only else None
        if workers_only and not members:
            raise TargetError("the Dask cluster has no workers")
        answers = remote.probe(connected, names, timeout, members=members)
        return remote.scheduler_address(connected), answers
    finally:
        if own:
            connected.close()


def verify_cluster(
    client: ClientLike,
    lock: Lockfile | PathLike = api.DEFAULT_LOCKFILE,
    *,
    env: str | None = None,
    policy: Policy | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    base_dir: PathLike | None = None,
) -> ClusterResult:
    """Check the client (this process), the scheduler and every worker of a Dask cluster
    against a lockfile. ``client`` is a ``distributed.Client`` or a scheduler address;
    ``timeout`` is how long each member has to answer. Each member is checked against
    ``env``, else the lockfile environment for its platform (see :func:`envlock.api.select`).
    """
    if not isinstance(lock, Lockfile):
        base_dir = lockfile.directory(lock) if base_dir is None else base_dir
        lock = api.load(lock)
    base = Path(base_dir if base_dir is not None else Path.cwd()).absolute()
    lock = localpath.rebased(lock, base)
    scheduler, answers = _ask(client, _variable_names(policy), timeout)
    checked: list[tuple[Member, Result]] = []
    for answer in answers:
        if answer.payload is not None:
            live = member_environment(answer.payload, base)
            if answer.member.role != "worker":
                live = replace(live, variables=None)
            checked.append((answer.member, _check(lock, live, env, policy)))
    return ClusterResult(scheduler, _groups(checked), _unchecked(answers))


def _check(lock: Lockfile, live: Environment, env: str | None, policy: Policy | None) -> Result:
    name = api.select(lock, live, env)
    expected = lock.environments[name]
    notes = [VARIABLES_NOTE] if expected.variables is not None else []
    if api.needs_runtime(Lockfile(environments={name: expected})):
        notes.append(RUNTIME_NOTE)
    if expected.conda is not None:
        notes.append(CONDA_NOTE)
        live = replace(live, packages=tuple(p for p in live.packages if p.installer != "conda"))
    comparable = replace(expected, conda=None, blas=None, cuda=None)
    return replace(api.result(name, comparable, live, policy), notes=tuple(notes))


def _unchecked(answers: list[Answer]) -> tuple[Unchecked, ...]:
    return tuple(
        Unchecked(a.member, a.status, a.problem or a.status) for a in answers if a.payload is None
    )


def _groups(checked: list[tuple[Member, Result]]) -> tuple[Group, ...]:
    found: dict[tuple[object, ...], tuple[Result, list[Member]]] = {}
    for member, result in sorted(checked, key=lambda c: c[0].sort_key()):
        key = (result.environment, result.findings, result.live.warnings)
        found.setdefault(key, (result, []))[1].append(member)
    groups = [Group(result, tuple(members)) for result, members in found.values()]
    order = {"drift": 0, "warnings": 1, "match": 2}
    return tuple(sorted(groups, key=lambda g: (order[g.status], -len(g.members))))


def capture_cluster(
    client: ClientLike,
    *,
    policy: Policy | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    base_dir: PathLike | None = None,
) -> Environment:
    """The environment every worker of a Dask cluster shares, to record in a lockfile.

    Raises :class:`TargetError` when a worker cannot be probed, and :class:`WorkersDisagree`
    when two workers differ such that a lockfile of one would fail ``verify`` on the other
    (under ``policy``)."""
    from envlock.policy import Policy

    policy = policy or Policy()
    base = Path(base_dir if base_dir is not None else Path.cwd()).absolute()
    scheduler, answers = _ask(client, _variable_names(policy), timeout, workers_only=True)
    unchecked = _unchecked(answers)
    if unchecked:
        shown = "; ".join(f"{u.member.label}: {u.problem}" for u in unchecked)
        raise TargetError(f"could not probe {len(unchecked)} of {len(answers)} workers: {shown}")
    envs = [(a.member, member_environment(a.payload or {}, base)) for a in answers]
    agreeing: list[tuple[Environment, list[Member]]] = []
    for member, environment in envs:
        for reference, members in agreeing:
            if _agree(reference, environment, policy):
                members.append(member)
                break
        else:
            agreeing.append((environment, [member]))
    if len(agreeing) == 1:
        return envs[0][1]
    reference, members = max(agreeing, key=lambda group: len(group[1]))
    label = f"worker {members[0].label}"
    checked = [
        (member, api.result(label, reference, environment, policy)) for member, environment in envs
    ]
    result = ClusterResult(scheduler, _groups(checked))
    others = sorted({m for _, group in agreeing for m in group} - set(members), key=Member.sort_key)
    differ = ", ".join(m.label for m in others)
    raise WorkersDisagree(
        f"the workers do not share one environment: {len(others)} of {len(envs)} differ from "
        f"{members[0].label} ({differ}); the lockfile was not written",
        result,
        members[0],
    )


def _agree(a: Environment, b: Environment, policy: Policy) -> bool:
    """Whether a lockfile of either environment would pass ``verify`` on the other."""
    from envlock.compare import compare

    return not any(policy.fails(policy.apply(compare(x, y))) for x, y in ((a, b), (b, a)))
