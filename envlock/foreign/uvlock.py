"""``uv.lock``: the packages ``uv sync`` installs into one environment, as :class:`PipWant`.

A ``uv.lock`` is universal: it holds every package any platform, Python version, extra or
dependency group may need, and ``uv sync`` chooses among them by walking the dependency
graph for the target's PEP 508 markers. This module walks it the same way:

* ``version`` 1 is read (any ``revision``); a newer version is refused.
* Roots, as ``uv sync`` run in the lock's directory: the project at ``.`` (an ``editable``
  or ``virtual`` source); without one, every workspace member (``[manifest] members``, else
  every editable or virtual package) as for a virtual workspace root; for a PEP 723 script
  lock, ``[manifest] requirements``. ``environment`` names one workspace member instead
  (``uv sync --package NAME``).
* From the roots, each package's ``dependencies`` are followed where their ``marker`` holds
  for ``markers``, and the ``optional-dependencies`` a dependency asks for
  (``extra = [...]``). The roots' dependency groups: ``dev`` as uv's default, or ``groups``.
  The roots' own extras are not installed (``uv sync`` without ``--extra``).
* Conflict markers (``extra == 'extra-3-foo-x1'``, ``extra == 'group-3-foo-dev'``) hold when
  that extra or group is activated, as uv computes it: the chosen groups of the roots, and
  every extra a followed dependency asks for (two passes, as uv makes). Any other
  ``extra == ...`` is false.
* Where several ``[[package]]`` entries share a name (a forked resolution), a dependency's
  ``version`` and ``source`` say which; failing those, the entry whose
  ``resolution-markers`` hold.

Every package reached is required (``virtual`` ones are never installed). Every other
package of the file is *optional*: allowed, not required, so that a package installed for an
extra, a group or ``--all-packages`` is not reported as extra; where the file has several
entries of that name, any version of it is allowed. Wants carry no marker: reachability has
evaluated them.

Sources: ``registry`` -> ``index`` with the hashes of the sdist and wheels; ``git`` -> ``vcs``
with the commit of its ``#`` fragment (query parts dropped, ``rev`` / ``tag`` / ``branch``
kept as the requested revision); ``editable`` / ``directory`` -> directories; ``path`` -> a
local archive (a directory where it names no archive, as older uv wrote); ``url`` -> a
remote archive. Credentials in URLs never survive.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from envlock._probe import canonical_name
from envlock.errors import LockfileError, UsageError
from envlock.foreign import common
from envlock.foreign.model import Foreign, PipWant
from envlock.model import Source
from envlock.reader import Reader
from envlock.redact import home_to_tilde, redact_url

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from typing import Any

READS = 1
DEFAULT_GROUPS = ("dev",)  # what ``uv sync`` syncs unless tool.uv.default-groups says otherwise
SOURCE_KINDS = ("registry", "git", "url", "path", "directory", "editable", "virtual")
_HASH = re.compile(r"^([a-z0-9]+):([0-9a-fA-F]+)$")
_QUOTED = "'[^']*'|\"[^\"]*\""
# an ``extra`` comparison (either way round), or any other quoted string, skipped whole
_EXTRA_CLAUSE = re.compile(
    rf"(?P<left>{_QUOTED})\s*(?P<lop>==|!=)\s*extra\b"
    rf"|\bextra\s*(?P<rop>==|!=)\s*(?P<right>{_QUOTED})"
    rf"|{_QUOTED}"
)
# the marker variables PEP 508 defines: a value the caller leaves out compares as ""
_VARIABLES = (
    "implementation_name",
    "implementation_version",
    "os_name",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_full_version",
    "python_version",
    "sys_platform",
)


def parse(
    text: str,
    *,
    base_dir: Path,
    platform: str | None = None,
    environment: str | None = None,
    markers: dict[str, str] | None = None,
    groups: tuple[str, ...] | None = None,
) -> Foreign:
    """What ``uv sync`` installs from a ``uv.lock`` into an interpreter with the PEP 508
    ``markers`` (those of the running one when ``None``). ``platform`` is not used: uv
    chooses by markers. ``environment`` names a workspace member (``uv sync --package``);
    ``groups`` the dependency groups (``None``: uv's default, ``dev``; ``()``: none)."""
    try:
        data = common.data(text, "toml")
    except LockfileError as e:
        raise LockfileError(f"not a uv.lock: {e}") from None
    top = Reader(data, "")
    _check_version(top)
    lock = _Lock(top, base_dir)
    if markers is None:
        from packaging.markers import default_environment

        markers = {k: str(v) for k, v in default_environment().items()}
    roots, chosen = _roots(lock, environment)
    wanted = _groups(lock, roots, groups)
    walk = _Walk(lock, _Markers(markers))
    reached = walk.run(roots, wanted)
    wants = _wants(lock, reached)
    return Foreign(
        format="uv-lock",
        pip=wants,
        conda=None,
        environment=chosen,
        requires_python=common.requires_python(top.get("requires-python", str)),
        environments=_supported(top),
        notes=_notes(lock, roots, wanted, wants),
    )


# --- reading ---------------------------------------------------------------------------------


def _check_version(top: Reader) -> None:
    if "distribution" in top.data and "package" not in top.data:
        raise LockfileError(
            "an early uv.lock ([[distribution]], uv before 0.3): lock it again with uv lock"
        )
    if "version" not in top.data:
        raise LockfileError("version: required")
    version = top.require("version", int)
    if version > READS:
        shown = common.excerpt(str(version), 20)
        raise LockfileError(f"uv.lock version {shown} is newer than this envlock reads ({READS})")
    if version < READS:
        raise LockfileError(f"uv.lock version {version} is not one envlock reads ({READS})")
    top.get("revision", int)  # any revision of version 1 is read: type-checked only


def _supported(top: Reader) -> tuple[str, ...]:
    """``supported-markers`` (tool.uv.environments): uv sync refuses any other environment."""
    markers = top.strings("supported-markers") or ()
    for i, marker in enumerate(markers):
        _check_marker(marker, f"supported-markers[{i}]")
    return markers


@dataclass
class _Dep:
    """One edge: a dependency of a package, or a root requirement of the manifest."""

    name: str  # canonical
    where: str  # dotted path, for errors
    marker: str | None
    extras: tuple[str, ...]  # canonical extra names it activates on its target
    version: str | None = None
    source: dict[str, Any] | None = None
    candidates: tuple[int, ...] = ()  # the packages it may be (several: a fork)


@dataclass
class _Package:
    index: int
    name: str  # canonical
    version: str | None
    kind: str  # one of SOURCE_KINDS
    raw_source: dict[str, Any]
    source: Source | None  # None: virtual, never installed
    hashes: tuple[str, ...]
    forks: tuple[str, ...]  # resolution-markers
    dependencies: list[_Dep] = field(default_factory=list)
    extras: dict[str, list[_Dep]] = field(default_factory=dict)
    groups: dict[str, list[_Dep]] = field(default_factory=dict)

    @property
    def at_root(self) -> bool:
        """Whether this is the project in the lock's own directory."""
        path = self.raw_source.get(self.kind)
        return self.kind in ("editable", "virtual") and path in (".", "", "./")


class _Lock:
    """The packages and manifest of a ``uv.lock``, type-checked, dependencies linked."""

    def __init__(self, top: Reader, base_dir: Path) -> None:
        self.conflicts = bool(top.get("conflicts", list))
        top.get("resolution-markers", list)
        manifest = top.child("manifest") or Reader({}, "manifest")
        self.members = tuple(canonical_name(m) for m in (manifest.strings("members") or ()))
        self.requirements = _requirements(manifest, "requirements")
        self.manifest_groups: dict[str, list[_Dep]] = {}
        table = manifest.child("dependency-groups")
        if table is not None:
            for group in table.data:
                self.manifest_groups[canonical_name(group)] = _requirements(table, group)
        entries = top.get("package", list) or []
        self.packages = [
            _package(Reader(item, f"package[{i}]"), i, base_dir) for i, item in enumerate(entries)
        ]
        self.by_name: dict[str, list[int]] = {}
        for package in self.packages:
            self.by_name.setdefault(package.name, []).append(package.index)
        for package in self.packages:
            edges = [package.dependencies, *package.extras.values(), *package.groups.values()]
            for deps in edges:
                for dep in deps:
                    self._link(dep)
        for dep in [*self.requirements, *(d for g in self.manifest_groups.values() for d in g)]:
            self._link(dep)

    def _link(self, dep: _Dep) -> None:
        """The packages ``dep`` may be: those of its name, narrowed by its version and
        source (uv writes both wherever the name alone is ambiguous)."""
        found = [
            i
            for i in self.by_name.get(dep.name, ())
            if (dep.version is None or self.packages[i].version == dep.version)
            and (dep.source is None or self.packages[i].raw_source == dep.source)
        ]
        if not found:
            version = f" {common.excerpt(dep.version, 40)}" if dep.version else ""
            raise LockfileError(
                f"{dep.where}: no package {common.excerpt(dep.name)}{version} in the file"
            )
        dep.candidates = tuple(found)


def _requirements(r: Reader, key: str) -> list[_Dep]:
    """``[manifest] requirements`` (a script's) or one of ``[manifest] dependency-groups``."""
    items = r.get(key, list) or []
    return [_dep(Reader(item, f"{r.where(key)}[{i}]"), "extras") for i, item in enumerate(items)]


def _dep(r: Reader, extras_key: str = "extra") -> _Dep:
    source = r.child("source")
    return _Dep(
        name=canonical_name(r.required_text("name")),
        where=r.path,
        marker=_marker(r),
        extras=tuple(canonical_name(e) for e in (r.strings(extras_key) or ())),
        version=r.text("version"),
        source=source.data if source is not None else None,
    )


def _marker(r: Reader) -> str | None:
    marker = r.text("marker")
    if marker is not None:
        _check_marker(marker, r.where("marker"))
    return marker


def _check_marker(marker: str, where: str) -> None:
    from packaging.markers import InvalidMarker, Marker

    try:
        Marker(marker)
    except (InvalidMarker, ValueError, TypeError, RecursionError):
        raise LockfileError(f"{where}: not a marker: {common.excerpt(marker)}") from None


def _deps(r: Reader, key: str) -> list[_Dep]:
    items = r.get(key, list) or []
    return [_dep(Reader(item, f"{r.where(key)}[{i}]")) for i, item in enumerate(items)]


def _tables(r: Reader, key: str) -> dict[str, list[_Dep]]:
    """``optional-dependencies`` / ``dev-dependencies``: name -> dependencies."""
    table = r.child(key)
    if table is None:
        return {}
    return {canonical_name(name): _deps(table, name) for name in table.data}


def _package(r: Reader, index: int, base_dir: Path) -> _Package:
    name = canonical_name(r.required_text("name"))
    source_table = r.child("source")
    if source_table is None:
        raise LockfileError(f"{r.where('source')}: required")
    kinds = [k for k in SOURCE_KINDS if k in source_table.data]
    if len(kinds) != 1:
        raise LockfileError(f"{source_table.path}: needs exactly one of {', '.join(SOURCE_KINDS)}")
    kind = kinds[0]
    location = source_table.required_text(kind)
    hashes = _hashes(r)
    forks = r.strings("resolution-markers") or ()
    for i, fork in enumerate(forks):
        _check_marker(fork, f"{r.where('resolution-markers')}[{i}]")
    return _Package(
        index=index,
        name=name,
        version=r.text("version"),
        kind=kind,
        raw_source=source_table.data,
        source=_source(kind, location, source_table, hashes, base_dir),
        hashes=hashes,
        forks=forks,
        dependencies=_deps(r, "dependencies"),
        extras=_tables(r, "optional-dependencies"),
        groups=_tables(r, "dev-dependencies"),
    )


def _hashes(r: Reader) -> tuple[str, ...]:
    """``algo=hex`` of the sdist and wheels that carry a hash (a local registry's do not)."""
    artifacts: list[Reader] = []
    sdist = r.child("sdist")
    if sdist is not None:
        artifacts.append(sdist)
    for i, wheel in enumerate(r.get("wheels", list) or []):
        artifacts.append(Reader(wheel, f"{r.where('wheels')}[{i}]"))
    hashes: list[str] = []
    for artifact in artifacts:
        artifact.text("url")
        artifact.text("path")
        value = artifact.text("hash")
        if value is None:
            continue
        found = _HASH.match(value)
        if found is None:
            raise LockfileError(
                f"{artifact.where('hash')}: not algorithm:hex: {common.excerpt(value, 40)}"
            )
        digest = f"{found.group(1)}={found.group(2).lower()}"
        if digest not in hashes:
            hashes.append(digest)
    return tuple(hashes)


def _source(
    kind: str, location: str, table: Reader, hashes: tuple[str, ...], base_dir: Path
) -> Source | None:
    single = hashes[0] if len(hashes) == 1 else None
    subdirectory = table.text("subdirectory")
    if kind == "registry":
        return Source(kind="index")
    if kind == "git":
        return _git(location, table.where(kind))
    if kind == "url":
        return Source(
            kind="archive",
            url=home_to_tilde(redact_url(location)),
            hash=single,
            subdirectory=subdirectory,
        )
    if kind == "path" and location.lower().endswith(common.ARCHIVE_SUFFIXES):
        return Source(kind="archive", path=common.local_path(location, base_dir), hash=single)
    if kind == "path":  # older uv wrote a non-editable directory as a path
        return Source(kind="directory", path=common.local_path(location, base_dir))
    if kind in ("directory", "editable"):
        return Source(
            kind="directory",
            path=common.local_path(location, base_dir),
            editable=kind == "editable",
        )
    return None  # virtual


def _git(value: str, where: str) -> Source:
    """``https://host/repo?rev=v1&subdirectory=sub#<commit>`` as a ``vcs`` source."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    base, _, commit = value.partition("#")
    if base.startswith("git+"):
        base = base[4:]
    try:
        parts = urlsplit(base)
        query = dict(parse_qsl(parts.query))
        url = urlunsplit(parts._replace(query=""))
    except ValueError:
        raise LockfileError(f"{where}: not a URL: {common.excerpt(value)}") from None
    commit = commit.strip().lower()
    if not common.is_commit(commit):
        raise LockfileError(f"{where}: no commit after '#': {common.excerpt(value)}")
    return Source(
        kind="vcs",
        vcs="git",
        url=home_to_tilde(redact_url(url)),
        commit=commit,
        requested_revision=query.get("tag") or query.get("branch") or query.get("rev"),
        subdirectory=query.get("subdirectory") or None,
    )


# --- what uv sync installs -------------------------------------------------------------------


def _roots(lock: _Lock, environment: str | None) -> tuple[list[int], str | None]:
    """The packages ``uv sync`` starts from, and the member chosen (``--package``)."""
    members = _members(lock)
    if environment is not None:
        if not members:
            raise UsageError("this uv.lock has no workspace members; leave out --against-env")
        name = canonical_name(environment)
        if name not in members:
            raise UsageError(
                f"no workspace member {common.excerpt(environment)}; the file has: "
                f"{', '.join(sorted(members))} (choose one with --against-env)"
            )
        return [members[name]], name
    at_root = [p.index for p in lock.packages if p.at_root]
    if len(at_root) > 1:
        raise LockfileError("more than one package has the source '.'")
    roots = at_root or sorted(members.values())
    if not roots and not lock.requirements and not lock.manifest_groups:
        raise LockfileError(
            "no project, workspace member or [manifest] requirements: nothing says what "
            "uv sync installs"
        )
    return roots, None


def _members(lock: _Lock) -> dict[str, int]:
    """Workspace member name -> its package: ``[manifest] members``, else every editable or
    virtual package."""
    found: dict[str, int] = {}
    if lock.members:
        for name in lock.members:
            candidates = lock.by_name.get(name, [])
            if len(candidates) != 1:
                count = "no package" if not candidates else f"{len(candidates)} packages"
                raise LockfileError(
                    f"manifest.members: {count} named {common.excerpt(name)} in the file"
                )
            found[name] = candidates[0]
        return found
    for package in lock.packages:
        if package.kind in ("editable", "virtual"):
            if package.name in found:
                raise LockfileError(
                    f"package[{package.index}]: a second workspace member named "
                    f"{common.excerpt(package.name)}"
                )
            found[package.name] = package.index
    return found


def _groups(lock: _Lock, roots: list[int], groups: tuple[str, ...] | None) -> frozenset[str]:
    if groups is None:
        return frozenset(DEFAULT_GROUPS)
    wanted = frozenset(canonical_name(g) for g in groups)
    offered = set(lock.manifest_groups)
    for root in roots:
        offered.update(lock.packages[root].groups)
    unknown = sorted(wanted - offered)
    if unknown:
        has = ", ".join(sorted(offered)) or "none"
        raise UsageError(
            f"no dependency group {common.excerpt(', '.join(unknown))}; the file has: {has}"
        )
    return wanted


class _Markers:
    """Marker evaluation for one environment and a set of activated (uv-encoded) extras
    and groups."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = {key: "" for key in _VARIABLES}
        self.values.update(values)
        self.values["extra"] = ""
        self.cache: dict[str, bool] = {}

    def holds(self, marker: str | None, active: Iterable[str] = ()) -> bool:
        if not marker:
            return True
        if "extra" in marker:
            chosen = frozenset(active)
            marker = _EXTRA_CLAUSE.sub(lambda m: _extra_clause(m, chosen), marker)
        if marker not in self.cache:
            self.cache[marker] = _evaluate(marker, self.values)
        return self.cache[marker]


def _extra_clause(match: re.Match[str], active: frozenset[str]) -> str:
    """An ``extra`` comparison as one that holds (``extra == ''``: ``extra`` is empty
    when evaluating) or not; a quoted string unchanged."""
    quoted = match.group("left") or match.group("right")
    if quoted is None:
        return match.group(0)
    equal = canonical_name(quoted[1:-1]) in active
    if (match.group("lop") or match.group("rop")) == "!=":
        equal = not equal
    return "extra == ''" if equal else "extra != ''"


def _evaluate(marker: str, values: dict[str, str]) -> bool:
    """Whether ``marker`` holds; one that cannot be evaluated is taken to hold (as when
    comparing), so that nothing is silently left out."""
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison

    try:
        return Marker(marker).evaluate(values)
    except (InvalidMarker, UndefinedComparison, ValueError, TypeError, KeyError, RecursionError):
        return True


def _encode(kind: str, package: str, name: str) -> str:
    """uv's name for an activated extra or group in conflict markers."""
    return f"{kind}-{len(package)}-{package}-{name}"


class _Walk:
    """The breadth-first walk of uv's ``to_resolution``: roots, their groups, then each
    reached package's dependencies and the extras asked of it."""

    def __init__(self, lock: _Lock, markers: _Markers) -> None:
        self.lock = lock
        self.markers = markers
        self.reached: dict[int, None] = {}  # an ordered set
        self.queue: deque[tuple[int, str | None]] = deque()
        self.seen: set[tuple[int, str | None]] = set()
        self.active: set[str] = set()  # uv-encoded extras and groups

    def run(self, roots: list[int], groups: frozenset[str]) -> list[int]:
        lock = self.lock
        if lock.conflicts:
            for root in roots:
                package = lock.packages[root]
                self.active.update(
                    _encode("group", package.name, g) for g in package.groups if g in groups
                )
        for root in roots:
            self.reached[root] = None
            self.queue.append((root, None))
            for group, deps in lock.packages[root].groups.items():
                if group in groups:
                    for dep in deps:
                        if self.markers.holds(dep.marker, self.active):
                            self._follow(dep, self.queue, self.seen, self.active)
        manifest = [*lock.requirements]
        for group, deps in lock.manifest_groups.items():
            if group in groups:
                manifest.extend(deps)
        for dep in manifest:  # uv evaluates these without extras or groups
            if self.markers.holds(dep.marker):
                self._follow(dep, self.queue, self.seen, ())
        if lock.conflicts:
            # uv's first pass: every extra that a followed dependency asks for is activated
            # before any conflict marker is relied on
            self._drain(deque(self.queue), set(self.seen), activate=True)
        self._drain(self.queue, self.seen, activate=False)
        return list(self.reached)

    def _drain(
        self, queue: deque[tuple[int, str | None]], seen: set[tuple[int, str | None]], *,
        activate: bool,
    ) -> None:  # fmt: skip
        while queue:
            index, extra = queue.popleft()
            package = self.lock.packages[index]
            for dep in package.extras.get(extra, []) if extra else package.dependencies:
                more = {_encode("extra", dep.name, e) for e in dep.extras} if activate else set()
                if self.markers.holds(dep.marker, self.active | more):
                    self.active |= more
                    self._follow(dep, queue, seen, self.active, record=not activate)

    def _follow(
        self,
        dep: _Dep,
        queue: deque[tuple[int, str | None]],
        seen: set[tuple[int, str | None]],
        active: Iterable[str],
        record: bool = True,
    ) -> None:
        target = self._pick(dep, active)
        if record:
            self.reached[target] = None
        for item in ((target, None), *((target, e) for e in dep.extras)):
            if item not in seen:
                seen.add(item)
                queue.append(item)

    def _pick(self, dep: _Dep, active: Iterable[str]) -> int:
        """The package a dependency is: its only candidate, or the one fork whose
        resolution markers hold."""
        if len(dep.candidates) == 1:
            return dep.candidates[0]
        packages, chosen = self.lock.packages, frozenset(active)
        holding = [
            i
            for i in dep.candidates
            if not packages[i].forks
            or any(self.markers.holds(m, chosen) for m in packages[i].forks)
        ]
        if len(holding) != 1:
            raise LockfileError(
                f"{dep.where}: {len(holding)} of the packages named "
                f"{common.excerpt(dep.name)} apply here; its version and source must say which"
            )
        return holding[0]


def _wants(lock: _Lock, reached: list[int]) -> tuple[PipWant, ...]:
    """Reached packages as required wants; the rest as optional ones."""
    required: dict[str, _Package] = {}
    for index in reached:
        package = lock.packages[index]
        if package.source is None:
            continue  # virtual
        other = required.get(package.name)
        if other is not None:
            raise LockfileError(
                f"{common.excerpt(package.name)}: more than one of its packages applies here "
                f"({common.excerpt(other.version or '?', 40)}, "
                f"{common.excerpt(package.version or '?', 40)})"
            )
        required[package.name] = package
    wants = [_want(p, optional=False) for p in required.values()]
    rest: dict[str, list[_Package]] = {}
    for package in lock.packages:
        if package.source is not None and package.name not in required:
            rest.setdefault(package.name, []).append(package)
    for packages in rest.values():
        if len(packages) == 1:
            wants.append(_want(packages[0], optional=True))
        else:  # several forks, none installed here: any of them is allowed
            wants.append(PipWant(name=packages[0].name, optional=True))
    return tuple(sorted(wants, key=lambda w: (w.name, w.optional)))


def _want(package: _Package, *, optional: bool) -> PipWant:
    return PipWant(
        name=package.name,
        version=package.version,
        source=package.source,
        hashes=package.hashes,
        optional=optional,
    )


def _notes(
    lock: _Lock, roots: list[int], groups: frozenset[str], wants: tuple[PipWant, ...]
) -> tuple[str, ...]:
    notes = []
    extras = sorted({e for r in roots for e in lock.packages[r].extras})
    if extras:
        notes.append(
            f"as uv sync without --extra: the extras {common.excerpt(', '.join(extras), 200)} "
            "are not required"
        )
    offered = {g for r in roots for g in lock.packages[r].groups} | set(lock.manifest_groups)
    others = sorted(offered - groups)
    if others:
        synced = ", ".join(sorted(groups & offered)) or "none"
        notes.append(
            f"dependency groups synced: {synced} (tool.uv.default-groups is not in the lock); "
            f"the groups {common.excerpt(', '.join(others), 200)} are not required"
        )
    optional = sum(w.optional for w in wants)
    if optional:
        notes.append(
            f"{common.packages(optional)} for other platforms, Python versions, extras, "
            "groups or workspace members: allowed, not required"
        )
    return tuple(notes)
