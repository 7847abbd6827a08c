"""The pure comparison: every category, severities, hints, and unknown never reported."""

from __future__ import annotations

from dataclasses import replace

from envlock.compare import compare, install_hint
from envlock.model import Environment, Package, Platform, Python, Source, Variables

BASE = Environment(
    python=Python("cpython", "3.11.7", "cpython-311", False, "linux-x86_64"),
    platform=Platform(
        os="linux",
        machine="x86_64",
        libc="glibc",
        libc_version="2.36",
        kernel="6.1",
        cpu_level="x86-64-v3",
        distro="debian 12",
    ),
    variables=Variables(set={"MKL_CBWR": "AUTO"}, unset=("OMP_NUM_THREADS",)),
    packages=(
        Package("numpy", "1.26.4", "pip", True, Source("index")),
        Package(
            "lib",
            "1.0",
            "pip",
            True,
            Source("vcs", url="https://h/o/lib", vcs="git", commit="a" * 40),
        ),
    ),
)
NUMPY, LIB = BASE.package_map()["numpy"], BASE.package_map()["lib"]


def brief(env: Environment) -> list[tuple[str, str, str | None, str | None, str]]:
    return [(f.category, f.subject, f.expected, f.actual, f.severity) for f in compare(BASE, env)]


def test_identical_is_clean() -> None:
    assert compare(BASE, BASE) == []


def test_unknown_values_are_never_drift() -> None:
    unknown = replace(
        BASE,
        python=Python(version="3.11", method="layout"),
        platform=Platform(method="unknown"),
        variables=None,
        packages=(Package("numpy", "1.26.4"), Package("lib", "1.0")),
    )
    assert compare(BASE, unknown) == []
    assert compare(unknown, BASE) == []


def test_python_minor_is_error_patch_is_warning() -> None:
    assert brief(replace(BASE, python=replace(BASE.python, version="3.12.1"))) == [
        ("python", "version", "3.11.7", "3.12.1", "error")
    ]
    assert brief(replace(BASE, python=replace(BASE.python, version="3.11.9")))[0][-1] == "warning"


def test_platform_severities() -> None:
    changed = replace(BASE.platform, machine="aarch64", kernel="6.8", cpu_level="x86-64-v4")
    assert brief(replace(BASE, platform=changed)) == [
        ("platform", "cpu_level", "x86-64-v3", "x86-64-v4", "warning"),
        ("platform", "kernel", "6.1", "6.8", "info"),
        ("platform", "machine", "x86_64", "aarch64", "error"),
    ]


def test_one_architecture_under_each_systems_name_is_the_same_machine() -> None:
    # Windows says AMD64, macOS arm64 and Linux aarch64: a Windows lockfile checked on Linux
    # is the os error alone, not also a machine error for the same CPU.
    for locked, live in (("AMD64", "x86_64"), ("amd64", "x86_64"), ("arm64", "aarch64")):
        lock = replace(BASE, platform=replace(BASE.platform, os="windows", machine=locked))
        here = replace(BASE, platform=replace(BASE.platform, machine=live))
        assert [(f.subject, f.expected, f.actual) for f in compare(lock, here)] == [
            ("os", "windows", "linux")
        ]
    arm = replace(BASE, platform=replace(BASE.platform, machine="arm64"))
    assert brief(arm) == [("platform", "machine", "x86_64", "arm64", "error")]


def test_a_package_conda_owns_here_is_installed_for_a_lockfile_without_conda() -> None:
    # A venv's lockfile checked in a conda environment, whose numpy is conda's: not missing;
    # installed by conda where pip installed it. A conda environment's lockfile written before
    # envlock read conda-meta took the installer from the dist-info: only the version counts.
    conda_numpy = Package("numpy", "1.26.4", "conda")
    here = replace(BASE, kind="conda", packages=(LIB,), conda_dists=(conda_numpy,))
    assert brief(here) == [("installer", "numpy", "pip", "conda", "warning")]
    old_conda = replace(BASE, kind="conda")
    assert compare(old_conda, here) == []
    older = replace(conda_numpy, version="1.26.3")
    assert [f.category for f in compare(old_conda, replace(here, conda_dists=(older,)))] == [
        "version"
    ]


def test_variables_set_unset_changed() -> None:
    env = replace(BASE, variables=Variables(set={"OMP_NUM_THREADS": "1"}, unset=("MKL_CBWR",)))
    findings = compare(BASE, env)
    assert [(f.subject, f.expected, f.actual, f.severity) for f in findings] == [
        ("MKL_CBWR", "AUTO", None, "error"),
        ("OMP_NUM_THREADS", None, "1", "warning"),
    ]
    assert findings[0].hint.startswith("export MKL_CBWR=AUTO")
    assert findings[1].hint.startswith("unset OMP_NUM_THREADS")


def test_source_commit_change_is_error_with_vcs_hint() -> None:
    moved = Package(
        "lib", "1.0", "pip", True, Source("vcs", url="https://h/o/lib", vcs="git", commit="b" * 40)
    )
    (f,) = compare(BASE, replace(BASE, packages=(NUMPY, moved)))
    assert (f.category, f.severity) == ("source", "error")
    # the same version: pip would keep what is installed unless told to reinstall
    assert f.hint.startswith(
        f"pip install --force-reinstall --no-deps 'lib @ git+https://h/o/lib@{'a' * 40}'"
    )


def test_installer_change_is_warning() -> None:
    by_uv = replace(NUMPY, installer="uv")
    assert brief(replace(BASE, packages=(by_uv, LIB))) == [
        ("installer", "numpy", "pip", "uv", "warning")
    ]
    # the fix is the recorded installer's own command (pip writes INSTALLER when it reinstalls)
    (f,) = compare(BASE, replace(BASE, packages=(by_uv, LIB)))
    assert f.hint.startswith("installed by uv, locked as installed by pip; pip install "
                             "--force-reinstall --no-deps 'numpy==1.26.4', or re-run")  # fmt: skip
    (f,) = compare(replace(BASE, packages=(by_uv, LIB)), BASE)
    assert "; uv pip install --reinstall --no-deps 'numpy==1.26.4', or" in f.hint
    by_conda = replace(NUMPY, installer="conda")
    (f,) = compare(replace(BASE, packages=(by_conda, LIB)), BASE)
    assert "; reinstall it with conda, or" in f.hint


def test_missing_extra_version() -> None:
    live = replace(
        BASE,
        packages=(
            Package("numpy", "2.0.0", "pip", True, Source("index")),
            Package("six", "1.16.0", "pip", True, Source("index")),
        ),
    )
    assert brief(live) == [
        ("missing", "lib", "1.0", None, "error"),
        ("version", "numpy", "1.26.4", "2.0.0", "error"),
        ("extra", "six", None, "1.16.0", "warning"),
    ]


def test_install_hints() -> None:
    assert install_hint(Package("a", "1")) == "pip install 'a==1'"
    assert install_hint(Package("a", "1", source=Source("directory", path=".", editable=True))) == (
        "pip install -e '.' (from the lockfile's directory)"
    )
    # local paths as pip takes them: ./ (recorded relative to the lockfile's directory), a
    # home directory's ~ unquoted so that the shell expands it, an absolute path as it is
    local = {
        "proj": "pip install './proj' (from the lockfile's directory)",
        "~/src/my proj": "pip install -e ~/'src/my proj'",
        "/opt/x": "pip install '/opt/x'",
        "dist/g-1-py3-none-any.whl": (
            "pip install './dist/g-1-py3-none-any.whl' (from the lockfile's directory)"
        ),
    }
    for path, hint in local.items():
        kind = "archive" if path.endswith(".whl") else "directory"
        source = Source(kind, path=path, editable=path.startswith("~"))
        assert install_hint(Package("a", "1", source=source)) == hint
    assert install_hint(Package("a", "1", source=Source("archive", url="https://h/a.whl"))) == (
        "pip install 'a @ https://h/a.whl'"
    )


def test_fixes_for_an_environment_that_is_not_the_active_one() -> None:
    from envlock.findings import acting_on

    hints = [
        "pip install 'numpy==1.26.4', or re-run `envlock capture` if this change is intended",
        "uv pip install --reinstall --no-deps 'a==1'",
        "pip uninstall alpha && conda install -c conda-forge 'alpha=1.0=py_0'",
        "conda remove libfoo, or re-run `envlock capture` if this change is intended",
        "pip installed over conda's numpy: reinstall it with conda",  # words, not a command
        "export OMP_NUM_THREADS=4",
    ]
    got = [acting_on(h, "my env/bin/python", "~/envs/my env") for h in hints]
    assert got == [
        "'my env/bin/python' -m pip install 'numpy==1.26.4', or re-run `envlock capture` if "
        "this change is intended",
        "uv pip install --python 'my env/bin/python' --reinstall --no-deps 'a==1'",
        "'my env/bin/python' -m pip uninstall alpha && conda install -p ~/'envs/my env' -c "
        "conda-forge 'alpha=1.0=py_0'",
        "conda remove -p ~/'envs/my env' libfoo, or re-run `envlock capture` if this change "
        "is intended",
        hints[4],
        hints[5],
    ]
    # the project's .venv: uv finds it by itself; pip on PATH is another's
    (pip, uv) = (acting_on(h, ".venv/bin/python", ".venv", uv_finds_it=True) for h in hints[:2])
    assert pip.startswith(".venv/bin/python -m pip install 'numpy==1.26.4'")
    assert uv == hints[1]


def test_fixes_for_a_uv_environment_without_pip_are_uvs_commands() -> None:
    """A venv of uv's without pip: pip's commands are uv's, in uv's words, told ``--python``
    unless uv finds the environment itself; conda's and words stay."""
    from envlock.findings import acting_on

    hints = [
        "pip install 'numpy==1.26.4', or re-run `envlock capture` if this change is intended",
        "rm -rf 'x.dist-info' && pip install --force-reinstall --no-deps 'a==1'",
        "pip uninstall -y alpha && pip install -e './src/tool'",
        "uv pip install --reinstall --no-deps 'a==1'",
        "pip installed over conda's numpy: reinstall it with conda",
    ]
    named = [acting_on(h, "v/bin/python", "v", pip_via_uv=True) for h in hints]
    assert named == [
        "uv pip install --python v/bin/python 'numpy==1.26.4', or re-run `envlock capture` if "
        "this change is intended",
        "rm -rf 'x.dist-info' && uv pip install --python v/bin/python --reinstall --no-deps 'a==1'",
        "uv pip uninstall --python v/bin/python alpha && uv pip install --python v/bin/python "
        "-e './src/tool'",
        "uv pip install --python v/bin/python --reinstall --no-deps 'a==1'",
        hints[4],
    ]
    found = [acting_on(h, "v/bin/python", "v", uv_finds_it=True, pip_via_uv=True) for h in hints]
    assert [h.replace(" --python v/bin/python", "") for h in named] == found
