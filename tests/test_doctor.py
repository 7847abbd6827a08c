"""``envlock doctor`` and the warnings capture gives for broken environments, on real venvs
and conda prefixes broken on disk the way pip, setup.py and people break them. No network."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from condafactory import (
    conda_dist_info,
    files_under,
    host_subdir,
    make_conda_prefix,
    python_version_of,
    write_record,
)
from factory import build_wheel, dist_info_dir, make_venv, pip_install, site_packages
from support import validate

from envlock import _doctor_probe, _probe, doctor
from envlock.cli import main
from envlock.redact import display_path
from envlock.snapshot import from_payload, is_pep440
from envlock.target import _run_probe

PROBE = Path(_probe.__file__)
DOCTOR_PROBE = Path(_doctor_probe.__file__)


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No active environment, no PYTHONPATH, no lockfile cache; a directory of our own."""
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONNOUSERSITE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("wheelhouse")
    for name, version, requires in [
        ("bar", "1.0", []),
        ("bar", "9.0", []),
        ("dep", "2.0", []),
        ("foo", "1.0", []),
        ("nometa", "1.0", []),
        ("garbled", "1.0", []),
        ("weird", "1.0", []),
        ("needsolddep", "1.0", ["dep<1"]),
        ("needsghost", "1.0", ["ghost>=1"]),
        # never problems: a requirement for another Python, and one of an extra
        ("gated", "1.0", ['ghost2; python_version < "3"', 'ghost3; extra == "x"', "dep>=2"]),
        ("pipconda", "2.0", []),
    ]:
        build_wheel(wh, name, version, requires=requires)
    build_wheel(
        wh,
        "hashed",
        "1.0",
        modules={"hashed/__init__.py": "X = 1\n", "hashed/data.txt": "data\n"},
    )
    return wh


def envlock(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``envlock ARGS`` in this process: (exit status, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, str]]]:
    code, out, _ = envlock(capsys, "doctor", "--format", "json", *args)
    report = json.loads(out)
    # the environment's place, why it was chosen and how it was read; no "environment " label
    assert re.fullmatch(
        r".+ \(.+; (probe in its interpreter|files only|in-process)\)",
        report["environment"],
    ), report["environment"]
    assert not report["environment"].startswith("environment ")
    return code, report["problems"]


def kinds(problems: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(p["severity"], p["kind"], p["subject"]) for p in problems]  # in report order


def install(venv: Path, wheelhouse: Path, *reqs: str) -> Path:
    python = make_venv(venv)
    pip_install(python, "--no-deps", "--find-links", str(wheelhouse), *reqs)
    return python


def metadata(name: str, version: str, *extra: str) -> str:
    return "\n".join(["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *extra])


# ---------------------------------------------------------------------------------------------
# A healthy venv: nothing to say, even with its site-packages reached twice through lib64
# ---------------------------------------------------------------------------------------------


def test_healthy_venv_through_a_lib64_link_has_no_false_duplicate(
    tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    python = install(tmp_path / "venv", wheelhouse, "bar==1.0", "dep==2.0", "gated==1.0")
    venv, site = tmp_path / "venv", site_packages(python)
    if not (venv / "lib64").exists():  # Linux venvs have it; elsewhere make it
        (venv / "lib64").symlink_to("lib")
    via_lib64 = venv / "lib64" / site.relative_to(venv / "lib")
    (site / "zz-lib64.pth").write_text(f"{via_lib64}\n", encoding="utf-8")
    sys_path = subprocess.run(
        [str(python), "-c", "import sys; print('\\n'.join(sys.path))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert str(via_lib64) in sys_path and str(site) in sys_path  # the same directory, twice

    code, out, err = envlock(capsys, "doctor", "--python", str(python))
    assert (code, out.splitlines()[-1]) == (0, "no problems found"), out
    payload = _run_probe(python, PROBE, [], details=True)
    assert payload["problems"] == [] and payload["warnings"] == []
    gated = next(d for d in payload["distributions"] if d["name"] == "gated")
    assert doctor.requires(gated) == [
        'ghost2; python_version < "3"',
        'ghost3; extra == "x"',
        "dep>=2",
    ]
    assert "problems" not in _run_probe(python, PROBE, [])  # as before, when nothing is wrong
    code, out, err = envlock(capsys, "capture", "--python", str(python), "--no-runtime")
    assert code == 0 and "warning" not in err, err


# ---------------------------------------------------------------------------------------------
# A venv broken every way pip and setuptools can break one
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> tuple[Path, Path]:
    """(interpreter, site-packages) of a venv with every breakage at once."""
    root = tmp_path_factory.mktemp("broken")
    python = install(
        root / "venv",
        wheelhouse,
        *("nometa==1.0", "garbled==1.0", "foo==1.0", "dep==2.0", "weird==1.0"),
        *("needsolddep==1.0", "needsghost==1.0", "gated==1.0"),
    )
    site = site_packages(python)
    # METADATA deleted; METADATA with bytes that are not UTF-8 in its header
    (dist_info_dir(site, "nometa") / "METADATA").unlink()
    garbled = metadata("garbled", "1.0", "Summary: caf\xe9 cr\xe8me", "", "body\n")
    (dist_info_dir(site, "garbled") / "METADATA").write_bytes(garbled.encode("latin-1"))
    # a second dist-info of foo, of another version, next to the first
    foo1 = dist_info_dir(site, "foo")
    foo2 = site / "foo-2.0.dist-info"
    shutil.copytree(foo1, foo2)
    (foo2 / "METADATA").write_text(metadata("foo", "2.0", "", ""), encoding="utf-8")
    # what an interrupted pip leaves: its renamed package and dist-info
    (site / "~oo").mkdir()
    (site / "~oo" / "__init__.py").write_text("", encoding="utf-8")
    shutil.copytree(foo1, site / "~oo-1.0.dist-info")
    # a version that is not PEP 440
    weird = metadata("weird", "1.0-custom+weird!", "", "")
    (dist_info_dir(site, "weird") / "METADATA").write_text(weird, encoding="utf-8")
    # a name no installer accepts now, from the days when setup.py accepted any
    spaced = site / "my_package-1.0.dist-info"
    spaced.mkdir()
    (spaced / "METADATA").write_text(metadata("my package", "1.0", "", ""), encoding="utf-8")
    (spaced / "INSTALLER").write_text("pip\n", encoding="utf-8")
    # setup.py develop: an .egg-link, easy-install.pth, and the project's egg-info
    project = root / "legacyproj"
    (project / "legacy.egg-info").mkdir(parents=True)
    pkg_info = metadata("legacy", "0.5", "", "")
    (project / "legacy.egg-info" / "PKG-INFO").write_text(pkg_info, encoding="utf-8")
    (site / "legacy.egg-link").write_text(f"{project}\n.", encoding="utf-8")
    (site / "easy-install.pth").write_text(f"{project}\n", encoding="utf-8")
    # setup.py install: an egg-info in site-packages, whose requires.txt wants dep>=3
    old = site / f"oldstyle-1.0-py{sys.version_info[0]}.{sys.version_info[1]}.egg-info"
    old.mkdir()
    (old / "PKG-INFO").write_text(metadata("oldstyle", "1.0", "", ""), encoding="utf-8")
    (old / "requires.txt").write_text("dep>=3\n\n[extra]\nghost4\n", encoding="utf-8")
    return python, site


def test_doctor_lists_every_breakage_with_its_fix(
    broken: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    python, site = broken
    code, problems = doctor_json(capsys, "--python", str(python))
    assert code == 1
    assert kinds(problems) == [
        ("error", "conflict", "needsolddep"),
        ("error", "conflict", "oldstyle"),
        ("error", "duplicate", "foo"),
        ("error", "name", f"{site}/my_package-1.0.dist-info"),
        ("error", "no-metadata", "nometa"),
        ("error", "unmet", "needsghost"),
        ("warning", "egg-info", "oldstyle"),
        ("warning", "egg-link", "legacy"),
        ("warning", "leftover", f"{site}/~oo"),
        ("warning", "leftover", f"{site}/~oo-1.0.dist-info"),
        ("warning", "undecodable", "garbled"),
        ("warning", "version", "weird"),
    ]
    fixes = {(p["kind"], p["subject"]): p["fix"] for p in problems}
    pip = f"{display_path(python)} -m pip"  # the environment named, not the active one
    assert fixes["no-metadata", "nometa"] == (
        f"rm -rf '{site}/nometa-1.0.dist-info' && "
        f"{pip} install --force-reinstall --no-deps 'nometa==1.0'"
    )
    assert fixes["duplicate", "foo"] == (
        f"rm -rf '{site}/foo-1.0.dist-info' && {pip} install --force-reinstall --no-deps 'foo==2.0'"
    )
    assert fixes["leftover", f"{site}/~oo"] == f"rm -rf '{site}/~oo'"
    assert fixes["name", f"{site}/my_package-1.0.dist-info"] == (
        f"rm -rf '{site}/my_package-1.0.dist-info', then reinstall the project it belongs to"
    )
    assert fixes["unmet", "needsghost"] == f"{pip} install 'ghost>=1'"
    assert fixes["conflict", "needsolddep"] == f"{pip} install 'dep<1'"
    assert fixes["conflict", "oldstyle"] == f"{pip} install 'dep>=3'"
    assert fixes["undecodable", "garbled"] == (
        f"{pip} install --force-reinstall --no-deps 'garbled==1.0'"
    )
    messages = {(p["kind"], p["subject"]): p["message"] for p in problems}
    assert messages["conflict", "needsolddep"] == (
        "needsolddep 1.0 requires dep<1, but dep 2.0 is installed"
    )
    assert "'1.0-custom+weird!'" in messages["version", "weird"]

    # the text report: severity and message on one line, the fix on the next
    code, out, _ = envlock(capsys, "doctor", "--python", str(python))
    lines = out.splitlines()
    assert code == 1 and lines[-1] == "6 error(s), 6 warning(s), 0 note(s)"
    at = lines.index("error: [conflict] needsolddep 1.0 requires dep<1, but dep 2.0 is installed")
    assert lines[at + 1] == f"  fix: {pip} install 'dep<1'"
    assert not any("ghost2" in line or "ghost3" in line or "ghost4" in line for line in lines)


def test_doctor_reads_a_prefix_without_running_it(
    broken: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    python, _ = broken
    code, problems = doctor_json(capsys, "--prefix", str(python.parent.parent))
    assert code == 1
    assert {p["kind"] for p in problems} == {
        "conflict",
        "duplicate",
        "name",
        "no-metadata",
        "unmet",
        "egg-info",
        "egg-link",
        "leftover",
        "undecodable",
        "version",
    }


def test_capture_warns_and_verify_compares_the_odd_version_exactly(
    broken: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    python, site = broken
    lock = tmp_path / "envlock.yaml"
    code, _, err = envlock(capsys, "capture", "--python", str(python), "--no-runtime", str(lock))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("envlock: warning: ")]
    for expected in (
        "nometa-1.0.dist-info: no readable METADATA",
        "garbled-1.0.dist-info: METADATA is not valid UTF-8",
        "foo-2.0.dist-info: foo 2.0 is installed twice in one directory (also foo 1.0",
        "~oo: left behind by an interrupted pip run",
        "~oo-1.0.dist-info: left behind by an interrupted pip run",
        "legacy.egg-link: a legacy develop install (setup.py develop) of legacy",
        "weird-1.0.dist-info: version '1.0-custom+weird!' is not PEP 440",
        "1 distribution(s) installed in the legacy .egg-info format (oldstyle 1.0)",
        "my_package-1.0.dist-info: 'my package' is not a valid project name (PEP 508); "
        "not recorded",
    ):
        assert sum(expected in w for w in warnings) == 1, (expected, warnings)
    assert len(warnings) == 9, warnings
    assert "ghost" not in err  # requirements are doctor's business, not capture's
    (env,) = validate(lock)["environments"].values()
    assert env["packages"]["weird"]["version"] == "1.0-custom+weird!"
    assert env["packages"]["foo"]["version"] == "1.0"  # the first, as before
    assert "nometa" not in env["packages"] and "legacy" in env["packages"]
    assert not any(" " in name for name in env["packages"])

    code, out, err = envlock(capsys, "verify", "--python", str(python), "--no-runtime", str(lock))
    assert code == 0, out + err
    meta = dist_info_dir(site, "weird") / "METADATA"
    original = meta.read_text(encoding="utf-8")
    try:
        meta.write_text(metadata("weird", "1.0-custom+weird!!", "", ""), encoding="utf-8")
        code, out, err = envlock(
            capsys, "verify", "--python", str(python), "--no-runtime", str(lock)
        )
        assert code == 1 and "1.0-custom+weird!!" in out, out + err
        assert "internal error" not in err
    finally:
        meta.write_text(original, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Leaks: PYTHONPATH and the user site-packages
# ---------------------------------------------------------------------------------------------


def test_pythonpath_leak_and_shadowed_distribution(
    tmp_path: Path,
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    python = install(tmp_path / "venv", wheelhouse, "bar==1.0")
    other = site_packages(install(tmp_path / "other", wheelhouse, "bar==9.0", "dep==2.0"))
    monkeypatch.setenv("PYTHONPATH", str(other))
    code, problems = doctor_json(capsys, "--python", str(python))
    assert code == 0
    assert kinds(problems) == [
        ("warning", "pythonpath", str(other)),
        ("info", "shadowed", "bar"),
    ]
    leak, shadowed = problems
    assert leak["message"] == f"{other}: on sys.path through PYTHONPATH, with 2 distribution(s)"
    assert shadowed["message"].startswith(f"{site_packages(python)}/bar-1.0.dist-info: bar 1.0")
    code, _, err = envlock(capsys, "capture", "--python", str(python), "--no-runtime")
    assert code == 0
    assert (
        f"envlock: warning: {other}: on sys.path through PYTHONPATH, with 2 distribution(s)" in err
    )


def test_user_site_packages_leak(
    tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Path(getattr(sys, "_base_executable", "") or sys.executable)
    if not base.is_file():
        pytest.skip(f"no base interpreter at {base} to run with a user site-packages")
    python = tmp_path / "bin" / "python"  # another path: envlock probes it in a child
    python.parent.mkdir()
    python.symlink_to(base.resolve())
    user_base = tmp_path / "userbase"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    user_site = user_base / "lib" / f"python{version}" / "site-packages"
    if os.name == "nt":
        pytest.skip("the user site-packages layout differs on Windows")
    user_site.mkdir(parents=True)
    (user_site / "usertool-1.0.dist-info").mkdir()
    (user_site / "usertool-1.0.dist-info" / "METADATA").write_text(
        metadata("usertool", "1.0", "", ""), encoding="utf-8"
    )
    monkeypatch.setenv("PYTHONUSERBASE", str(user_base))
    payload = _run_probe(python, PROBE, [], details=True)
    leaks = [p for p in payload["problems"] if p["kind"] == "leak"]
    assert leaks == [
        {"kind": "leak", "path": str(user_site), "origin": "the user site-packages", "count": 1}
    ]
    warnings = from_payload(payload, tmp_path, "probe").warnings
    assert (
        f"{user_site}: on sys.path through the user site-packages, with 1 distribution(s) "
        "that leak into the environment" in warnings
    )


# ---------------------------------------------------------------------------------------------
# --deep: files against pip's RECORD and conda's paths_data
# ---------------------------------------------------------------------------------------------


def test_deep_finds_files_changed_after_pip_installed_them(
    tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    python = install(tmp_path / "venv", wheelhouse, "hashed==1.0", "dep==2.0")
    site = site_packages(python)
    code, out, _ = envlock(capsys, "doctor", "--python", str(python), "--deep")
    assert (code, out.splitlines()[-1]) == (0, "no problems found"), out
    (site / "hashed" / "__init__.py").write_text("X = 2\n", encoding="utf-8")
    (site / "hashed" / "data.txt").unlink()

    code, out, _ = envlock(capsys, "doctor", "--python", str(python))
    assert code == 0  # not without --deep: hashing is not free
    code, problems = doctor_json(capsys, "--python", str(python), "--deep")
    assert code == 1
    assert [(p["kind"], p["subject"], p["message"], p["fix"]) for p in problems] == [
        (
            "altered",
            "hashed",
            "hashed 1.0: 1 file(s) differ from what was installed: hashed/__init__.py",
            f"{display_path(python)} -m pip install --force-reinstall --no-deps 'hashed==1.0'",
        ),
        (
            "missing-file",
            "hashed",
            "hashed 1.0: 1 installed file(s) are missing: hashed/data.txt",
            f"{display_path(python)} -m pip install --force-reinstall --no-deps 'hashed==1.0'",
        ),
    ]
    _, _, err = envlock(capsys, "doctor", "--python", str(python), "--deep")
    assert "envlock: --deep: hashing every installed file" in err
    # a dist-info without RECORD cannot be checked: a warning, not an error
    (dist_info_dir(site, "dep") / "RECORD").unlink()
    code, problems = doctor_json(capsys, "--python", str(python), "--deep")
    assert code == 1 and kinds(problems)[-1] == ("warning", "unchecked", "dep")
    assert problems[-1]["message"].endswith("no readable RECORD (FileNotFoundError): its files "
                                            "cannot be checked")  # fmt: skip


def _real_hashes(prefix: Path) -> None:
    """Give every record's paths_data the hashes of the files as they are now on disk, as
    conda writes them when it links a package."""
    for record in (prefix / "conda-meta").glob("*.json"):
        data = json.loads(record.read_text(encoding="utf-8"))
        for entry in data["paths_data"]["paths"]:
            content = (prefix / entry["_path"]).read_bytes()
            entry["sha256"] = entry["sha256_in_prefix"] = hashlib.sha256(content).hexdigest()
            entry["size_in_bytes"] = len(content)
        record.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


def test_deep_conda_files_altered_or_missing_and_pip_over_conda(
    tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = tmp_path / "conda"
    python = make_conda_prefix(prefix)
    version = python_version_of(str(python))
    site_rel = f"lib/python{'.'.join(version.split('.')[:2])}/site-packages"
    for rel, text in {
        "share/condapkg/data.txt": "data\n",
        "share/condapkg/other.txt": "other\n",
        f"{site_rel}/condapkg/__init__.py": "X = 1\n",
        f"{site_rel}/pipconda/__init__.py": "X = 1\n",
    }.items():
        (prefix / rel).parent.mkdir(parents=True, exist_ok=True)
        (prefix / rel).write_text(text, encoding="utf-8")
    for name in ("condapkg", "pipconda"):
        dist = conda_dist_info(prefix, version, name, "1.0")
        files = files_under(prefix, f"share/{name}") if name == "condapkg" else []
        files += [f"{site_rel}/{name}/__init__.py", *files_under(prefix, dist)]
        write_record(prefix, name, "1.0", "h0_0", subdir=host_subdir(), files=files)
    _real_hashes(prefix)

    code, out, _ = envlock(capsys, "doctor", "--prefix", str(prefix), "--deep")
    assert (code, out.splitlines()[-1]) == (0, "no problems found"), out

    pip_install(python, "--no-deps", "--find-links", str(wheelhouse), "pipconda==2.0")
    (prefix / "share/condapkg/data.txt").write_text("changed\n", encoding="utf-8")
    (prefix / "share/condapkg/other.txt").unlink()
    code, problems = doctor_json(capsys, "--prefix", str(prefix))
    assert code == 1
    assert kinds(problems) == [
        ("error", "missing-dist-info", "conda:pipconda"),
        ("warning", "pip-over-conda", "pipconda"),
    ]
    code, problems = doctor_json(capsys, "--prefix", str(prefix), "--deep")
    assert code == 1
    assert kinds(problems) == [
        ("error", "altered", "conda:condapkg"),
        ("error", "altered", "conda:pipconda"),
        ("error", "missing-dist-info", "conda:pipconda"),
        ("error", "missing-file", "conda:condapkg"),
        ("error", "missing-file", "conda:pipconda"),
        ("warning", "pip-over-conda", "pipconda"),
    ]
    by = {(p["kind"], p["subject"]): p for p in problems}
    altered = by["altered", "conda:condapkg"]
    assert altered["message"] == (
        "conda:condapkg 1.0: 1 file(s) differ from what was installed: share/condapkg/data.txt"
    )
    assert altered["fix"] == (
        f"conda install -p {display_path(prefix)} --force-reinstall 'condapkg=1.0=h0_0'"
    )
    assert by["missing-file", "conda:condapkg"]["message"].endswith("share/condapkg/other.txt")
    # the same through the interpreter, and capture and verify keep working
    code, problems = doctor_json(capsys, "--python", str(python), "--deep")
    assert code == 1 and len(problems) == 6
    code, _, err = envlock(capsys, "capture", "--python", str(python), "--no-runtime")
    assert code == 0, err
    code, out, err = envlock(capsys, "verify", "--python", str(python), "--no-runtime")
    assert code == 0, out + err


# ---------------------------------------------------------------------------------------------
# Usage, and the probe's contract
# ---------------------------------------------------------------------------------------------


def test_usage_and_inspection_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = envlock(capsys, "doctor", "--python", "x", "--prefix", "y")
    assert code == 2 and "not allowed with" in err
    code, _, err = envlock(capsys, "doctor", "--prefix", str(tmp_path / "absent"))
    assert code == 3 and "no such directory" in err
    (tmp_path / "empty").mkdir()
    code, _, err = envlock(capsys, "doctor", "--prefix", str(tmp_path / "empty"))
    assert code == 3 and "not a Python environment" in err


def test_details_change_nothing_else_in_the_payload() -> None:
    plain = _probe.collect([], in_process=True)
    detailed = _probe.collect([], in_process=True, details=True)
    assert set(detailed) - set(plain) <= {"problems"}
    assert detailed["distributions"] == plain["distributions"]
    assert detailed["warnings"] == plain["warnings"]


def test_marker_environment_is_the_one_packaging_computes() -> None:
    from packaging.markers import default_environment

    expected = {k: v for k, v in default_environment().items() if isinstance(v, str)}
    assert _doctor_probe.marker_environment() == expected
    assert _run_probe(Path(sys.executable), DOCTOR_PROBE, []) == {
        "marker_environment": expected,
        "externally_managed": False,  # (a venv, or an interpreter of its own)
    }


@pytest.mark.parametrize(
    "version",
    ["1", "1.0", "1.26.4", "2.1.0+cu121", "1.0.post1", "1!2.0rc1.dev3", "v1.0", "1.0-1",
     "2.0.0-beta.1", "0.1.dev1+g1234abc", "1.0-custom+weird!", "1.0.", ".1", "1..0", "abc",
     "1.0+", "\u0661.0", "2024.1"],
)  # fmt: skip
def test_pep440_check_agrees_with_packaging(version: str) -> None:
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
        valid = True
    except InvalidVersion:
        valid = False
    assert is_pep440(version) is valid


def test_a_fix_pins_a_version_pip_can_read() -> None:
    """pip refuses ``==`` with a version that is not PEP 440; ``===`` compares it as text."""
    from envlock.doctor import _reinstall

    assert (
        _reinstall("kappa", "foo.baz")
        == "pip install --force-reinstall --no-deps 'kappa===foo.baz'"
    )
    assert _reinstall("kappa", "1.0") == "pip install --force-reinstall --no-deps 'kappa==1.0'"


def test_output_holds_no_home_path_and_no_terminal_control(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fix names a home path as ``~/'...'`` (the shell expands the unquoted ``~``); a name
    or path with an escape sequence or a line break is shown, never sent raw."""
    from envlock.doctor import Problem, quote, render_json, render_text

    home = tmp_path / "me"
    monkeypatch.setenv("HOME", str(home))
    site = f"{home}/venv/lib/python3.11/site-packages"
    assert quote(f"{site}/it's-1.0.dist-info") == (
        "~/'venv/lib/python3.11/site-packages/it'\"'\"'s-1.0.dist-info'"
    )
    assert quote("/opt/x") == "'/opt/x'"
    evil = Problem("name", "error", "e\x1b[31mvil", "a\n[forged] b\u202e", f"rm -rf {quote(site)}")
    text = render_text((evil,), "venv")
    assert str(home) not in text and "\x1b" not in text and "\u202e" not in text
    assert "a\\n[forged] b" in text and "[forged]" not in text.splitlines()[1][:9]
    assert "  fix: rm -rf ~/'venv/lib/python3.11/site-packages'\n" in text
    raw = Problem("shadowed", "info", site, f"{site}: shadowed", f"nothing, unless {site} is odd")
    shown = render_text((raw,), "venv") + render_json((raw,), "venv")
    assert str(home) not in shown and "nothing, unless ~/venv/lib/python3.11/" in shown


SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.mark.skipif(
    not SYSTEM_PYTHON.exists() or not list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED")),
    reason="no externally managed system Python (Debian's and Ubuntu's /usr/bin/python3 is one)",
)
def test_a_system_managed_python_gets_no_pip_or_rm_fix(capsys: pytest.CaptureFixture[str]) -> None:
    """Debian's python3: its packages are apt's (PEP 668). A fix that runs pip (which refuses)
    or removes a folder (after which apt's package is broken) is replaced by the right one."""
    for where in (("--python", str(SYSTEM_PYTHON)), ("--prefix", "/usr")):
        code, out, err = envlock(capsys, "doctor", *where, "--format", "json")
        assert code in (0, 1), err
        fixes = [p["fix"] for p in json.loads(out)["problems"]]
        assert not [f for f in fixes if "pip " in f or "rm -rf" in f], fixes
    managed = {"externally_managed": True, "distributions": [], "marker_environment": {}}
    leftover = doctor.Problem("leftover", "warning", "/usr/x", "m", "rm -rf '/usr/x'")
    assert doctor._for_its_installer([leftover], managed)[0].fix == doctor.SYSTEM_MANAGED


def test_one_version_in_two_metadata_folders_is_a_warning() -> None:
    """Debian's python3-cryptography ships cryptography.egg-info and
    cryptography-38.0.4.dist-info: one version, so nothing is undefined about the import."""
    raw = {"kind": "duplicate", "path": "/s/a.egg-info", "name": "a", "version": "1.0",
           "other": "/s/a-1.0.dist-info", "other_version": "1.0"}  # fmt: skip
    same = doctor._duplicate(raw, "a")
    assert same.severity == "warning" and "a 1.0 has two metadata folders" in same.message
    assert doctor._duplicate({**raw, "version": "2.0"}, "a").severity == "error"
