"""``envlock verify --against FILE``: real environments (a venv with pip installs from a
wheelhouse, a git repository, an editable project and an sdist; a conda prefix written in
conda's format with pip installs on top) checked against foreign lockfiles that describe
them, then against ones with a changed version, a missing and an extra package; and
``envlock export`` round trips: an exported file verifies the same environment clean."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest
from condafactory import conda_dist_info, make_conda_prefix, write_record
from factory import build_wheel, make_git_repo, make_project, make_sdist, make_venv, pip_install
from support import envlock

PYVER = f"{sys.version_info[0]}.{sys.version_info[1]}"
FULL = ".".join(map(str, sys.version_info[:3]))
REPORT_SCHEMA = json.loads((Path(__file__).parents[1] / "schemas/report.schema.json").read_text())


def _env(home: Path | None = None) -> dict[str, str]:
    from envlock.variables import VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and not k.startswith("CONDA")}
    env.pop("VIRTUAL_ENV", None)
    env["ENVLOCK_CACHE_DIR"] = "off"
    if home is not None:
        env["HOME"] = str(home)
    return env


def check(target: list[str], against: Path, *extra: str) -> tuple[int, dict, str]:
    done = envlock(
        "verify", *target, "--against", str(against), "--format", "json", *extra,
        cwd=against.parent, env=_env(against.parent / "home"),
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, REPORT_SCHEMA)
    return done.returncode, report, done.stderr


def brief(report: dict) -> set[tuple]:
    return {
        (f["category"], f["subject"], f["expected"], f["actual"], f["severity"])
        for f in report["findings"]
    }


# --- a venv -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the foreign lockfiles live; the editable project is under it."""
    root = tmp_path_factory.mktemp("against")
    (root / "home").mkdir()
    return root


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, work: Path) -> dict[str, object]:
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    for name, version in [("alpha", "1.0"), ("alpha", "2.0"), ("beta", "1.0")]:
        build_wheel(wheelhouse, name, version)
    editable = make_project(work / "proj", "proj", "0.1.0")
    git_dir = make_project(tmp_path_factory.mktemp("git") / "gitpkg", "gitpkg", "0.3.0")
    commit = make_git_repo(git_dir)
    archive = make_sdist(
        make_project(tmp_path_factory.mktemp("build") / "archpkg", "archpkg", "0.4.0"),
        work / "dist",
    )
    python = make_venv(tmp_path_factory.mktemp("venvs") / "v")
    pip_install(python, "--find-links", str(wheelhouse), "alpha==1.0", "beta==1.0")
    pip_install(python, "-e", str(editable))
    pip_install(python, f"gitpkg @ git+file://{git_dir}@{commit}")
    pip_install(python, str(archive))
    return {"python": python, "git": git_dir, "commit": commit, "archive": archive}


def _requirements(venv: dict[str, object], alpha: str = "1.0", extra: str = "") -> str:
    return (
        "# pinned by hand for the test\n"
        f"alpha=={alpha}\n"
        "beta==1.0 ; python_version >= '3'\n"
        "unrelated==9.9 ; sys_platform == 'no-such-platform'\n"
        f"gitpkg @ git+file://{venv['git']}@{venv['commit']}\n"
        "-e ./proj\n"
        f"archpkg @ file://{venv['archive']}\n"
        f"{extra}"
    )


def test_requirements_describing_the_venv_match(work: Path, venv: dict[str, object]) -> None:
    req = work / "requirements.txt"
    req.write_text(_requirements(venv))
    code, report, _ = check(["--python", str(venv["python"])], req)
    assert code == 0, report
    assert report["findings"] == []


def test_requirements_drift(work: Path, venv: dict[str, object]) -> None:
    req = work / "drifted.txt"
    text = _requirements(venv, alpha="2.0", extra="zeta==1.0\n").replace("beta==1.0", "# beta")
    text = text.replace(str(venv["commit"]), "0" * 40)
    req.write_text(text)
    code, report, _ = check(["--python", str(venv["python"])], req)
    assert code == 1
    found = brief(report)
    assert ("version", "alpha", "2.0", "1.0", "error") in found
    assert ("missing", "zeta", "1.0", None, "error") in found
    assert ("extra", "beta", None, "1.0", "warning") in found
    assert any(f[0] == "source" and f[1] == "gitpkg" for f in found)
    fixes = {f["subject"]: f["hint"] for f in report["findings"]}
    assert fixes["zeta"].startswith(f"{venv['python']} -m pip install 'zeta==1.0'")
    # the marker that holds nowhere keeps "unrelated" out of the findings
    assert not any(f[1] == "unrelated" for f in found)


def test_requirements_saved_as_utf16_with_lines_repeated(
    work: Path, venv: dict[str, object]
) -> None:
    """Windows PowerShell 5's ``pip freeze > requirements.txt`` writes UTF-16, which pip
    reads; a line given twice is one requirement, and its drift one finding."""
    req = work / "utf16.txt"
    req.write_bytes(_requirements(venv).replace("\n", "\r\n").encode("utf-16"))
    code, report, _ = check(["--python", str(venv["python"])], req)
    assert code == 0 and report["findings"] == [], report
    req.write_text(_requirements(venv, extra="zeta==1.0\nzeta==1.0\nalpha==1.0\n"))
    code, report, _ = check(["--python", str(venv["python"])], req)
    assert code == 1
    assert [(f["category"], f["subject"]) for f in report["findings"]] == [("missing", "zeta")]


def test_environment_yml_pip_list_is_read_as_a_requirements_file(
    work: Path, venv: dict[str, object]
) -> None:
    """The same name twice with different markers, and two locations whose guessed names are
    the same (``./a/src``, ``./b/src``), as pip would take them: not "listed twice"."""
    items = [line for line in _requirements(venv).splitlines() if not line.startswith("#")]
    items += ["alpha==0.9 ; python_version < '3'", "./a/src", "./b/src"]
    env_yml = work / "pip-only.yml"
    env_yml.write_text(
        "name: t\ndependencies:\n  - pip:\n" + "".join(f'    - "{i}"\n' for i in items)
    )
    code, report, _ = check(["--python", str(venv["python"])], env_yml)
    assert code == 0 and report["findings"] == [], report
    notes = " ".join(report["not_checked"])
    assert "pip[7] (src)" in notes and "pip[8] (src)" in notes, notes


def test_text_report_and_exit_codes(work: Path, venv: dict[str, object]) -> None:
    req = work / "r.txt"
    req.write_text(_requirements(venv, alpha="2.0"))
    done = envlock(
        "verify", "--python", str(venv["python"]), "--against", str(req), cwd=work, env=_env()
    )
    assert done.returncode == 1
    assert "r.txt [pinned requirements]" in done.stdout
    assert "alpha: 2.0 -> 1.0" in done.stdout
    bad = work / "bad.txt"
    bad.write_text("this is not ) a requirement\n")
    done = envlock(
        "verify", "--python", str(venv["python"]), "--against", str(bad), cwd=work, env=_env()
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 + done.stderr.count("envlock: environment")
    assert "bad.txt" in done.stderr and "Traceback" not in done.stderr
    done = envlock("verify", "--against", str(work / "absent.txt"), cwd=work, env=_env())
    assert done.returncode == 2 and "absent.txt" in done.stderr
    # the file is read before the environment is looked for: a missing one is said first
    done = envlock("verify", "--against", str(work / "absent.txt"), "--python",
                   str(work / "no-python"), cwd=work, env=_env())  # fmt: skip
    assert done.returncode == 2 and "absent.txt: no such file" in done.stderr, done.stderr
    # a committed link to a file of secrets: the error quotes the line, never the secret
    for line in ("aws_secret_access_key = AKIAZqSECRET1", "machine h login me password ZqSECRET2"):
        secrets = work / "credentials"
        secrets.write_text(f"{line}\n")
        link = work / "requirements-link.txt"
        link.unlink(missing_ok=True)
        link.symlink_to(secrets)
        done = envlock("verify", "--python", str(venv["python"]), "--against", str(link),
                       cwd=work, env=_env())  # fmt: skip
        assert done.returncode == 2 and "ZqSECRET" not in done.stderr, done.stderr
    done = envlock("verify", "--platform", "linux-64", cwd=work, env=_env())
    assert done.returncode == 2 and "--against" in done.stderr


def test_pylock_describing_the_venv(work: Path, venv: dict[str, object]) -> None:
    pylock = work / "pylock.toml"
    pylock.write_text(
        f"""lock-version = "1.0"
created-by = "hand"
requires-python = ">={PYVER}"

[[packages]]
name = "alpha"
version = "1.0"
[[packages.wheels]]
url = "https://files.pythonhosted.org/packages/alpha-1.0-py3-none-any.whl"
hashes = {{sha256 = "{"a" * 64}"}}

[[packages]]
name = "beta"
version = "1.0"
marker = "python_version >= '3'"
[[packages.wheels]]
url = "https://files.pythonhosted.org/packages/beta-1.0-py3-none-any.whl"
hashes = {{sha256 = "{"b" * 64}"}}

[[packages]]
name = "gitpkg"
version = "0.3.0"
vcs = {{type = "git", url = "file://{venv["git"]}", commit-id = "{venv["commit"]}"}}

[[packages]]
name = "proj"
version = "0.1.0"
directory = {{path = "proj", editable = true}}

[[packages]]
name = "archpkg"
version = "0.4.0"
archive = {{path = "{venv["archive"]}", hashes = {{sha256 = "{"c" * 64}"}}}}
"""
    )
    code, report, _ = check(["--python", str(venv["python"])], pylock)
    found = brief(report)
    # the sdist was installed from a path: pip recorded its real hash, not the fake one
    assert {f[:2] for f in found} == {("source", "archpkg")}, found
    assert code == 1
    drifted = work / "old.pylock.toml"
    drifted.write_text(
        pylock.read_text()
        .replace(f'requires-python = ">={PYVER}"', 'requires-python = "<3"')
        .replace('version = "1.0"\nmarker', 'version = "0.9"\nmarker')
        .replace("beta-1.0-py3", "beta-0.9-py3")
    )
    code, report, _ = check(["--python", str(venv["python"])], drifted)
    found = brief(report)
    assert ("python", "version", "<3", FULL, "error") in found
    assert ("version", "beta", "0.9", "1.0", "error") in found


def test_round_trip_through_export(tmp_path: Path, work: Path, venv: dict[str, object]) -> None:
    lock = work / "envlock.yaml"
    done = envlock("capture", "--python", str(venv["python"]), str(lock), cwd=work, env=_env())
    assert done.returncode == 0, done.stderr
    out = work / "exported.txt"
    done = envlock("export", str(lock), "--to", "requirements", "-o", str(out), cwd=work)
    assert done.returncode == 0, done.stderr
    code, report, _ = check(["--python", str(venv["python"])], out)
    assert report["findings"] == [] and code == 0, (out.read_text(), report)
    # PEP 751 wants the wheel files and hashes of index installs, which no installer keeps:
    # pylock round-trips environments of git, directory and archive installs
    python = make_venv(tmp_path / "direct")
    pip_install(python, "-e", str(work / "proj"))
    pip_install(python, f"gitpkg @ git+file://{venv['git']}@{venv['commit']}")
    pip_install(python, str(venv["archive"]))
    lock = work / "direct.envlock.yaml"
    done = envlock("capture", "--python", str(python), str(lock), cwd=work, env=_env())
    assert done.returncode == 0, done.stderr
    out = work / "pylock.direct.toml"
    done = envlock("export", str(lock), "--to", "pylock", "-o", str(out), cwd=work)
    assert done.returncode == 0, done.stderr
    code, report, _ = check(["--python", str(python)], out)
    assert report["findings"] == [] and code == 0, (out.read_text(), report)


# --- a conda prefix ---------------------------------------------------------------------------

CHANNEL = "https://conda.anaconda.org/conda-forge"


@pytest.fixture(scope="module")
def conda_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """python and libfoo from conda, alpha owned by conda (with its dist-info), gamma
    pip-installed on top."""
    root = tmp_path_factory.mktemp("conda") / "env"
    wheelhouse = tmp_path_factory.mktemp("wheels")
    build_wheel(wheelhouse, "gamma", "1.0")
    python = make_conda_prefix(root)
    alpha = conda_dist_info(root, PYVER, "alpha", "1.0")
    write_record(root, "alpha", "1.0", "py_0", files=[f"{alpha}/METADATA", f"{alpha}/RECORD"])
    write_record(root, "libfoo", "2.0", "h1234_1", build_number=1, files=["lib/libfoo.so"])
    pip_install(python, "--find-links", str(wheelhouse), "gamma")
    records = {}
    for path in (root / "conda-meta").glob("*.json"):
        record = json.loads(path.read_text())
        records[record["name"]] = record
    return {"prefix": root, "python": python, "records": records}


def _explicit(records: dict[str, dict], skip: str = "", change: dict | None = None) -> str:
    lines = ["# platform: linux-64", "@EXPLICIT"]
    for name, r in sorted(records.items()):
        if name == skip:
            continue
        url = r["url"]
        if change and name in change:
            url = url.replace(r["version"], change[name])
        lines.append(f"{url}#{r['md5']}")
    return "\n".join(lines) + "\n"


def test_conda_explicit_describing_the_prefix(work: Path, conda_env: dict) -> None:
    from condafactory import host_subdir

    if host_subdir() != "linux-64":
        pytest.skip("the records are written for linux-64")
    spec = work / "explicit.txt"
    spec.write_text(_explicit(conda_env["records"]))
    code, report, _ = check(["--prefix", str(conda_env["prefix"])], spec)
    assert code == 0 and report["findings"] == [], report
    # pip packages are not checked, nor counted as checked
    done = envlock("verify", "--prefix", str(conda_env["prefix"]), "--against", str(spec),
                   cwd=work, env=_env())  # fmt: skip
    count = len(conda_env["records"])
    assert f"[conda explicit spec: linux-64]: {count} conda packages checked" in done.stdout
    spec.write_text(_explicit(conda_env["records"], skip="libfoo", change={"alpha": "1.1"}))
    code, report, _ = check(["--prefix", str(conda_env["prefix"])], spec)
    found = brief(report)
    assert code == 1
    assert ("version", "conda:alpha", "1.1", "1.0", "error") in found
    assert ("extra", "conda:libfoo", None, "2.0", "warning") in found
    # an explicit spec says nothing of pip: gamma is not reported
    assert not any(f[1] == "gamma" for f in found)


def _conda_lock(records: dict[str, dict], pip: list[tuple[str, str]]) -> str:
    entries = []
    for name, r in sorted(records.items()):
        entries.append(
            {
                "name": name,
                "version": r["version"],
                "manager": "conda",
                "platform": "linux-64",
                "dependencies": {},
                "url": r["url"],
                "hash": {"md5": r["md5"], "sha256": r["sha256"]},
                "category": "main",
                "optional": False,
            }
        )
    for name, version in pip:
        entries.append(
            {
                "name": name,
                "version": version,
                "manager": "pip",
                "platform": "linux-64",
                "dependencies": {},
                "url": f"https://files.pythonhosted.org/packages/{name}-{version}-py3-none-any.whl",
                "hash": {"sha256": "d" * 64},
                "category": "main",
                "optional": False,
            }
        )
    import yaml

    return yaml.safe_dump(
        {
            "version": 1,
            "metadata": {
                "content_hash": {"linux-64": "0" * 64},
                "channels": [{"url": "conda-forge", "used_env_vars": []}],
                "platforms": ["linux-64"],
                "sources": ["environment.yml"],
            },
            "package": entries,
        }
    )


def test_conda_lock_describing_the_prefix(work: Path, conda_env: dict) -> None:
    from condafactory import host_subdir

    if host_subdir() != "linux-64":
        pytest.skip("the records are written for linux-64")
    lock = work / "conda-lock.yml"
    lock.write_text(_conda_lock(conda_env["records"], [("gamma", "1.0")]))
    code, report, _ = check(["--prefix", str(conda_env["prefix"])], lock)
    assert code == 0 and report["findings"] == [], report
    records = dict(conda_env["records"])
    records.pop("libfoo")
    lock.write_text(_conda_lock(records, [("gamma", "2.0"), ("delta", "1.0")]))
    code, report, _ = check(["--prefix", str(conda_env["prefix"])], lock)
    found = brief(report)
    assert code == 1
    assert ("version", "gamma", "2.0", "1.0", "error") in found
    assert ("missing", "delta", "1.0", None, "error") in found
    assert ("extra", "conda:libfoo", None, "2.0", "warning") in found


def test_environment_yml_and_round_trip(work: Path, conda_env: dict) -> None:
    prefix = str(conda_env["prefix"])
    records = conda_env["records"]
    env_yml = work / "environment.yml"
    deps = "\n".join(f"  - {n}={r['version']}={r['build']}" for n, r in sorted(records.items()))
    env_yml.write_text(
        f"name: test\nchannels:\n  - conda-forge\ndependencies:\n{deps}\n  - pip:\n"
        "    - gamma==1.0\n"
    )
    code, report, stderr = check(["--prefix", prefix], env_yml)
    assert code == 0 and report["findings"] == [], report
    assert "channels list is not checked" in " ".join(report["not_checked"])
    assert "not checked: the channels list" in stderr
    # a hand-written file naming only some packages: what it does not name is not extra
    env_yml.write_text("name: test\ndependencies:\n  - alpha=1.0\n  - python>=3.8\n")
    code, report, _ = check(["--prefix", prefix], env_yml)
    assert code == 0 and report["findings"] == [], report
    env_yml.write_text("name: test\ndependencies:\n  - alpha>=2\n")
    code, report, _ = check(["--prefix", prefix], env_yml)
    assert code == 1 and brief(report) == {("version", "conda:alpha", ">=2", "1.0", "error")}

    lock = work / "conda.envlock.yaml"
    done = envlock("capture", "--prefix", prefix, str(lock), cwd=work, env=_env(work / "home"))
    assert done.returncode == 0, done.stderr
    for fmt in ("conda-explicit", "environment-yml", "requirements"):
        out = work / f"exported-{fmt}"
        done = envlock("export", str(lock), "--to", fmt, "-o", str(out), cwd=work, env=_env())
        assert done.returncode == 0, done.stderr
        code, report, _ = check(["--prefix", prefix], out)
        assert code == 0 and report["findings"] == [], (fmt, out.read_text(), report)


def test_a_package_moved_between_conda_and_pip_is_one_finding(work: Path, conda_env: dict) -> None:
    from condafactory import host_subdir

    if host_subdir() != "linux-64":
        pytest.skip("the records are written for linux-64")
    records = dict(conda_env["records"])
    alpha = records["alpha"]
    # the lock wants gamma from conda; pip installed it
    records["gamma"] = {**alpha, "url": alpha["url"].replace("alpha", "gamma")}
    lock = work / "moved-conda-lock.yml"
    lock.write_text(_conda_lock(records, []))
    code, report, _ = check(["--prefix", str(conda_env["prefix"])], lock)
    assert code == 1
    assert brief(report) == {("moved", "gamma", "conda 1.0", "pip 1.0", "error")}
    # the lock wants alpha from pip; conda installed it
    records = {n: r for n, r in conda_env["records"].items() if n != "alpha"}
    lock.write_text(_conda_lock(records, [("alpha", "1.0"), ("gamma", "1.0")]))
    code, report, _ = check(["--prefix", str(conda_env["prefix"])], lock)
    assert code == 1
    assert brief(report) == {("moved", "alpha", "pip 1.0", "conda 1.0", "error")}


# --- every real foreign lockfile of the corpus ------------------------------------------------


def test_every_corpus_lockfile_loads_or_is_refused_in_one_line(corpus: Path) -> None:
    """Format detected from the content alone: each file loads, or is refused with one line
    naming it (invalid on purpose, a platform to choose)."""
    from envlock import foreign
    from envlock.errors import LockfileError, UsageError

    loaded, refused = {}, {}
    for path in sorted((corpus / "lockfiles").rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(corpus / "lockfiles").as_posix()
        try:
            loaded[rel] = foreign.load(path, platform="linux-64")
        except (LockfileError, UsageError) as e:
            message = str(e)
            assert "\n" not in message and path.name in message.split(": ")[0], message
            refused[rel] = message
    assert loaded["pylock/TRAP-cambridge-iccs-misnamed.pylock.toml"].format == "requirements"
    assert loaded["pixi/examples-pypi.pixi.lock"].format == "pixi"
    assert loaded["conda-lock/rattler-numpy.conda-lock.yml"].format == "conda-lock"
    assert loaded["explicit/ros-noetic_linux-64.txt"].format == "conda-explicit"
    assert loaded["env-export/dexdeform.environment.yml"].format == "environment-yml"
    assert loaded["pylock/comfy-cli.pylock.toml"].format == "pylock"
    for invalid in (
        "conda-lock/invalid-v1-missing-metadata.conda-lock.yml",
        "conda-lock/mamba-bad_package.conda-lock.yml",
        "pixi/invalid-v6-missing-environments.pixi.lock",
        "pixi/rattler-forward-compatible-version1000.pixi.lock",
        "pylock/pip-tests-pylock.invalid.toml",
    ):
        assert invalid in refused, invalid
    assert "newer" in refused["pixi/rattler-forward-compatible-version1000.pixi.lock"]
    assert "older" in refused["pixi/rattler-v3-robostack-turtlesim.pixi.lock"]
    assert loaded["uv/uv-repo-root.uv.lock"].format == "uv-lock"
    assert loaded["uv/uv-test_publish.py.lock"].format == "uv-lock"
    assert len(loaded) > 80, sorted(refused.items())


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("pixi/examples-pypi.pixi.lock", "pixi.lock"),  # was: 'format version 6 is newer'
        ("uv/uv-repo-root.uv.lock", "uv.lock"),
        ("conda-lock/rattler-numpy.conda-lock.yml", "conda-lock.yml"),
        ("pylock/comfy-cli.pylock.toml", "pylock.toml (PEP 751)"),
        ("explicit/ros-noetic_linux-64.txt", "conda explicit spec"),
        ("env-export/dexdeform.environment.yml", "conda environment file"),
        ("requirements/uv-compiled-jupyter.requirements.txt", "pinned requirements"),
    ],
)
def test_another_tools_lockfile_named_as_the_lockfile_says_to_use_against(
    tmp_path: Path, corpus: Path, rel: str, kind: str
) -> None:
    """``envlock verify pixi.lock`` (without --against) names the format and the command
    that checks against it, not what envlock's own parser made of the file."""
    name = rel.rsplit("/", 1)[1]
    (tmp_path / name).write_bytes((corpus / "lockfiles" / rel).read_bytes())
    for command in (["verify", "--no-runtime"], ["show"], ["export", "--to", "requirements"]):
        done = envlock(*command, name, cwd=tmp_path, env=_env())
        assert done.returncode == 2, done.stdout
        assert done.stderr.splitlines()[-1] == (
            f"envlock: error: {name}: another tool's lockfile ({kind}), not envlock's: check "
            f"an environment against it with `envlock verify --against {name}`"
        )
    # envlock's own, broken or newer, is still said to be so
    (tmp_path / "envlock.yaml").write_text("version: 2\nenvironments: {}\n")
    done = envlock("show", cwd=tmp_path, env=_env())
    assert "format version 2 is newer than this envlock reads" in done.stderr


def _pixi(records: dict[str, dict], pypi: list[tuple[str, str]], environment: str) -> str:
    """A pixi.lock (version 6) whose environment holds ``records`` and ``pypi``."""
    refs, entries = [], []
    for _name, r in sorted(records.items()):
        refs.append(f"      - conda: {r['url']}")
        entries += [f"- conda: {r['url']}", f"  sha256: {r['sha256']}", f"  md5: {r['md5']}"]
    for name, version in pypi:
        url = f"https://files.pythonhosted.org/packages/ab/{name}-{version}-py3-none-any.whl"
        refs.append(f"      - pypi: {url}")
        entries += [f"- pypi: {url}", f"  name: {name}", f"  version: '{version}'"]
        entries.append(f"  sha256: {'e' * 64}")
    return "\n".join(
        [
            "version: 6",
            "environments:",
            f"  {environment}:",
            "    channels:",
            "    - url: https://conda.anaconda.org/conda-forge/",
            "    packages:",
            "      linux-64:",
            *refs,
            "packages:",
            *entries,
            "",
        ]
    )


def test_pixi_lock_describing_the_prefix(work: Path, conda_env: dict) -> None:
    from condafactory import host_subdir

    if host_subdir() != "linux-64":
        pytest.skip("the records are written for linux-64")
    prefix = ["--prefix", str(conda_env["prefix"])]
    lock = work / "pixi.lock"
    records = conda_env["records"]
    lock.write_text(_pixi(records, [("gamma", "1.0")], "default"))
    code, report, _ = check(prefix, lock)
    assert code == 0 and report["findings"] == [], report
    assert report["environment"] == "pixi.lock: default, linux-64"
    # another environment of the file, chosen by name, has drifted
    drifted = {k: v for k, v in records.items() if k != "libfoo"}
    drifted["alpha"] = {**records["alpha"], "md5": "0" * 32, "sha256": "0" * 64}
    lock.write_text(_pixi(drifted, [("gamma", "2.0"), ("delta", "1.0")], "test"))
    code, report, _ = check(prefix, lock, "--against-env", "test")
    found = brief(report)
    assert code == 1
    assert ("version", "gamma", "2.0", "1.0", "error") in found
    assert ("missing", "delta", "1.0", None, "error") in found
    assert ("extra", "conda:libfoo", None, "2.0", "warning") in found
    assert any(f[:2] == ("hash", "conda:alpha") for f in found), found
    done = envlock("verify", *prefix, "--against", str(lock), cwd=work, env=_env(work / "home"))
    assert done.returncode == 2 and "default" in done.stderr and "test" in done.stderr


def test_uv_lock_of_the_project(work: Path, venv: dict[str, object]) -> None:
    """A uv.lock in the editable project's directory: what ``uv sync`` installs there, with
    the dev group (uv's default) or, as ``uv sync --no-dev``, without it."""
    commit = venv["commit"]
    registry = 'source = { registry = "https://pypi.org/simple" }'
    wheel = 'wheels = [{{ url = "https://files.pythonhosted.org/{0}-py3-none-any.whl", hash = "sha256:{1}" }}]'  # noqa: E501
    (work / "proj" / "uv.lock").write_text(
        f"""version = 1
revision = 2
requires-python = ">=3.8"

[[package]]
name = "proj"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "alpha" }},
    {{ name = "beta", marker = "python_full_version >= '3'" }},
    {{ name = "gitpkg" }},
    {{ name = "archpkg" }},
    {{ name = "winonly", marker = "sys_platform == 'win32'" }},
]

[package.dev-dependencies]
dev = [{{ name = "devtool" }}]

[[package]]
name = "alpha"
version = "1.0"
{registry}
{wheel.format("alpha-1.0", "a" * 64)}

[[package]]
name = "beta"
version = "1.0"
{registry}
{wheel.format("beta-1.0", "b" * 64)}

[[package]]
name = "winonly"
version = "1.0"
{registry}
{wheel.format("winonly-1.0", "c" * 64)}

[[package]]
name = "devtool"
version = "1.0"
{registry}
{wheel.format("devtool-1.0", "d" * 64)}

[[package]]
name = "gitpkg"
version = "0.3.0"
source = {{ git = "file://{venv["git"]}?rev={commit}#{commit}" }}

[[package]]
name = "archpkg"
version = "0.4.0"
source = {{ path = "../dist/archpkg-0.4.0.tar.gz" }}
"""
    )
    lock = work / "proj" / "uv.lock"
    code, report, _ = check(["--python", str(venv["python"])], lock)
    assert code == 1 and brief(report) == {("missing", "devtool", "1.0", None, "error")}
    code, report, _ = check(["--python", str(venv["python"])], lock, "--against-groups", "none")
    assert code == 0 and report["findings"] == [], report
