"""The pre-commit hooks in ``.pre-commit-hooks.yaml``, and ``python -m envlock.lockcheck``
(the ``envlock-check-lockfile`` hook), run as pre-commit runs them: each hook's entry as a
command, on real lockfiles captured from the interpreter running the tests.
``test_precommit_tryrepo.py`` runs them through pre-commit itself (``pre-commit try-repo``)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml
from factory import make_git_repo
from support import envlock, host_env

from envlock import lockcheck, lockfile
from envlock.errors import WriteError

HOOKS_FILE = Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml"
PYTEST_VERSION = version("pytest")


child_env = host_env


def hooks() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return {hook["id"]: hook for hook in data}


def run_hook(hook_id: str, cwd: Path, *filenames: str) -> subprocess.CompletedProcess[str]:
    """The hook's ``entry`` (plus ``args`` and the file names when it takes them), with the
    ``envlock`` and ``python`` on the PATH being this interpreter's."""
    hook = hooks()[hook_id]
    cmd = shlex.split(hook["entry"]) + list(hook.get("args", []))
    if cmd[0] == "envlock":
        cmd[:1] = [sys.executable, "-m", "envlock"]
    elif cmd[0] == "python":
        cmd[0] = sys.executable
    if hook.get("pass_filenames", True):
        cmd.extend(filenames)
    return subprocess.run(
        cmd, cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=300
    )


def lockcheck_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envlock.lockcheck", *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


pytestmark = pytest.mark.usefixtures("no_lockfile_cache")


@pytest.fixture
def repo(tmp_path: Path, host_lockfile: Path) -> Path:
    """A checkout with the committed lockfile (YAML) and its TOML twin."""
    shutil.copy(host_lockfile, tmp_path / "envlock.yaml")
    lockfile.dump(lockfile.load(host_lockfile), tmp_path / "envlock.toml")
    return tmp_path


# .pre-commit-hooks.yaml ----------------------------------------------------------------------


def test_hooks_file_declares_both_hooks() -> None:
    found = hooks()
    assert set(found) == {"envlock-verify", "envlock-check-lockfile"}
    verify = found["envlock-verify"]
    assert verify["entry"] == "envlock verify"
    assert verify["language"] == "system"
    assert verify["pass_filenames"] is False and verify["always_run"] is True
    check = found["envlock-check-lockfile"]
    assert check["entry"] == "python -m envlock.lockcheck"
    assert check["language"] == "system"
    assert check.get("pass_filenames", True) is True
    for hook in found.values():
        assert hook["name"] and hook["description"]


@pytest.mark.parametrize(
    ("name", "selected"),
    [
        ("envlock.yaml", True),
        ("envlock.toml", True),
        ("envlock.yml", False),
        ("sub/envlock.yaml", False),
        ("myenvlock.yaml", False),
        ("envlock.yaml.bak", False),
    ],
)
def test_check_lockfile_hook_selects_the_lockfiles(name: str, selected: bool) -> None:
    pattern = hooks()["envlock-check-lockfile"]["files"]
    assert bool(re.search(pattern, name)) is selected  # pre-commit uses re.search


def test_verify_hook_passes_on_a_matching_environment_and_fails_on_drift(repo: Path) -> None:
    done = run_hook("envlock-verify", repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.match(r"envlock\.yaml \[[\w.-]+\]: \d+ packages checked: matches", done.stdout)
    text = (repo / "envlock.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"^(\s+pytest: \{version: )[^,}]+", r"\g<1>0.0.1", text, flags=re.M)
    assert n == 1
    (repo / "envlock.yaml").write_text(text, encoding="utf-8")
    done = run_hook("envlock-verify", repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"pytest: 0.0.1 -> {PYTEST_VERSION}" in done.stdout


def test_check_lockfile_hook_passes_canonical_lockfiles(repo: Path) -> None:
    done = run_hook("envlock-check-lockfile", repo, "envlock.yaml", "envlock.toml")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


# python -m envlock.lockcheck -----------------------------------------------------------------


def reformat_yaml(path: Path) -> None:
    """The same data as another tool writes it: keys sorted, block style, no header, and a
    blank line before each top-level key."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    text = yaml.safe_dump(data, sort_keys=True, default_flow_style=False)
    path.write_text(re.sub(r"\n(?=\S)", "\n\n", text), encoding="utf-8")


def reformat_toml(path: Path) -> None:
    data = lockfile.parse(path.read_text(encoding="utf-8"), "toml")
    path.write_text("# edited by hand\n\n" + tomli_w.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(("name", "reformat"), [("envlock.yaml", reformat_yaml),
                                                ("envlock.toml", reformat_toml)])  # fmt: skip
def test_reformatted_lockfile_fails_then_fix_restores_it(
    repo: Path, name: str, reformat: Any
) -> None:
    path = repo / name
    canonical = path.read_bytes()
    reformat(path)
    edited = path.read_bytes()
    assert edited != canonical
    assert lockfile.load(path) == lockfile.load(repo / "envlock.yaml"), "same data"

    done = run_hook("envlock-check-lockfile", repo, name)
    assert done.returncode == 1
    assert done.stdout == (
        f"{name}: not canonically formatted "
        f"(run envlock capture, or python -m envlock.lockcheck --fix {name})\n"
    )
    assert path.read_bytes() == edited, "checking never writes"

    path.chmod(0o640)
    done = lockcheck_cli(repo, "--fix", name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"{name}: rewritten in canonical format\n"
    assert path.read_bytes() == canonical, "--fix writes what envlock capture wrote"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 or os.name == "nt"
    assert not [p for p in repo.iterdir() if p.name.endswith(".tmp")], "atomic: no leftovers"

    done = run_hook("envlock-check-lockfile", repo, name)
    assert (done.returncode, done.stdout) == (0, "")


def test_a_windows_checkout_keeps_its_crlf_line_endings(tmp_path: Path, repo: Path) -> None:
    """Git for Windows checks files out with CRLF (``core.autocrlf=true``, its installer's
    default): the hook passes on that checkout, ``envlock capture`` of the unchanged
    environment leaves it alone, and ``--fix`` keeps its line endings."""
    make_git_repo(repo)
    checkout = tmp_path / "windows"
    clone = ["git", "clone", "-q", "--config", "core.autocrlf=true", str(repo), str(checkout)]
    git_env = child_env(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(clone, env=git_env, check=True, capture_output=True, timeout=120)
    crlf = {name: (checkout / name).read_bytes() for name in ("envlock.yaml", "envlock.toml")}
    assert all(data.count(b"\n") == data.count(b"\r\n") > 0 for data in crlf.values())

    assert_kept_in_its_style(checkout, crlf, lambda data: data.replace(b"\n", b"\r\n"))
    mixed = crlf["envlock.yaml"].replace(b"\r\n", b"\n", 1)
    (checkout / "envlock.yaml").write_bytes(mixed)
    assert run_hook("envlock-check-lockfile", checkout, "envlock.yaml").returncode == 1


def test_a_byte_order_mark_from_a_windows_editor_is_kept(repo: Path) -> None:
    """Notepad (before 2019) saves UTF-8 with a byte-order mark: the hook passes on such a
    file, ``envlock capture`` of the unchanged environment leaves it alone, and ``--fix`` of
    a reformatted one keeps the mark."""
    bom = b"\xef\xbb\xbf"
    marked = {name: bom + (repo / name).read_bytes() for name in ("envlock.yaml", "envlock.toml")}
    for name, data in marked.items():
        (repo / name).write_bytes(data)
    assert_kept_in_its_style(repo, marked, lambda data: bom + data)


def assert_kept_in_its_style(
    checkout: Path, styled: dict[str, bytes], restyle: Callable[[bytes], bytes]
) -> None:
    """``styled``, canonical files but for their line endings or byte-order mark (``restyle``
    puts those on a file), pass the hook; ``envlock capture`` of the unchanged environment
    leaves the YAML one alone; the TOML one, reformatted and restyled, fails the hook, and
    ``--fix`` writes it back as it was."""
    done = run_hook("envlock-check-lockfile", checkout, *styled)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = envlock("capture", "envlock.yaml", cwd=checkout, env=child_env())
    assert done.returncode == 0, done.stderr
    assert "unchanged, not rewritten" in done.stderr
    assert (checkout / "envlock.yaml").read_bytes() == styled["envlock.yaml"]

    toml = checkout / "envlock.toml"
    toml.write_bytes(toml.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    reformat_toml(toml)
    toml.write_bytes(restyle(toml.read_bytes()))
    assert run_hook("envlock-check-lockfile", checkout, "envlock.toml").returncode == 1
    assert lockcheck_cli(checkout, "--fix", "envlock.toml").returncode == 0
    assert toml.read_bytes() == styled["envlock.toml"]


def test_invalid_lockfiles_exit_2_with_one_line_each(repo: Path) -> None:
    (repo / "bad.yaml").write_text("environments: [\n", encoding="utf-8")
    (repo / "bad.toml").write_text("version = 99\n[environments]\n", encoding="utf-8")
    reformat_yaml(repo / "envlock.yaml")
    names = ["bad.yaml", "envlock.yaml", "bad.toml", "missing.yaml", "envlock.toml"]
    done = lockcheck_cli(repo, *names)
    assert done.returncode == 2, "invalid beats not canonical"
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stdout
    assert lines[0].startswith("bad.yaml: not valid YAML at line ")
    assert lines[1].startswith("envlock.yaml: not canonically formatted")
    assert lines[2].startswith("bad.toml: ") and "version" in lines[2]
    assert lines[3] == "missing.yaml: no such lockfile (create it with `envlock capture`)"
    # --fix rewrites what it can and still fails on the invalid ones.
    done = lockcheck_cli(repo, "--fix", *names)
    assert done.returncode == 2
    assert "envlock.yaml: rewritten in canonical format" in done.stdout.splitlines()
    assert lockcheck_cli(repo, "envlock.yaml", "envlock.toml").returncode == 0


def test_main_in_process(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    assert lockcheck.main([]) == 0
    assert lockcheck.main(["envlock.yaml", "envlock.toml"]) == 0
    assert capsys.readouterr().out == ""
    reformat_toml(repo / "envlock.toml")
    assert lockcheck.main(["envlock.yaml", "envlock.toml"]) == 1
    assert lockcheck.main(["--fix", "envlock.toml"]) == 0
    assert lockcheck.main(["envlock.toml"]) == 0
    assert lockcheck.main(["--no-such-option"]) == 2
    assert "usage: python -m envlock.lockcheck" in capsys.readouterr().err


def test_names_are_shown_escaped_and_quoted_and_an_unwritable_fix_is_exit_4(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file name from a pull request cannot colour the terminal or forge a line; the
    suggested command works with a space in it; a fix that cannot be written is exit 4."""
    monkeypatch.chdir(repo)
    odd = "my lock\x1b[31m.toml"
    (repo / odd).write_bytes((repo / "envlock.toml").read_bytes())
    reformat_toml(repo / odd)
    assert lockcheck.main([odd]) == 1
    assert capsys.readouterr().out == (
        "my lock\\x1b[31m.toml: not canonically formatted (run envlock capture, or "
        "python -m envlock.lockcheck --fix 'my lock\\x1b[31m.toml')\n"
    )

    def full_disk(*args: object) -> None:  # (root writes a read-only file: say it so)
        raise WriteError(f"{odd}: cannot write: No space left on device")

    monkeypatch.setattr(lockfile, "dump", full_disk)
    assert lockcheck.main(["--fix", odd]) == 4
    assert capsys.readouterr().out == (
        "my lock\\x1b[31m.toml: cannot write: No space left on device\n"
    )


def test_a_value_an_older_envlock_wrote_is_named_with_the_fix_that_keeps_the_environments(
    tmp_path: Path,
) -> None:
    # 3133c50 wrote conda-build's feedstock path whole (/home/conda/...); this envlock
    # writes another user's home as ~conda. The hook said 'not canonically formatted (run
    # envlock capture, ...)', as of a hand edit; capture would take the environment again
    # (from wherever it runs), when only the value's spelling changed.
    old = Path(__file__).parent / "old_lockfiles" / "conda-prefix-3133c50-whole.yaml"
    path = tmp_path / "envlock.yaml"
    path.write_bytes(old.read_bytes())
    done = lockcheck_cli(tmp_path, "envlock.yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == (
        "envlock.yaml: environments.default.packages.alpha.path is written otherwise by this "
        "envlock (as in a lockfile an older envlock wrote): run python -m envlock.lockcheck "
        "--fix envlock.yaml to rewrite it as it is read, without capturing again\n"
    )
    done = lockcheck_cli(tmp_path, "--fix", "envlock.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    text = path.read_text()
    assert "path: ~conda/feedstock_root/build_artifacts/alpha_1704067200/work}" in text
    assert text == old.read_text().replace("/home/conda/", "~conda/"), "nothing else changed"
    assert lockcheck_cli(tmp_path, "envlock.yaml").returncode == 0
