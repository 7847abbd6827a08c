"""Turn a probe payload (or a static read) into an :class:`Environment`.

This is where raw facts become lockfile values: names are canonicalised, URLs lose their
credentials, local paths become relative to the lockfile's directory (inside it or its git
repository; else ``~``-based or absolute: :mod:`envlock.localpath`), and
``direct_url.json`` becomes a :class:`Source`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from envlock import _probe
from envlock.model import (
    HASH,
    PACKAGE_NAME,
    PYTHON_VERSION,
    Environment,
    Package,
    Platform,
    Python,
    Source,
    Variables,
    installer_tool,
)
from envlock.reader import full_match
from envlock.redact import home_to_tilde, redact_text, redact_url

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

    from envlock.conda import CondaPrefix

# Installers that follow PEP 610: no direct_url.json means "from an index".
_PEP610_INSTALLERS = frozenset({"pip", "uv", "poetry", "pdm", "pipenv", "hatch", "rye"})


def _local_path(url: str, base_dir: Path) -> str | None:
    """A ``file://`` URL as the lockfile in ``base_dir`` records its path
    (:func:`envlock.localpath.recorded`)."""
    from envlock.localpath import file_url_path, recorded

    if url[:5].lower() != "file:":
        return None
    try:
        path = file_url_path(url)
    except ValueError:  # "file://[": no path to read; the URL is masked whole
        return None
    return recorded(path, base_dir)


def source_from_direct_url(data: object, base_dir: Path) -> Source | None:
    """PEP 610 ``direct_url.json`` as a :class:`Source`; ``None`` when it is malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    url: str = data["url"]
    path = _local_path(url, base_dir)
    public_url = None if path is not None else home_to_tilde(redact_url(url))
    subdirectory = _str(data.get("subdirectory"))
    vcs_info = data.get("vcs_info")
    if isinstance(vcs_info, dict):
        return Source(
            kind="vcs",
            url=home_to_tilde(redact_url(url)),
            vcs=_str(vcs_info.get("vcs")),
            commit=_str(vcs_info.get("commit_id")),
            requested_revision=_str(vcs_info.get("requested_revision")),
            subdirectory=subdirectory,
        )
    dir_info = data.get("dir_info")
    if isinstance(dir_info, dict):
        return Source(
            kind="directory",
            url=public_url,
            path=path,
            editable=dir_info.get("editable") is True,
            subdirectory=subdirectory,
        )
    archive_info = data.get("archive_info")
    if isinstance(archive_info, dict):
        digest = _archive_hash(archive_info)
        if digest is None:  # uv keeps the hash it was given in the URL: ``x.whl#sha256=HEX``
            url, digest = _hash_fragment(url)
            if public_url is not None:
                public_url = home_to_tilde(redact_url(url))
        return Source(
            kind="archive",
            url=public_url,
            path=path,
            hash=digest,
            subdirectory=subdirectory,
        )
    return None


def _hash_fragment(url: str) -> tuple[str, str | None]:
    """``url`` without a ``#ALGORITHM=HEX`` fragment, and that hash (None when it has none),
    as pip records it: in ``archive_info``, the URL without it."""
    base, sep, fragment = url.partition("#")
    algo, _, hex_digest = fragment.partition("=")
    if not sep or algo not in _HASH_ALGORITHMS or not full_match(HASH, fragment):
        return url, None
    return base, f"{algo}={hex_digest}"


def _str(value: object) -> str | None:
    """A string field of ``direct_url.json`` as envlock may record it (:func:`redact_text`:
    a person can write anything there)."""
    return redact_text(value) if isinstance(value, str) else None


_HASH_ALGORITHMS = ("sha256", "sha384", "sha512", "sha1", "md5")


def _archive_hash(info: dict[str, Any]) -> str | None:
    """``ALGORITHM=HEX`` from PEP 610's ``hashes`` (or the older ``hash``); ``None`` (unknown)
    when what is there is no such thing."""
    hashes = info.get("hashes")
    found = None
    if isinstance(hashes, dict):
        for algo in _HASH_ALGORITHMS:
            if isinstance(hashes.get(algo), str):
                found = f"{algo}={hashes[algo]}"
                break
    if found is None and isinstance(info.get("hash"), str):
        found = info["hash"]
    return found if found and full_match(HASH, found) else None


def package_from_dist(dist: dict[str, Any], base_dir: Path, warnings: list[str]) -> Package:
    installer = dist.get("installer")
    if installer is not None:
        installer = redact_text(installer)
    source: Source | None = None
    if "direct_url" in dist:
        source = source_from_direct_url(dist["direct_url"], base_dir)
        if source is None:
            warnings.append(f"{dist['path']}: direct_url.json has no usable url; source unknown")
    elif dist.get("kind") == "dist-info" and installer_tool(installer or "") in _PEP610_INSTALLERS:
        source = Source(kind="index")
    return Package(
        name=redact_text(_probe.canonical_name(dist["name"])),
        version=redact_text(dist["version"]),
        installer=installer,
        requested=dist.get("requested"),
        source=source,
    )


def _python(facts: dict[str, Any] | None) -> Python:
    facts = facts or {}
    return Python(
        implementation=facts.get("implementation"),
        version=facts.get("version"),
        abi=facts.get("abi"),
        free_threading=facts.get("free_threading"),
        platform_tag=facts.get("platform_tag"),
        method=facts.get("method", "probe"),
    )


def _platform(facts: dict[str, Any] | None) -> Platform:
    facts = facts or {}
    flags = facts.get("cpu_flags")
    return Platform(
        os=facts.get("os"),
        distro=facts.get("distro"),
        kernel=facts.get("kernel"),
        libc=facts.get("libc"),
        libc_version=facts.get("libc_version"),
        machine=facts.get("machine"),
        cpu_level=facts.get("cpu_level"),
        cpu_flags=tuple(flags) if flags is not None else None,
        method=facts.get("method", "probe"),
    )


def _variables(values: dict[str, str | None] | None) -> Variables | None:
    if values is None:
        return None
    return Variables(
        set={k: redact_text(v) for k, v in values.items() if v is not None},
        unset=tuple(sorted(k for k, v in values.items() if v is None)),
    )


# PEP 440 (packaging's VERSION_PATTERN, compacted); compiled on first use: most versions are
# dotted numbers, which never need it.
_PEP440 = (
    r"v?(?:\d+!)?\d+(?:\.\d+)*(?:[._-]?(?:alpha|a|beta|b|preview|pre|c|rc)[._-]?\d*)?"
    r"(?:-\d+|[._-]?(?:post|rev|r)[._-]?\d*)?(?:[._-]?dev[._-]?\d*)?"
    r"(?:\+[a-z0-9]+(?:[._-][a-z0-9]+)*)?\Z"
)


def is_pep440(version: str) -> bool:
    """Whether ``version`` is a valid PEP 440 version (what ``packaging.version.Version``
    accepts), without importing packaging."""
    digits = version.replace(".", "")
    if digits.isdigit() and digits.isascii() and ".." not in f".{version}.":
        return True
    import re

    return re.match(_PEP440, version, re.IGNORECASE | re.ASCII) is not None


def valid_name(name: str) -> bool:
    """Whether ``name`` is a project name a lockfile can hold (PEP 508: letters, digits and
    ``.``, ``_``, ``-`` inside). ``setup.py`` once allowed any: ``"my package"``."""
    return full_match(PACKAGE_NAME, _probe.canonical_name(name))


def problem_warning(problem: dict[str, Any]) -> str | None:
    """A warning line for one of the probe's ``problems``; None for those it words itself
    (unreadable metadata) and those only ``envlock doctor`` lists."""
    kind, path = problem.get("kind"), problem.get("path")
    if kind == "undecodable":
        return f"{path}: {problem['file']} is not valid UTF-8; read with replacement characters"
    if kind == "duplicate":
        return (
            f"{path}: {problem['name']} {problem['version']} is installed twice in one "
            f"directory (also {problem['name']} {problem['other_version']} at "
            f"{os.path.basename(problem['other'])})"
        )
    if kind == "leftover":
        return f"{path}: left behind by an interrupted pip run; remove it"
    if kind == "egg-link":
        name, target = problem["name"], problem.get("target") or "an unknown directory"
        return f"{path}: a legacy develop install (setup.py develop) of {name} from {target}"
    if kind == "leak" and problem.get("count"):
        return (
            f"{path}: on sys.path through {problem['origin']}, with {problem['count']} "
            "distribution(s) that leak into the environment"
        )
    return None


def legacy_egg_info(dist: dict[str, Any]) -> bool:
    """Whether an installer put ``dist`` into a site-packages directory in the legacy
    ``.egg-info`` format (``setup.py install``). A develop install's ``.egg-info`` lives in
    its project, and its ``.egg-link`` has a warning of its own."""
    return dist.get("kind") == "egg-info" and os.path.basename(os.path.dirname(dist["path"])) in (
        "site-packages",
        "dist-packages",
    )


def environment_kind(prefix: str | None) -> str | None:
    if not prefix:
        return None
    root = Path(prefix)
    if (root / "conda-meta").is_dir():
        return "conda"
    if (root / "pyvenv.cfg").is_file():
        return "venv"
    return "system"


def from_payload(
    payload: dict[str, Any],
    base_dir: Path,
    method: str,
    conda: CondaPrefix | None = None,
) -> Environment:
    """The environment a probe payload (or static read) describes; ``conda`` is the prefix's
    conda side, read from its files, when it has one."""
    warnings = list(payload.get("warnings", []))  # unreadable metadata: not recorded
    notes: list[str] = []  # about what was read and recorded: the read is still complete
    distributions = []
    for d in payload["distributions"]:
        if valid_name(d["name"]):
            distributions.append(d)
        else:
            warnings.append(
                f"{d['path']}: {d['name']!r} is not a valid project name (PEP 508); not recorded"
            )
    notes.extend(filter(None, map(problem_warning, payload.get("problems") or ())))
    notes.extend(
        f"{d['path']}: version {d['version']!r} is not PEP 440; recorded as is, compared exactly"
        for d in distributions
        if not is_pep440(d["version"])
    )
    python, platform = _python(payload.get("python")), _platform(payload.get("platform"))
    conda_section = None
    conda_dists: list[Package] = []
    if conda is not None:
        from envlock import condaenv

        warnings.extend(conda.warnings)
        notes.extend(conda.notes)
        everything = distributions
        distributions, hazards = condaenv.split(payload["prefix"], distributions, conda)
        pip_paths = {d["path"] for d in distributions}
        conda_dists = [
            Package(name=_probe.canonical_name(d["name"]), version=d["version"], installer="conda")
            for d in everything
            if d["path"] not in pip_paths
        ]
        if python.method in ("pyvenv.cfg", "layout", "unknown"):
            python = condaenv.static_python(conda) or python
        if platform.method == "unknown":
            platform = condaenv.static_platform(conda) or platform
        conda_section = condaenv.section(conda, hazards, platform, payload.get("conda_overrides"))
    if python.version is not None and not full_match(PYTHON_VERSION, python.version):
        warnings.append(f"Python version {python.version!r} is not X.Y.Z; recorded as unknown")
        python = replace(python, version=None)
    packages = [package_from_dist(d, base_dir, warnings) for d in distributions]
    legacy = sorted(f"{d['name']} {d['version']}" for d in distributions if legacy_egg_info(d))
    if legacy:
        shown = ", ".join(legacy[:3]) + (", ..." if len(legacy) > 3 else "")
        notes.append(
            f"{len(legacy)} distribution(s) installed in the legacy .egg-info format ({shown}): "
            "installer and source unknown; `envlock doctor` says how to reinstall them"
        )
    return Environment(
        kind=environment_kind(payload.get("prefix")),
        method=method,
        python=python,
        platform=platform,
        variables=_variables(payload.get("variables")),
        packages=tuple(packages),
        conda=conda_section,
        conda_dists=tuple(conda_dists),
        warnings=tuple(redact_text(w) for w in [*warnings, *notes]),
        complete=not warnings,
    )
