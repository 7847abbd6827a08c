"""Pure comparison of a live environment with a foreign lockfile (:class:`Foreign`).

Only what the foreign format records is compared: a requirements file says nothing about
conda, an explicit spec nothing about pip, an environment file without builds nothing about
builds. The findings are the same as for envlock's own lockfile (same categories, subjects,
severities and hints), so every reporter and exit code works unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from envlock._probe import canonical_name
from envlock.compare import in_order, install_hint
from envlock.compare_conda import artifact_findings, conda_install_hint
from envlock.condamodel import CondaPackage
from envlock.findings import ERROR, WARNING, Finding, pin, shell_name, shell_word
from envlock.foreign.model import CondaWant, Foreign, PipWant
from envlock.model import Environment, Package, Source

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Callable

# pip freeze leaves these out unless asked, and lockfiles rarely list them: never "extra"
# unless the lockfile names them.
INSTALL_TOOLS = frozenset({"pip", "setuptools", "wheel", "distribute"})

FIX = "update the lockfile if this change is intended"


def compare_foreign(foreign: Foreign, live: Environment) -> list[Finding]:
    """All differences between what ``foreign`` asks for and ``live``."""
    applies = marker_evaluator(live)
    return in_order(
        [*_python(foreign, live, applies), *_pip(foreign, live, applies), *_conda(foreign, live)]
    )


# --- markers ---------------------------------------------------------------------------------


def marker_environment(env: Environment) -> dict[str, str]:
    """PEP 508 marker values for ``env``, from what envlock measured of it (which may be
    another interpreter than the one running envlock)."""
    py, plat = env.python, env.platform
    impl = py.implementation or "cpython"
    version = py.version or ""
    sys_platform = {"linux": "linux", "macos": "darwin", "windows": "win32"}.get(plat.os or "", "")
    machine = plat.machine or ""
    if plat.os == "windows" and machine == "amd64":
        machine = "AMD64"
    return {
        "implementation_name": impl,
        "implementation_version": version,
        "os_name": "nt" if plat.os == "windows" else "posix",
        "platform_machine": machine,
        "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl),
        "platform_release": plat.kernel or "",
        "platform_system": {"linux": "Linux", "macos": "Darwin", "windows": "Windows"}.get(
            plat.os or "", ""
        ),
        "platform_version": "",
        "python_full_version": version,
        "python_version": ".".join(version.split(".")[:2]),
        "sys_platform": sys_platform,
    }


def marker_evaluator(live: Environment) -> Callable[[str | None], bool]:
    """``applies(marker)``: whether a marker holds for ``live``. A marker that cannot be
    evaluated is taken to hold, so that nothing is silently skipped."""
    values = marker_environment(live)
    cache: dict[str, bool] = {}

    def applies(marker: str | None) -> bool:
        if not marker:
            return True
        if marker not in cache:
            cache[marker] = _evaluate(marker, values)
        return cache[marker]

    return applies


def _evaluate(marker: str, values: dict[str, str]) -> bool:
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison

    try:
        parsed = Marker(marker)
        if "extras" in marker or "dependency_groups" in marker:
            # PEP 751 lock-file markers: no extras or groups asked for (packaging >= 25)
            lock_values = {**values, "extras": frozenset(), "dependency_groups": frozenset()}
            return bool(parsed.evaluate(lock_values, context="lock_file"))  # type: ignore[arg-type,call-arg,unused-ignore]
        return parsed.evaluate({**values, "extra": ""})
    except (InvalidMarker, UndefinedComparison, ValueError, TypeError, KeyError):
        return True


# --- python ----------------------------------------------------------------------------------


def _python(
    foreign: Foreign, live: Environment, applies: Callable[[str | None], bool]
) -> Iterator[Finding]:
    version = live.python.version
    if foreign.requires_python and version and not _contains(foreign.requires_python, version):
        yield Finding(
            "python",
            "version",
            foreign.requires_python,
            version,
            ERROR,
            f"use a Python interpreter that satisfies {foreign.requires_python}",
        )
    if foreign.environments and not any(applies(m) for m in foreign.environments):
        yield Finding(
            "platform",
            "environment",
            " or ".join(foreign.environments),
            _describe(live),
            ERROR,
            "the lockfile was made for other environments; lock this one too",
        )


def _describe(live: Environment) -> str:
    values = marker_environment(live)
    return f"{values['sys_platform'] or '?'} {values['platform_machine'] or '?'}, Python " + (
        values["python_full_version"] or "?"
    )


def _contains(specifier: str, version: str) -> bool:
    """Whether ``version`` satisfies a PEP 440 ``specifier``; when either cannot be read,
    ``True``: what cannot be compared is not reported."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True


def _same_version(expected: str, actual: str) -> bool:
    """PEP 440 equality (``1.0`` is ``1.0.0``), exact text for versions that are not PEP 440."""
    if expected == actual:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(expected) == Version(actual)
    except InvalidVersion:
        return False


# --- pip -------------------------------------------------------------------------------------


def _pip(
    foreign: Foreign, live: Environment, applies: Callable[[str | None], bool]
) -> Iterator[Finding]:
    if foreign.pip is None:
        return
    pip_map = live.package_map()
    conda_owned = {p.name: p for p in live.conda_dists}
    conda_names = {canonical_name(p.name): p for p in live.conda.packages} if live.conda else {}
    mentioned: set[str] = set()
    for want in foreign.pip:
        if want.guessed and want.name not in pip_map:
            want = _installed_from(want, pip_map.values())
        mentioned.add(want.name)
        if not applies(want.marker):
            continue
        have = pip_map.get(want.name)
        if have is None and want.name in conda_owned:
            owned = conda_owned[want.name]
            if foreign.conda is not None:  # the lockfile has a conda side: pip -> conda
                record = conda_names.get(want.name)
                yield Finding(
                    "moved",
                    want.name,
                    f"pip {want.version or want.specifier or ''}".rstrip(),
                    f"conda {record.version if record else owned.version}",
                    ERROR,
                    f"conda remove --force {shell_name(record.name if record else want.name)} && "
                    f"{_pip_hint(want)}",
                )
                continue
            have = owned  # a pip-only lockfile cannot tell conda's from pip's
        if have is None:
            if not want.optional:
                yield Finding("missing", want.name, _wanted(want), None, ERROR, _pip_hint(want))
            continue
        yield from _pip_package(want, have, foreign.format)
    for name, pkg in sorted(pip_map.items()):
        if name in mentioned or name in INSTALL_TOOLS:
            continue
        yield Finding(
            "extra", name, None, pkg.version, WARNING, f"pip uninstall {shell_name(name)}, or {FIX}"
        )


def _installed_from(want: PipWant, live: Iterable[Package]) -> PipWant:
    """A want whose name was guessed from its path (``-e ./src``), named as the one package
    installed from that path, where there is one."""
    wanted = want.source
    if wanted is None or not wanted.path:
        return want
    found = [p.name for p in live if p.source and p.source.path and same_source(wanted, p.source)]
    return replace(want, name=found[0]) if len(found) == 1 else want


def _wanted(want: PipWant) -> str:
    if want.version:
        return want.version
    if want.specifier:
        return want.specifier
    return want.source.describe() if want.source else "(any version)"


def _pip_hint(want: PipWant) -> str:
    if want.source is not None and want.source.kind != "index":
        return install_hint(Package(want.name, want.version or "", source=want.source))
    if want.version:
        return f"pip install {shell_word(pin(want.name, want.version))}"
    return f"pip install {shell_word(want.name + (want.specifier or ''))}"


def _pip_package(want: PipWant, have: Package, fmt: str) -> Iterator[Finding]:
    hint = f"{_pip_hint(want)}, or {FIX}"
    if want.version and not _same_version(want.version, have.version):
        yield Finding("version", want.name, want.version, have.version, ERROR, hint)
        return
    if want.specifier and not _contains(want.specifier, have.version):
        yield Finding("version", want.name, want.specifier, have.version, ERROR, hint)
        return
    if (
        want.source is not None
        and have.source is not None
        and not _index_artifact(want, have.source)
        and not same_source(want.source, have.source, editable_known=fmt != "pixi")
    ):
        yield Finding(
            "source", want.name, want.source.describe(), have.source.describe(), ERROR, hint
        )
        return
    live_hash = have.source.hash if have.source is not None else None
    if (
        want.hashes
        and live_hash
        and live_hash.split("=", 1)[0] in _algos(want.hashes)
        and live_hash.lower() not in {h.lower() for h in want.hashes}
    ):
        yield Finding(
            "hash",
            want.name,
            " or ".join(want.hashes),
            live_hash,
            ERROR,
            "the same version from another artifact: "
            f"{_pip_hint(want)} --force-reinstall --no-cache-dir",
        )


def _index_artifact(want: PipWant, live: Source) -> bool:
    """Whether ``live`` is the very file an index want names: conda-lock and micromamba
    install a locked wheel as ``name @ URL#sha256=...``, which pip records as an archive."""
    if want.source is None or want.source.kind != "index" or live.kind != "archive":
        return False
    if want.hashes and live.hash:
        return live.hash.lower() in {h.lower() for h in want.hashes}
    return True


def _algos(hashes: tuple[str, ...]) -> set[str]:
    return {h.split("=", 1)[0].lower() for h in hashes}


def same_source(e: Source, a: Source, editable_known: bool = True) -> bool:
    """Whether the live source ``a`` is what ``e`` asks for, comparing only what both say
    (pixi.lock from version 6 on does not say whether a directory is editable)."""
    if e.kind == "vcs" and e.editable and a.kind == "directory" and a.editable:
        return True  # pip records ``-e git+URL`` as an editable checkout directory
    if e.kind != a.kind:
        return False
    if e.kind == "vcs":
        if e.vcs and a.vcs and e.vcs != a.vcs:
            return False
        if e.commit and a.commit:
            return a.commit.startswith(e.commit) or e.commit.startswith(a.commit)
        if e.requested_revision and a.requested_revision:
            return e.requested_revision == a.requested_revision
        return True
    if e.kind == "archive":
        if e.hash and a.hash and e.hash.split("=")[0] == a.hash.split("=")[0]:
            return e.hash.lower() == a.hash.lower()
        if e.url and a.url:
            return e.url.rstrip("/") == a.url.rstrip("/")
        if e.path and a.path:
            return e.path.rstrip("/") == a.path.rstrip("/")
        return True
    if e.kind == "directory":
        if editable_known and e.editable != a.editable:
            return False
        if e.path and a.path:
            return e.path.rstrip("/") == a.path.rstrip("/")
        return True
    return True


# --- conda -----------------------------------------------------------------------------------


def _conda(foreign: Foreign, live: Environment) -> Iterator[Finding]:
    if foreign.conda is None:
        return
    if live.conda is None:
        required = [w for w in foreign.conda if not w.optional]
        if required:
            yield Finding(
                "missing",
                "conda environment",
                f"{len(required)} conda packages",
                None,
                ERROR,
                "this is not a conda environment (no conda-meta); create one from the lockfile",
            )
        return
    act_map = live.conda.package_map()
    pip_map = live.package_map()
    wanted_pip = {w.name for w in foreign.pip or ()}
    mentioned: set[str] = set()
    for want in foreign.conda:
        mentioned.add(want.name)
        have = act_map.get(want.name)
        if have is not None:
            yield from _conda_package(want, have)
            continue
        pip_name = canonical_name(want.name)
        if pip_name in pip_map and pip_name not in wanted_pip:
            live_pip = pip_map[pip_name]
            yield Finding(
                "moved",
                want.name,
                f"conda {want.version or want.spec or ''}".rstrip(),
                f"pip {live_pip.version}",
                ERROR,
                f"pip uninstall {shell_name(pip_name)} && {_conda_hint(want)}",
            )
        elif not want.optional:
            yield Finding(
                "missing", f"conda:{want.name}", _conda_wanted(want), None, ERROR, _conda_hint(want)
            )
    if _lists_everything(foreign):
        for name, pkg in sorted(act_map.items()):
            if name not in mentioned and not name.startswith("__"):
                yield Finding(
                    "extra",
                    f"conda:{name}",
                    None,
                    pkg.version,
                    WARNING,
                    f"conda remove {shell_name(name)}, or {FIX}",
                )


def _lists_everything(foreign: Foreign) -> bool:
    """Whether the file lists a whole environment (a lock or a full export), so that a
    package it does not name is extra. A hand-written or ``--from-history`` environment file
    names only what was asked for."""
    if foreign.format != "environment-yml":
        return True
    return bool(foreign.conda) and all(w.build for w in foreign.conda or ())


def _conda_wanted(want: CondaWant) -> str:
    return want.version or want.spec or "(any version)"


def _conda_hint(want: CondaWant) -> str:
    if want.version and want.build:
        pkg = CondaPackage(
            want.name, want.version, want.build, channel=want.channel, channel_url=want.channel_url
        )
        return conda_install_hint(pkg)
    channel = f"-c {shell_name(want.channel)} " if want.channel else ""
    if want.version:
        return f"conda install {channel}{shell_word(f'{want.name}=={want.version}')}"
    return f"conda install {channel}{shell_word(want.name + (want.spec or ''))}"


def _conda_package(want: CondaWant, have: CondaPackage) -> Iterator[Finding]:
    subject = f"conda:{want.name}"
    hint = f"{_conda_hint(want)}, or {FIX}"
    if want.version and want.version != have.version:
        yield Finding("version", subject, want.version, have.version, ERROR, hint)
        return
    if want.spec and not conda_spec_matches(want.spec, have.version):
        yield Finding("version", subject, want.spec, have.version, ERROR, hint)
        return
    if want.build and not _build_matches(want.build, have.build):
        yield Finding("build", subject, want.build, have.build, ERROR, hint)
        return
    yield from artifact_findings(subject, want, have, hint, _conda_hint(want))


def _build_matches(pattern: str, build: str) -> bool:
    """A build string, or a glob of one (``py39*``) as environment files may give."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == build
    from fnmatch import fnmatchcase

    return fnmatchcase(build, pattern)


def conda_spec_matches(spec: str, version: str) -> bool:
    """Whether ``version`` satisfies a conda version spec (``1.26.*``, ``=1.26``,
    ``>=3.9,<3.12``, ``1.2|1.3``, ``1.26.4``). What cannot be read is taken to match:
    envlock reports only what it can compare."""
    spec = spec.strip().replace(" ", "")
    if not spec or spec == "*":
        return True
    return any(
        all(_clause(c, version) for c in alternative.split(",") if c)
        for alternative in spec.split("|")
    )


def _clause(clause: str, version: str) -> bool:
    import re

    match = re.match(r"^(==|!=|>=|<=|~=|>|<|=)?(.+)$", clause)
    if match is None:
        return True
    op, value = match.group(1) or "", match.group(2)
    if op in ("", "=", "==") and value.endswith("*"):
        stem = value.rstrip("*").rstrip(".")
        return version == stem or version.startswith(stem + ".")
    if op == "=":  # conda's fuzzy =1.26 is 1.26.*
        return version == value or version.startswith(value + ".")
    if op == "":  # a bare version: exactly it, or (fuzzily) under it
        return version == value or version.startswith(value + ".")
    if op == "==":
        return version == value
    from packaging.version import InvalidVersion, Version

    try:
        v, w = Version(version), Version(value)
    except InvalidVersion:
        return True
    if op == "~=":
        return v >= w and v.release[: len(w.release) - 1] == w.release[: len(w.release) - 1]
    return {
        "!=": v != w,
        ">=": v >= w,
        "<=": v <= w,
        ">": v > w,
        "<": v < w,
    }[op]
