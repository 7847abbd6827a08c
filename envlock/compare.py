"""Pure comparison: (expected environment, live environment) -> findings.

Nothing here reads files or prints. A value that is unknown on either side (``None``) is
never reported: envlock only reports what it measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from envlock import variables as variable_table
from envlock._probe import canonical_name
from envlock.compare_native import native_findings
from envlock.findings import (
    CATEGORIES,
    ERROR,
    INFO,
    RECAPTURE,
    WARNING,
    Finding,
    pin,
    shell_name,
    shell_path,
    shell_word,
)
from envlock.model import Environment, Package, Platform, Python, Source, installer_tool


def compare(expected: Environment, actual: Environment) -> list[Finding]:
    """All differences between ``expected`` (the lockfile) and ``actual`` (live)."""
    findings = [
        *_python(expected.python, actual.python),
        *_platform(expected.platform, actual.platform),
        *_packages(expected, actual),
        *_conda(expected, actual),
        *native_findings(expected, actual),
        *_variables(expected, actual),
    ]
    return in_order(findings)


def in_order(findings: list[Finding]) -> list[Finding]:
    """``findings`` sorted by category, subject and expected value, each once, and a package
    that moved between conda and pip as one finding, not three (``moved``, but neither
    ``missing`` nor ``extra``, on either side)."""
    moved = {canonical_name(f.subject) for f in findings if f.category == "moved"}
    if moved:
        findings = [
            f
            for f in findings
            if not (
                f.category in ("missing", "extra")
                and canonical_name(f.subject.removeprefix("conda:")) in moved
            )
        ]
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(
        dict.fromkeys(findings),
        key=lambda f: (order.get(f.category, len(order)), f.subject, f.expected or ""),
    )


def _conda(expected: Environment, actual: Environment) -> Iterator[Finding]:
    if expected.conda is None or actual.conda is None:
        return iter(())  # one side is not a conda environment, or was not read
    from envlock.compare_conda import conda_findings  # only conda environments need it

    return conda_findings(expected, actual)


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _python(exp: Python, act: Python) -> Iterator[Finding]:
    hint = "use the Python interpreter the lockfile was captured with, or " + RECAPTURE
    if exp.version and act.version and exp.version != act.version:
        # A partial version read from a directory name ("3.11") matches any 3.11.x.
        partial = min(exp.version.count("."), act.version.count(".")) < 2
        same_minor = _minor(exp.version) == _minor(act.version)
        if not (partial and same_minor):
            severity = WARNING if same_minor else ERROR
            yield Finding("python", "version", exp.version, act.version, severity, hint)
    for attr in ("implementation", "abi", "free_threading"):
        e, a = getattr(exp, attr), getattr(act, attr)
        if e is not None and a is not None and e != a:
            yield Finding("python", attr, _text(e), _text(a), ERROR, hint)


_PLATFORM_SEVERITY = {
    "os": ERROR,
    "machine": ERROR,
    "libc": ERROR,
    "libc_version": WARNING,
    "distro": WARNING,
    "cpu_level": WARNING,
    "cpu_flags": WARNING,
    "kernel": INFO,
}


# One architecture, as each OS names it: Windows says AMD64, macOS arm64, Linux aarch64.
_SAME_MACHINE = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


def _platform(exp: Platform, act: Platform) -> Iterator[Finding]:
    for attr, severity in _PLATFORM_SEVERITY.items():
        e, a = getattr(exp, attr), getattr(act, attr)
        if e is None or a is None or e == a:
            continue
        if attr == "machine" and _machine(e) == _machine(a):
            continue
        hint = (
            "CPU features decide which BLAS kernels run; results can differ in the last bits"
            if attr.startswith("cpu")
            else "this machine differs from the one the lockfile was captured on; "
            "capture an environment for it with `envlock capture --name NAME`"
        )
        yield Finding("platform", attr, _text(e), _text(a), severity, hint)


def _machine(name: str) -> str:
    return _SAME_MACHINE.get(name.lower(), name.lower())


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return " ".join(value) or "(none)"
    return str(value)


def install_hint(pkg: Package, reinstall: bool = False) -> str:
    """The command that installs exactly ``pkg``; with ``reinstall``, over the same version
    from elsewhere (pip keeps an installed version it is asked for again). uv's own command
    for what uv installed: it keeps uv's ``INSTALLER`` and finds ``.venv`` by itself (uv's
    environments have no pip)."""
    src = pkg.source
    pip = _PIP[installer_tool(pkg.installer or "") == "uv", reinstall]
    if src is None or src.kind == "index":
        return f"{pip} {shell_word(pin(pkg.name, pkg.version))}"
    if src.kind == "vcs" and src.url:
        ref = f"@{src.commit}" if src.commit else ""
        sub = f"#subdirectory={src.subdirectory}" if src.subdirectory else ""
        scheme = "" if src.url.startswith(f"{src.vcs}+") else f"{src.vcs}+"
        return f"{pip} {shell_word(f'{pkg.name} @ {scheme}{src.url}{ref}{sub}')}"
    if src.kind == "directory" and src.path:
        return f"{pip} {'-e ' if src.editable else ''}{_shell_path(src.path)}"
    if src.url:
        return f"{pip} {shell_word(f'{pkg.name} @ {src.url}')}"
    if src.path:
        return f"{pip} {_shell_path(src.path)}"
    return f"{pip} {shell_word(pin(pkg.name, pkg.version))}"


_PIP = {  # (installed by uv, reinstall): the install command
    (False, False): "pip install",
    (False, True): "pip install --force-reinstall --no-deps",
    (True, False): "uv pip install",
    (True, True): "uv pip install --reinstall --no-deps",
}


def _reinstall_with(pkg: Package) -> str:
    """How to put ``pkg`` back with the installer the lockfile records: pip's or uv's own
    command (either writes its name to ``INSTALLER``), else in words."""
    if installer_tool(pkg.installer or "") in ("pip", "uv"):
        return install_hint(pkg, reinstall=True)
    return f"reinstall it with {pkg.installer}"


def _shell_path(path: str) -> str:
    """A recorded local path as pip takes it on the command line: ``./path`` from the lockfile's
    directory (it is recorded relative to it), ``~/'path'`` (:func:`shell_path`), or the
    absolute path."""
    if path.startswith(("~", "/", "\\")) or path[1:3] in (":/", ":\\"):
        return shell_path(path)
    shown = path if path.startswith(("./", "../")) or path == "." else f"./{path}"
    return f"{shell_word(shown)} (from the lockfile's directory)"


def _packages(expected: Environment, actual: Environment) -> Iterator[Finding]:
    exp_map, act_map = expected.package_map(), actual.package_map()
    # A lockfile without a conda side (a venv's, or a conda environment's written before
    # envlock read conda-meta) records no conda package: a locked package that conda owns
    # here is installed, and compared as conda's. A conda environment's such lockfile took
    # its installer from the dist-info's INSTALLER, which conda-build may have left as pip's:
    # there only the version is compared.
    owned = {p.name: p for p in actual.conda_dists} if expected.conda is None else {}
    if expected.kind == "conda":
        owned = {n: replace(p, installer=None, source=None) for n, p in owned.items()}
    for name in sorted(exp_map.keys() | act_map.keys()):
        e, a = exp_map.get(name), act_map.get(name)
        if a is None and e is not None and name in owned:
            yield from _package(e, owned[name])
        elif a is None and e is not None:
            yield Finding("missing", name, e.version, None, ERROR, install_hint(e))
        elif e is None and a is not None:
            uv = "uv " if installer_tool(a.installer or "") == "uv" else ""
            hint = f"{uv}pip uninstall {shell_name(name)}, or {RECAPTURE}"
            yield Finding("extra", name, None, a.version, WARNING, hint)
        elif e is not None and a is not None:
            yield from _package(e, a)


def _package(e: Package, a: Package) -> Iterator[Finding]:
    if e.version != a.version:
        yield Finding(
            "version",
            e.name,
            e.version,
            a.version,
            ERROR,
            f"{install_hint(e)}, or {RECAPTURE}",
        )
    elif e.source is not None and a.source is not None and not _same_source(e.source, a.source):
        yield Finding(
            "source",
            e.name,
            e.source.describe(),
            a.source.describe(),
            ERROR,
            f"{install_hint(e, reinstall=True)}, or {RECAPTURE}",
        )
    if e.installer and a.installer and installer_tool(e.installer) != installer_tool(a.installer):
        yield Finding(
            "installer",
            e.name,
            e.installer,
            a.installer,
            WARNING,
            f"{_installed_by(e.installer, a.installer)}{_reinstall_with(e)}, or {RECAPTURE}",
        )


def _installed_by(expected: str | None, actual: str | None) -> str:
    return f"installed by {actual}, locked as installed by {expected}; "


def installer_hint_without_pip(finding: Finding) -> str | None:
    """The hint of an ``installer`` finding that locks pip's install, for an environment of
    uv's without pip, where pip's reinstall cannot run and uv's would record uv again; else
    ``None``."""
    if finding.category != "installer" or installer_tool(finding.expected or "") != "pip":
        return None
    where = "this environment has no pip (uv made it)"
    return f"{_installed_by(finding.expected, finding.actual)}{where}: {RECAPTURE}"


def _same_source(e: Source, a: Source) -> bool:
    if e.kind == a.kind == "archive" and (e.hash is None) != (a.hash is None):
        # one installer recorded the archive's hash and the other did not (uv writes an
        # empty archive_info): an unknown hash is no drift; the archive's location still is
        return (e.url or e.path) == (a.url or a.path)
    return e.identity() == a.identity()


def _variables(expected: Environment, actual: Environment) -> Iterator[Finding]:
    if expected.variables is None or actual.variables is None:
        return
    for name in expected.variables.names():
        e_known, e_value = expected.variables.value(name)
        a_known, a_value = actual.variables.value(name)
        if not (e_known and a_known) or e_value == a_value:
            continue
        if e_value is None:
            hint = f"unset {name}, or {RECAPTURE}"
        else:
            hint = f"export {name}={_shell_quote(e_value)}, or {RECAPTURE}"
        yield Finding("variables", name, e_value, a_value, variable_table.severity(name), hint)


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)
