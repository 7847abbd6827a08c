"""Pure comparison of the conda side: packages (missing, extra, version, build, channel,
subdir, hash), packages that moved between conda and pip, the channel configuration, and new
hazards of pip mixed into conda. Conda subjects are written ``conda:NAME``."""

from __future__ import annotations

from collections.abc import Iterator

from envlock._probe import canonical_name
from envlock.condamodel import CondaPackage, CondaSection
from envlock.findings import ERROR, RECAPTURE, WARNING, Finding, pin, shell_name, shell_word
from envlock.model import Environment

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Protocol

    class Artifact(Protocol):
        """What identifies a conda package's file: a locked or wanted one, or a record."""

        @property
        def channel(self) -> str | None: ...
        @property
        def subdir(self) -> str | None: ...
        @property
        def md5(self) -> str | None: ...
        @property
        def sha256(self) -> str | None: ...


def conda_install_hint(pkg: CondaPackage) -> str:
    channel = pkg.channel_url if pkg.channel and "://" in pkg.channel else pkg.channel
    where = f"-c {shell_name(channel)} " if channel else ""
    return f"conda install {where}{shell_word(pkg.install_spec())}"


def conda_findings(expected: Environment, actual: Environment) -> Iterator[Finding]:
    exp, act = expected.conda, actual.conda
    if exp is None or act is None:
        return  # one side is not a conda environment, or was not read: nothing to compare
    exp_pip = {p.name for p in expected.packages}
    act_pip = {p.name for p in actual.packages}
    exp_map, act_map = exp.package_map(), act.package_map()
    for name in sorted(exp_map.keys() | act_map.keys()):
        e, a = exp_map.get(name), act_map.get(name)
        subject = f"conda:{name}"
        if e is not None and a is None:
            pip_name = canonical_name(name)
            if pip_name in act_pip and pip_name not in exp_pip:
                live = actual.package_map()[pip_name]
                yield Finding(
                    "moved",
                    name,
                    f"conda {e.version}",
                    f"pip {live.version}",
                    ERROR,
                    f"pip uninstall {shell_name(pip_name)} && {conda_install_hint(e)}",
                )
            else:
                yield Finding("missing", subject, e.version, None, ERROR, conda_install_hint(e))
        elif e is None and a is not None:
            pip_name = canonical_name(name)
            if pip_name in exp_pip and pip_name not in act_pip:
                locked = expected.package_map()[pip_name]
                yield Finding(
                    "moved",
                    name,
                    f"pip {locked.version}",
                    f"conda {a.version}",
                    ERROR,
                    f"conda remove --force {shell_name(name)} && "
                    f"pip install {shell_word(pin(pip_name, locked.version))}",
                )
            else:
                hint = f"conda remove {shell_name(name)}, or {RECAPTURE}"
                yield Finding("extra", subject, None, a.version, WARNING, hint)
        elif e is not None and a is not None:
            yield from _package(e, a)
    yield from _channels(exp, act)
    yield from _hazards(exp, act)


def _package(e: CondaPackage, a: CondaPackage) -> Iterator[Finding]:
    subject = f"conda:{e.name}"
    hint = f"{conda_install_hint(e)}, or {RECAPTURE}"
    if e.version != a.version:
        yield Finding("version", subject, e.version, a.version, ERROR, hint)
        return
    if e.build != a.build:
        yield Finding("build", subject, e.build, a.build, ERROR, hint)
        return
    yield from artifact_findings(subject, e, a, hint, conda_install_hint(e))


# conda's "defaults" is these channels together (older records name it, not the member)
DEFAULTS = frozenset({"pkgs/main", "pkgs/r", "pkgs/free", "pkgs/msys2", "pkgs/pro"})


def same_channel(e: str, a: str) -> bool:
    """Whether channels ``e`` and ``a`` are one: equal, or ``defaults`` and one of its own."""
    return e == a or (e == "defaults" and a in DEFAULTS) or (a == "defaults" and e in DEFAULTS)


def artifact_findings(
    subject: str, e: Artifact, a: Artifact, hint: str, install: str
) -> Iterator[Finding]:
    """Same name, version and build: the channel, subdir and hash (the strongest hash both
    sides have decides) of the expected package ``e`` against the installed ``a``."""
    if e.channel and a.channel and not same_channel(e.channel, a.channel):
        yield Finding("channel", subject, e.channel, a.channel, ERROR, hint)
    if e.subdir and a.subdir and e.subdir != a.subdir:
        yield Finding("subdir", subject, e.subdir, a.subdir, ERROR, hint)
    for algo in ("sha256", "md5"):
        e_hash, a_hash = getattr(e, algo), getattr(a, algo)
        if e_hash and a_hash:
            if e_hash.lower() != a_hash.lower():
                yield Finding(
                    "hash",
                    subject,
                    f"{algo}:{e_hash}",
                    f"{algo}:{a_hash}",
                    ERROR,
                    "the same name, version and build from another artifact (a rebuilt or "
                    f"re-uploaded package): {install} --force-reinstall",
                )
            break


def _channels(exp: CondaSection, act: CondaSection) -> Iterator[Finding]:
    if exp.channels and act.channels and exp.channels != act.channels:
        yield Finding(
            "channels",
            "channels",
            ", ".join(exp.channels),
            ", ".join(act.channels),
            WARNING,
            "set the same channel list in .condarc (conda config --show-sources shows where "
            f"it comes from), or {RECAPTURE}",
        )
    e_prio, a_prio = exp.channel_priority, act.channel_priority
    if e_prio and a_prio and e_prio != a_prio:
        yield Finding(
            "channels",
            "channel_priority",
            e_prio,
            a_prio,
            WARNING,
            f"conda config --set channel_priority {e_prio}, or {RECAPTURE}",
        )


def _hazards(exp: CondaSection, act: CondaSection) -> Iterator[Finding]:
    locked = {h.key() for h in exp.hazards}
    for hazard in act.hazards:
        if hazard.key() in locked:
            continue  # it was there when the lockfile was captured
        if hazard.kind == "pip-over-conda":
            hint = (
                f"pip uninstall {shell_name(hazard.subject)}, then reinstall it with conda "
                "(conda install --force-reinstall ...)"
            )
        else:
            hint = f"conda install --force-reinstall {shell_name(hazard.subject)}"
        yield Finding("hazard", hazard.subject, None, hazard.detail, ERROR, hint)
