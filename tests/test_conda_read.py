"""envlock.conda reads conda prefixes: the real ones of the shared corpus (read in place),
broken ones, and synthetic ones written by condafactory in conda's own format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import astuple
from pathlib import Path

import pytest
from condafactory import (
    conda_dist_info,
    files_under,
    host_subdir,
    make_conda_prefix,
    python_version_of,
    write_history,
    write_record,
)
from factory import build_wheel, pip_install, site_packages

from envlock import conda, condaenv
from envlock.conda import CondaPrefix, CondaRecord, canonical_channel, parse_history, read_prefix
from envlock.model import Platform

# Whole prefixes in corpus/conda-meta/ (a folder with a conda-meta/ directory inside).
CORPUS_PREFIXES = (
    "conda-envpy313tosx_whl",
    "conda-envpy37win",
    "conda-py36-osx-whl",
    "envoracle-linux-64",
    "envs_on_git-osx-64",
)
# Folders of loose records, read by placing them into a temporary conda-meta/.
CORPUS_LOOSE = ("rattler-test-data", "syft-fixtures")
TOKEN = "tk-0123456789-SECRETTOKEN"


@pytest.fixture(autouse=True)
def no_system_condarc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/etc/conda and /var/lib/conda of the machine running the tests never leak in."""
    dirs = (str(tmp_path / "etc-conda"), str(tmp_path / "var-lib-conda"))
    monkeypatch.setattr(conda, "SYSTEM_CONDARC_DIRS", dirs)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def environ(home: Path) -> dict[str, str]:
    """A HOME with nothing in it, and no CONDARC / XDG_CONFIG_HOME / CONDA_ROOT."""
    return {"HOME": str(home)}


def by_name(prefix: CondaPrefix) -> dict[str, CondaRecord]:
    return {r.name: r for r in prefix.records}


def read(path: Path, environ: dict[str, str]) -> CondaPrefix:
    found = read_prefix(path, environ)
    assert found is not None, f"{path} has no conda-meta"
    return found


def record_files(prefix: Path) -> list[str]:
    return sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))


def assert_accounted(prefix: Path, found: CondaPrefix) -> None:
    """Every conda-meta/*.json is a record or named in a warning."""
    in_records = {r.file for r in found.records}
    for name in record_files(prefix):
        assert name in in_records or any(name in w for w in found.warnings), (
            f"{name} is neither a record nor named in a warning: {found.warnings}"
        )
    assert sorted(r.file for r in found.records) == sorted(in_records)
    assert [r.name for r in found.records] == sorted(r.name for r in found.records)
    assert found.channels_seen == tuple(sorted({r.channel for r in found.records if r.channel}))


def loose_prefix(tmp_path: Path, sources: list[Path], name: str = "loose") -> Path:
    """A temporary prefix whose conda-meta/ holds copies of *sources* (corpus files)."""
    meta = tmp_path / name / "conda-meta"
    meta.mkdir(parents=True)
    for src in sources:
        shutil.copyfile(src, meta / src.name)
    return meta.parent


# ---------------------------------------------------------------------------------------------
# The corpus: every prefix reads, every record is accounted for
# ---------------------------------------------------------------------------------------------


def test_corpus_prefixes_are_the_known_ones(corpus: Path) -> None:
    found = sorted(p.name for p in (corpus / "conda-meta").iterdir() if (p / "conda-meta").is_dir())
    assert found == sorted(CORPUS_PREFIXES)


@pytest.mark.parametrize("name", CORPUS_PREFIXES)
def test_corpus_prefix_reads_and_accounts_for_every_record(
    corpus: Path, name: str, environ: dict[str, str]
) -> None:
    path = corpus / "conda-meta" / name
    found = read(path, environ)
    assert_accounted(path, found)
    assert found.records
    assert found.warnings == ()  # real prefixes: nothing to complain about
    assert found.manager == "conda"
    assert (found.channels, found.channel_priority, found.condarc_files) == ((), None, ())
    for record in found.records:
        assert record.file == f"{record.name}-{record.version}-{record.build}.json"
        assert record.channel_url is None or record.channel_url.startswith("https://")
        assert record.subdir in conda.KNOWN_SUBDIRS
        assert isinstance(record.build_number, int)
        assert record.md5 is not None and len(record.md5) == 32
        assert all(
            "\\" not in d and d.endswith((".dist-info", ".egg-info")) for d in record.python_dists
        )


@pytest.mark.parametrize("name", CORPUS_LOOSE)
def test_corpus_loose_records_read_in_a_temporary_prefix(
    corpus: Path, tmp_path: Path, name: str, environ: dict[str, str]
) -> None:
    prefix = loose_prefix(tmp_path, sorted((corpus / "conda-meta" / name).glob("*.json")))
    found = read(prefix, environ)
    assert_accounted(prefix, found)
    assert found.manager is None  # no history


def test_corpus_fast_parse_equals_a_full_parse(corpus: Path) -> None:
    """Cutting paths_data out before parsing changes nothing else, for every corpus record."""
    checked = cut = 0
    for path in sorted((corpus / "conda-meta").rglob("*.json")):
        if path.parent.name not in ("conda-meta", *CORPUS_LOOSE):
            continue  # dist-info direct_url.json files, conda-corrupt
        try:
            text = path.read_bytes().decode("utf-8")
            full = json.loads(text)
        except ValueError:
            continue  # syft's bad-json record
        fast = conda._load_record(text)
        assert isinstance(fast, dict)
        if fast.get("paths_data") == {} and full.get("paths_data"):
            cut += 1
        fast.pop("paths_data", None)
        full.pop("paths_data", None)
        assert fast == full, path
        checked += 1
    assert checked >= 390 and cut >= 300


# ---------------------------------------------------------------------------------------------
# The corpus: known values
# ---------------------------------------------------------------------------------------------


def test_conda_25_free_threaded_osx_arm64(corpus: Path, environ: dict[str, str]) -> None:
    path = corpus / "conda-meta" / "conda-envpy313tosx_whl"
    found = read(path, environ)
    records = by_name(found)
    assert len(records) == 16
    assert found.channels_seen == ("conda-forge",)
    python = records["python"]
    assert (python.version, python.build, python.build_number) == ("3.13.2", "hfd29fff_1_cp313t", 1)
    assert (python.channel, python.channel_url, python.subdir) == (
        "conda-forge",
        "https://conda.anaconda.org/conda-forge",
        "osx-arm64",
    )
    assert python.sha256 == "a64466b8f65b77604c3c87092c65d9e51e7db44b11eaa6c469894f0b88b1af5a"
    assert python.python_dists == ()
    requested = {r.name: r.requested_spec for r in found.records if r.requested_spec}
    assert requested == {
        "pip": "pip",
        "python": "python=3.13",
        "python_abi": "python_abi[build=*_cp313t]",
    }
    pip = records["pip"]
    assert pip.python_dists == ("lib/python3.13t/site-packages/pip-25.0.1.dist-info",)
    assert (path / pip.python_dists[0]).is_dir()
    assert records["tzdata"].subdir == "noarch"
    # imagesize was pip-installed: on disk, owned by no record
    owned = {d for r in found.records for d in r.python_dists}
    assert "lib/python3.13t/site-packages/imagesize-1.4.1.dist-info" not in owned
    assert (path / "lib/python3.13t/site-packages/imagesize-1.4.1.dist-info").is_dir()


def test_conda_45_windows_defaults(corpus: Path, environ: dict[str, str]) -> None:
    found = read(corpus / "conda-meta" / "conda-envpy37win", environ)
    records = by_name(found)
    assert sorted(records) == [
        "certifi", "pip", "python", "setuptools", "vc", "vs2015_runtime", "wheel", "wincertstore",
    ]  # fmt: skip
    assert found.channels_seen == ("pkgs/main",)
    assert {r.subdir for r in found.records} == {"win-64"}
    assert {r.channel_url for r in found.records} == {"https://repo.anaconda.com/pkgs/main"}
    assert records["python"].requested_spec == "python=3.7"
    assert [r.name for r in found.records if r.requested_spec] == ["python"]
    assert records["certifi"].python_dists == (
        "Lib/site-packages/certifi-2018.08.13-py3.7.egg-info",
    )
    assert records["pip"].sha256 is None  # 2018 records carry md5 only
    assert records["vs2015_runtime"].build == "3"


def test_conda_45_defaults_era_osx(corpus: Path, environ: dict[str, str]) -> None:
    found = read(corpus / "conda-meta" / "conda-py36-osx-whl", environ)
    records = by_name(found)
    assert len(records) == 31
    assert found.channels_seen == ("pkgs/free", "pkgs/main")
    assert records["nomkl"].channel == "pkgs/free"
    assert records["nomkl"].channel_url == "https://repo.anaconda.com/pkgs/free"
    assert (records["blas"].build, records["blas"].build_number) == ("openblas", 7)
    requested = {r.name: r.requested_spec for r in found.records if r.requested_spec}
    assert requested == {
        "h5py": "h5py", "lxml": "lxml", "nomkl": "nomkl", "numpy": "numpy", "python": "python=3.6",
    }  # fmt: skip
    assert records["numpy-base"].python_dists == (
        "lib/python3.6/site-packages/numpy-1.15.1-py3.6.egg-info",
    )
    assert records["numpy"].python_dists == ()  # the metapackage installs no Python files


def test_conda_48_linux_mixed_channels(corpus: Path, environ: dict[str, str]) -> None:
    path = corpus / "conda-meta" / "envoracle-linux-64"
    found = read(path, environ)
    records = by_name(found)
    assert len(records) == 115
    assert found.channels_seen == ("conda-forge", "pkgs/main")
    assert records["cx_oracle"].channel == "pkgs/main"
    assert records["jupyter"].channel == "conda-forge"
    assert records["jupyter"].subdir == "linux-64"
    # history: python, cx_oracle, jupyter, pandas, pyinstaller, binutils; the corpus left out
    # the records of python, pandas and pyinstaller (too large)
    requested = {r.name: r.requested_spec for r in found.records if r.requested_spec}
    assert requested == {"binutils": "binutils", "cx_oracle": "cx_oracle", "jupyter": "jupyter"}
    # compiled package: the right site-packages
    assert records["argon2-cffi-bindings"].python_dists == (
        "lib/python3.10/site-packages/argon2_cffi_bindings-21.2.0.dist-info",
    )
    # noarch: python under conda 4.8 with Python 3.10: the record says lib/python3.1 (conda's
    # "3.10"[:3] bug) while the files are in lib/python3.10; the record is reported as is
    altgraph = records["altgraph"].python_dists
    assert altgraph == ("lib/python3.1/site-packages/altgraph-0.17.dist-info",)
    assert not (path / altgraph[0]).exists()
    assert (path / "lib/python3.10/site-packages/altgraph-0.17.dist-info").is_dir()
    # a package's vendored dist-info is not a distribution of the environment
    assert records["bleach"].python_dists == ("lib/python3.1/site-packages/bleach-5.0.1.dist-info",)
    assert records["flit-core"].python_dists == (
        "lib/python3.1/site-packages/flit_core-3.7.1.dist-info",
    )


def test_conda_410_clone_with_neutered_specs(corpus: Path, environ: dict[str, str]) -> None:
    found = read(corpus / "conda-meta" / "envs_on_git-osx-64", environ)
    records = by_name(found)
    assert len(records) == 189
    assert found.channels_seen == ("anaconda", "conda-forge", "pkgs/main")
    assert records["ca-certificates"].channel == "anaconda"
    assert records["ca-certificates"].channel_url == "https://conda.anaconda.org/anaconda"
    assert records["python_abi"].channel == "conda-forge"
    # a clone asks for every package exactly; the later "# neutered specs" relax three
    assert records["numpy"].requested_spec == "defaults/osx-64::numpy==1.19.2=py38h456fd55_0"
    assert records["ca-certificates"].requested_spec == "ca-certificates"
    assert records["certifi"].requested_spec == "certifi"
    # ffmpeg's dependencies came with `conda install ffmpeg`: not requested
    unrequested = sorted(r.name for r in found.records if r.requested_spec is None)
    assert unrequested == ["lame", "libopus", "libvpx", "openh264", "x264"]
    assert records["x264"].version == "1!157.20191217"
    assert records["wheel"].python_dists == (
        "lib/python3.8/site-packages/wheel-0.35.1-py3.6.egg-info",
    )


def test_rattler_records_channels_windows_paths_and_requested_spec(
    corpus: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    prefix = loose_prefix(
        tmp_path, sorted((corpus / "conda-meta" / "rattler-test-data").glob("*.json"))
    )
    found = read(prefix, environ)
    files = {r.file: r for r in found.records}
    assert len(files) == 37
    # the same package twice (one osx-arm64, one win-64 record): both read, a warning says
    # which one the lockfile holds (it holds one per name), and capture counts that one
    assert found.warnings == ()
    assert sorted(found.notes) == [
        "conda-meta: more than one record for libsqlite "
        "(libsqlite-3.40.0-hcfcfb64_0.json, libsqlite-3.45.3-h091b4b1_0.json): "
        "libsqlite-3.45.3-h091b4b1_0.json is recorded",
        "conda-meta: more than one record for xz "
        "(xz-5.2.6-h57fd34a_0.json, xz-5.2.6-h8d14728_0.json): "
        "xz-5.2.6-h8d14728_0.json is recorded",
    ]
    section = condaenv.section(found, [], Platform(), None)
    assert len(section.packages) == len({r.name for r in found.records}) == 35
    assert {p.name: p.version for p in section.packages}["libsqlite"] == "3.45.3"
    # channel URL with a trailing slash, without one, with the subdir, and a bare name
    for fn in (
        "bzip2-1.0.8-h93a5062_5.json",
        "openssl-3.3.0-hfb2fe0b_3.json",
        "libsqlite-3.40.0-hcfcfb64_0.json",
        "urllib3-1.26.14-pyhd8ed1ab_0.json",
    ):
        assert files[fn].channel == "conda-forge", fn
        assert files[fn].channel_url == "https://conda.anaconda.org/conda-forge", fn
    assert files["libsqlite-3.40.0-hcfcfb64_0.json"].subdir == "win-64"
    # Windows backslash paths
    assert files["menuinst-1.4.19-py311h1ea47a8_1.json"].python_dists == (
        "Lib/site-packages/menuinst-1.4.19.dist-info",
    )
    assert files["pysocks-1.7.1-pyh0701188_6.json"].python_dists == (
        "Lib/site-packages/PySocks-1.7.1.dist-info",
    )
    assert files["pip-23.0-pyhd8ed1ab_0.json"].python_dists == (
        "Lib/site-packages/pip-23.0-py3.11.egg-info",
    )
    # no history: requested from the record's own field; "" means not requested
    assert files["pip-23.0-pyhd8ed1ab_0.json"].requested_spec == (
        "conda-forge/noarch::pip==23.0=pyhd8ed1ab_0[md5=85b35999162ec95f9f999bac15279c02]"
    )
    assert files["menuinst-1.4.19-py311h1ea47a8_1.json"].requested_spec is None
    assert files["numpy-1.26.4-py311h7125741_0.json"].python_dists == (
        "lib/python3.11/site-packages/numpy-1.26.4.dist-info",
    )


def test_corrupt_prefixes_from_conda(corpus: Path, tmp_path: Path, environ: dict[str, str]) -> None:
    """conda's own tests/data/corrupt/<case>/conda-meta/ fixtures, rebuilt in place."""
    cases: dict[str, Path] = {}
    for src in sorted((corpus / "conda-meta" / "conda-corrupt").iterdir()):
        case, _, fn = src.name.partition("_conda-meta_")
        meta = tmp_path / case / "conda-meta"
        meta.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, meta / fn)
        cases[case] = meta.parent
    assert sorted(cases) == ["dot_underscore", "json", "unicode"]

    found = {case: read(path, environ) for case, path in cases.items()}
    for case, path in cases.items():
        assert_accounted(path, found[case])

    valid = found["dot_underscore"]
    assert [r.file for r in valid.records] == ["valid-1.0-0.json"]
    assert (valid.records[0].channel, valid.records[0].channel_url) == ("defaults", None)
    assert valid.warnings == (
        "conda-meta: 1 macOS AppleDouble file(s) ignored (._valid-1.0-0.json)",
    )
    assert found["json"].records == ()
    assert found["json"].warnings == (
        "conda-meta/corrupt-1.2.3-hashhash.json: not valid JSON (line 2, column 3); record skipped",
    )
    assert found["unicode"].records == ()
    assert found["unicode"].warnings == (
        "conda-meta/corrupt-1.2.3-hashhash.json: not UTF-8 text (binary or corrupt); "
        "record skipped",
    )


def test_syft_bad_json_is_a_warning(corpus: Path, tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = loose_prefix(
        tmp_path, sorted((corpus / "conda-meta" / "syft-fixtures").glob("*.json"))
    )
    found = read(prefix, environ)
    assert [r.name for r in found.records] == ["jupyterlab", "zlib"]
    assert found.warnings == (
        "conda-meta/bad-json_package-1.2.3-pyhd8ed1ab_0.json: not valid JSON (line 1, column 1); "
        "record skipped",
    )


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------


def test_history_old_conda_revisions(corpus: Path) -> None:
    text = (corpus / "conda-meta" / "conda-tests-history" / "history").read_text(encoding="utf-8")
    assert parse_history(text) == {
        "conda": "conda",
        "python": "python 2.7*",
        "cas-mirror": "cas-mirror",
        "grin": "grin",
        "pyflakes": "pyflakes",
    }


def test_history_micromamba_update_remove_and_json_lists(corpus: Path) -> None:
    fixtures = corpus / "conda-meta" / "mamba-history-fixtures"
    # `micromamba update X` writes both "# update specs" and "# remove specs" for X: a
    # revision's removals come first, so X stays requested; `micromamba remove` forgets
    assert parse_history((fixtures / "parse" / "history").read_text(encoding="utf-8")) == {
        "cpp-tabulate": "cpp-tabulate",
        "openssl": "openssl=3.5.0",
        "wheel": "wheel=0.40.0",
        "xtl": "xtl=0.8.0",
    }
    metadata = (fixtures / "parse_metadata" / "history").read_text(encoding="utf-8")
    assert parse_history(metadata) == {"pandas": 'pandas[version=">=0.25.2,<3"]'}


def test_history_corrupt_header_is_a_warning(
    corpus: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    src = corpus / "conda-meta" / "mamba-history-fixtures" / "parse_segfault" / "history"
    assert parse_history(src.read_text(encoding="utf-8")) == {}
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    shutil.copyfile(src, prefix / "conda-meta" / "history")
    found = read(prefix, environ)
    assert found.warnings == ("conda-meta/history: line 1: revision header without a valid date",)
    assert found.manager is None


@pytest.mark.parametrize(
    ("history", "manager"),
    [
        ("conda-meta/envoracle-linux-64/conda-meta/history", "conda"),
        ("conda-meta/conda-envpy37win/conda-meta/history", "conda"),  # conda-script.py
        ("conda-meta/mamba-history-fixtures/parse/history", "micromamba"),
        ("conda-meta/mamba-history-fixtures/parse_metadata/history", "micromamba"),
    ],
)
def test_manager_from_history(
    corpus: Path, tmp_path: Path, environ: dict[str, str], history: str, manager: str
) -> None:
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    shutil.copyfile(corpus / history, prefix / "conda-meta" / "history")
    assert read(prefix, environ).manager == manager


@pytest.mark.parametrize(
    ("cmd", "manager"),
    [
        ("/opt/conda/bin/conda install numpy", "conda"),
        ("C:\\Miniforge3\\Scripts\\conda-script.py install numpy", "conda"),
        ("C:\\Miniforge3\\condabin\\conda.exe install numpy", "conda"),
        ("/usr/bin/python3 -m conda install numpy", "conda"),
        ("/opt/conda/bin/mamba install conda", "mamba"),
        ("micromamba create -n x conda-build", "micromamba"),
        ("/opt/conda/lib/python3.12/site-packages/conda/__main__.py update --all", "conda"),
        ("/usr/local/bin/some-wrapper install numpy", None),
    ],
)
def test_manager_from_cmd_lines(cmd: str, manager: str | None) -> None:
    text = f"==> 2024-01-01 00:00:00 <==\n# cmd: {cmd}\n# update specs: ['numpy']\n"
    history = conda._read_history(text)
    assert (history.manager, history.specs, history.problems) == (manager, {"numpy": "numpy"}, [])


def test_manager_mamba_and_pixi(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "env"
    write_history(
        prefix, [("update", ["+conda-forge/linux-64::zlib-1.3-h0_0"], ["zlib"])], tool="mamba"
    )
    assert read(prefix, environ).manager == "mamba"
    (prefix / "conda-meta" / "pixi").write_text('{"manifest_path": "pixi.toml"}', encoding="utf-8")
    assert read(prefix, environ).manager == "pixi"
    assert read(tmp_path / "env", {}).manager == "pixi"


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("numpy", "numpy"),
        ("conda-forge::numpy=1.2", "numpy"),
        ("numpy[version='>=1.2']", "numpy"),
        ("numpy >=1.2", "numpy"),
        ("numpy>=1.2,<2", "numpy"),
        ("python_abi[build=*_cp313t]", "python_abi"),
        ("defaults/osx-64::blas==1.0=mkl", "blas"),
        ("conda-forge/win-64::vc==14.3=hb6edc58_10[md5=52d246d8d14b83c516229be5bb03a163]", "vc"),
        ('pandas[version=">=0.25.2,<3"]', "pandas"),
        ("python 2.7*", "python"),
        ("cx_Oracle", "cx_oracle"),
        ("https://conda.anaconda.org/conda-forge/noarch/tzdata-2024a-h0c530f3_0.conda", "tzdata"),
        ("*", None),
    ],
)
def test_spec_name(spec: str, name: str | None) -> None:
    assert conda.spec_name(spec) == name


def test_history_conda_install_remove_neutered_and_old_format() -> None:
    text = "\n".join(
        [
            "==> 2016-01-01 00:00:00 <==",
            "# cmd: /opt/conda/bin/conda create -n x python jupyter",
            "# install specs: python>=3.5.1,jupyter >=1.0.0,<2.0",
            "==> 2024-01-01 00:00:00 <==",
            "# cmd: /opt/conda/bin/conda install conda-forge::numpy=1.26",
            "+conda-forge/linux-64::numpy-1.26.4-py311h64a7726_0",
            "# update specs: ['conda-forge::numpy=1.26', \"scipy[version='>=1.11']\"]",
            "==> 2024-01-02 00:00:00 <==",
            "# cmd: /opt/conda/bin/conda remove scipy",
            "-conda-forge/linux-64::scipy-1.11.4-py311h64a7726_0",
            "# remove specs: ['scipy']",
            "==> 2024-01-03 00:00:00 <==",
            "# cmd: /opt/conda/bin/conda install openssl",
            "# update specs: ['openssl']",
            "# neutered specs: ['python']",
        ]
    )
    assert parse_history(text) == {
        "python": "python",
        "jupyter": "jupyter >=1.0.0,<2.0",
        "numpy": "conda-forge::numpy=1.26",
        "openssl": "openssl",
    }


def test_history_problems_are_warnings_and_the_rest_is_read(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    prefix = tmp_path / "env"
    write_record(prefix, "numpy", "1.26.4", "py311h64a7726_0")
    write_record(prefix, "scipy", "1.11.4", "py311h64a7726_0")
    history = prefix / "conda-meta" / "history"
    history.write_bytes(
        b"stray line\n"
        b"==> 2024-01-01 00:00:00 <==\n"
        b"# cmd: /opt/conda/bin/conda install numpy  # caf\xe9\n"  # cp1252 byte
        b"# update specs: ['numpy=1.26']\n"
        b"==> 2024-01-02 00:00:00 <==\n"
        b"# cmd: /opt/conda/bin/conda install scipy\n"
        b"# update specs: ['scipy=1.11', \n"
    )
    found = read(prefix, environ)
    assert found.warnings == (
        "conda-meta/history: not UTF-8 text; read with replacements",
        "conda-meta/history: line 1: text before the first revision header",
        "conda-meta/history: line 7: update specs cannot be parsed",
    )
    assert {r.name: r.requested_spec for r in found.records} == {
        "numpy": "numpy=1.26",
        "scipy": None,
    }


def test_history_commands_are_never_kept(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "env"
    write_record(prefix, "numpy", "1.26.4", "py311h64a7726_0")
    (prefix / "conda-meta" / "history").write_text(
        "==> 2024-01-01 00:00:00 <==\n"
        f"# cmd: /opt/conda/bin/conda install -c https://me:hunter2@example.com/t/{TOKEN}/ch "
        "numpy --secret-flag\n"
        "# update specs: ['numpy']\n"
        "==> bad <==\n",
        encoding="utf-8",
    )
    found = read(prefix, environ)
    assert found.records[0].requested_spec == "numpy"
    assert found.warnings  # the bad header
    text = repr(found)
    for secret in (TOKEN, "hunter2", "secret-flag", "example.com", "# cmd"):
        assert secret not in text


# ---------------------------------------------------------------------------------------------
# Broken prefixes
# ---------------------------------------------------------------------------------------------


def test_broken_records_are_warnings(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "env"
    good = write_record(prefix, "zlib", "1.3.1", "h4ab18f5_1")
    meta = good.parent
    (meta / "empty-1.0-0.json").write_text("", encoding="utf-8")
    (meta / "blank-1.0-0.json").write_text(" \n", encoding="utf-8")
    (meta / "list-1.0-0.json").write_text("[1, 2]", encoding="utf-8")
    (meta / "partial-1.0-0.json").write_text('{"name": "partial", "version": "1.0"}', "utf-8")
    (meta / "deep-1.0-0.json").write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    shutil.copyfile(good, meta / "renamed-1.0-0.json")  # name does not match its record
    (meta / "adir-1.0-0.json").mkdir()  # cannot be read (even by root)
    (meta / "._zlib-1.3.1-h4ab18f5_1.json").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (meta / "notes.txt").write_text("not a record", encoding="utf-8")
    found = read(prefix, environ)
    assert [r.file for r in found.records] == ["zlib-1.3.1-h4ab18f5_1.json"]
    assert_accounted(prefix, found)
    warnings = "\n".join(found.warnings)
    assert "conda-meta/empty-1.0-0.json: empty file; record skipped" in warnings
    assert "conda-meta/blank-1.0-0.json: empty file; record skipped" in warnings
    assert "conda-meta/list-1.0-0.json: not a JSON object (a list); record skipped" in warnings
    assert "conda-meta/partial-1.0-0.json: no build in the record; record skipped" in warnings
    assert "conda-meta/deep-1.0-0.json: JSON nested too deeply; record skipped" in warnings
    assert (
        "conda-meta/renamed-1.0-0.json: file name does not match its record "
        "zlib-1.3.1-h4ab18f5_1; record skipped"
    ) in warnings
    assert "conda-meta/adir-1.0-0.json: cannot be read (" in warnings
    assert (
        "conda-meta: 1 macOS AppleDouble file(s) ignored (._zlib-1.3.1-h4ab18f5_1.json)" in warnings
    )
    assert "notes.txt" not in warnings


def test_no_conda_meta_is_none(tmp_path: Path) -> None:
    assert read_prefix(tmp_path) is None
    assert read_prefix(tmp_path / "missing") is None


def test_record_field_shapes(tmp_path: Path, environ: dict[str, str]) -> None:
    """Old and hand-written records: build_number as text, no subdir, schannel only."""
    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "old-1.0-py27_0.json").write_text(
        json.dumps({"name": "old", "version": "1.0", "build": "py27_0", "build_number": "3",
                    "schannel": "pkgs/free", "url": "https://repo.continuum.io/pkgs/free/linux-64/old-1.0-py27_0.tar.bz2",
                    "files": ["lib/python2.7/site-packages/old-1.0-py2.7.egg-info"]}),
        encoding="utf-8",
    )  # fmt: skip
    (meta / "bare-2-0.json").write_text(
        json.dumps({"name": "bare", "version": "2", "build": "0", "build_number": True}),
        encoding="utf-8",
    )
    found = read(tmp_path / "env", environ)
    old, bare = by_name(found)["old"], by_name(found)["bare"]
    assert (old.build_number, old.channel, old.channel_url, old.subdir) == (
        3, "pkgs/free", "https://repo.continuum.io/pkgs/free", "linux-64",
    )  # fmt: skip
    assert old.python_dists == ("lib/python2.7/site-packages/old-1.0-py2.7.egg-info",)
    assert astuple(bare)[3:11] == (None, None, None, None, None, None, None, ())


def test_digests_and_build_numbers_that_are_not_are_unknown(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    """A placeholder digest, a digest in capitals or a negative build number in a hand-made
    record: the lockfile holds only what its schema allows (a digest in lower case), and the
    rest is unknown, so that the lockfile capture writes is one every reader accepts."""
    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    records = {
        "a-1-0": {"md5": "", "sha256": "n/a", "build_number": -1},
        "b-1-0": {"md5": "AB" * 16, "sha256": "CD" * 32, "build_number": 0},
        "c-1-0": {"md5": "z" * 32, "sha256": "0" * 63},
    }
    for fn, fields in records.items():
        name, version, build = fn.split("-")
        record = {"name": name, "version": version, "build": build, **fields}
        (meta / f"{fn}.json").write_text(json.dumps(record), encoding="utf-8")
    found = by_name(read(tmp_path / "env", environ))
    assert (found["a"].md5, found["a"].sha256, found["a"].build_number) == (None, None, None)
    assert (found["b"].md5, found["b"].sha256, found["b"].build_number) == ("ab" * 16, "cd" * 32, 0)
    assert (found["c"].md5, found["c"].sha256) == (None, None)


def test_python_dists_rules(tmp_path: Path, environ: dict[str, str]) -> None:
    files = [
        "lib/python3.12/site-packages/a-1.0.dist-info/METADATA",
        "lib/python3.12/site-packages/a-1.0.dist-info/RECORD",
        "lib/python3.12/site-packages/b-2.0-py3.12.egg-info",  # a bare egg-info file
        "lib/python3.12/site-packages/c-3.0-py3.12.egg-info/PKG-INFO",
        "lib/python3.12/site-packages/a/_vendor/v-1.0.dist-info/METADATA",  # vendored
        "Lib\\site-packages\\d-4.0.dist-info\\METADATA",
        "lib/pypy3.10/site-packages/e-5.0.dist-info/METADATA",
        "share/doc/x.dist-info.txt",
        "lib/python3.12/site-packages/a/sub-information.py",
        "lib/python3.12/site-packages/a-1.0.dist-info/METADATA",  # duplicated
    ]
    write_record(tmp_path / "env", "a", "1.0", "py_0", files=files)
    (record,) = read(tmp_path / "env", environ).records
    assert record.python_dists == (
        "Lib/site-packages/d-4.0.dist-info",
        "lib/pypy3.10/site-packages/e-5.0.dist-info",
        "lib/python3.12/site-packages/a-1.0.dist-info",
        "lib/python3.12/site-packages/b-2.0-py3.12.egg-info",
        "lib/python3.12/site-packages/c-3.0-py3.12.egg-info",
    )


# ---------------------------------------------------------------------------------------------
# Channels, condarc, redaction
# ---------------------------------------------------------------------------------------------


ORG = "https://conda.anaconda.org"
REPO = "https://repo.anaconda.com"
MIRROR = "https://mirror.example.com"


@pytest.mark.parametrize(
    ("value", "name", "url"),
    [
        ("conda-forge", "conda-forge", None),
        ("pkgs/main", "pkgs/main", None),
        ("defaults", "defaults", None),
        (f"{ORG}/conda-forge", "conda-forge", f"{ORG}/conda-forge"),
        (f"{ORG}/conda-forge/", "conda-forge", f"{ORG}/conda-forge"),
        (f"{ORG}/conda-forge/linux-aarch64", "conda-forge", f"{ORG}/conda-forge"),
        (f"{ORG}/bioconda/noarch/", "bioconda", f"{ORG}/bioconda"),
        (f"{ORG}/conda-forge/label/dev/linux-64", "conda-forge/label/dev",
         f"{ORG}/conda-forge/label/dev"),
        (f"{ORG}/conda-forge/noarch/pip-24.0-pyhd8ed1ab_0.tar.bz2", "conda-forge",
         f"{ORG}/conda-forge"),
        (f"{REPO}/pkgs/main/osx-arm64", "pkgs/main", f"{REPO}/pkgs/main"),
        (f"{REPO}/pkgs/r/win-64/r-base-4.2.0-h0_0.conda", "pkgs/r", f"{REPO}/pkgs/r"),
        ("https://repo.continuum.io/pkgs/free/osx-64", "pkgs/free",
         "https://repo.continuum.io/pkgs/free"),
        (f"{ORG}/t/{TOKEN}/private-ch/linux-64", "private-ch", f"{ORG}/private-ch"),
        ("https://user:p4ss@artifacts.example.com/conda/ml/linux-64/",
         "https://artifacts.example.com/conda/ml", "https://artifacts.example.com/conda/ml"),
        (f"{MIRROR}/t/{TOKEN}/conda-forge/win-64", f"{MIRROR}/conda-forge",
         f"{MIRROR}/conda-forge"),
        ("file:///opt/channel/linux-64", "file:///opt/channel", "file:///opt/channel"),
        ("https://h.example.com/ch/noarch?token=abc123", "https://h.example.com/ch",
         "https://h.example.com/ch"),
    ],
)  # fmt: skip
def test_canonical_channel(value: str, name: str, url: str | None) -> None:
    assert canonical_channel(value) == (name, url)


def _condarc(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_condarc_precedence(tmp_path: Path, home: Path) -> None:
    prefix = tmp_path / "envs" / "ml"
    write_record(prefix, "zlib", "1.3.1", "h4ab18f5_1")
    root = tmp_path  # a base installation: tmp_path/conda-meta + tmp_path/envs/ml
    (root / "conda-meta").mkdir()
    _condarc(
        tmp_path / "etc-conda" / ".condarc", "channels: [defaults]\nchannel_priority: flexible\n"
    )
    _condarc(tmp_path / "etc-conda" / "condarc.d" / "20-b.yaml", "channels: [pkgs/r]\n")
    _condarc(tmp_path / "etc-conda" / "condarc.d" / "10-a.yml", "channels: [pkgs/main]\n")
    _condarc(tmp_path / "etc-conda" / "condarc.d" / "README", "channels: [ignored]\n")
    _condarc(root / ".condarc", "channels: [conda-forge, defaults]\n")
    _condarc(home / ".config" / "conda" / "condarc", "channels: [bioconda]\n")
    _condarc(home / ".conda" / "condarc.d" / "x.yml", "channel_priority: true\n")
    _condarc(
        home / ".condarc", "channels:\n  - conda-forge\n  - nvidia\nchannel_priority: strict\n"
    )
    _condarc(prefix / ".condarc", f"channels: [https://conda.anaconda.org/t/{TOKEN}/private-ch]\n")
    custom = tmp_path / "custom.yml"
    _condarc(custom, "channels: [https://u:pw@mirror.example.com/conda-forge/]\n"
                     "channel_priority: Disabled\n")  # fmt: skip
    environ = {"HOME": str(home), "CONDARC": str(custom)}

    found = read(prefix, environ)
    assert found.warnings == ()
    assert found.condarc_files == (
        str(tmp_path / "etc-conda" / ".condarc"),
        str(tmp_path / "etc-conda" / "condarc.d" / "10-a.yml"),
        str(tmp_path / "etc-conda" / "condarc.d" / "20-b.yaml"),
        str(root / ".condarc"),
        "~/.config/conda/condarc",
        "~/.conda/condarc.d/x.yml",
        "~/.condarc",
        str(prefix / ".condarc"),
        str(custom),
    )
    assert found.channels == (
        "https://mirror.example.com/conda-forge",  # $CONDARC: read last, first in the list
        "private-ch",  # the prefix's own .condarc
        "conda-forge",
        "nvidia",
        "bioconda",
        "defaults",
        "pkgs/r",
        "pkgs/main",
    )
    assert found.channel_priority == "disabled"
    del environ["CONDARC"]
    assert read(prefix, environ).channel_priority == "strict"  # ~/.condarc
    (home / ".condarc").unlink()
    assert read(prefix, environ).channel_priority == "flexible"  # ~/.conda: true


def test_condarc_xdg_and_condarc_variable_with_tilde(tmp_path: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    write_record(prefix, "zlib", "1.3.1", "h4ab18f5_1")
    _condarc(tmp_path / "xdg" / "conda" / ".condarc", "channels: [conda-forge]\n")
    _condarc(home / "rc" / "condarc", "channels: [bioconda]\n")
    environ = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "CONDARC": "~/rc/condarc",
    }
    found = read(prefix, environ)
    assert found.condarc_files == (str(tmp_path / "xdg" / "conda" / ".condarc"), "~/rc/condarc")
    assert found.channels == ("bioconda", "conda-forge")


def test_condarc_problems_are_warnings(tmp_path: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    write_record(prefix, "zlib", "1.3.1", "h4ab18f5_1")
    _condarc(home / ".condarc", f"channels: [https://conda.anaconda.org/t/{TOKEN}/x\n  bad: [\n")
    _condarc(home / ".conda" / "condarc", "- just\n- a list\n")
    _condarc(
        home / ".config" / "conda" / "condarc", "channels: conda-forge\nchannel_priority: always\n"
    )
    _condarc(prefix / ".condarc", "channels: [conda-forge, 3, null]\n")
    (prefix / "condarc").write_bytes(b"channels: [caf\xe9]\n")
    found = read(prefix, {"HOME": str(home)})
    assert found.warnings == (
        "~/.config/conda/condarc: channels is not a list; ignored",
        "~/.config/conda/condarc: channel_priority is not strict, flexible or disabled; ignored",
        "~/.conda/condarc: not a YAML mapping; ignored",
        "~/.condarc: not valid YAML (line 2); ignored",
        f"{prefix / '.condarc'}: a channels entry is not a channel name; ignored",
        f"{prefix / '.condarc'}: a channels entry is not a channel name; ignored",
        f"{prefix / 'condarc'}: not UTF-8 text; ignored",
    )
    assert found.channels == ("conda-forge",)
    assert found.condarc_files == ("~/.config/conda/condarc", str(prefix / ".condarc"))
    assert TOKEN not in repr(found)


def test_yaml_is_imported_only_when_a_condarc_exists(tmp_path: Path, home: Path) -> None:
    prefix = tmp_path / "env"
    write_record(prefix, "zlib", "1.3.1", "h4ab18f5_1")
    code = (
        "import sys; from pathlib import Path; from envlock import conda\n"
        "conda.SYSTEM_CONDARC_DIRS = ()\n"
        f"found = conda.read_prefix(Path({str(prefix)!r}), {{'HOME': {str(home)!r}}})\n"
        "print(len(found.records), 'yaml' in sys.modules)\n"
    )
    run = [sys.executable, "-c", code]
    assert subprocess.run(run, capture_output=True, text=True, check=True).stdout.split() == [
        "1",
        "False",
    ]
    _condarc(home / ".condarc", "channels: [conda-forge]\n")
    assert subprocess.run(run, capture_output=True, text=True, check=True).stdout.split() == [
        "1",
        "True",
    ]


def test_tokens_never_survive(tmp_path: Path, home: Path) -> None:
    """Tokens and passwords in records, history, condarc and broken files reach no value
    and no warning."""
    prefix = tmp_path / "env"
    secret_channel = f"https://conda.anaconda.org/t/{TOKEN}/private-ch"
    write_record(prefix, "mylib", "1.0", "h0_0", channel=secret_channel, requested_spec="mylib")
    write_record(prefix, "other", "2.0", "h0_0", channel="https://bob:hunter2@pkgs.example.com/ch")
    renamed = write_record(prefix, "third", "3.0", "h0_0", channel=secret_channel)
    renamed.rename(renamed.with_name("third-renamed-3.0-h0_0.json"))
    meta = prefix / "conda-meta"
    (meta / "broken-1.0-0.json").write_text(
        f'{{"name": "broken", "url": "{secret_channel}/linux-64/broken-1.0-0.conda",', "utf-8"
    )
    write_history(prefix, [("update", [f"+{secret_channel}/linux-64::mylib-1.0-h0_0"], ["mylib"])])
    _condarc(
        home / ".condarc",
        f"channels:\n  - {secret_channel}\n  - https://bob:hunter2@pkgs.example.com/ch\n",
    )
    _condarc(prefix / ".condarc", f"channels: [{secret_channel}\n")  # invalid YAML
    found = read(prefix, {"HOME": str(home)})
    records = by_name(found)
    assert (records["mylib"].channel, records["mylib"].channel_url) == (
        "private-ch", "https://conda.anaconda.org/private-ch",
    )  # fmt: skip
    assert records["other"].channel == "https://pkgs.example.com/ch"
    assert found.channels == ("private-ch", "https://pkgs.example.com/ch")
    assert len(found.warnings) == 3  # broken JSON, renamed record, invalid condarc
    text = repr(found)
    for secret in (TOKEN, "hunter2", "bob"):
        assert secret not in text


# ---------------------------------------------------------------------------------------------
# condafactory: records in conda's format, a real venv laid out as a prefix
# ---------------------------------------------------------------------------------------------


def test_factory_record_has_the_key_set_of_real_records(corpus: Path, tmp_path: Path) -> None:
    path = write_record(
        tmp_path, "numpy", "1.26.4", "py311h64a7726_0", files=["lib/x.so"], depends=["python"]
    )
    written = json.loads(path.read_text(encoding="utf-8"))
    real = json.loads(
        (corpus / "conda-meta/envoracle-linux-64/conda-meta/zlib-1.2.12-h5eee18b_3.json").read_text(
            encoding="utf-8"
        )
    )
    legacy = {"arch", "platform"}  # written by conda < 4.6 (and in the brief's key list)
    assert set(written) - legacy == set(real) - {
        "license_family",
        "legacy_bz2_md5",
        "legacy_bz2_size",
    }
    for key, value in real.items():
        if key in written:
            assert type(written[key]) is type(value), key
    assert written["requested_spec"] == "None"
    assert set(written["paths_data"]["paths"][0]) == set(real["paths_data"]["paths"][0])
    assert written["url"] == "https://conda.anaconda.org/conda-forge/linux-64/" + written["fn"]
    assert path.read_text(encoding="utf-8") == json.dumps(written, indent=2, sort_keys=True)


def test_factory_history_round_trips(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "env"
    for name in ("numpy", "scipy", "xtl"):
        write_record(prefix, name, "1.0", "h0_0")
    write_history(prefix, [("update", ["+conda-forge/linux-64::numpy-1.0-h0_0"], ["numpy=1.0"])])
    write_history(
        prefix,
        [
            ("update", ["+conda-forge/linux-64::scipy-1.0-h0_0"], ["scipy"]),
            ("remove", ["-conda-forge/linux-64::scipy-1.0-h0_0"], ["scipy"]),
        ],
    )
    write_history(
        prefix, [("update", ["+conda-forge::xtl-1.0-h0_0"], ["xtl>=1"])], tool="micromamba"
    )
    text = (prefix / "conda-meta" / "history").read_text(encoding="utf-8")
    assert text.count("==> 2024-01-01 ") == 4 and '# update specs: ["xtl>=1"]' in text
    found = read(prefix, environ)
    assert {r.name: r.requested_spec for r in found.records} == {
        "numpy": "numpy=1.0", "scipy": None, "xtl": "xtl>=1",
    }  # fmt: skip
    assert found.manager == "micromamba"


def test_make_conda_prefix_is_a_real_environment(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "env"
    python = make_conda_prefix(prefix)
    version = python_version_of(str(python))
    short = ".".join(version.split(".")[:2])
    rel = conda_dist_info(prefix, version, "conda-pkg", "1.0", direct_url=True)
    write_record(
        prefix, "conda-pkg", "1.0", "pyhd8ed1ab_0", subdir="noarch",
        files=files_under(prefix, rel), requested_spec="conda-pkg",
    )  # fmt: skip
    direct_url = json.loads((prefix / rel / "direct_url.json").read_text(encoding="utf-8"))
    assert direct_url["url"].startswith("file:///home/conda/feedstock_root/build_artifacts/")
    wheel = build_wheel(tmp_path / "wheels", "pip-pkg", "2.0")
    pip_install(python, str(wheel))

    site = site_packages(python)
    assert site == (prefix / rel).parent
    assert (site / "pip_pkg-2.0.dist-info").is_dir()
    found = read(prefix, environ)
    records = by_name(found)
    assert sorted(records) == ["conda-pkg", "python"]
    assert (records["python"].version, records["python"].subdir) == (version, host_subdir())
    assert records["python"].requested_spec == f"python={short}"
    assert records["conda-pkg"].python_dists == (rel,)
    assert records["conda-pkg"].subdir == "noarch"
    owned = {d for r in found.records for d in r.python_dists}
    assert f"lib/python{short}/site-packages/pip_pkg-2.0.dist-info" not in owned
    assert found.manager == "conda" and found.warnings == ()
    out = subprocess.run(
        [str(python), "-c", "import pip_pkg; print(pip_pkg.__version__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "2.0"


# ---------------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------------


def make_big_prefix(prefix: Path, count: int = 700) -> int:
    """*count* records shaped like a large real environment: half Python packages (with a
    dist-info), most with a few dozen files, every tenth with 400 and every hundredth with
    3000 (long files lists and paths_data, megabyte records). Returns the bytes written."""
    total = 0
    for i in range(count):
        name = f"pkg{i:03d}"
        n = 3000 if i % 100 == 0 else 400 if i % 10 == 0 else 30
        if i % 2 == 0:
            site = "lib/python3.12/site-packages"
            files = [f"{site}/{name}/mod{j}.py" for j in range(n)]
            files += [
                f"{site}/{name}-1.0.dist-info/{f}" for f in ("METADATA", "RECORD", "INSTALLER")
            ]
        else:
            files = [f"lib/lib{name}.so.{j}" for j in range(n)]
        total += write_record(prefix, name, "1.0", f"h{i:07x}_0", files=files).stat().st_size
    return total


def _timed(prefix: Path, environ: dict[str, str], runs: int = 3) -> tuple[list[float], CondaPrefix]:
    times, found = [], None
    for _ in range(runs):
        start = time.perf_counter()
        found = read(prefix, environ)
        times.append(time.perf_counter() - start)
    assert found is not None
    return times, found


def test_700_records_read_fast(tmp_path: Path, environ: dict[str, str]) -> None:
    prefix = tmp_path / "big"
    size = make_big_prefix(prefix)
    times, found = _timed(prefix, environ)
    assert len(found.records) == 700 and found.warnings == ()
    assert sum(len(r.python_dists) for r in found.records) == 350
    print(
        f"\n700 records ({size / 1e6:.1f} MB): read in "
        + ", ".join(f"{t * 1000:.0f} ms" for t in times)
    )
    assert min(times) < 1.0


def test_largest_corpus_prefixes_read_fast(corpus: Path, environ: dict[str, str]) -> None:
    for name in CORPUS_PREFIXES:
        path = corpus / "conda-meta" / name
        size = sum(p.stat().st_size for p in (path / "conda-meta").iterdir())
        times, found = _timed(path, environ)
        print(
            f"\n{name}: {len(found.records)} records ({size / 1e6:.1f} MB) read in "
            + ", ".join(f"{t * 1000:.1f} ms" for t in times)
        )
        assert min(times) < 1.0
