"""conda environments end to end: prefixes written on disk in conda's exact format, with a
real Python and real pip installs into the same site-packages, captured and verified through
the command-line tool; and every real prefix of the shared corpus read with --prefix."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from condafactory import conda_dist_info, make_conda_prefix, write_history, write_record
from factory import build_wheel, pip_install, pip_uninstall
from support import envlock, validate

import envlock as api

PYVER = f"{sys.version_info[0]}.{sys.version_info[1]}"
CHANNEL = "https://conda.anaconda.org/conda-forge"


def _env(home: Path, **extra: str) -> dict[str, str]:
    import os

    from envlock.variables import VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and not k.startswith("CONDA")}
    env.pop("VIRTUAL_ENV", None)
    env["HOME"] = str(home)  # no condarc of the machine's user
    env["ENVLOCK_CACHE_DIR"] = "off"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("wheelhouse")
    for name, version in [("alpha", "1.0"), ("alpha", "2.0"), ("gamma", "1.0")]:
        build_wheel(wh, name, version)
    return wh


def make_env(root: Path, wheelhouse: Path) -> Path:
    """A conda prefix: python, a Python package (alpha) owned by conda with its dist-info and
    conda-build's stray direct_url.json, a C library, and gamma pip-installed on top."""
    python = make_conda_prefix(root)
    alpha = conda_dist_info(root, PYVER, "alpha", "1.0")
    write_record(root, "alpha", "1.0", "py_0", files=[f"{alpha}/METADATA", f"{alpha}/RECORD"])
    write_record(root, "libfoo", "2.0", "h1234_1", build_number=1, files=["lib/libfoo.so"])
    write_history(
        root,
        [
            (
                "install",
                [
                    "+conda-forge/linux-64::alpha-1.0-py_0",
                    "+conda-forge/linux-64::libfoo-2.0-h1234_1",
                ],
                ["alpha=1.0"],
            )
        ],
    )
    (root / ".condarc").write_text("channels:\n  - conda-forge\nchannel_priority: strict\n")
    pip_install(python, "--find-links", str(wheelhouse), "gamma")
    return python


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def capture(prefix: Path, lock: Path, home: Path, *args: str) -> None:
    done = envlock(
        "capture", "--prefix", str(prefix), *args, str(lock), cwd=lock.parent, env=_env(home)
    )
    assert done.returncode == 0, done.stderr


def verify_json(prefix: Path, lock: Path, home: Path, flag: str = "--prefix") -> tuple[int, dict]:
    target = str(prefix) if flag == "--prefix" else str(prefix / "bin" / "python")
    done = envlock(
        "verify", flag, target, "--format", "json", str(lock), cwd=lock.parent, env=_env(home)
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def brief(report: dict) -> set[tuple]:
    return {
        (f["category"], f["subject"], f["expected"], f["actual"], f["severity"])
        for f in report["findings"]
    }


def test_conda_and_pip_are_told_apart(tmp_path: Path, wheelhouse: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    python = make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    done = envlock("capture", "--python", str(python), str(lock), cwd=tmp_path, env=_env(home))
    assert done.returncode == 0, done.stderr
    env = next(iter(validate(lock)["environments"].values()))
    assert env["kind"] == "conda"
    conda = env["conda"]
    assert set(conda["packages"]) == {"alpha", "libfoo", "python"}
    assert conda["packages"]["alpha"]["requested"] is True
    assert conda["packages"]["alpha"]["spec"] == "alpha=1.0"
    assert conda["packages"]["libfoo"]["requested"] is False
    assert conda["packages"]["libfoo"]["build_number"] == 1
    assert conda["packages"]["libfoo"]["channel"] == "conda-forge"
    assert conda["channels"] == ["conda-forge"] and conda["channel_priority"] == "strict"
    assert conda["virtual_packages"]["__unix"] == "0"
    assert "hazards" not in conda
    # alpha's dist-info belongs to conda (despite conda-build's direct_url.json); gamma is pip's
    assert set(env["packages"]) == {"gamma"}
    assert env["packages"]["gamma"]["installer"] == "pip"
    for flag in ("--python", "--prefix"):
        code, report = verify_json(prefix, lock, home, flag)
        assert code == 0, report
        # a files-only read cannot see which BLAS loads: it says so, as a note
        assert [f["subject"] for f in report["findings"] if f["severity"] != "info"] == []


def test_pip_installed_over_conda_is_a_hazard(tmp_path: Path, wheelhouse: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    python = make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    capture(prefix, lock, home)
    pip_install(python, "--find-links", str(wheelhouse), "alpha==2.0")  # over conda's 1.0
    code, report = verify_json(prefix, lock, home, "--python")
    assert code == 1
    got = brief(report)
    assert ("hazard", "alpha", None, "pip installed 2.0 over conda's alpha 1.0", "error") in got
    assert any(f[0] == "hazard" and "lists alpha-1.0.dist-info" in f[3] for f in got)
    assert ("extra", "alpha", None, "2.0", "warning") in got


def test_package_moved_from_conda_to_pip(tmp_path: Path, wheelhouse: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    python = make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    capture(prefix, lock, home)
    next((prefix / "conda-meta").glob("alpha-*.json")).unlink()  # conda remove --force alpha
    shutil.rmtree(next((prefix / "lib").glob("python*/site-packages/alpha-1.0.dist-info")))
    pip_install(python, "--find-links", str(wheelhouse), "alpha==1.0")
    code, report = verify_json(prefix, lock, home)
    assert code == 1
    assert brief(report) == {("moved", "alpha", "conda 1.0", "pip 1.0", "error")}
    assert report["findings"][0]["hint"] == (
        # the environment named (--prefix), not the active one
        "env/bin/python -m pip uninstall alpha && conda install -p env -c conda-forge "
        "'alpha=1.0=py_0'"
    )


def test_every_conda_drift_category(tmp_path: Path, wheelhouse: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    make_env(prefix, wheelhouse)
    write_record(prefix, "libbar", "1.0", "h0_0", files=[])
    write_record(prefix, "libbaz", "3.0", "h0_0", files=[])
    write_record(prefix, "libqux", "1.0", "h0_0", files=[])
    write_record(prefix, "libsub", "1.0", "h0_0", files=[])
    lock = tmp_path / "envlock.yaml"
    capture(prefix, lock, home)
    meta = prefix / "conda-meta"
    for path in meta.glob("lib*.json"):
        path.unlink()
    write_record(prefix, "libfoo", "2.0", "h1234_2", build_number=2, files=[])  # build
    write_record(prefix, "libbar", "1.1", "h0_0", files=[])  # version
    write_record(
        prefix, "libqux", "1.0", "h0_0", channel="https://conda.anaconda.org/bioconda", files=[]
    )
    write_record(prefix, "libsub", "1.0", "h0_0", subdir="noarch", files=[])
    write_record(prefix, "libnew", "0.1", "h0_0", files=[])  # extra; libbaz is missing
    (prefix / ".condarc").write_text(
        "channels:\n  - bioconda\n  - conda-forge\nchannel_priority: flexible\n"
    )
    code, report = verify_json(prefix, lock, home)
    assert code == 1
    got = {(f[0], f[1], f[2], f[3]) for f in brief(report)}
    assert got == {
        ("build", "conda:libfoo", "h1234_1", "h1234_2"),
        ("version", "conda:libbar", "1.0", "1.1"),
        ("missing", "conda:libbaz", "3.0", None),
        ("extra", "conda:libnew", None, "0.1"),
        ("channel", "conda:libqux", "conda-forge", "bioconda"),
        ("subdir", "conda:libsub", "linux-64", "noarch"),
        ("channels", "channels", "conda-forge", "bioconda, conda-forge"),
        ("channels", "channel_priority", "strict", "flexible"),
    }
    hints = {f["subject"]: f["hint"] for f in report["findings"]}
    assert hints["conda:libbaz"] == "conda install -p env -c conda-forge 'libbaz=3.0=h0_0'"


def test_hash_drift(tmp_path: Path, wheelhouse: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    capture(prefix, lock, home)
    record = next((prefix / "conda-meta").glob("libfoo-*.json"))
    data = json.loads(record.read_text())
    data["sha256"] = "f" * 64
    data["md5"] = "e" * 32
    record.write_text(json.dumps(data, indent=2))
    code, report = verify_json(prefix, lock, home)
    assert code == 1
    (finding,) = report["findings"]
    assert (finding["category"], finding["subject"], finding["actual"]) == (
        "hash",
        "conda:libfoo",
        "sha256:" + "f" * 64,
    )


def test_static_read_takes_python_and_platform_from_conda_meta(
    tmp_path: Path, wheelhouse: Path, home: Path
) -> None:
    prefix = tmp_path / "env"
    make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    capture(prefix, lock, home, "--name", "static")
    env = validate(lock)["environments"]["static"]
    assert env["method"] == "static"
    assert env["python"]["method"] == "conda-meta"
    assert env["python"]["version"].startswith(PYVER)
    assert env["platform"]["subdir"] == "linux-64" and env["platform"]["method"] == "conda-meta"


def test_tokens_never_reach_the_lockfile_or_output(
    tmp_path: Path, wheelhouse: Path, home: Path
) -> None:
    prefix = tmp_path / "env"
    make_env(prefix, wheelhouse)
    secret = "https://user:hunter2@conda.example.com/t/tk-SECRET-123/private"
    write_record(prefix, "privpkg", "1.0", "h0_0", channel=secret, files=[])
    (prefix / ".condarc").write_text(f"channels:\n  - {secret}\n  - conda-forge\n")
    lock = tmp_path / "envlock.yaml"
    done = envlock("capture", "--prefix", str(prefix), str(lock), cwd=tmp_path, env=_env(home))
    assert done.returncode == 0
    text = lock.read_text()
    for leak in ("hunter2", "tk-SECRET-123", "user:"):
        assert leak not in text and leak not in done.stderr
    assert "channel: https://conda.example.com/private" in text
    done = envlock("verify", "--prefix", str(prefix), str(lock), cwd=tmp_path, env=_env(home))
    assert (
        "hunter2" not in done.stdout + done.stderr and "tk-SECRET" not in done.stdout + done.stderr
    )


def test_broken_record_is_a_warning_and_verify_says_so(
    tmp_path: Path, wheelhouse: Path, home: Path
) -> None:
    prefix = tmp_path / "env"
    make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    capture(prefix, lock, home)
    (prefix / "conda-meta" / "broken-1.0-0.json").write_text("{not json")
    done = envlock("verify", "--prefix", str(prefix), str(lock), cwd=tmp_path, env=_env(home))
    assert done.returncode == 0
    assert "broken-1.0-0.json" in done.stderr
    assert "could not be fully read" in done.stdout


CORPUS_PREFIXES = [
    "conda-envpy313tosx_whl",
    "conda-envpy37win",
    "conda-py36-osx-whl",
    "envoracle-linux-64",
    "envs_on_git-osx-64",
]


@pytest.mark.parametrize("name", CORPUS_PREFIXES)
def test_every_real_corpus_prefix_captures(
    corpus: Path, tmp_path: Path, home: Path, name: str
) -> None:
    prefix = corpus / "conda-meta" / name
    if not (prefix / "conda-meta").is_dir():
        pytest.skip(f"{prefix} has no conda-meta")
    lock = tmp_path / "envlock.yaml"
    done = envlock(
        "capture", "--prefix", str(prefix), "--name", "c", str(lock), cwd=tmp_path, env=_env(home)
    )
    assert done.returncode == 0, done.stderr
    env = validate(lock)["environments"]["c"]
    records = list((prefix / "conda-meta").glob("*.json"))
    warned = done.stderr
    conda_pkgs = env["conda"]["packages"]
    for record in records:
        data = json.loads(record.read_text(encoding="utf-8"))
        assert data["name"] in conda_pkgs or record.name in warned
    # a dist-info that a record lists is conda's, never pip's
    assert not set(env["packages"]) & {n for n in conda_pkgs if n in ("pip", "setuptools", "wheel")}
    done = envlock(
        "verify", "--prefix", str(prefix), "--env", "c", str(lock), cwd=tmp_path, env=_env(home)
    )
    assert done.returncode == 0, done.stdout


def test_corpus_free_threaded_macos_prefix(corpus: Path, tmp_path: Path, home: Path) -> None:
    prefix = corpus / "conda-meta" / "conda-envpy313tosx_whl"
    env = api.capture(prefix=str(prefix))
    assert env.python.free_threading is True and env.python.version == "3.13.2"
    assert env.platform.subdir == "osx-arm64"
    assert [p.name for p in env.packages] == ["imagesize"]  # pip's; conda owns pip itself
    assert env.conda is not None and "pip" in env.conda.package_map()


def test_corpus_windows_prefix(corpus: Path) -> None:
    env = api.capture(prefix=str(corpus / "conda-meta" / "conda-envpy37win"))
    assert env.platform.os == "windows" and env.platform.subdir == "win-64"
    assert env.python.version == "3.7.0"
    assert env.conda is not None and env.conda.package_map()["certifi"].channel == "pkgs/main"


def test_package_moved_from_pip_to_conda(tmp_path: Path, wheelhouse: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    python = make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    capture(prefix, lock, home)  # gamma is pip's
    pip_uninstall(python, "gamma")
    gamma = conda_dist_info(prefix, PYVER, "gamma", "1.0")  # conda install gamma
    write_record(prefix, "gamma", "1.0", "py_0", files=[f"{gamma}/METADATA"])
    code, report = verify_json(prefix, lock, home)
    assert code == 1
    assert brief(report) == {("moved", "gamma", "pip 1.0", "conda 1.0", "error")}


def test_conda_overrides_are_recorded_as_overrides(
    tmp_path: Path, wheelhouse: Path, home: Path
) -> None:
    prefix = tmp_path / "env"
    python = make_env(prefix, wheelhouse)
    lock = tmp_path / "envlock.yaml"
    env = _env(home, CONDA_OVERRIDE_CUDA="12.4", CONDA_OVERRIDE_GLIBC="2.17")
    done = envlock("capture", "--python", str(python), str(lock), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    conda = next(iter(validate(lock)["environments"].values()))["conda"]
    assert conda["overrides"] == {"__cuda": "12.4", "__glibc": "2.17"}
    assert "__cuda" not in conda["virtual_packages"]  # an override is not a detection
    assert conda["virtual_packages"]["__glibc"] != "2.17"
