"""The probe is one standard-library-only file that runs inside other interpreters."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from envlock import _probe
from envlock.target import _run_probe

PROBE = Path(_probe.__file__)
OLD_PYTHONS = [
    Path(f"/root/.pyenv/versions/{v}/bin/python") for v in ("3.8.18", "3.9.18", "3.13.0")
]


# Every file that runs inside other interpreters, as a script.
STANDALONE = [*sorted(PROBE.parent.glob("_*_probe.py")), PROBE]


@pytest.mark.parametrize("script", STANDALONE, ids=lambda p: p.name)
def test_probe_imports_only_the_standard_library(script: Path) -> None:
    tree = ast.parse(script.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports in the probe"
            imported.add((node.module or "").split(".")[0])
    if not hasattr(sys, "stdlib_module_names"):
        pytest.skip("Python 3.10+ lists its standard library")
    stdlib = set(sys.stdlib_module_names)
    # threadpoolctl: the BLAS probe's optional helper, imported inside a try when it is the
    # target's own or was handed in; never needed.
    assert imported and imported - {"threadpoolctl"} <= stdlib, imported - stdlib


@pytest.mark.parametrize("script", STANDALONE, ids=lambda p: p.name)
def test_probe_keeps_python_38_syntax(script: Path) -> None:
    ast.parse(script.read_text(), feature_version=(3, 8))


def test_no_envlock_module_shadows_the_standard_library() -> None:
    # The probe runs with envlock's package directory as sys.path[0] until it removes it.
    if not hasattr(sys, "stdlib_module_names"):
        pytest.skip("Python 3.10+ lists its standard library")
    names = {p.stem for p in PROBE.parent.iterdir() if p.suffix == ".py" or p.is_dir()}
    assert not names & set(sys.stdlib_module_names)


@pytest.mark.parametrize("python", OLD_PYTHONS, ids=lambda p: p.parts[-3])
def test_probe_runs_in_other_interpreters(python: Path) -> None:
    if not python.exists():
        pytest.skip(f"{python} is not installed on this machine")
    payload = _run_probe(python, PROBE, ["OMP_NUM_THREADS"])
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert payload["python"]["version"] == version
    assert payload["probe_version"] == _probe.PROBE_VERSION
    assert "pip" in {d["name"] for d in payload["distributions"]}


@pytest.mark.parametrize("python", [Path(sys.executable), *OLD_PYTHONS], ids=lambda p: p.parts[-3])
def test_platform_facts_are_what_the_platform_module_says(python: Path) -> None:
    # The probe reads them from os.uname() without importing platform (its import compiles a
    # dozen regular expressions); they must be the same values.
    if not python.exists():
        pytest.skip(f"{python} is not installed on this machine")
    facts = _run_probe(python, PROBE, [])["platform"]
    system, release, machine = json.loads(
        subprocess.run(
            [str(python), "-c", "import json, platform as p; "
             "print(json.dumps([p.system(), p.release(), p.machine()]))"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    assert facts["os"] == {"darwin": "macos"}.get(system.lower(), system.lower())
    assert (facts["kernel"], facts["machine"]) == (release, machine.lower())
    # ... and must not import it (unless the interpreter had at start-up: a .pth may)
    loaded = subprocess.run(
        [str(python), "-c", "import sys; before = 'platform' in sys.modules; "
         "sys.path.insert(0, sys.argv[1]); import _probe; _probe.platform_facts(); "
         "print(before, 'platform' in sys.modules)", str(PROBE.parent)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert loaded in (["False", "False"], ["True", "True"])


def test_stray_output_cannot_corrupt_the_payload(tmp_path: Path) -> None:
    # A sitecustomize that prints, as some corporate images do.
    (tmp_path / "sitecustomize.py").write_text("print('hello from sitecustomize {\"x\": 1}')\n")
    env_python = sys.executable
    done = subprocess.run(
        [env_python, str(PROBE), "@@M@@", "[]"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert done.stdout.startswith("hello from sitecustomize")
    body = done.stdout.split("@@M@@")[1]
    assert json.loads(body)["probe_version"] == _probe.PROBE_VERSION


def test_cpu_level_from_flags() -> None:
    v3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave", "sse2"}
    v2 = {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}
    assert _probe._x86_level(v3 | v2) == "x86-64-v3"
    assert _probe._x86_level(v2 | {"sse2"}) == "x86-64-v2"
    assert _probe._x86_level({"sse2"}) == "x86-64"


def test_broken_metadata_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    good = tmp_path / "good-1.0.dist-info"
    good.mkdir()
    (good / "METADATA").write_text("Metadata-Version: 2.1\nName: Good\nVersion: 1.0\n\nbody\n")
    (tmp_path / "nometa-1.0.dist-info").mkdir()
    broken = tmp_path / "broken-1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nSummary: no name\n")
    dists, warnings = _probe.scan_distributions([str(tmp_path)])
    assert [d["name"] for d in dists] == ["Good"]
    assert len(warnings) == 2
    assert any("nometa-1.0.dist-info: no readable METADATA" in w for w in warnings)
    assert any("broken-1.0.dist-info: METADATA has no Name or Version" in w for w in warnings)


def test_metadata_header_names_are_case_insensitive(tmp_path: Path) -> None:
    """``name:`` and ``VERSION:`` are the headers pip, uv and importlib read (email headers);
    a ``Name-Suffix:`` header is not ``Name``."""
    lower = tmp_path / "lower-1.0.dist-info"
    lower.mkdir()
    (lower / "METADATA").write_text(
        "metadata-version: 2.1\nname-x: no\nname: lower\nVERSION: 1.0\n"
    )
    dists, warnings = _probe.scan_distributions([str(tmp_path)])
    assert [(d["name"], d["version"]) for d in dists] == [("lower", "1.0")] and warnings == []
