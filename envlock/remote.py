"""Run envlock's probe on the members of a Dask cluster, through Dask's own machinery.

Workers need nothing of envlock: the probe's *source* travels as a string, and the function
Dask ships is the built-in :func:`eval` (pickled by name), which compiles and runs that
source in the worker process and returns the payload as JSON text. No bytecode is sent, so a
worker on another Python version still answers, and the answer is what that worker's own
interpreter imports. The scheduler answers the same way (``Client.run_on_scheduler``); the
client is this process, probed in-process.

Each member has its own deadline: a worker that does not answer in time, that goes away while
it is asked, or whose probe fails, is reported as such and the others are still checked.
``distributed`` is imported only here, and only when a cluster is asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from envlock.errors import TargetError, UsageError
from envlock.redact import redact_text

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

# distributed itself, not envlock's "dask" extra: "envlock" on PyPI is another project.
INSTALL_HINT = "pip install distributed"
DEFAULT_TIMEOUT_S = 60.0

# Evaluated on the member, with the globals below: the probe's source is compiled there.
_EXPRESSION = (
    "exec(compile(source, '<envlock probe>', 'exec'), namespace) or __import__('json')"
    ".dumps(namespace['collect'](names, in_process=True), ensure_ascii=True, sort_keys=True)"
)


@dataclass(frozen=True)
class Member:
    """One process of the cluster: the client (this process), the scheduler or a worker."""

    role: str  # "client", "scheduler" or "worker"
    address: str | None = None  # None for the client
    name: str | None = None  # a worker's name, when it is not its address

    @property
    def label(self) -> str:
        if self.role == "client":
            return "client"
        if self.role == "scheduler":
            return f"scheduler {self.address}"
        return f"{self.address} ({self.name})" if self.name else str(self.address)

    def sort_key(self) -> tuple[int, tuple[tuple[int, str], ...]]:
        """Client, scheduler, then workers by address, numbers compared as numbers."""
        import re

        parts = re.split(r"(\d+)", self.address or "")
        natural = tuple((int(p), "") if p.isdigit() else (-1, p) for p in parts)
        return ({"client": 0, "scheduler": 1}.get(self.role, 2), natural)


@dataclass(frozen=True)
class Answer:
    """What one member said: its probe payload, or why there is none."""

    member: Member
    payload: dict[str, Any] | None
    status: str = "ok"  # ok; timeout (no answer in time); lost (went away); failed (probe)
    problem: str | None = None


def connect(address: str, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address``."""
    try:
        from distributed import Client as _Client
        from distributed.comm.addressing import get_address_host_port
    except ImportError:
        raise UsageError(f"Dask clusters need distributed: {INSTALL_HINT}") from None
    Client: Any = _Client  # untyped
    try:  # before a Client exists: one half-made would spend seconds closing itself
        get_address_host_port(address)
    except ValueError as e:
        raise UsageError(f"{address!r} is not a Dask scheduler address: {e}") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise TargetError(
            f"cannot connect to the Dask scheduler at {address}: {redact_text(str(e))}"
        ) from None


def _globals(names: list[str]) -> dict[str, Any]:
    from envlock import _probe

    return {
        "source": Path(_probe.__file__).read_text(encoding="utf-8"),
        "names": names,
        # No real directory: the probe skips its own file's directory on sys.path.
        "namespace": {"__name__": "envlock_probe", "__file__": "<envlock probe>/_probe.py"},
    }


def workers(client: Any) -> list[Member]:
    """The workers the scheduler knows now, by address."""
    import inspect

    parameters = inspect.signature(client.scheduler_info).parameters
    info = client.scheduler_info(**({"n_workers": -1} if "n_workers" in parameters else {}))
    found = []
    for address, facts in (info.get("workers") or {}).items():
        name = facts.get("name") if isinstance(facts, dict) else None
        shown = None if name is None or str(name) == address else str(name)
        found.append(Member("worker", str(address), shown))
    return sorted(found, key=Member.sort_key)


def scheduler_address(client: Any) -> str | None:
    address = getattr(getattr(client, "scheduler", None), "address", None)
    return str(address) if address else None


def probe(
    client: Any,
    names: list[str],
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    members: list[Member] | None = None,
) -> list[Answer]:
    """The answers of ``members`` (default: the client, the scheduler and every worker)."""
    if getattr(client, "asynchronous", False):
        raise UsageError("pass a synchronous distributed.Client (asynchronous=False)")
    if members is None:
        members = [
            Member("client"),
            Member("scheduler", scheduler_address(client)),
            *workers(client),
        ]
    env = _globals(names)
    answers = {}
    if any(m.role == "client" for m in members):
        from envlock import _probe

        payload = json.loads(json.dumps(_probe.collect(names, in_process=True)))
        answers[Member("client")] = Answer(Member("client"), payload)
    remote = [m for m in members if m.role != "client"]
    if remote:
        for answer in client.sync(_ask_all, client, remote, env, timeout):
            answers[answer.member] = answer
    return [answers[m] for m in members]


async def _ask_all(
    client: Any, members: list[Member], env: dict[str, Any], timeout: float
) -> list[Answer]:
    import asyncio

    return list(await asyncio.gather(*(_ask(client, m, env, timeout) for m in members)))


async def _ask(client: Any, member: Member, env: dict[str, Any], timeout: float) -> Answer:
    import asyncio

    try:
        if member.role == "scheduler":
            call = client.run_on_scheduler(eval, _EXPRESSION, env)
        else:
            call = client.run(eval, _EXPRESSION, env, workers=[member.address], on_error="return")
        value = await asyncio.wait_for(call, timeout)
    except asyncio.TimeoutError:
        return Answer(member, None, "timeout", f"no answer in {timeout:g} s")
    except Exception as e:  # the scheduler's own probe raised, or the scheduler went away
        return _failure(member, e)
    if member.role != "scheduler":
        if member.address not in value:
            return Answer(member, None, "lost", "the scheduler no longer knows this worker")
        value = value[member.address]
    if isinstance(value, BaseException):
        return _failure(member, value)
    try:
        payload = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return Answer(member, None, "failed", "the probe returned no mapping")
    return Answer(member, payload)


def _failure(member: Member, error: BaseException) -> Answer:
    """A connection that failed or closed means the member went away (``lost``); anything
    else was raised by the probe where it ran (``failed``)."""
    status = "lost" if isinstance(error, OSError) else "failed"
    text = " ".join(str(error).split()) or "no message"
    return Answer(member, None, status, redact_text(f"{type(error).__name__}: {text}"))
