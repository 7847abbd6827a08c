"""Reading the conda-side foreign lockfiles: conda explicit specs, conda-lock.yml and conda
environment files. Every file of the shared corpus's ``explicit``, ``conda-lock`` and
``env-export`` folders is read for every platform it has, or refused with one clear line;
small files written here cover the edges and hostile input."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from envlock.errors import EnvlockError, LockfileError, UsageError
from envlock.foreign import (
    CondaWant,
    Foreign,
    PipWant,
    condalock,
    envexport,
    explicit,
    requirements,
)
from envlock.model import Source

SECRET = "s3cr3t-Passw0rd"
TOKEN = "tk-0123456789abcdef"
MD5 = "0123456789abcdef0123456789abcdef"
SHA = "ab" * 32


def read(module: ModuleType, path: Path, **kwargs: str | None) -> Foreign:
    result: Foreign = module.parse(path.read_text(encoding="utf-8"), base_dir=path.parent, **kwargs)
    return result


def parse(module: ModuleType, text: str, tmp_path: Path, **kwargs: str | None) -> Foreign:
    result: Foreign = module.parse(text, base_dir=tmp_path, **kwargs)
    return result


def refused(module: ModuleType, text: str, tmp_path: Path, **kwargs: str | None) -> str:
    """The one-line message ``text`` is refused with (LockfileError or UsageError)."""
    with pytest.raises(EnvlockError) as info:
        module.parse(text, base_dir=tmp_path, **kwargs)
    assert isinstance(info.value, (LockfileError, UsageError))
    message = str(info.value)
    assert message and "\n" not in message
    return message


def by_name(wants: tuple[CondaWant, ...] | tuple[PipWant, ...] | None) -> dict[str, Any]:
    assert wants is not None
    return {w.name: w for w in wants}


def one_line(error: pytest.ExceptionInfo[Any]) -> str:
    message = str(error.value)
    assert message and "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# conda explicit specs: the corpus
# ---------------------------------------------------------------------------------------------

# file -> (platform, conda packages) or the start of the message it is refused with
EXPLICIT: dict[str, tuple[str, int] | str] = {
    "conda-lock-stripped-auth.test.lock": "no @EXPLICIT line",
    "conda-lock-with-auth.test.lock": "no @EXPLICIT line",
    "conda-lock-zlib-linux-64.lock": ("linux-64", 6),
    "conda-lock-zlib-osx-64.lock": ("osx-64", 2),
    "conda-lock-zlib-win-64.lock": ("win-64", 6),
    "conda-tests-explicit.txt": ("linux-64", 2),  # no header: from the URLs' subdir
    "mamba-minrk_environment.py-3.9-linux-64.lock": ("linux-64", 170),
    "rattler-python-explicit-env-linux-64.txt": ("linux-64", 22),
    "rattler-python-explicit-env-linux-aarch64.txt": ("linux-aarch64", 21),
    "rattler-python-explicit-env-linux-ppc64le.txt": ("linux-ppc64le", 22),
    "rattler-python-explicit-env-osx-64.txt": ("osx-64", 15),
    "rattler-python-explicit-env-osx-arm64.txt": ("osx-arm64", 15),
    "rattler-python-explicit-env-win-64.txt": ("win-64", 16),
    "ros-noetic_linux-64.txt": ("linux-64", 568),
    "vs2015_runtime_win-64.txt": ("win-64", 2),
    "xtensor_linux-64.txt": ("linux-64", 7),
}


def test_every_explicit_corpus_file_is_expected(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / "lockfiles" / "explicit").iterdir()) == sorted(EXPLICIT)


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_explicit_corpus(corpus: Path, name: str) -> None:
    path = corpus / "lockfiles" / "explicit" / name
    expected = EXPLICIT[name]
    if isinstance(expected, str):
        with pytest.raises(LockfileError) as error:
            read(explicit, path)
        assert one_line(error).startswith(expected)
        assert "password" not in str(error.value)
        return
    platform, count = expected
    for asked in (None, platform):
        result = read(explicit, path, platform=asked)
        assert result.format == "conda-explicit"
        assert result.platform == platform
        assert result.pip is None  # no '# pip' lines in any of them
        assert result.conda is not None and len(result.conda) == count
        assert len({w.name for w in result.conda}) == count
        for want in result.conda:
            assert want.version and want.build and want.channel and want.subdir
            assert want.subdir in (platform, "noarch")
            assert want.spec is None and not want.optional
    other = "osx-arm64" if platform != "osx-arm64" else "linux-64"
    with pytest.raises(UsageError) as elsewhere:
        read(explicit, path, platform=other)
    assert one_line(elsewhere) == (
        f"no packages for platform {other}; the file has: {platform} (choose it with --platform)"
    )


def test_explicit_corpus_known_values(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "explicit"
    zlib = by_name(read(explicit, folder / "conda-lock-zlib-linux-64.lock").conda)
    assert zlib["_openmp_mutex"] == CondaWant(
        name="_openmp_mutex",
        version="4.5",
        build="1_gnu",
        channel="conda-forge",
        channel_url="https://conda.anaconda.org/conda-forge",
        subdir="linux-64",
        md5="561e277319a41d4f24f5c05a9ef63c04",
    )
    # a dash in the name: split from the right
    ros = by_name(read(explicit, folder / "ros-noetic_linux-64.txt").conda)
    font = ros["font-ttf-dejavu-sans-mono"]
    assert isinstance(font, CondaWant)
    assert (font.version, font.build, font.subdir, font.md5) == (
        "2.37",
        "hab24e00_0",
        "noarch",
        None,
    )
    defaults = by_name(read(explicit, folder / "vs2015_runtime_win-64.txt").conda)
    vc = defaults["vc"]
    assert isinstance(vc, CondaWant)
    assert (vc.channel, vc.channel_url) == ("pkgs/main", "https://repo.anaconda.com/pkgs/main")
    assert (vc.version, vc.build, vc.md5) == (
        "14.1",
        "h0510ff6_4",
        "dc9507a39ab328597820486c729cd279",
    )
    mamba = by_name(read(explicit, folder / "mamba-minrk_environment.py-3.9-linux-64.lock").conda)
    tzdata = mamba["tzdata"]
    assert isinstance(tzdata, CondaWant)
    assert (tzdata.version, tzdata.build, tzdata.subdir) == ("2025b", "h78e105d_0", "noarch")
    conda_tests = read(explicit, folder / "conda-tests-explicit.txt")
    assert [w.name for w in conda_tests.conda or ()] == ["_libgcc_mutex", "ca-certificates"]
    assert all(w.md5 is None and w.channel == "pkgs/main" for w in conda_tests.conda or ())


def test_explicit_with_credentials_in_a_corpus_file_never_shows_them(corpus: Path) -> None:
    text = (corpus / "lockfiles" / "explicit" / "conda-lock-with-auth.test.lock").read_text()
    with pytest.raises(LockfileError) as error:
        explicit.parse(
            text.replace("# The following", "@EXPLICIT\n# The following"), base_dir=corpus
        )
    assert "password_a" not in str(error.value) and "username_a" not in str(error.value)
    assert "not a conda package URL" in str(error.value)


# ---------------------------------------------------------------------------------------------
# conda explicit specs: edges and hostile input
# ---------------------------------------------------------------------------------------------


def test_explicit_hash_fragments_and_local_paths(tmp_path: Path) -> None:
    text = (
        "# platform: linux-64\n@EXPLICIT\n"
        f"https://conda.anaconda.org/conda-forge/linux-64/a-1.0-0.conda#{MD5}\n"
        f"https://conda.anaconda.org/conda-forge/noarch/b-c-2.0-py_0.tar.bz2#{SHA}\n"
        f"https://conda.anaconda.org/conda-forge/linux-64/d-1-0.conda#sha256={SHA}\n"
        f"https://conda.anaconda.org/conda-forge/linux-64/e-1-0.conda#md5:{MD5.upper()}\n"
        "https://conda.anaconda.org/conda-forge/linux-64/f-1-0.conda#\n"
        "channel/linux-64/g-3-h1_0.conda\n"
    )
    wants = by_name(parse(explicit, text, tmp_path).conda)
    assert [(w.md5, w.sha256) for w in wants.values()] == [
        (MD5, None),
        (None, SHA),
        (None, SHA),
        (MD5, None),
        (None, None),
        (None, None),
    ]
    local = wants["g"]
    assert isinstance(local, CondaWant)
    assert local.channel == (tmp_path / "channel").as_uri()
    assert (local.subdir, local.version, local.build) == ("linux-64", "3", "h1_0")
    assert wants["b-c"].version == "2.0"


def test_explicit_conda_lock_pip_lines(tmp_path: Path) -> None:
    wheel = "https://files.pythonhosted.org/packages/aa/bb/Requests-2.31.0-py3-none-any.whl"
    text = (
        "# Generated by conda-lock.\n# platform: linux-64\n@EXPLICIT\n"
        "https://conda.anaconda.org/conda-forge/linux-64/python-3.11.0-h1_0_cpython.conda\n"
        f"# pip requests @ {wheel}#sha256={SHA}\n"
        f"# pip six == 1.16.0 --hash=sha256:{SHA}\n"
        "# pip cowsay @ https://github.com/o/cowsay/archive/v6.1.tar.gz#sha256=" + "cd" * 32 + "\n"
        "# pip tool @ git+https://github.com/o/tool.git@" + "a" * 40 + "\n"
    )
    result = parse(explicit, text, tmp_path)
    assert result.notes == ()
    pip = by_name(result.pip)
    assert pip["requests"] == PipWant(
        name="requests", version="2.31.0", source=Source("index"), hashes=(f"sha256={SHA}",)
    )
    assert pip["six"] == PipWant(name="six", version="1.16.0", hashes=(f"sha256={SHA}",))
    cowsay = pip["cowsay"]
    assert isinstance(cowsay, PipWant) and cowsay.source is not None
    assert cowsay.source.kind == "archive" and cowsay.hashes == ("sha256=" + "cd" * 32,)
    tool = pip["tool"]
    assert isinstance(tool, PipWant) and tool.source is not None
    assert (tool.source.kind, tool.source.commit) == ("vcs", "a" * 40)


def test_explicit_credentials_never_survive(tmp_path: Path) -> None:
    text = (
        "@EXPLICIT\n"
        f"https://user:{SECRET}@conda.anaconda.org/t/{TOKEN}/conda-forge/linux-64/a-1-0.conda\n"
        f"https://user:{SECRET}@private.example.com/t/{TOKEN}/chan/noarch/b-1-0.conda\n"
        f"# pip c @ https://user:{SECRET}@pypi.example.com/c-1.0.tar.gz\n"
    )
    result = parse(explicit, text, tmp_path)
    assert SECRET not in repr(result) and TOKEN not in repr(result)
    wants = by_name(result.conda)
    assert wants["a"].channel == "conda-forge"
    assert wants["b"].channel_url == "https://private.example.com/chan"
    for bad in (
        f"@EXPLICIT\nhttps://user:{SECRET}@example.com/t/{TOKEN}/linux-64/notapackage\n",
        f"@EXPLICIT\nhttps://user:{SECRET}@example.com/linux-64/a-1-0.conda#{SECRET}\n",
        f"@EXPLICIT\n# pip https://user:{SECRET}@example.com/x\n",
    ):
        message = refused(explicit, bad, tmp_path)
        assert SECRET not in message and TOKEN not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no @EXPLICIT line: not a conda explicit spec"),
        ("numpy=1.26\n", "no @EXPLICIT line: not a conda explicit spec"),
        ("@EXPLICIT\nnumpy=1.26\n", "line 2: not a conda package URL"),
        ("@EXPLICIT\nhttps://x.org/c/linux-64/a-1.conda\n", "line 2: not a conda package URL"),
        ("@EXPLICIT\nhttps://x.org/c/linux-64/a-1-0.zip\n", "line 2: not a conda package URL"),
        ("@EXPLICIT\nhttps://x.org/c/linux-64/a-1-0.conda#xyz\n", "line 2: not an md5 or sha256"),
        (
            "@EXPLICIT\nhttps://x.org/c/linux-64/a-1-0.conda#md5=12\n",
            "line 2: not an md5 or sha256",
        ),
        (
            "@EXPLICIT\nhttps://x.org/c/linux-64/a-1-0.conda\nhttps://x.org/c/linux-64/a-2-0.conda",
            "line 3: a is listed twice (line 2)",
        ),
        ("@EXPLICIT\n# pip a==1\n# pip A==2\n", "line 3: pip:a is listed twice (line 2)"),
        ("# platform: Linux 64!\n@EXPLICIT\n", "line 1: not a conda platform"),
        ("# platform: linux-64\n# platform: osx-64\n@EXPLICIT\n", "line 2: a second platform"),
        ("@EXPLICIT\n# pip ---\n", "line 2: not a requirement"),
        ("@EXPLICIT\n" + "\x00\x01garbage" * 5000, "line 2: not a conda package URL"),
    ],
)
def test_explicit_refuses(tmp_path: Path, text: str, expected: str) -> None:
    message = refused(explicit, text, tmp_path)
    assert message.startswith(expected), message
    assert len(message) < 300


def test_explicit_platform_choice(tmp_path: Path) -> None:
    mixed = (
        "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/a-1-0.conda\n"
        "https://conda.anaconda.org/conda-forge/osx-64/b-1-0.conda\n"
    )
    # no header and two subdirs: the file names no one platform, the one asked for stands
    assert parse(explicit, mixed, tmp_path, platform="win-64").platform == "win-64"
    assert parse(explicit, mixed, tmp_path).platform is None
    noarch = "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/noarch/a-1-0.conda\n"
    assert parse(explicit, noarch, tmp_path, platform="osx-arm64").platform == "osx-arm64"
    message = refused(explicit, noarch, tmp_path, environment="default")
    assert "--against-env is for pixi.lock" in message


# ---------------------------------------------------------------------------------------------
# conda-lock.yml: the corpus
# ---------------------------------------------------------------------------------------------

# file -> {platform: (conda, pip, optional)} or the message it is refused with
CONDA_LOCK: dict[str, dict[str, tuple[int, int, int]] | str] = {
    "blas-mkl.conda-lock.yml": {"linux-64": (40, 0, 0), "osx-64": (34, 0, 0), "win-64": (35, 0, 0)},
    "conda-lockfiles-metadata.conda-lock.yml": {
        "linux-64": (6, 0, 0),
        "osx-64": (2, 0, 0),
        "osx-arm64": (2, 0, 0),
        "win-64": (4, 0, 0),
    },
    "conda-lockfiles-single-package.conda-lock.yml": {"linux-64": (1, 0, 0)},
    "explicit-toposorted.conda-lock.yml": {"linux-64": (123, 4, 0)},
    "install-with-pip-deps.conda-lock.yml": {"linux-64": (24, 4, 0), "linux-aarch64": (23, 4, 0)},
    "invalid-v1-missing-metadata.conda-lock.yml": "metadata: required (is this a conda-lock.yml?)",
    "mamba-bad_package.conda-lock.yml": "package[0].manager: required",
    "mamba-good_multiple_categories.conda-lock.yml": {"linux-64": (31, 6, 29)},
    "multiple-categories.conda-lock.yml": {"linux-64": (101, 0, 81)},
    "pypi-resolve-gh155.conda-lock.yml": {
        "linux-64": (24, 12, 0),
        "osx-64": (17, 12, 0),
        "win-64": (17, 12, 0),
    },
    "rattler-numpy.conda-lock.yml": {
        "linux-64": (254, 0, 0),
        "linux-aarch64": (176, 0, 0),
        "linux-ppc64le": (177, 0, 0),
        "osx-64": (180, 0, 0),
        "osx-arm64": (183, 0, 0),
    },
    "rattler-pypi-matplotlib.conda-lock.yml": {
        "linux-64": (24, 12, 0),
        "osx-64": (17, 12, 0),
        "win-64": (17, 12, 0),
    },
    "rattler-python.conda-lock.yml": {
        "linux-64": (22, 0, 0),
        "linux-aarch64": (21, 0, 0),
        "linux-ppc64le": (22, 0, 0),
        "osx-64": (15, 0, 0),
        "osx-arm64": (15, 0, 0),
        "win-64": (16, 0, 0),
    },
    "test-lockfile.conda-lock.yml": {
        "linux-64": (144, 3, 21),
        "osx-64": (139, 3, 21),
        "osx-arm64": (138, 3, 21),
    },
    "update-filter-platform.conda-lock.yml": {"linux-64": (1, 0, 0), "osx-64": (1, 0, 0)},
    "v2-to-v3-upgrade.conda-lock-v2.5.8.yml": {
        "linux-64": (41, 15, 16),
        "linux-aarch64": (40, 15, 16),
        "linux-ppc64le": (41, 15, 16),
        "osx-64": (34, 15, 16),
        "osx-arm64": (34, 15, 16),
        "win-64": (34, 15, 15),
    },
    "v2-to-v3-upgrade.conda-lock-v3.0.3.yml": {
        "linux-64": (41, 15, 16),
        "linux-aarch64": (40, 15, 16),
        "linux-ppc64le": (41, 15, 16),
        "osx-64": (34, 15, 16),
        "osx-arm64": (34, 15, 16),
        "win-64": (34, 15, 14),
    },
}


def test_every_conda_lock_corpus_file_is_expected(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / "lockfiles" / "conda-lock").iterdir()) == sorted(
        CONDA_LOCK
    )


@pytest.mark.parametrize("name", sorted(CONDA_LOCK))
def test_conda_lock_corpus(corpus: Path, name: str) -> None:
    path = corpus / "lockfiles" / "conda-lock" / name
    expected = CONDA_LOCK[name]
    if isinstance(expected, str):  # INVALID on purpose
        with pytest.raises(LockfileError) as error:
            read(condalock, path)
        assert one_line(error) == expected
        return
    for platform, (conda, pip, optional) in expected.items():
        result = read(condalock, path, platform=platform)
        assert result.format == "conda-lock" and result.platform == platform
        assert result.conda is not None and result.pip is not None
        assert (len(result.conda), len(result.pip)) == (conda, pip)
        wants: list[Any] = [*result.conda, *result.pip]
        assert sum(w.optional for w in wants) == optional
        for want in result.conda:
            assert want.version and want.build and want.md5 and want.channel == "conda-forge"
            assert want.subdir in (platform, "noarch")
        for wheel in result.pip:
            assert wheel.source is not None
    if len(expected) == 1:
        assert read(condalock, path).platform == next(iter(expected))
    else:
        with pytest.raises(UsageError) as several:
            read(condalock, path)
        assert one_line(several) == (
            f"the file has packages for several platforms: {', '.join(sorted(expected))} "
            "(choose one with --platform)"
        )
    with pytest.raises(UsageError) as absent:
        read(condalock, path, platform="zos-z")
    assert one_line(absent).startswith("no packages for platform zos-z; the file has: ")


def test_conda_lock_corpus_known_values(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "conda-lock"
    toposorted = read(condalock, folder / "explicit-toposorted.conda-lock.yml")
    assert by_name(toposorted.pip)["pydantic"] == PipWant(
        name="pydantic",
        version="2.5.1",
        source=Source("index"),
        hashes=("sha256=dc5244a8939e0d9a68f1f1b5f550b2e1c879912033b1becbedb315accc75441b",),
    )
    mkl = by_name(read(condalock, folder / "blas-mkl.conda-lock.yml", platform="win-64").conda)
    libblas = mkl["libblas"]
    assert isinstance(libblas, CondaWant) and libblas.build is not None
    assert libblas.build.endswith("_mkl") and libblas.subdir == "win-64"
    assert "mkl" in mkl and "intel-openmp" in mkl
    single = read(condalock, folder / "conda-lockfiles-single-package.conda-lock.yml")
    assert single.conda == (
        CondaWant(
            name="python_abi",
            version="3.13",
            build="7_cp313",
            channel="conda-forge",
            channel_url="https://conda.anaconda.org/conda-forge",
            subdir="noarch",
            md5="e84b44e6300f1703cb25d29120c5b1d8",
            sha256="0595134584589064f56e67d3de1d8fcbb673a972946bce25fb593fb092fdcd97",
        ),
    )
    categories = read(condalock, folder / "mamba-good_multiple_categories.conda-lock.yml")
    pip = by_name(categories.pip)
    assert pip["pytest-mock"].optional and not pip["requests"].optional
    assert any("optional categories" in note for note in categories.notes)
    # listed under dev and test: one want, optional; under main too: required
    multiple = by_name(read(condalock, folder / "multiple-categories.conda-lock.yml").conda)
    assert multiple["libblas"].optional
    assert not multiple["python"].optional

    old = by_name(read(condalock, folder / "test-lockfile.conda-lock.yml", platform="osx-64").pip)
    dashi = old["pydashi"]
    assert isinstance(dashi, PipWant) and dashi.source is not None
    assert dashi.version == "2.0.0a0" and dashi.source.kind == "archive"
    assert dashi.source.url == (
        "https://github.com/IceCube-SPNO/dashi/archive/refs/tags/v2.0.0-alpha.0.tar.gz"
    )
    assert dashi.hashes == (
        "sha256=b2b8a179f4268d3619a72fc14f8f223f52bc9d51c3ff338863eb8b11c6bc0d5b",
    )


def test_conda_lock_v2_and_v3_writers(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "conda-lock"
    old = read(condalock, folder / "v2-to-v3-upgrade.conda-lock-v2.5.8.yml", platform="osx-arm64")
    new = read(condalock, folder / "v2-to-v3-upgrade.conda-lock-v3.0.3.yml", platform="osx-arm64")
    requests = by_name(new.pip)["requests"]
    assert isinstance(requests, PipWant) and requests.source is not None
    # conda-lock puts the git commit in hash.sha256: it is the commit, not a file hash
    assert requests.source.kind == "vcs" and requests.hashes == ()
    assert requests.source.commit == "3f07f990ac74f1e1691ba17ef8c14007f05846ab"
    assert requests.version == "2.32.4"
    # conda-lock 3 writes 0.0.0 for the URL package it did not build: not a version to check
    assert by_name(old.pip)["cowsay"].version == "6.1"
    cowsay = by_name(new.pip)["cowsay"]
    assert isinstance(cowsay, PipWant) and cowsay.version is None
    assert any("0.0.0" in note for note in new.notes)
    assert cowsay.source == by_name(old.pip)["cowsay"].source


# ---------------------------------------------------------------------------------------------
# conda-lock.yml: edges and hostile input
# ---------------------------------------------------------------------------------------------


def lock(packages: list[Any], platforms: tuple[str, ...] = ("linux-64",), **top: object) -> str:
    document: dict[str, object] = {"version": 1, "metadata": {"platforms": list(platforms)}}
    document.update(top)
    document["package"] = packages
    return yaml.safe_dump(document)


def conda_entry(name: Any = "a", version: Any = "1.0", **fields: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": name,
        "version": version,
        "manager": "conda",
        "platform": "linux-64",
        "dependencies": {},
        "url": f"https://conda.anaconda.org/conda-forge/linux-64/{name}-{version}-h0_0.conda",
        "hash": {"md5": MD5, "sha256": SHA},
        "category": "main",
        "optional": False,
    }
    entry.update(fields)
    return entry


def pip_entry(name: str = "p", version: str = "1.0", **fields: object) -> dict[str, object]:
    entry = conda_entry(name, version, manager="pip", hash={"sha256": SHA})
    entry["url"] = f"https://files.pythonhosted.org/packages/x/{name}-{version}-py3-none-any.whl"
    entry.update(fields)
    return entry


def test_conda_lock_unversioned_and_virtual_packages(tmp_path: Path) -> None:
    text = lock([conda_entry(), conda_entry("__glibc", "2.17")])
    result = parse(condalock, text.replace("version: 1\n", ""), tmp_path)
    assert [w.name for w in result.conda or ()] == ["a"]
    assert result.pip == ()


def test_conda_lock_categories_merge(tmp_path: Path) -> None:
    text = lock(
        [
            conda_entry(category="dev", optional=True),
            conda_entry(category="main", optional=False),
            conda_entry("b", category="test", optional=True),
            conda_entry("b", category="dev", optional=True),
            pip_entry(category="dev", optional=True),
            {k: v for k, v in conda_entry("c", category="dev").items() if k != "optional"},
        ]
    )  # c has no optional key: not in main, so optional
    wants = by_name(parse(condalock, text, tmp_path).conda)
    assert not wants["a"].optional and wants["b"].optional and wants["c"].optional
    conflicting = lock([conda_entry(), conda_entry(version="2.0", category="dev")])
    assert refused(condalock, conflicting, tmp_path) == (
        "package[1]: a is locked differently than in package[0]"
    )


def test_conda_lock_credentials_never_survive(tmp_path: Path) -> None:
    private = f"https://user:{SECRET}@private.example.com/t/{TOKEN}/chan"
    text = lock(
        [
            conda_entry(url=f"{private}/linux-64/a-1.0-h0_0.conda"),
            pip_entry(url=f"https://user:{SECRET}@pypi.example.com/p-1.0.tar.gz"),
            pip_entry(
                "q",
                url="https://x/y",
                source={"type": "url", "url": f"git+https://tok:{SECRET}@github.com/o/q@v1"},
            ),
        ]
    )
    result = parse(condalock, text, tmp_path)
    assert SECRET not in repr(result) and TOKEN not in repr(result)
    assert (
        result.conda is not None and result.conda[0].channel == "https://private.example.com/chan"
    )
    bad = lock([conda_entry(url=f"{private}/linux-64/b-1.0-h0_0.conda")])
    message = refused(condalock, bad, tmp_path)
    assert SECRET not in message and TOKEN not in message
    assert message == "package[0].url: names b 1.0, not a 1.0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 2\n", "conda-lock.yml version 2 is newer than this envlock reads (1)"),
        ("version: 1000\npackage: []\n", "conda-lock.yml version 1000 is newer"),
        ("version: 0\n", "version: 0 is not a conda-lock.yml version"),
        ("version: '1'\n", "version: expected integer, got string"),
        ("version: 1.5\n", "version: expected integer"),
        ("- a\n- b\n", "top level: expected a mapping, got list"),
        ("just text\n", "top level: expected a mapping, got string"),
        ("version: 1\nmetadata: {platforms: [linux-64]}\n", "package: required"),
        ("version: 1\nmetadata: {platforms: [linux-64]}\npackage: {}\n", "package: expected list"),
        (
            "version: 1\nmetadata: {platforms: [linux-64]}\npackage: [1]\n",
            "package[0]: expected a mapping",
        ),
        ("version: 1\nmetadata: {platforms: []}\npackage: []\n", "metadata.platforms: required"),
        (
            "version: 1\nmetadata: {platforms: [1]}\npackage: []\n",
            "metadata.platforms[0]: expected string",
        ),
        ("version: 1\nmetadata: []\npackage: []\n", "metadata: expected a mapping, got list"),
        ("version: 1\npackage: []\n", "metadata: required"),
        (
            "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]",
            "YAML nested",
        ),
        ("a: &x 1\nb: *x\n", "YAML aliases are not allowed"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_conda_lock_refuses_documents(tmp_path: Path, text: str, expected: str) -> None:
    assert refused(condalock, text, tmp_path).startswith(expected)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (conda_entry(name=None), "package[0].name: required"),
        (conda_entry(name=["a"]), "package[0].name: expected string, got list"),
        (conda_entry(version=1.5), "package[0].version: a number where a string belongs"),
        (conda_entry(manager="npm"), "package[0].manager: expected conda or pip"),
        (conda_entry(platform=None), "package[0].platform: required"),
        (conda_entry(url="https://x.org/a.zip"), "package[0].url: not a conda package URL"),
        (conda_entry(url=None), "package[0].url: required"),
        (conda_entry(hash=None), "package[0].hash: required"),
        (conda_entry(hash="abc"), "package[0].hash: expected a mapping, got string"),
        (conda_entry(hash={"md5": "xyz"}), "package[0].hash.md5: not a md5 digest"),
        (conda_entry(build="other"), "package[0].build: other is not the URL's build"),
        (conda_entry(optional="yes"), "package[0].optional: expected boolean, got string"),
        (pip_entry(hash={"sha256": "12"}), "package[0].hash.sha256: not a sha256 digest"),
        (pip_entry(source={"type": "git", "url": "x"}), "package[0].source.type: expected url"),
        (pip_entry(source="x"), "package[0].source: expected a mapping, got string"),
    ],
)
def test_conda_lock_refuses_entries(
    tmp_path: Path, entry: dict[str, object], expected: str
) -> None:
    entry = {k: v for k, v in entry.items() if v is not None}
    assert refused(condalock, lock([entry]), tmp_path).startswith(expected)


def test_conda_lock_checks_entries_of_every_platform(tmp_path: Path) -> None:
    text = lock(
        [conda_entry(), conda_entry(platform="osx-64", url="https://x.org/bad")],
        ("linux-64", "osx-64"),
    )
    assert refused(condalock, text, tmp_path, platform="linux-64").startswith("package[1].url")


def test_conda_lock_pip_sources(tmp_path: Path) -> None:
    text = lock(
        [
            pip_entry(),
            pip_entry("Local_Pkg", url="../wheels/local_pkg-1.0-py3-none-any.whl"),
            pip_entry("tmpl", source={"type": "url", "url": "https://${HOST}/tmpl-1.0.tar.gz"}),
        ]
    )
    result = parse(condalock, text, tmp_path / "project")
    pip = by_name(result.pip)
    assert pip["p"].source == Source("index")
    # a path outside the file's directory is recorded absolute (home as ~), as envlock does
    wheel = (tmp_path / "wheels" / "local_pkg-1.0-py3-none-any.whl").as_posix()
    assert pip["local-pkg"] == PipWant(
        name="local-pkg",
        version="1.0",
        source=Source("archive", path=wheel),
        hashes=(f"sha256={SHA}",),
    )
    assert pip["tmpl"] == PipWant(name="tmpl", version="1.0")
    assert any("template placeholder" in note for note in result.notes)


# ---------------------------------------------------------------------------------------------
# conda environment files: the corpus
# ---------------------------------------------------------------------------------------------

# file -> (conda wants, pip wants or None)
ENV_FILES: dict[str, tuple[int, int | None]] = {
    # -e ./module_to_install_in_editable_mode: its name guessed, as in a requirements file
    "conda-tests-advanced-pip.env_template.yml": (1, 3),
    "conda-tests-channels_with_envvars.yml": (1, None),
    "dexdeform.environment.yml": (192, 33),
    "gboeing-conda-scripts-linux-base.environment.yml": (185, 25),
    "gboeing-conda-scripts-win-base.environment.yml": (170, None),
    "iendonshin-css.environment.yml": (179, 4),
    "iendonshin-dl-win-base.environment.yml": (74, None),
    "malmans2-complete.from-history.environment.yml": (34, 1),
    "malmans2-jupyter.from-history.environment.yml": (4, None),
    "obs-processing-base.environment.yml": (157, 66),
    "rattler-conda_lock_dev.environment.yaml": (32, 1),
    "rattler-python-environment.yml": (1, None),
}


def test_every_env_export_corpus_file_is_expected(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / "lockfiles" / "env-export").iterdir()) == sorted(
        ENV_FILES
    )


@pytest.mark.parametrize("name", sorted(ENV_FILES))
def test_env_export_corpus(corpus: Path, name: str) -> None:
    path = corpus / "lockfiles" / "env-export" / name
    conda, pip = ENV_FILES[name]
    for platform in (None, "linux-64", "win-64"):  # never refused for its platform
        result = read(envexport, path, platform=platform)
        assert result.format == "environment-yml" and result.platform == platform
        assert result.conda is not None and len(result.conda) == conda
        assert (None if result.pip is None else len(result.pip)) == pip
        if pip is None:
            assert "the file has no pip: section: pip packages are not checked" in result.notes


def test_env_export_corpus_known_values(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "env-export"
    dexdeform = read(envexport, folder / "dexdeform.environment.yml")
    conda = by_name(dexdeform.conda)
    assert conda["pytorch"] == CondaWant(
        name="pytorch", version="1.10.0", build="py3.9_cuda11.3_cudnn8.2.0_0"
    )
    assert conda["blas"] == CondaWant(name="blas", version="1.0", build="mkl")
    assert conda["jpeg"] == CondaWant(name="jpeg", version="9e", build="h7f8727e_0")
    assert conda["cudatoolkit"] == CondaWant(
        name="cudatoolkit", version="11.3.1", build="h2bc3f7f_2"
    )
    assert by_name(dexdeform.pip)["open3d"] == PipWant(name="open3d", version="0.16.0")

    windows = by_name(
        read(envexport, folder / "gboeing-conda-scripts-win-base.environment.yml").conda
    )
    assert windows["vs2015_runtime"] == CondaWant(
        name="vs2015_runtime", version="14.29.30037", build="h902a5da_5"
    )
    # --no-builds: conda reads name=1.2 as 1.2.*
    css = read(envexport, folder / "iendonshin-css.environment.yml")
    assert by_name(css.conda)["python"] == CondaWant(name="python", spec="3.12.*")
    assert by_name(css.conda)["numpy"] == CondaWant(name="numpy", spec="1.26.4.*")
    assert by_name(css.pip)["unidic-lite"] == PipWant(name="unidic-lite", version="1.0.8")
    history = read(envexport, folder / "malmans2-complete.from-history.environment.yml")
    assert by_name(history.conda)["xarray"] == CondaWant(name="xarray")
    assert history.pip == (PipWant(name="numbagg"),)
    obs = by_name(read(envexport, folder / "obs-processing-base.environment.yml").pip)
    assert obs["plbufr"] == PipWant(name="plbufr", version="0.1.dev329+g4b7cae2.d20240526")
    python = read(envexport, folder / "rattler-python-environment.yml")
    assert python.conda == (CondaWant(name="python", spec="3.11.0.*"),)


def test_env_export_corpus_pip_options(corpus: Path) -> None:
    path = corpus / "lockfiles" / "env-export" / "conda-tests-advanced-pip.env_template.yml"
    result = read(envexport, path)
    assert result.conda == (CondaWant(name="pip"),)
    # The unnamed -e directory was skipped with a note ("names no project"); a requirements
    # file guesses its name from the path and checks it only where it is installed, and the
    # pip: section is now read the same way.
    assert result.pip == (
        PipWant(name="xmltodict", version="0.10.2"),
        PipWant(name="argh"),
        PipWant(
            name="module-to-install-in-editable-mode",
            source=Source("directory", path="module_to_install_in_editable_mode", editable=True),
            optional=True,
            guessed=True,
        ),
    )
    notes = "\n".join(result.notes)
    assert "pip option --index-url is not checked" in notes
    assert "pip option --extra-index-url is not checked" in notes
    assert "template placeholder" in notes  # -e git+{ARGH_PATH_PLACEHOLDER}#egg=argh
    assert "(module-to-install-in-editable-mode): the file names no package (#egg=NAME)" in notes
    assert "-r FILE is not followed" in notes
    assert "doubanio" not in notes  # option values (index URLs) are not repeated


# ---------------------------------------------------------------------------------------------
# conda environment files: edges and hostile input
# ---------------------------------------------------------------------------------------------


def env(*dependencies: object, **top: object) -> str:
    return yaml.safe_dump({"name": "x", **top, "dependencies": list(dependencies)})


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("numpy", CondaWant(name="numpy")),
        ("NumPy", CondaWant(name="numpy")),
        (
            "numpy=1.26.4=py311h64a7726_0",
            CondaWant(name="numpy", version="1.26.4", build="py311h64a7726_0"),
        ),
        (
            "numpy 1.26.4 py311h64a7726_0",
            CondaWant(name="numpy", version="1.26.4", build="py311h64a7726_0"),
        ),
        ("numpy==1.26.4", CondaWant(name="numpy", version="1.26.4")),
        ("numpy 1.26.4", CondaWant(name="numpy", version="1.26.4")),
        ("numpy=1.26", CondaWant(name="numpy", spec="1.26.*")),
        ("numpy =1.26", CondaWant(name="numpy", spec="1.26.*")),
        ("numpy=1.26.*", CondaWant(name="numpy", spec="1.26.*")),
        ("numpy 1.26.*", CondaWant(name="numpy", spec="1.26.*")),
        ("numpy=1.26=py39*", CondaWant(name="numpy", version="1.26", build="py39*")),
        ("numpy=1.26.*=py39*", CondaWant(name="numpy", spec="1.26.*", build="py39*")),
        ("python>=3.9", CondaWant(name="python", spec=">=3.9")),
        ("python >=3.9,<3.13", CondaWant(name="python", spec=">=3.9,<3.13")),
        ("python >=3.9, <3.13", CondaWant(name="python", spec=">=3.9,<3.13")),
        ("python<3", CondaWant(name="python", spec="<3")),
        ("python!=3.10.0", CondaWant(name="python", spec="!=3.10.0")),
        ("python 3.10|3.11", CondaWant(name="python", spec="3.10|3.11")),
        ("blas=*=mkl", CondaWant(name="blas", build="mkl")),
        ("blas * mkl", CondaWant(name="blas", build="mkl")),
        (
            "conda-forge::numpy=1.26.4",
            CondaWant(name="numpy", spec="1.26.4.*", channel="conda-forge"),
        ),
        (
            "conda-forge/linux-64::numpy",
            CondaWant(name="numpy", channel="conda-forge", subdir="linux-64"),
        ),
        (
            "pkgs/main::python=3.11.4=h955ad1f_0",
            CondaWant(name="python", version="3.11.4", build="h955ad1f_0", channel="pkgs/main"),
        ),
        (
            "https://conda.anaconda.org/pytorch::pytorch",
            CondaWant(
                name="pytorch",
                channel="pytorch",
                channel_url="https://conda.anaconda.org/pytorch",
            ),
        ),
        (
            "numpy[version='>=1.2,<2', build=py39*]",
            CondaWant(name="numpy", spec=">=1.2,<2", build="py39*"),
        ),
        (
            f'numpy[version="1.26.4", md5={MD5}, subdir=linux-64, channel=conda-forge]',
            CondaWant(
                name="numpy", version="1.26.4", md5=MD5, subdir="linux-64", channel="conda-forge"
            ),
        ),
        ("python_abi[build=*_cp313t]", CondaWant(name="python_abi", build="*_cp313t")),
        ("ruamel.yaml=0.17.21", CondaWant(name="ruamel.yaml", spec="0.17.21.*")),
        ("numpy  # a comment", CondaWant(name="numpy")),
    ],
)
def test_env_conda_specs(tmp_path: Path, spec: str, want: CondaWant) -> None:
    assert parse(envexport, env(spec), tmp_path).conda == (want,)


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("requests", PipWant(name="requests")),
        ("Requests_OAuthlib==1.3.0", PipWant(name="requests-oauthlib", version="1.3.0")),
        ("pkg===1.0-local", PipWant(name="pkg", version="1.0-local")),
        ("pkg==1.*", PipWant(name="pkg", specifier="==1.*")),
        ("pkg>=1.0,<2", PipWant(name="pkg", specifier="<2,>=1.0")),
        ("pkg[extra]==1.0", PipWant(name="pkg", version="1.0")),
        (
            "pkg==1.0; python_version < '3.12'",
            PipWant(name="pkg", version="1.0", marker='python_version < "3.12"'),
        ),
        (
            f"pkg==1.0 --hash=sha256:{SHA} --hash sha256:{'cd' * 32}",
            PipWant(name="pkg", version="1.0", hashes=(f"sha256={SHA}", "sha256=" + "cd" * 32)),
        ),
        ("pkg==1.0  # why", PipWant(name="pkg", version="1.0")),
        (
            "pkg @ git+https://github.com/o/pkg@" + "a" * 40,
            PipWant(
                name="pkg",
                source=Source("vcs", url="https://github.com/o/pkg", vcs="git", commit="a" * 40),
            ),
        ),
        (
            f"pkg @ https://example.com/pkg-1.0.tar.gz#sha256={SHA}",
            PipWant(
                name="pkg",
                source=Source(
                    "archive", url="https://example.com/pkg-1.0.tar.gz", hash=f"sha256={SHA}"
                ),
                hashes=(f"sha256={SHA}",),
            ),
        ),
        (
            "-e git+https://github.com/o/pkg.git@v1#egg=Pkg",
            PipWant(
                name="pkg",
                source=Source(
                    "vcs",
                    url="https://github.com/o/pkg.git",
                    vcs="git",
                    requested_revision="v1",
                    editable=True,
                ),
            ),
        ),
        (
            "--editable=./src/mod#egg=mod",
            PipWant(name="mod", source=Source("directory", path="src/mod", editable=True)),
        ),
        (
            "-e ./src/mod[test]#egg=mod",
            PipWant(name="mod", source=Source("directory", path="src/mod", editable=True)),
        ),
        (
            "./dist/mod-2.0-py3-none-any.whl",
            PipWant(name="mod", source=Source("archive", path="dist/mod-2.0-py3-none-any.whl")),
        ),
    ],
)
def test_env_pip_lines(tmp_path: Path, line: str, want: PipWant) -> None:
    result = parse(envexport, env("python=3.11", {"pip": [line]}), tmp_path)
    assert result.pip == (want,)


# The pip: section is read line by line as a requirements file: the same lines give the same
# wants and are refused with the same message, only the location differs.
SAME_LINES = {
    "pins-markers-hashes": [
        f"Alpha_Pkg==1.0 --hash=sha256:{SHA.upper()} --hash sha256:{SHA}",
        "gamma[x] >=1.0,<2 ; python_version >= '3.9'  # a comment",
    ],
    "url-with-hash": [f"delta @ https://example.com/delta-1.0.tar.gz#sha256={SHA}"],
    "bare-wheel-url": ["https://example.com/dl/epsilon-3.1-py3-none-any.whl ; os_name == 'nt'"],
    "paths": ["./vendor/zeta#egg=Zeta_Lib", "-e ./packages/eta[dev]", "./dist/kappa-2.0.tar.bz2"],
    "vcs": [
        "-e git+https://github.com/o/theta.git@v1.2#egg=theta&subdirectory=py",
        "--editable=git+https://github.com/o/iota.git",  # named after the repository
    ],
    "quoted": ['-e "./with space#egg=mu"'],
    "freeze-comment": [
        "# Editable install with no version control (My_Tool==0.3.dev1)",
        "-e /opt/src/my-tool",
    ],
    "conda-build": [
        "lam @ file:///home/conda/feedstock_root/build_artifacts/lam_1700000000000/work"
    ],
    "unnamed-url": ["https://example.com/download", "nu==1"],
    "options": ["--index-url https://x.org/simple", "-r more.txt", "xi==1 --config-settings a=b"],
    # kept twice, as pip keeps them: the marker chooses, or neither guessed name is installed
    "marker-chooses": ["omi==1 ; python_version < '3'", "omi==2 ; python_version >= '3'"],
    "guessed-alike": ["./a/src", "./b/src"],
}


@pytest.mark.parametrize("lines", SAME_LINES.values(), ids=SAME_LINES)
def test_env_pip_section_reads_as_a_requirements_file(tmp_path: Path, lines: list[str]) -> None:
    as_file = requirements.parse("\n".join(lines), base_dir=tmp_path).pip
    assert as_file
    assert parse(envexport, env("python", {"pip": lines}), tmp_path).pip == as_file


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--frobnicate", "unknown option --frobnicate"),
        ("-r", "-r needs a value"),
        ("--pre=yes", "--pre takes no value"),
        ("-e https://example.com/x.tar.gz", "-e needs a local directory or a VCS URL"),
        ("--hash=sha256:" + SHA, "--hash without a requirement"),
        ("name==1 -r other.txt", "--requirement cannot follow a requirement"),
        ("name==1 --hash=sha256:" + SHA[:-1], "--hash must be sha256:<hex>"),
        ("name==1 --hash=SHA256:" + SHA, "--hash must be sha256:<hex>"),
        ("./pkg#egg=not/a/name", "#egg= is not a package name"),
        ("./pkg ; python_version >>> '3'", "not a marker"),
        ("a b c", "not a requirement: a b c"),
    ],
)
def test_env_pip_lines_refused_as_in_a_requirements_file(
    tmp_path: Path, line: str, message: str
) -> None:
    with pytest.raises(LockfileError) as info:
        requirements.parse(line, base_dir=tmp_path)
    assert one_line(info).startswith(f"line 1: {message}")
    got = refused(envexport, env({"pip": [line]}), tmp_path)
    assert got.startswith(f"dependencies[0].pip[0]: {message}"), got


def test_env_pip_notes_and_placeholders(tmp_path: Path) -> None:
    lines = [
        "https://example.com/download",
        "pkg==1 --config-settings a=b",
        "-e ${HOME}/src/home-pkg#egg=home-pkg",  # pip expands ${HOME}: read as ~
        "tool @ https://${HOST}/tool-1.0.tar.gz",
        "lam @ file:///home/conda/feedstock_root/build_artifacts/lam_1700000000000/work",
    ]
    result = parse(envexport, env("python", {"pip": lines}), tmp_path)
    assert result.pip == (
        PipWant(name="pkg", version="1"),
        PipWant(name="home-pkg", source=Source("directory", path="~/src/home-pkg", editable=True)),
        PipWant(name="tool"),
        PipWant(name="lam"),
    )
    assert result.notes[:4] == (
        "dependencies[1].pip[0] (https://example.com/download): names no package, nor does "
        "its file name (add #egg=NAME): not checked",
        "dependencies[1].pip[1]: pip option --config-settings is not checked",
        "dependencies[1].pip[3]: the location has a template placeholder; only the name is checked",
        "dependencies[1].pip[4] (lam): a conda-build path (installed by conda): only its "
        "presence is checked",
    )


def test_env_pip_section_empty_and_options(tmp_path: Path) -> None:
    assert parse(envexport, env("python", {"pip": None}), tmp_path).pip == ()
    assert parse(envexport, env("python", {"pip": []}), tmp_path).pip == ()
    (tmp_path / "more.txt").write_text("evil==6.6.6\n")
    result = parse(
        envexport,
        env(
            {
                "pip": [
                    "-r more.txt",
                    "--requirement=more.txt",
                    "-c more.txt",
                    f"--index-url https://user:{SECRET}@pypi.example.com/simple",
                    "--extra-index-url=https://pypi.org/simple",
                    "-f https://example.com/wheels",
                    "--pre",
                    "-e ./here",
                    "",
                ]
            }
        ),
        tmp_path,
    )
    # the file named by -r is never opened; -e ./here, skipped before, is now named after
    # its directory and optional, as in a requirements file
    assert result.pip == (
        PipWant(
            "here",
            source=Source("directory", path="here", editable=True),
            optional=True,
            guessed=True,
        ),
    )
    assert SECRET not in repr(result)
    assert sum("is not followed" in note for note in result.notes) == 3
    assert sum("pip option" in note for note in result.notes) == 4
    assert any("(here): the file names no package" in note for note in result.notes)


def test_env_notes_for_what_is_not_checked(tmp_path: Path) -> None:
    result = parse(
        envexport,
        env(
            "numpy",
            channels=["conda-forge"],
            prefix="/opt/conda/envs/x",
            variables={"OMP_NUM_THREADS": "1"},
            platforms=["linux-64"],
        ),
        tmp_path,
        platform="osx-arm64",
    )
    assert result.platform == "osx-arm64"
    assert "variables: are not checked" in result.notes
    assert "platforms: (a conda-lock extension) is not checked" in result.notes
    assert any("channels list is not checked" in note for note in result.notes)
    templated = parse(envexport, env("python=${PY_VERSION}", "numpy"), tmp_path)
    assert templated.conda == (CondaWant(name="numpy"),)
    assert any("template placeholder" in note for note in templated.notes)


def test_env_credentials_never_survive(tmp_path: Path) -> None:
    text = env(
        f"https://user:{SECRET}@private.example.com/t/{TOKEN}/chan::numpy=1.0=0",
        {
            "pip": [
                f"pkg @ https://user:{SECRET}@example.com/pkg-1.0.tar.gz",
                f"-e git+https://{SECRET}@github.com/o/r#egg=r",
            ]
        },
        channels=[f"https://user:{SECRET}@private.example.com/t/{TOKEN}/chan"],
    )
    result = parse(envexport, text, tmp_path)
    assert SECRET not in repr(result) and TOKEN not in repr(result)
    assert result.conda is not None
    assert result.conda[0].channel == "https://private.example.com/chan"
    for bad in (
        env(f"https://user:{SECRET}@x.org/t/{TOKEN}/c::numpy=1.0=0=x=y=z"),
        env({"pip": [f"pkg @@ https://user:{SECRET}@example.com/pkg.tar.gz"]}),
        env({"pip": [f"pkg==1.0 --hash=sha256:{SECRET}"]}),
    ):
        message = refused(envexport, bad, tmp_path)
        assert SECRET not in message and TOKEN not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n", "dependencies: required (is this a conda environment file?)"),
        ("dependencies: numpy\n", "dependencies: expected list, got string"),
        ("- numpy\n", "top level: expected a mapping, got list"),
        ("dependencies: [1]\n", "dependencies[0]: expected a conda spec, got integer"),
        ("dependencies: [null]\n", "dependencies[0]: expected a conda spec, got nothing"),
        ("dependencies: [[a]]\n", "dependencies[0]: expected a conda spec, got list"),
        ("dependencies: [{conda: [a]}]\n", "dependencies[0]: expected a conda spec or a pip: list"),
        ("dependencies: [{pip: a}]\n", "dependencies[0].pip: expected list, got string"),
        ("dependencies: [{pip: [1]}]\n", "dependencies[0].pip[0]: expected a requirement line"),
        ("dependencies: [{pip: ['a b c']}]\n", "dependencies[0].pip[0]: not a requirement"),
        # the requirements file's message (it was "not a --hash=sha256:HEX option")
        (
            "dependencies: [{pip: ['a==1 --hash=md5:00']}]\n",
            "dependencies[0].pip[0]: --hash must be sha256:<hex>",
        ),
        # an unknown option was a note; as in a requirements file (and in pip), an error
        ("dependencies: [{pip: [--frobnicate]}]\n", "dependencies[0].pip[0]: unknown option"),
        # -e of an archive was read; pip refuses it, and so does a requirements file
        (
            "dependencies: [{pip: ['-e https://x.org/a-1.0.tar.gz']}]\n",
            "dependencies[0].pip[0]: -e needs a local directory or a VCS URL",
        ),
        (
            "dependencies: [{pip: ['--hash=sha256:" + SHA + "']}]\n",
            "dependencies[0].pip[0]: --hash without",
        ),
        ("dependencies: [a, A]\n", "dependencies[1]: a is listed twice"),
        ("dependencies: ['']\n", "dependencies[0]: not a conda spec"),
        ("dependencies: ['*']\n", "dependencies[0]: not a conda spec"),
        ("dependencies: ['numpy==']\n", "dependencies[0]: not a conda version spec"),
        ("dependencies: ['numpy>=']\n", "dependencies[0]: not a conda version spec"),
        ("dependencies: ['numpy=1.0=']\n", "dependencies[0]: not a conda version spec"),
        ("dependencies: ['numpy 1 b c']\n", "dependencies[0]: not a conda build string"),
        ("dependencies: ['numpy[version']\n", "dependencies[0]: not a conda spec"),
        ("dependencies: ['numpy[md5=xyz]']\n", "dependencies[0]: [md5=...] is not a md5 digest"),
        ("dependencies: ['numpy[what]']\n", "dependencies[0]: cannot read the [...] fields"),
        ("channels: conda-forge\ndependencies: []\n", "channels: expected list, got string"),
        ("prefix: [1]\ndependencies: []\n", "prefix: expected string, got list"),
        ("dependencies: ['" + "a" * 5000 + "']\n", "dependencies[0]: not a conda spec"),
        ("dependencies: ['a" + "=" * 900 + "']\n", "dependencies[0]: not a conda version spec"),
        ("dependencies: [\n", "not valid YAML"),
        ("dependencies: !!python/object:os.system [a]\n", "not valid YAML"),
    ],
)
def test_env_refuses(tmp_path: Path, text: str, expected: str) -> None:
    message = refused(envexport, text, tmp_path)
    assert message.startswith(expected), message
    assert len(message) < 300


def test_env_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        envexport.parse(env("numpy"), base_dir=tmp_path, environment="dev")
    with pytest.raises(UsageError):
        condalock.parse(lock([conda_entry()]), base_dir=tmp_path, environment="dev")
