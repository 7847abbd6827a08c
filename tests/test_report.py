"""Reporters are pure; their output is pinned here (the JSON shape is a contract)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_compare import BASE

from envlock import api
from envlock.commands import use_colour
from envlock.model import Package, Source
from envlock.report import jsonfmt, text


def drifted() -> api.Result:
    live = replace(BASE, packages=(Package("numpy", "2.0.0", "pip", True, Source("index")),))
    return api.verify(api.Lockfile(environments={"linux-64": BASE}), live=live)


def test_json_report_contract() -> None:
    data = json.loads(jsonfmt.render(drifted(), "envlock.yaml"))
    assert list(data) == [
        "report_version", "lockfile", "environment", "status", "exit_code", "counts", "findings",
        "complete", "warnings", "not_checked",
    ]  # fmt: skip
    assert data["report_version"] == 1
    assert data["status"] == "drift" and data["exit_code"] == 1
    assert data["counts"] == {"error": 2, "warning": 0, "info": 0}
    assert data["complete"] is True and data["warnings"] == [] and data["not_checked"] == []
    for finding in data["findings"]:
        assert list(finding) == ["category", "subject", "expected", "actual", "severity", "hint"]
    assert data["findings"][0] == {
        "category": "missing",
        "subject": "lib",
        "expected": "1.0",
        "actual": None,
        "severity": "error",
        "hint": f"pip install 'lib @ git+https://h/o/lib@{'a' * 40}'",
    }


def test_text_report_groups_and_colours() -> None:
    plain = text.render(drifted(), "envlock.yaml")
    assert plain.splitlines()[0] == "envlock.yaml [linux-64]: 2 packages checked"  # lib missing
    assert "Missing packages (1)" in plain and "Version changes (1)" in plain
    assert plain.index("Missing packages") < plain.index("Version changes")
    assert plain.rstrip().endswith("drift: 2 errors")
    assert "\033[" not in plain
    assert "\033[31merror  \033[0m" in text.render(drifted(), "envlock.yaml", colour=True)


def test_clean_report_is_one_line() -> None:
    result = api.verify(api.Lockfile(environments={"a": BASE}), live=BASE)
    assert text.render(result, "x.yaml") == "x.yaml [a]: 2 packages checked: matches\n"


class Tty:
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(Tty()) is True
    assert use_colour(sys.stderr if not sys.stderr.isatty() else object()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Tty()) is False


def test_verify_never_imports_jsonschema_or_yaml_on_a_cache_hit(tmp_path: Path) -> None:
    lock = tmp_path / "envlock.yaml"
    code = (
        "import sys, envlock.cli\n"
        "envlock.cli.main(['capture', '-q', sys.argv[1]])\n"
        "envlock.cli.main(['verify', '-q', sys.argv[1]])\n"
        "before = set(sys.modules)\n"
        "for m in [m for m in sys.modules if m.startswith(('yaml', 'jsonschema'))]:\n"
        "    del sys.modules[m]\n"
        "envlock.cli.main(['verify', '-q', sys.argv[1]])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('yaml', 'jsonschema')))\n"
    )
    env = {"ENVLOCK_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(lock)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_verify_loads_only_what_it_uses(tmp_path: Path) -> None:
    """The real check's imports are most of its time: not the other commands, nor hashlib
    (OpenSSL), nor shutil (argparse's terminal width; it brings bz2 and lzma), nor the conda
    model and its comparison outside a conda environment."""
    lock = tmp_path / "envlock.yaml"
    env = {"ENVLOCK_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    for args in (["capture", "-q", str(lock)], ["verify", "-q", str(lock)]):
        done = subprocess.run(
            [sys.executable, "-m", "envlock", *args, "--no-runtime"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
    code = (
        "import sys\n"
        "before = set(sys.modules)  # what the interpreter's start-up imported (.pth files)\n"
        "import envlock.cli\n"
        "code = envlock.cli.main(['verify', '-q', '--no-runtime', '--no-cache', sys.argv[1]])\n"
        "print(code, sorted(m for m in set(sys.modules) - before\n"
        "      if m.startswith('envlock.commands.') or m in ('hashlib', 'shutil', 'yaml')\n"
        "      or m in ('envlock.condamodel', 'envlock.compare_conda')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(lock)], capture_output=True, text=True, env=env,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split(" ", 1) == [
        "0",
        "['envlock.commands.fleet', 'envlock.commands.verify']",
    ]


def test_quiet_and_verbose_go_before_or_after_the_command(tmp_path: Path) -> None:
    from support import envlock

    for args in (["-q", "capture"], ["capture", "-q"]):
        done = envlock(*args, "--prefix", sys.prefix, str(tmp_path / "q.yaml"))
        assert done.returncode == 0 and done.stderr == "", done.stderr
