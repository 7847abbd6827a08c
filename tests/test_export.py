"""`envlock export`: requirements, pylock.toml, conda @EXPLICIT and environment.yml from a
lockfile environment, built in code, captured from real venvs and conda prefixes, and read
back with the tools' own parsers (packaging's Requirement and PEP 751 validator, pip itself)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from condafactory import conda_dist_info, make_conda_prefix, write_history, write_record
from factory import (
    build_wheel,
    git_requirement,
    make_git_repo,
    make_project,
    make_venv,
    pip_env,
    pip_install,
)
from packaging.requirements import Requirement
from support import envlock, host_env

from envlock import api, lockfile
from envlock import export as export_module
from envlock.condamodel import CondaPackage, CondaSection
from envlock.errors import LockfileError, UsageError
from envlock.export import FORMATS, export
from envlock.model import Environment, Lockfile, Package, Platform, Python, Source

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SHA = "ab" * 32
MD5 = "cd" * 16


def _env(
    *packages: Package, conda: CondaSection | None = None, os_name: str = "linux"
) -> Environment:
    return Environment(
        python=Python(implementation="cpython", version="3.11.9"),
        platform=Platform(os=os_name, machine="x86_64"),
        packages=packages,
        kind="conda" if conda else "venv",
        conda=conda,
    )


DIRECT = (
    Package(
        "vcspkg",
        "1.2",
        source=Source(
            kind="vcs",
            vcs="git",
            url="https://user:hunter2@github.com/org/repo.git",
            commit=COMMIT,
            requested_revision="main",
            subdirectory="sub",
        ),
    ),
    Package("editpkg", "0.1", source=Source(kind="directory", path="src/editpkg", editable=True)),
    Package("homepkg", "0.2", source=Source(kind="directory", path="~/code/homepkg")),
    Package("abspkg", "0.3", source=Source(kind="directory", path="/opt/abspkg")),
    Package(
        "wheelpkg",
        "2.0",
        source=Source(
            kind="archive",
            url="https://files.example.com/wheelpkg-2.0-py3-none-any.whl?token=SECRET",
            hash=f"sha256={SHA}",
        ),
    ),
    Package(
        "localwheel",
        "3.0",
        source=Source(
            kind="archive", path="dist/localwheel-3.0-py3-none-any.whl", hash=f"sha256={SHA}"
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# requirements
# ---------------------------------------------------------------------------------------------


def _requirement_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_requirements_every_source_kind() -> None:
    env = _env(Package("numpy", "2.1.3", installer="pip", source=Source(kind="index")), *DIRECT)
    text = export(env, "requirements", name="linux-64")
    assert text.startswith(
        "# Exported by envlock from environment linux-64 (Python 3.11.9, linux-64)."
    )
    assert "relative to the lockfile's directory" in text
    assert _requirement_lines(text) == [
        "abspkg @ file:///opt/abspkg",
        "-e ./src/editpkg",
        "${HOME}/code/homepkg",
        "./dist/localwheel-3.0-py3-none-any.whl  # sha256=" + SHA,
        "numpy==2.1.3",
        f"vcspkg @ git+https://github.com/org/repo.git@{COMMIT}#subdirectory=sub",
        "wheelpkg @ https://files.example.com/wheelpkg-2.0-py3-none-any.whl?token=***"
        f"#sha256={SHA}",
    ]
    assert "hunter2" not in text and "SECRET" not in text and text.endswith("\n")
    # no --hash options: one would switch pip to --require-hashes for the whole file
    assert "--hash" not in text
    for line in _requirement_lines(text):
        if line.startswith(("-e ", "./", "${HOME}")):
            continue  # pip's own spellings of local paths, not PEP 508
        req = Requirement(line)
        assert req.name in {p.name for p in env.packages}


def test_paths_in_home_directories() -> None:
    """Yours is ${HOME}, which pip expands; another user's (recorded as ~NAME: no home path is
    written into a lockfile) stays for a person to replace, as the header says; a local
    channel in a home directory likewise."""
    env = _env(
        Package("mine", "1", source=Source(kind="directory", path="~/src/mine", editable=True)),
        Package("theirs", "2", source=Source(kind="directory", path="~alice/src/theirs")),
        conda=CondaSection(
            packages=(
                CondaPackage("local", "1", "0", channel_url="file://~alice/bld", subdir="noarch"),
            ),
            channels=("file://~alice/bld",),
        ),
    )
    text = export(env, "requirements")
    assert _requirement_lines(text) == ["-e ${HOME}/src/mine", "~alice/src/theirs"]
    assert f"# {export_module._OTHER_HOMES}" in text.splitlines()
    assert "# ~NAME" not in export(_env(DIRECT[2]), "requirements")  # ~/ only: no note
    for fmt in ("conda-explicit", "environment-yml"):
        text = export(env, fmt)
        assert "file://~alice/bld" in text and "which conda does not expand" in text, fmt


def test_requirements_are_deterministic_and_the_same_from_yaml_and_toml() -> None:
    root = Path(__file__).resolve().parents[1] / "examples"
    yaml_env = api.load(root / "envlock.yaml").environments["linux-64"]
    toml_env = api.load(root / "envlock.toml").environments["linux-64"]
    text = export(yaml_env, "requirements", name="linux-64")
    assert text == export(toml_env, "requirements", name="linux-64")
    assert _requirement_lines(text) == [f"{p.name}=={p.version}" for p in yaml_env.packages]
    for line in _requirement_lines(text):
        assert str(Requirement(line)) == line


def test_requirements_of_a_conda_environment_say_conda_packages_are_elsewhere() -> None:
    conda = CondaSection(
        packages=(CondaPackage("python", "3.11.9", "h0_cpython", channel="conda-forge"),)
    )
    text = export(
        _env(Package("gamma", "1.0", source=Source(kind="index")), conda=conda), "requirements"
    )
    assert "conda's own are in `envlock export --to conda-explicit`" in text
    assert _requirement_lines(text) == ["gamma==1.0"]


# ---------------------------------------------------------------------------------------------
# pylock.toml
# ---------------------------------------------------------------------------------------------


def test_pylock_of_direct_sources_is_valid_pep_751() -> None:
    text = export(_env(*DIRECT), "pylock", name="linux-64")
    assert "hunter2" not in text and "SECRET" not in text and text.endswith("\n")
    pylock = pytest.importorskip("packaging.pylock", reason="packaging < 25.1 has no validator")
    data = lockfile.parse(text, "toml")
    lock = pylock.Pylock.from_dict(data)
    lock.validate()
    assert data["lock-version"] == "1.0" and data["created-by"] == "envlock"
    assert data["requires-python"] == "==3.11.9"
    assert data["environments"] == ['sys_platform == "linux"']
    packages = {p.name: p for p in lock.packages}
    vcs = packages["vcspkg"].vcs
    assert vcs is not None and vcs.commit_id == COMMIT and vcs.subdirectory == "sub"
    assert vcs.url == "https://github.com/org/repo.git" and vcs.requested_revision == "main"
    edit = packages["editpkg"].directory
    assert edit is not None and edit.path == "src/editpkg" and edit.editable
    assert packages["editpkg"].version is None  # PEP 751: no version for a source tree
    archive = packages["wheelpkg"].archive
    assert archive is not None and archive.hashes == {"sha256": SHA}
    assert str(packages["wheelpkg"].version) == "2.0"
    local = packages["localwheel"].archive
    assert local is not None and local.path == "dist/localwheel-3.0-py3-none-any.whl"
    assert "Installers do not expand ~" in text  # homepkg's ~/code/homepkg


def test_pylock_refuses_index_packages_it_cannot_lock() -> None:
    env = _env(Package("numpy", "2.1.3", source=Source(kind="index")), *DIRECT)
    with pytest.raises(UsageError) as err:
        export(env, "pylock", name="linux-64")
    message = str(err.value)
    assert "\n" not in message and "1 package(s)" in message and "numpy" in message
    assert "--to requirements" in message


def test_pylock_refuses_an_archive_without_a_hash() -> None:
    env = _env(Package("x", "1.0", source=Source(kind="archive", url="https://e.com/x-1.0.tar.gz")))
    with pytest.raises(UsageError, match="1 package"):
        export(env, "pylock")


# ---------------------------------------------------------------------------------------------
# conda, built in code
# ---------------------------------------------------------------------------------------------

CONDA = CondaSection(
    packages=(
        CondaPackage(
            "numpy",
            "2.1.3",
            "py311h_0",
            channel="conda-forge",
            channel_url="https://conda.anaconda.org/conda-forge",
            subdir="linux-64",
            md5=MD5,
            sha256=SHA,
        ),
        CondaPackage("tzdata", "2024a", "h0_0", channel="pkgs/main", subdir="noarch", sha256=SHA),
        CondaPackage("old", "1.0", "0", channel="defaults", subdir="linux-64"),
        CondaPackage(
            "private",
            "1.0",
            "h1_0",
            channel="https://conda.example.com/t/tk-SECRET/private",
            channel_url="https://conda.example.com/t/tk-SECRET/private",
            subdir="linux-64",
            md5=MD5,
        ),
        CondaPackage("lost", "1.0", "0"),
        # conda's names may start with '_': nearly every Linux environment has these
        CondaPackage(
            "_libgcc_mutex", "0.1", "conda_forge", channel="conda-forge", subdir="linux-64"
        ),
        CondaPackage("_openmp_mutex", "4.5", "2_gnu", channel="conda-forge", subdir="linux-64"),
    ),
    channels=("conda-forge",),
)


def test_conda_explicit_urls_hashes_and_channels() -> None:
    text = export(
        _env(Package("gamma", "1.0", source=Source(kind="index")), conda=CONDA),
        "conda-explicit",
        name="ml",
    )
    lines = text.splitlines()
    assert "# platform: linux-64" in lines
    body = lines[lines.index("@EXPLICIT") + 1 :]
    assert body == [
        "https://conda.anaconda.org/conda-forge/linux-64/_libgcc_mutex-0.1-conda_forge.conda",
        "https://conda.anaconda.org/conda-forge/linux-64/_openmp_mutex-4.5-2_gnu.conda",
        "# lost-1.0-0: no channel recorded; left out",
        f"https://conda.anaconda.org/conda-forge/linux-64/numpy-2.1.3-py311h_0.conda#{MD5}",
        "https://repo.anaconda.com/pkgs/main/linux-64/old-1.0-0.conda",
        f"https://conda.example.com/t/***/private/linux-64/private-1.0-h1_0.conda#{MD5}",
        f"https://repo.anaconda.com/pkgs/main/noarch/tzdata-2024a-h0_0.conda#sha256:{SHA}",
    ]
    assert "SECRET" not in text and "--to requirements" in text and text.endswith("\n")


def test_environment_yml_lists_conda_then_pip() -> None:
    env = _env(*DIRECT[:2], Package("gamma", "1.0", source=Source(kind="index")), conda=CONDA)
    text = export(env, "environment-yml", name="ml")
    assert "SECRET" not in text and "hunter2" not in text
    data = yaml.safe_load(text)
    assert data["name"] == "ml"
    assert data["channels"] == [
        "conda-forge",
        "defaults",
        "https://conda.example.com/t/***/private",
        "pkgs/main",
    ]
    assert data["dependencies"] == [
        "_libgcc_mutex=0.1=conda_forge",
        "_openmp_mutex=4.5=2_gnu",
        "lost=1.0=0",
        "numpy=2.1.3=py311h_0",
        "old=1.0=0",
        "private=1.0=h1_0",
        "tzdata=2024a=h0_0",
        {
            "pip": [
                "-e ./src/editpkg",
                "gamma==1.0",
                f"vcspkg @ git+https://github.com/org/repo.git@{COMMIT}#subdirectory=sub",
            ]
        },
    ]


@pytest.mark.parametrize("fmt", ["conda-explicit", "environment-yml"])
def test_conda_formats_refuse_an_environment_without_conda(fmt: str) -> None:
    with pytest.raises(UsageError, match="environment linux-64 has no conda packages"):
        export(_env(Package("a", "1", source=Source(kind="index"))), fmt, name="linux-64")


def test_requirements_refuse_an_environment_without_python_packages() -> None:
    """A conda environment pip installed nothing in: a file of comments only would install
    nothing and read back as no lockfile at all."""
    env = _env(conda=CondaSection(packages=(ZLIB,)))
    with pytest.raises(UsageError, match="environment linux-64 has no Python packages; export"):
        export(env, "requirements", name="linux-64")


def test_requirements_pin_a_version_that_is_not_pep_440_as_pip_reads_it(tmp_path: Path) -> None:
    """``===`` (pip refuses ``==`` there), and envlock reads it back as that version."""
    from envlock.foreign import requirements as read_requirements

    text = export(_env(Package("legacy-thing", "2.0-custom_build")), "requirements")
    assert "legacy-thing===2.0-custom_build" in text.splitlines()
    (want,) = read_requirements.parse(text, base_dir=tmp_path).pip
    assert (want.name, want.version) == ("legacy-thing", "2.0-custom_build")


def test_unknown_format() -> None:
    with pytest.raises(UsageError, match="unknown export format"):
        export(_env(), "pipfile")


@pytest.mark.parametrize("fmt", ["requirements", "pylock", "conda-explicit", "environment-yml"])
def test_same_environment_same_bytes(fmt: str) -> None:
    env = _env(*DIRECT, conda=CONDA)
    reordered = _env(
        *reversed(DIRECT),
        conda=CondaSection(packages=tuple(reversed(CONDA.packages)), channels=CONDA.channels),
    )
    assert export(env, fmt, name="x") == export(reordered, fmt, name="x")


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def test_cli_writes_the_host_capture(host_lockfile: Path, tmp_path: Path) -> None:
    lock = api.load(host_lockfile)
    (name,) = lock.environments
    out = tmp_path / "requirements.txt"
    done = envlock(
        "export",
        str(host_lockfile),
        "--to",
        "requirements",
        "-o",
        str(out),
        cwd=tmp_path,
        env=host_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "wrote" in done.stderr
    text = out.read_text(encoding="utf-8")
    stdout = envlock(
        "export", str(host_lockfile), "--to", "requirements", cwd=tmp_path, env=host_env()
    )
    assert stdout.returncode == 0 and stdout.stdout == text
    assert f"environment {name}" in text
    pinned = {p.name: p.version for p in lock.environments[name].packages}
    assert f"pytest=={pinned['pytest']}" in text.splitlines()
    for line in _requirement_lines(text):
        if not line.startswith(("-e ", "./", "${HOME}")):
            assert Requirement(line).name in pinned


def test_cli_pylock_of_index_installs_is_one_line_exit_2(
    host_lockfile: Path, tmp_path: Path
) -> None:
    done = envlock("export", str(host_lockfile), "--to", "pylock", cwd=tmp_path, env=host_env())
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "pip lock" in done.stderr


def test_cli_errors(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "envlock.yaml"
    cases = [
        (["--to", "requirements", "--env", "nope", str(example)], "no environment 'nope'"),
        (["--to", "requirements", str(tmp_path / "missing.yaml")], "no such lockfile"),
        (["--to", "conda-explicit", str(example)], "has no conda packages"),
        (["--to", "requirements", "-o", str(example), str(example)], "is the lockfile itself"),
        (
            ["--to", "requirements", "--env", "nosuch", str(example)],
            "envlock.yaml: no environment 'nosuch' in the lockfile; it has: ",
        ),
    ]
    for args, message in cases:
        done = envlock("export", *args, cwd=tmp_path, env=host_env())
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    bad = envlock("export", "--to", "pipfile", str(example), cwd=tmp_path, env=host_env())
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


ZLIB = CondaPackage(name="zlib", version="1.3.1", build="h0_0", channel="conda-forge")
HOSTILE = {
    "a second line": _env(Package("six", "1.17.0\n--extra-index-url https://attacker.example/s")),
    "an option for a name": _env(Package("--index-url=https://evil.example/", "1")),
    "a path for a name": _env(Package("-e /etc", "1")),
    "a commit with a line": _env(
        Package("r", "1", source=Source(kind="vcs", vcs="git", url="https://h/r", commit="a\nb"))
    ),
    "a url with a space": _env(
        Package("r", "1", source=Source(kind="archive", url="https://h/r.whl --trusted-host evil"))
    ),
    "an escape sequence": _env(Package("six\x1b]0;pwned\x07", "1")),
    "a bidi override": _env(Package("six", "1\u202e0")),
    "a conda build with a url": _env(
        conda=CondaSection(packages=(replace(ZLIB, build="0\nhttps://attacker/evil-1-0.conda#"),))
    ),
    "a conda channel option": _env(conda=CondaSection(packages=(ZLIB,), channels=("--override",))),
    # found by an audit: values that stay on one line yet say more to pip or conda
    "a version with a marker": _env(Package("numpy", '1.26.4;sys_platform=="nope"')),
    "a commit with a fragment": _env(
        Package("r", "1", source=Source("vcs", vcs="git", url="https://h/r", commit="a#egg=x"))
    ),
    "a path with an option": _env(
        Package("d", "1", source=Source("directory", path="d --config-settings=x=y"))
    ),
    "a path with a marker": _env(
        Package("d", "1", source=Source("directory", path="c;os_name")),
    ),
    "a path with a comment": _env(Package("d", "1", source=Source("archive", path="b #x.whl"))),
    "a subdirectory climbing out": _env(
        Package("r", "1", source=Source("vcs", url="https://h/r", subdirectory="../.."))
    ),
    "a url that expands a secret": _env(
        Package("r", "1", source=Source("archive", url="https://evil/${GITHUB_TOKEN}.whl"))
    ),
    "a conda build with a path": _env(
        conda=CondaSection(packages=(replace(ZLIB, build="0/../../../attacker/linux-64/x-9-0"),))
    ),
    "a conda version with a query": _env(
        conda=CondaSection(packages=(replace(ZLIB, version="1.3.1?x=1"),))
    ),
    # found by a second audit
    "a url with a marker": _env(
        Package(
            "a", "1", source=Source("archive", url='https://h/a-1-py3-none-any.whl;os_name=="x"')
        )
    ),
    "a vcs url with a fragment": _env(
        Package("c", "1", source=Source("vcs", vcs="git", url="https://h/c.git#", commit="ab12"))
    ),
    "a vcs url with a query": _env(
        Package("c", "1", source=Source("vcs", vcs="git", url="https://h/c.git?", commit="ab12"))
    ),
    "a conda channel that expands a variable": _env(
        conda=CondaSection(packages=(ZLIB,), channels=("https://evil/$GITHUB_TOKEN/c",))
    ),
    "a path with extras": _env(Package("e", "1", source=Source("directory", path="src/e[dev]"))),
    "a subdirectory with extras": _env(
        Package("r", "1", source=Source("vcs", url="https://h/r", subdirectory="e[boom]"))
    ),
    "a url that joins the next line": _env(
        Package("a", "1", source=Source("archive", url="https://h/a-1-py3-none-any.whl\\"))
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_value_that_would_say_more_is_never_exported(case: str, fmt: str) -> None:
    """A lockfile from a pull request: nothing in it may add a line, an option or a URL to
    what an installer reads, or an escape sequence to a terminal."""
    with pytest.raises(LockfileError, match="not exported"):
        export(HOSTILE[case], fmt, name="linux-64")
    with pytest.raises(LockfileError, match="not exported"):
        export(_env(), fmt, name="x\n--index-url https://evil.example/")


def test_cli_refuses_a_hostile_lockfile_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "envlock.yaml"
    api.dump(Lockfile(environments={"linux-64": HOSTILE["a second line"]}), path)
    done = envlock("export", "--to", "requirements", str(path), cwd=tmp_path, env=host_env())
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        "envlock: error: envlock.yaml: environments.linux-64.packages.six"
    )


def _host_platform() -> Platform:
    system = platform.system().lower()
    return Platform(os={"darwin": "macos"}.get(system, system), machine=platform.machine().lower())


def test_cli_default_lockfile_and_environment_for_this_platform(tmp_path: Path) -> None:
    here = Environment(
        python=Python(version="3.11.9"),
        platform=_host_platform(),
        packages=(Package("here", "1.0", source=Source(kind="index")),),
    )
    there = Environment(
        python=Python(version="3.11.9"),
        platform=Platform(os="windows", machine="arm64"),
        packages=(Package("there", "1.0", source=Source(kind="index")),),
    )
    api.dump(Lockfile(environments={"here": here, "there": there}), tmp_path / "envlock.yaml")
    done = envlock("export", "--to", "requirements", cwd=tmp_path, env=host_env())
    assert done.returncode == 0, done.stderr
    assert _requirement_lines(done.stdout) == ["here==1.0"]
    api.dump(Lockfile(environments={"a": there, "b": there}), tmp_path / "envlock.yaml")
    done = envlock("export", "--to", "requirements", cwd=tmp_path, env=host_env())
    assert done.returncode == 2 and "choose one with --env NAME" in done.stderr
    done = envlock("export", "--to", "requirements", "--env", "b", cwd=tmp_path, env=host_env())
    assert done.returncode == 0 and "there==1.0" in done.stdout


# ---------------------------------------------------------------------------------------------
# Real environments: capture, export, install the export, verify
# ---------------------------------------------------------------------------------------------


def test_requirements_reinstall_a_venv_that_verifies(tmp_path: Path) -> None:
    """Every kind of source pip records, captured, exported, installed by pip into a fresh
    venv from the lockfile's directory, and verified against the lockfile."""
    root = tmp_path / "project"
    wheelhouse = tmp_path / "wheelhouse"
    build_wheel(wheelhouse, "alpha", "1.0")
    build_wheel(root / "wheels", "beta", "2.0")
    build_wheel(tmp_path / "elsewhere", "delta", "4.0")
    editme = make_project(root / "edit me", "editme", "0.1")  # a space: pip splits -e's value
    plain = make_project(root / "plainsrc", "plain", "0.2")  # a directory named otherwise
    spaced = make_project(root / "plain src", "spaced", "0.4")  # a bare path with a space
    # named only by its build backend: the file's guess (dynamic-name) is the package
    # installed from that folder, whatever its name
    dynamic = make_project(root / "dynamic-name", "realname", "0.5")
    for project, name, version in ((plain, "plain", "0.2"), (editme, "editme", "0.1")):
        with open(project / "pyproject.toml", "a", encoding="utf-8") as pyproject:
            pyproject.write(f'[project]\nname = "{name}"\nversion = "{version}"\n')
    repo = make_project(tmp_path / "repo", "fromgit", "0.3")
    commit = make_git_repo(repo)
    a = make_venv(tmp_path / "a")
    pip_install(a, "--find-links", str(wheelhouse), "alpha")
    pip_install(a, str(root / "wheels" / "beta-2.0-py3-none-any.whl"))
    pip_install(a, str(tmp_path / "elsewhere" / "delta-4.0-py3-none-any.whl"))
    pip_install(a, "-e", str(root / "edit me"))
    pip_install(a, str(plain))
    pip_install(a, str(spaced))
    pip_install(a, "-e", str(dynamic))
    pip_install(a, git_requirement("fromgit", repo, commit))
    done = envlock("capture", "--python", str(a), "envlock.yaml", cwd=root, env=host_env())
    assert done.returncode == 0, done.stderr
    done = envlock(
        "export", "--to", "requirements", "-o", "requirements.txt", cwd=root, env=host_env()
    )
    assert done.returncode == 0, done.stderr
    text = (root / "requirements.txt").read_text(encoding="utf-8")
    lines = _requirement_lines(text)
    assert "alpha==1.0" in lines and "-e './edit me'" in lines and "./plainsrc" in lines
    assert "./plain src" in lines and "-e ./dynamic-name" in lines  # as pip reads them
    assert any(line.startswith("./wheels/beta-2.0-py3-none-any.whl  # sha256=") for line in lines)
    assert any(line.startswith("delta @ file://") and "#sha256=" in line for line in lines)
    assert f"fromgit @ git+{repo.resolve().as_uri()}@{commit}" in lines
    # pip 23.2 reads `NAME @ git+file:///...` as invalid (no host): give it the egg spelling
    pip_lines = [
        git_requirement("fromgit", repo, commit) if line.startswith("fromgit @ ") else line
        for line in text.splitlines()
    ]
    (root / "requirements.txt").write_text("\n".join(pip_lines) + "\n", encoding="utf-8")
    # the export round-trips: the environment it came from matches it, nothing noted
    against = envlock(
        "verify", "--python", str(a), "--against", "requirements.txt", "--format", "json",
        cwd=root, env=host_env(),
    )  # fmt: skip
    report = json.loads(against.stdout)
    assert against.returncode == 0, report["findings"]
    assert not [f for f in report["findings"] if f["severity"] in ("error", "warning")]
    assert "plainsrc" not in against.stderr, against.stderr  # named by its pyproject.toml
    guessed = "(dynamic-name), line 11 (plain-src): the file names no package (#egg=NAME)"
    assert guessed in against.stderr, against.stderr  # yet found by their paths: no extra
    b = make_venv(tmp_path / "b")
    pip = [sys.executable, "-m", "pip", "--python", str(b), "install", "--no-index",
           "--no-build-isolation", "--no-cache-dir", "--find-links", str(wheelhouse),
           "-r", "requirements.txt"]  # fmt: skip
    installed = subprocess.run(
        pip, cwd=root, env=pip_env(), capture_output=True, text=True, timeout=600
    )
    assert installed.returncode == 0, installed.stderr
    done = envlock("verify", "--python", str(b), "--format", "json", cwd=root, env=host_env())
    report = json.loads(done.stdout)
    assert done.returncode == 0, report["findings"]
    assert not [f for f in report["findings"] if f["severity"] in ("error", "warning")]


def _conda_env() -> dict[str, str]:
    from envlock.variables import VARIABLES

    env = {k: v for k, v in host_env().items() if k not in VARIABLES and not k.startswith("CONDA")}
    return env


def test_conda_prefix_capture_exports_its_own_urls(tmp_path: Path) -> None:
    """A conda prefix written in conda's format (records that carry their `url` and `md5`),
    with a package pip installed on top: the explicit spec gives back each record's URL."""
    prefix = tmp_path / "env"
    python = make_conda_prefix(prefix)
    version = ".".join(platform.python_version_tuple()[:2])
    alpha = conda_dist_info(prefix, platform.python_version(), "alpha", "1.0")
    write_record(prefix, "alpha", "1.0", "py_0", files=[f"{alpha}/METADATA", f"{alpha}/RECORD"])
    write_record(prefix, "libfoo", "2.0", "h1234_1", build_number=1, files=["lib/libfoo.so"])
    write_record(prefix, "_libgcc_mutex", "0.1", "conda_forge", files=[])  # '_': conda allows it
    tzdata = write_record(prefix, "tzdata", "2024a", "h0_0", channel="defaults", subdir="noarch")
    record = json.loads(tzdata.read_text())  # an older package, served as .tar.bz2
    for key in ("fn", "url"):
        record[key] = record[key].replace(".conda", ".tar.bz2")
    tzdata.write_text(json.dumps(record))
    write_history(prefix, [("update", ["+conda-forge/linux-64::alpha-1.0-py_0"], ["alpha=1.0"])])
    (prefix / ".condarc").write_text("channels:\n  - conda-forge\n", encoding="utf-8")
    wheelhouse = tmp_path / "wheelhouse"
    build_wheel(wheelhouse, "gamma", "1.0")
    pip_install(python, "--find-links", str(wheelhouse), "gamma")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(_conda_env(), HOME=str(home))
    done = envlock(
        "capture",
        "--prefix",
        str(prefix),
        "--name",
        f"py{version}",
        "envlock.yaml",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote envlock.yaml [py{version}]: 5 conda and 1 pip packages\n" in done.stderr

    done = envlock("export", "--to", "conda-explicit", "-o", "explicit.txt", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "explicit.txt").read_text(encoding="utf-8")
    records = [json.loads(p.read_text()) for p in sorted((prefix / "conda-meta").glob("*.json"))]
    body = text.splitlines()[text.splitlines().index("@EXPLICIT") + 1 :]
    assert body == sorted(f"{r['url']}#{r['md5']}" for r in records)
    assert any(line.split("#")[0].endswith("tzdata-2024a-h0_0.tar.bz2") for line in body)
    assert ".conda is assumed" not in text  # every record said its file type
    assert "# platform: " in text and "--to requirements" in text  # gamma is pip's
    # read back, it matches: tzdata's "defaults" is the pkgs/main its URL names
    args = ("verify", "--prefix", str(prefix), "--against", "explicit.txt", "--format", "json")
    done = envlock(*args, cwd=tmp_path, env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["findings"] == [], done.stdout

    done = envlock("export", "--to", "environment-yml", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    assert data["name"] == f"py{version}"
    assert data["channels"] == ["conda-forge", "defaults"]
    specs = sorted(f"{r['name']}={r['version']}={r['build']}" for r in records)
    assert data["dependencies"] == [*specs, {"pip": ["gamma==1.0"]}]

    done = envlock("export", "--to", "requirements", cwd=tmp_path, env=env)
    assert done.returncode == 0 and _requirement_lines(done.stdout) == ["gamma==1.0"]


def test_every_format_is_listed_in_help() -> None:
    done = envlock("export", "--help", env=host_env())
    assert done.returncode == 0
    for fmt in FORMATS:
        assert fmt in done.stdout
