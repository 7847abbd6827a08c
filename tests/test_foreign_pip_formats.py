"""pylock.toml (PEP 751) and pinned requirements files read as foreign lockfiles: every
corpus file parses or is refused with one clear line; exact values from real files; edge
cases, hostile input and credentials inline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from envlock.errors import LockfileError, UsageError
from envlock.foreign import Foreign, PipWant, pylock, requirements
from envlock.model import Source
from envlock.redact import home_to_tilde

SHA_A = "a" * 64
SHA_B = "b" * 64
SECRET = "s3cr3t-T0KEN"


def _outside(base_dir: Path, rel: str) -> str:
    """How a path outside ``base_dir`` is recorded: absolute, home as ``~``."""
    return home_to_tilde(Path(os.path.normpath(base_dir / rel)).as_posix())


def _by_name(result: Foreign) -> dict[str, PipWant]:
    assert result.pip is not None
    return {w.name: w for w in result.pip}


def _one_line_error(exc: pytest.ExceptionInfo[Exception]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


# --- pylock.toml --------------------------------------------------------------------------

PYLOCK_REFUSED = {
    "pip-tests-pylock.invalid.toml": "lock-version: required",
    "TRAP-cambridge-iccs-misnamed.pylock.toml": "not a pylock.toml: not valid TOML",
}


def test_pylock_corpus_every_file_parses_or_is_refused(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "pylock"
    files = sorted(folder.iterdir())
    assert len(files) >= 17
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.name in PYLOCK_REFUSED:
            with pytest.raises(LockfileError) as exc:
                pylock.parse(text, base_dir=folder)
            assert _one_line_error(exc).startswith(PYLOCK_REFUSED[path.name]), path.name
            continue
        result = pylock.parse(text, base_dir=folder, platform="linux-64")
        assert result.format == "pylock"
        assert result.conda is None
        assert result.pip, path.name
        assert result.platform is None  # a pylock chooses by markers, not by conda subdir
        for want in result.pip:
            assert want.source is not None, (path.name, want.name)
            assert all(h.startswith("sha256=") and len(h) == 71 for h in want.hashes)


def test_pylock_trap_is_a_requirements_file(corpus: Path) -> None:
    """The misnamed file is refused as a pylock and read fine as what it is."""
    path = corpus / "lockfiles" / "pylock" / "TRAP-cambridge-iccs-misnamed.pylock.toml"
    text = path.read_text(encoding="utf-8")
    with pytest.raises(LockfileError, match=r"^not a pylock\.toml: not valid TOML"):
        pylock.parse(text, base_dir=path.parent)
    result = requirements.parse(text, base_dir=path.parent)
    assert result.format == "requirements"
    assert result.pip is not None and len(result.pip) == 137
    assert _by_name(result)["anyio"].version == "4.9.0"


def test_pylock_directory_packages(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "pylock"
    text = (folder / "pip-tests-pylock.directory.toml").read_text(encoding="utf-8")
    wants = _by_name(pylock.parse(text, base_dir=folder))
    assert list(wants) == ["simplewheel", "singlemodule"]
    assert wants["simplewheel"] == PipWant(
        name="simplewheel",
        source=Source(
            kind="directory", path=_outside(folder, "../src/simplewheel-2.0"), editable=True
        ),
    )
    single = wants["singlemodule"]
    assert single.version is None and single.hashes == ()
    assert single.source == Source(kind="directory", path=_outside(folder, "../src/singlemodule"))


def test_pylock_directory_inside_base_dir_is_relative(tmp_path: Path) -> None:
    text = (
        'lock-version = "1.0"\ncreated-by = "x"\n'
        'packages = [{ name = "proj", directory = { path = "sub/proj", editable = true } }]\n'
    )
    want = pylock.parse(text, base_dir=tmp_path).pip[0]  # type: ignore[index]
    assert want.source == Source(kind="directory", path="sub/proj", editable=True)


def test_pylock_comfy_cli(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "pylock"
    result = pylock.parse(
        (folder / "comfy-cli.pylock.toml").read_text(encoding="utf-8"), base_dir=folder
    )
    assert result.requires_python == ">=3.10"
    assert result.environments == ()
    assert result.notes == ()
    assert result.pip is not None and len(result.pip) == 48
    wants = _by_name(result)
    assert wants["comfy-cli"] == PipWant(
        name="comfy-cli", source=Source(kind="directory", path=".", editable=True)
    )
    assert wants["colorama"].marker == "sys_platform == 'win32'"
    assert wants["colorama"].optional is False
    assert wants["exceptiongroup"].marker == "python_full_version < '3.11'"
    assert sum(w.marker is not None for w in result.pip) == 2
    anyio = wants["anyio"]
    assert anyio.version == "4.10.0"
    assert anyio.source == Source(kind="index")
    assert anyio.hashes == (
        "sha256=3f3fae35c96039744587aa5b8371e7e8e603c0702999535961dd336026973ba6",
        "sha256=60e474ac86736bbfd6f210f7a61218939c318f43f9972497381f1c5e930ed3d1",
    )
    assert len(wants["charset-normalizer"].hashes) == 54  # sdist + 53 wheels


def test_pylock_spec_example(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "pylock"
    text = (folder / "packaging-pylock.spec-example.toml").read_text(encoding="utf-8")
    result = pylock.parse(text, base_dir=folder)
    assert result.requires_python == "==3.12.*"
    assert result.environments == ('sys_platform == "win32"', 'sys_platform == "linux"')
    wants = _by_name(result)
    assert [(w.name, w.version) for w in wants.values()] == [
        ("attrs", "25.1.0"),
        ("cattrs", "24.1.2"),
        ("numpy", "2.2.3"),
    ]
    assert wants["numpy"].hashes == (
        "sha256=83807d445817326b4bcdaaaf8e8e9f1753da04341eceec705c001ff342002e5d",
        "sha256=3b787adbf04b0db1967798dba8da1af07e387908ed1553a0d6e74c084d1ceafe",
    )


def test_pylock_local_files(corpus: Path) -> None:
    """A wheel or sdist given only by a local path is installed from that file: an archive."""
    folder = corpus / "lockfiles" / "pylock"
    text = (folder / "pip-tests-pylock.toml").read_text(encoding="utf-8")
    wants = _by_name(pylock.parse(text, base_dir=folder))
    sha = "sha256=3a084929238d13bcd3bb928af04f3bac7ca2357d419e29f01459dc848e2d69a4"
    assert wants["simple"] == PipWant(
        name="simple",
        version="2.0",
        source=Source(
            kind="archive", path=_outside(folder, "../packages/simple-2.0.tar.gz"), hash=sha
        ),
        hashes=(sha,),
    )
    simple2 = wants["simple2"]  # [packages.archive], no version
    assert simple2.version is None
    assert simple2.source is not None and simple2.source.kind == "archive"
    assert simple2.source.path == _outside(folder, "../packages/simple2-3.0.tar.gz")
    assert simple2.hashes == (
        "sha256=3ad45e1e9aa48b4462af0123f6a7e44a9115db1ef945d4d92c123dfe21815a06",
    )
    mixed = _by_name(
        pylock.parse(
            (folder / "pip-tests-pylock.mixed.toml").read_text(encoding="utf-8"), base_dir=folder
        )
    )
    assert mixed["simplewheel"].source is not None
    assert mixed["simplewheel"].source.kind == "archive"
    assert mixed["singlemodule"].source == Source(
        kind="directory", path=_outside(folder, "../src/singlemodule"), editable=True
    )


def _pylock(packages: str, head: str = "") -> str:
    return f'lock-version = "1.0"\ncreated-by = "test"\n{head}\n{packages}'


def test_pylock_vcs_and_archive_urls_lose_credentials(tmp_path: Path) -> None:
    text = _pylock(
        f"""
[[packages]]
name = "private-pkg"
version = "1.0"
[packages.vcs]
type = "git"
url = "https://user:{SECRET}@github.com/org/private.git"
requested-revision = "main"
commit-id = "{"c" * 40}"
subdirectory = "python"

[[packages]]
name = "blob"
[packages.archive]
url = "https://files.example.com/t/{SECRET}/blob-1.0.tar.gz?token={SECRET}"
hashes = {{ md5 = "{"d" * 32}", sha256 = "{SHA_A.upper()}" }}
subdirectory = "sub"
"""
    )
    result = pylock.parse(text, base_dir=tmp_path)
    assert SECRET not in repr(result)
    wants = _by_name(result)
    assert wants["private-pkg"].source == Source(
        kind="vcs",
        vcs="git",
        url="https://github.com/org/private.git",
        commit="c" * 40,
        requested_revision="main",
        subdirectory="python",
    )
    blob = wants["blob"]
    assert blob.source is not None and blob.source.kind == "archive"
    assert blob.source.hash == f"sha256={SHA_A}"  # sha256 preferred, lower case
    assert blob.source.subdirectory == "sub"
    assert blob.hashes == (f"sha256={SHA_A}",)


def test_pylock_wheels_with_urls_come_from_an_index(tmp_path: Path) -> None:
    text = _pylock(
        f"""
[[packages]]
name = "demo"
version = "1.0"
index = "https://user:{SECRET}@pypi.example.com/simple"
sdist = {{ url = "https://x.example.com/demo-1.0.tar.gz", hashes = {{ sha256 = "{SHA_A}" }} }}
wheels = [
  {{ url = "https://x.example.com/demo-1.0-py3-none-any.whl", hashes = {{ sha256 = "{SHA_B}" }} }},
  {{ path = "w/demo-1.0-cp312-cp312-linux_x86_64.whl", hashes = {{ sha512 = "{"e" * 128}" }} }},
]
"""
    )
    want = pylock.parse(text, base_dir=tmp_path).pip[0]  # type: ignore[index]
    # a local file among URLs: which one is installed is not known; the hashes decide
    assert want.source is None
    assert want.hashes == (f"sha256={SHA_A}", f"sha256={SHA_B}", f"sha512={'e' * 128}")
    assert SECRET not in repr(want)


@pytest.mark.parametrize("fallback", [False, True], ids=["packaging.pylock", "own-checks"])
def test_pylock_extras_and_dependency_groups_are_optional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fallback: bool
) -> None:
    if fallback:
        monkeypatch.setitem(sys.modules, "packaging.pylock", None)
    text = _pylock(
        f"""
[[packages]]
name = "pytest"
version = "8.0.0"
marker = "'dev' in dependency_groups"
wheels = [{{ url = "https://x/pytest-8.0.0-py3-none-any.whl", hashes = {{ sha256 = "{SHA_A}" }} }}]

[[packages]]
name = "torch"
version = "2.8.0"
marker = "'gpu' in extras and sys_platform == 'linux'"
wheels = [{{ url = "https://x/torch-2.8.0-py3-none-any.whl", hashes = {{ sha256 = "{SHA_B}" }} }}]

[[packages]]
name = "six"
version = "1.0"
marker = "platform_release == 'extras'"
wheels = [{{ url = "https://x/six-1.0-py3-none-any.whl", hashes = {{ sha256 = "{SHA_B}" }} }}]
""",
        head='extras = ["gpu"]\ndependency-groups = ["dev", "docs"]\ndefault-groups = ["dev"]',
    )
    result = pylock.parse(text, base_dir=tmp_path)
    wants = _by_name(result)
    assert wants["pytest"].optional and wants["pytest"].marker == "'dev' in dependency_groups"
    assert wants["torch"].optional
    assert not wants["six"].optional  # 'extras' only inside a quoted value
    (note,) = result.notes
    assert note.startswith("2 packages depend on the extras or dependency groups")
    assert "extras: gpu; dependency groups: dev, docs; default groups: dev" in note


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2.0", "pylock lock-version 2.0 is newer than this envlock reads (1.x)"),
        ("10.3", "pylock lock-version 10.3 is newer than this envlock reads (1.x)"),
        ("0.9", "pylock lock-version 0.9 is not one envlock reads (1.x)"),
        ("one", "lock-version: not a version: 'one'"),
    ],
)
def test_pylock_lock_version(tmp_path: Path, version: str, message: str) -> None:
    text = f'lock-version = "{version}"\ncreated-by = "x"\npackages = []\n'
    with pytest.raises(LockfileError) as exc:
        pylock.parse(text, base_dir=tmp_path)
    assert _one_line_error(exc) == message


def test_pylock_minor_version_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        'lock-version = "1.7"\ncreated-by = "x"\n'
        'packages = [{ name = "a", directory = { path = "." } }]\n'
    )
    assert pylock.parse(text, base_dir=tmp_path).pip == (
        PipWant(name="a", source=Source(kind="directory", path=".")),
    )
    assert capsys.readouterr() == ("", "")  # nothing printed or logged


HOSTILE_PYLOCKS = [
    "",
    "just text",
    "\x00\x01\x02garbage",
    "[[[",
    "a = 1",
    'lock-version = 1\ncreated-by = "x"\npackages = []',
    'lock-version = "1.0"\ncreated-by = "x"',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = "many"',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [1, 2]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ version = "1" }]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ name = "a" }]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ name = ["a"], directory = {path="."} }]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ name = "a", directory = "." }]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ name = "a", directory = {} }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", directory = {path="."}, archive = {path="a", hashes={md5="a"}} }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", archive = { path = "a-1.tar.gz" } }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", archive = { path = "a-1.tar.gz", hashes = { sha256 = "xyz" } } }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", archive = { path = "a-1.tar.gz", hashes = { sha256 = 5 } } }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", archive = { path = "a-1.tar.gz", hashes = {} } }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", vcs = { type = "git", url = "https://x/y" } }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", vcs = { type = "git", commit-id = "abc" } }]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ name = "a", wheels = [{}] }]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ name = "a", wheels = "w" }]',
    'lock-version = "1.0"\ncreated-by = "x"\npackages = [{ name = "a", sdist = 3 }]',
    'lock-version = "1.0"\ncreated-by = "x"\nrequires-python = ">>3"\n'
    'packages = [{ name = "a", directory = { path = "." } }]',
    'lock-version = "1.0"\ncreated-by = "x"\nenvironments = [1]\n'
    'packages = [{ name = "a", directory = { path = "." } }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", marker = 7, directory = { path = "." } }]',
    'lock-version = "1.0"\ncreated-by = "x"\n'
    'packages = [{ name = "a", editable = true, directory = { path = ".", editable = "yes" } }]',
    "x = " + "[" * 5000 + "]" * 5000,
    'lock-version = "1.0"\n' + "a" * 3_000_000,
]


@pytest.mark.parametrize("fallback", [False, True], ids=["packaging.pylock", "own-checks"])
@pytest.mark.parametrize("text", HOSTILE_PYLOCKS, ids=range(len(HOSTILE_PYLOCKS)))
def test_pylock_hostile_input_is_one_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, fallback: bool
) -> None:
    if fallback:  # as with packaging < 25, which has no packaging.pylock
        monkeypatch.setitem(sys.modules, "packaging.pylock", None)
    with pytest.raises(LockfileError) as exc:
        pylock.parse(text, base_dir=tmp_path)
    assert len(_one_line_error(exc)) < 300


def test_pylock_corpus_reads_the_same_without_packaging_pylock(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = corpus / "lockfiles" / "pylock"
    results = {}
    for name in ("comfy-cli.pylock.toml", "pip-tests-pylock.mixed.toml"):
        text = (folder / name).read_text(encoding="utf-8")
        results[name] = pylock.parse(text, base_dir=folder)
    monkeypatch.setitem(sys.modules, "packaging.pylock", None)
    for name, expected in results.items():
        text = (folder / name).read_text(encoding="utf-8")
        assert pylock.parse(text, base_dir=folder) == expected


@pytest.mark.parametrize("fallback", [False, True], ids=["packaging.pylock", "own-checks"])
def test_pylock_names_must_be_normalized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fallback: bool
) -> None:
    if fallback:
        monkeypatch.setitem(sys.modules, "packaging.pylock", None)
    text = _pylock('packages = [{ name = "Private_Pkg", directory = { path = "." } }]')
    with pytest.raises(
        LockfileError, match=r"^packages\[0\]\.name: .*'Private_Pkg' is not normalized"
    ):
        pylock.parse(text, base_dir=tmp_path)


def test_pylock_error_names_the_dotted_path(tmp_path: Path) -> None:
    text = _pylock('[[packages]]\nname = "a"\n[packages.archive]\npath = "a-1.tar.gz"\n')
    with pytest.raises(LockfileError) as exc:
        pylock.parse(text, base_dir=tmp_path)
    assert _one_line_error(exc).startswith("packages[0].archive")


def test_pylock_has_no_named_environments(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no named environments"):
        pylock.parse(_pylock("packages = []"), base_dir=tmp_path, environment="dev")


@pytest.mark.parametrize("fallback", [False, True], ids=["packaging.pylock", "own-checks"])
@pytest.mark.parametrize(
    "body",
    [
        f'[[packages]]\nname = "a"\nwheels = [{{ url = "https://u:{SECRET}@x/NOT A WHEEL", '
        f'hashes = {{ sha256 = "{SHA_A}" }} }}]\n',
        f'[[packages]]\nname = "https://u:{SECRET}@x/"\ndirectory = {{ path = "." }}\n',
        f'[[packages]]\nname = "{"x" * 70} https://u:{SECRET}@x/"\ndirectory = {{ path = "." }}\n',
        f'[[packages]]\nname = "a"\nmarker = "https://u:{SECRET}@x/"\n'
        'directory = { path = "." }\n',
        f'requires-python = "https://u:{SECRET}@x/"\npackages = []\n',
    ],
)
def test_pylock_credentials_never_in_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, fallback: bool
) -> None:
    if fallback:
        monkeypatch.setitem(sys.modules, "packaging.pylock", None)
    try:
        result = pylock.parse(_pylock(body), base_dir=tmp_path)
    except LockfileError as e:
        assert SECRET not in str(e) and SECRET[:4] not in str(e)
    else:  # without packaging.pylock, wheel file names are not checked
        assert fallback and SECRET not in repr(result)


# --- requirements -------------------------------------------------------------------------

REQUIREMENTS_REFUSED = {
    "syft-requires-edge-cases.requirements.txt": (
        "line 8: -e needs a local directory or a VCS URL (git+https://...), "
        "not https://github.com/pecan/pecan.git"
    ),
}
REQUIREMENTS_COUNTS = {
    "cambridge-iccs-uv-export-hashes.requirements.txt": 137,
    "obs-processing-pip-freeze-in-conda.requirements.txt": 102,
    "scancode-editable.requirements.txt": 4,
    "scancode-local-paths.requirements.txt": 4,
    "scancode-urls-with-checksums.requirements.txt": 2,
    "scancode-vcs-git.requirements.txt": 13,
    "uv-airflow2-constraints.txt": 299,
    "uv-all-kinds.requirements.in": 5,
    "uv-compiled-all-kinds.requirements.txt": 35,
    "uv-compiled-jupyter.requirements.txt": 93,
}


def test_requirements_corpus_every_file_parses_or_is_refused(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "requirements"
    files = sorted(folder.iterdir())
    assert {p.name for p in files} == {*REQUIREMENTS_REFUSED, *REQUIREMENTS_COUNTS}
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.name in REQUIREMENTS_REFUSED:
            with pytest.raises(LockfileError) as exc:
                requirements.parse(text, base_dir=folder)
            assert _one_line_error(exc) == REQUIREMENTS_REFUSED[path.name]
            continue
        result = requirements.parse(text, base_dir=folder, platform="osx-arm64")
        assert result.format == "requirements" and result.conda is None
        assert result.platform is None and result.environment is None
        assert result.pip is not None and len(result.pip) == REQUIREMENTS_COUNTS[path.name]


def test_requirements_uv_compiled_all_kinds(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "requirements"
    text = (folder / "uv-compiled-all-kinds.requirements.txt").read_text(encoding="utf-8")
    result = requirements.parse(text, base_dir=folder)
    assert result.notes == ()
    wants = _by_name(result)
    assert wants["pydantic-extra-types"] == PipWant(
        name="pydantic-extra-types",
        source=Source(
            kind="vcs",
            vcs="git",
            url="https://github.com/pydantic/pydantic-extra-types.git",
            commit="5ebc5bba58605c656a821eed773973725e35cf83",
        ),
    )
    assert wants["flask"] == PipWant(
        name="flask",
        source=Source(
            kind="archive",
            url="https://files.pythonhosted.org/packages/36/42/"
            "015c23096649b908c809c69388a805a571a3bea44362fe87e33fc3afa01f/"
            "flask-3.0.0-py3-none-any.whl",
        ),
    )
    assert wants["werkzeug"].source is not None
    assert wants["werkzeug"].source.url is not None
    assert wants["werkzeug"].source.url.endswith("/werkzeug-3.0.1.tar.gz")
    assert wants["pytz"].version == "2023.3.post1"
    assert wants["markupsafe"] == PipWant(name="markupsafe", version="2.1.3")


def test_requirements_pip_freeze_in_conda(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "requirements"
    text = (folder / "obs-processing-pip-freeze-in-conda.requirements.txt").read_text(
        encoding="utf-8"
    )
    result = requirements.parse(text, base_dir=folder)
    wants = _by_name(result)
    conda_built = [w for w in wants.values() if w.version is None]
    assert len(conda_built) == 34
    assert all(w.source is None and w.specifier is None for w in conda_built)
    # conda-forge feedstock, Anaconda's /croot and /work/ci_* build directories
    for name in ("archspec", "certifi", "conda-libmamba-solver", "ipython", "ruamel-yaml"):
        assert wants[name] == PipWant(name=name), name
    assert wants["babel"] == PipWant(name="babel", version="2.12.1")
    assert wants["click"].version == "8.1.7"
    assert result.notes == (
        "34 packages point at conda-build paths (installed by conda): only presence is checked",
    )


def test_requirements_uv_export_with_hashes(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "requirements"
    text = (folder / "cambridge-iccs-uv-export-hashes.requirements.txt").read_text(encoding="utf-8")
    result = requirements.parse(text, base_dir=folder)
    assert result.pip is not None
    project = result.pip[0]  # -e . names no package: guessed from the directory, optional
    assert project == PipWant(
        name="requirements",
        source=Source(kind="directory", path=".", editable=True),
        optional=True,
        guessed=True,
    )
    assert result.notes == (
        "line 3 (requirements): the file names no package (#egg=NAME); the name is guessed "
        "from the path, and checked only where such a package, or one installed from that path, "
        "is installed",
    )
    wants = _by_name(result)
    assert wants["appnope"].marker == 'sys_platform == "darwin"'
    assert wants["appnope"].hashes == (
        "sha256=1de3860566df9caf38f01f86f65e0e13e379af54f9e4bee1e66b48f2efffd1ee",
        "sha256=502575ee11cd7a28c0205f379b525beefebab9d161b7c964670864014ed7213c",
    )
    assert len(wants["argon2-cffi-bindings"].hashes) == 11
    assert wants["nvidia-cublas-cu12"].marker == (
        'platform_machine == "x86_64" and sys_platform == "linux"'
    )
    assert sum(w.marker is not None for w in result.pip) == 21


def test_requirements_syft_torture_file(corpus: Path) -> None:
    """Refused as pip refuses it; without the lines pip rejects, every edge case reads."""
    path = corpus / "lockfiles" / "requirements" / "syft-requires-edge-cases.requirements.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    rejected = {
        "-e https://github.com/pecan/pecan.git": "-e needs a local directory or a VCS URL",
        "--requirements super-secretrequirements.txt": "unknown option --requirements",
        "==2.3.4": "not a requirement: ==2.3.4",
        "GithubSampleProject == 3.7.1 @ git+https://github.com/owner/repo@releases/tag/v3.7.1": (
            "not a requirement: GithubSampleProject == 3.7.1 @ git+https://"
        ),
    }
    assert set(rejected) <= set(lines)
    for bad, message in rejected.items():
        with pytest.raises(LockfileError, match=f"^line 1: {message[:30]}"):
            requirements.parse(bad, base_dir=path.parent)
    kept = "\n".join(line for line in lines if line not in rejected)
    result = requirements.parse(kept, base_dir=path.parent)
    assert result.pip is not None
    got = [(w.name, w.version, w.specifier, w.marker) for w in result.pip]
    assert got == [
        ("flask", "4.0.0", None, None),
        ("urllib3", "1.26.20", None, None),
        ("sqlalchemy", None, "!=3.0.0,<=2.0.0,<=3.0.0,>=1.0.0", None),
        ("foo", "1.0.0", None, None),
        ("bar", None, "!=3.0.0,<=2.0.0,<=3.0.0,>=1.0.0", None),  # continued line
        ("someproject", "5.4", None, 'python_version < "3.8"'),
        ("dots-allowed", "1.0.0", None, None),
        ("coverage", None, "!=3.5", None),
        ("numpynew", None, None, 'sys_platform == "win32"'),
        ("numpy", None, ">=3.4.1", 'sys_platform == "win32"'),
        ("mopidy-dirble", None, "~=1.1", None),
        ("argh", "0.26.2", None, None),
        ("argh", "0.26.3", None, None),  # the same name twice stays twice
        ("celery", "4.4.7", None, None),  # extras dropped
        ("requests", None, "==2.8.*", 'python_version < "2.7" and sys_platform == "linux"'),
        ("friendly-bard", "1.0.0", None, None),
        ("local-version", "1.2.3+gcr.2", None, None),
    ]
    hashes = (
        "sha256=a9b3aaa1904eeb78e32394cd46c6f37ac0fb4af6dc488daa58971bdc7d7fcaf3",
        "sha256=e9535b8c84dc9571a48999094fda7f33e63c3f1b74f3e5f3ac0105a58405bb65",
    )
    assert [w.hashes for w in result.pip if w.name == "argh"] == [hashes, hashes]
    assert result.notes == (
        "-r other-requirements.txt: not followed; envlock never opens a file a lockfile names",
    )


def test_requirements_scancode_vcs_and_editables(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "requirements"
    text = (folder / "scancode-vcs-git.requirements.txt").read_text(encoding="utf-8")
    result = requirements.parse(text, base_dir=folder)
    assert result.pip is not None
    assert {w.name for w in result.pip} == {"myproject"}
    assert sum(w.source is not None and w.source.editable for w in result.pip) == 7
    ssh_user = result.pip[3].source  # -e git+ssh://git@git.myproject.org/...
    assert ssh_user == Source(
        kind="vcs", vcs="git", url="ssh://git@git.myproject.org/MyProject", editable=True
    )  # git@ holds no secret: kept
    pinned = result.pip[6].source
    assert pinned is not None
    assert pinned.commit == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert pinned.url == "git://git.myproject.org/MyProject.git"
    assert result.pip[5].source is not None
    assert result.pip[5].source.requested_revision == "v1.0"

    text = (folder / "scancode-editable.requirements.txt").read_text(encoding="utf-8")
    kinds = [w.source.vcs for w in requirements.parse(text, base_dir=folder).pip or () if w.source]
    assert kinds == ["svn", "git", "hg", "bzr"]

    text = (folder / "scancode-local-paths.requirements.txt").read_text(encoding="utf-8")
    local = requirements.parse(text, base_dir=folder).pip
    assert local is not None
    assert [w.name for w in local] == [
        "myproject",
        "myproject",
        "someotherproject",
        "anotherproject",
    ]
    assert local[2].source == Source(kind="directory", path="path/to/SomeProject")
    assert local[3].source == Source(kind="directory", path="path/to/AnotherProject", editable=True)

    text = (folder / "scancode-urls-with-checksums.requirements.txt").read_text(encoding="utf-8")
    pytz, flask = requirements.parse(text, base_dir=folder).pip or ()
    assert pytz.name == "pytz" and pytz.hashes == ("md5=a3316cf3842ed0375ba5931914239d97",)
    assert flask.name == "flask" and flask.source is not None
    assert flask.source.url == "http://pypi.python.org/packages/source/f/flask/Flask-0.11.1.tar.gz"


def _read(text: str, base_dir: Path) -> tuple[PipWant, ...]:
    result = requirements.parse(text, base_dir=base_dir)
    assert result.pip is not None
    return result.pip


def test_requirements_lines_as_pip_reads_them(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "# header comment \\",
            "Alpha_Pkg==1.0 \\",
            f"    --hash=sha256:{SHA_A.upper()} \\",
            "    # a comment ends the continuation",
            f"beta===2.0+local --hash sha256:{SHA_B}",
            "gamma[extra1, extra2] >=1.0,<2 ; python_version >= '3.9'  # trailing comment",
            "delta @ https://example.com/delta-1.0.tar.gz#sha256=" + SHA_A,
            "https://example.com/dl/epsilon-3.1-py3-none-any.whl ; sys_platform == 'linux'",
            "./vendor/zeta#egg=Zeta_Lib",
            "  -e  ./packages/eta[dev]",
            "-e git+https://github.com/o/theta.git@v1.2#egg=theta&subdirectory=py",
            "--index-url https://pypi.org/simple",
            "-i https://pypi.org/simple --pre --prefer-binary",
            "--extra-index-url=https://x.example.com/simple",
            "-f ./wheels",
            "--find-links=./wheels",
            "--no-binary :all:",
            "--only-binary=numpy",
            "--trusted-host x.example.com",
            "--require-hashes",
            "-c constraints.txt",
            "--requirement=more.txt",
            "-rmore2.txt",
            "",
            "iota",
        ]
    )
    wants = _read(text, tmp_path)
    assert wants == (
        PipWant(name="alpha-pkg", version="1.0", hashes=(f"sha256={SHA_A}",)),
        PipWant(name="beta", version="2.0+local", hashes=(f"sha256={SHA_B}",)),
        PipWant(name="gamma", specifier="<2,>=1.0", marker='python_version >= "3.9"'),
        PipWant(
            name="delta",
            source=Source(
                kind="archive",
                url="https://example.com/delta-1.0.tar.gz",
                hash=f"sha256={SHA_A}",
            ),
            hashes=(f"sha256={SHA_A}",),
        ),
        PipWant(
            name="epsilon",
            source=Source(
                kind="archive", url="https://example.com/dl/epsilon-3.1-py3-none-any.whl"
            ),
            marker="sys_platform == 'linux'",
        ),
        PipWant(name="zeta-lib", source=Source(kind="directory", path="vendor/zeta")),
        PipWant(
            name="eta",
            source=Source(kind="directory", path="packages/eta", editable=True),
            optional=True,
            guessed=True,
        ),
        PipWant(
            name="theta",
            source=Source(
                kind="vcs",
                vcs="git",
                url="https://github.com/o/theta.git",
                requested_revision="v1.2",
                subdirectory="py",
                editable=True,
            ),
        ),
        PipWant(name="iota"),
    )
    notes = requirements.parse(text, base_dir=tmp_path).notes
    assert notes[0] == (
        "-c constraints.txt, -r more.txt, -r more2.txt: not followed; envlock never opens a "
        "file a lockfile names"
    )
    assert notes[1].startswith("line 10 (eta): the file names no package")


def test_requirements_pip_freeze_editable_comment(tmp_path: Path) -> None:
    """pip freeze names an editable install without VCS in the comment before it."""
    text = (
        "# Editable install with no version control (My_Tool==0.3.dev1)\n"
        "-e /opt/src/my-tool\n"
        "-e .\n"
    )
    tool, here = _read(text, tmp_path / "proj")
    assert tool == PipWant(
        name="my-tool",
        version="0.3.dev1",
        source=Source(kind="directory", path="/opt/src/my-tool", editable=True),
    )
    assert here.name == "proj" and here.optional  # the comment applies to one line only


def test_requirements_duplicate_names_with_markers_are_kept(tmp_path: Path) -> None:
    text = (
        "numpy==1.26.4 ; python_version < '3.12'\n"
        "numpy==2.1.0 ; python_version >= '3.12'\n"
        "torch @ https://download.pytorch.org/whl/cu128/torch-2.8.0%2Bcu128-cp312-cp312-"
        "manylinux_2_28_x86_64.whl ; sys_platform == 'linux'\n"
        "torch==2.8.0 ; sys_platform != 'linux'\n"
    )
    wants = _read(text, tmp_path)
    assert [(w.name, w.version) for w in wants] == [
        ("numpy", "1.26.4"),
        ("numpy", "2.1.0"),
        ("torch", None),
        ("torch", "2.8.0"),
    ]
    assert wants[2].marker == 'sys_platform == "linux"'


def test_requirements_credentials_never_survive(tmp_path: Path) -> None:
    text = (
        f"--index-url https://user:{SECRET}@pypi.example.com/simple\n"
        f"--extra-index-url https://{SECRET}@x.example.com/simple\n"
        f"private @ https://__token__:{SECRET}@files.example.com/private-1.0.tar.gz\n"
        f"https://files.example.com/t/{SECRET}/other-2.0-py3-none-any.whl\n"
        f"signed @ https://bucket.example.com/signed-1.0.tar.gz?X-Amz-Signature={SECRET}\n"
        f"-e git+https://oauth2:{SECRET}@gitlab.example.com/g/tool.git@main#egg=tool\n"
        f"-r https://user:{SECRET}@example.com/reqs.txt\n"
    )
    result = requirements.parse(text, base_dir=tmp_path)
    assert SECRET not in repr(result)
    assert [w.name for w in result.pip or ()] == ["private", "other", "signed", "tool"]


@pytest.mark.parametrize(
    "line",
    [
        f"private @ https://user:{SECRET}@files.example.com/x.whl ; not a marker",
        f"https://user:{SECRET}@files.example.com/dl/something",
        f"https://files.example.com/dl/something?token={SECRET}",
        f"-e https://user:{SECRET}@github.com/o/r.git",
        f"--bogus https://user:{SECRET}@example.com",
        f"--index-url https://user:{SECRET}@example.com/simple",
        f"name==1 --hash=md5:https://user:{SECRET}@x",
        f"name==1 --hash=sha256:{SECRET}",  # the value is never shown
        f"https://user:{SECRET}@example.com/" + "x" * 200,
    ],
)
def test_requirements_credentials_never_in_errors(tmp_path: Path, line: str) -> None:
    with pytest.raises(LockfileError) as exc:
        requirements.parse(line, base_dir=tmp_path)
    message = _one_line_error(exc)
    assert SECRET not in message and SECRET[:4] not in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no requirements found"),
        ("# only comments\n\n   \n", "no requirements found"),
        ("-r base.txt\n--index-url https://x/simple\n", "no requirements found (-r / -c files"),
        ("numpy==1.0\x00", "not a requirements file: it contains NUL bytes"),
        ("numpy==1.0\nnot a requirement at all\n", "line 2: not a requirement: not a requirement"),
        ("a==1\n\\\nb c d\n", "line 2: not a requirement: b c d"),
        ("--frobnicate\n", "line 1: unknown option --frobnicate"),
        ("-r\n", "line 1: -r needs a value"),
        ("--pre=yes\n", "line 1: --pre takes no value"),
        ('-e "unterminated\n', "line 1: No closing quotation"),
        ("name==1 --hash=sha256:xyz\n", "line 1: --hash must be sha256:<hex>"),
        ("name==1 --hash=md5:" + "a" * 32, "line 1: --hash must be sha256:<hex>"),
        ("--hash=sha256:" + SHA_A, "line 1: --hash without a requirement"),
        ("name==1 -r other.txt\n", "line 1: --requirement cannot follow a requirement"),
        ("-e https://example.com/x.tar.gz\n", "line 1: -e needs a local directory"),
        # a URL that names no package was refused ("cannot tell which package"); pip installs
        # it, and an environment.yml pip: section noted it: now it is noted, not checked
        ("https://example.com/download\n", "no requirements found (a location that names no"),
        # a digest cut short was read (and then never matched); now refused, as in env files
        ("name==1 --hash=sha256:" + SHA_A[:-1], "line 1: --hash must be sha256:<hex>"),
        ("./pkg#egg=not/a/name\n", "line 1: #egg= is not a package name"),
        ("./pkg ; python_version >>> '3'\n", "line 1: not a marker"),
        ("\u2028x==1\x0bnot one\n", "line 3: not a requirement: not one"),
    ],
)
def test_requirements_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LockfileError) as exc:
        requirements.parse(text, base_dir=tmp_path)
    assert _one_line_error(exc).startswith(message)


def test_requirements_url_that_names_no_package_is_noted(tmp_path: Path) -> None:
    """As in an environment.yml pip: section (and as pip installs it), not refused."""
    result = requirements.parse(
        "https://example.com/download\nnu==1\n-e ./here\n", base_dir=tmp_path
    )
    assert result.pip == (
        PipWant(name="nu", version="1"),
        PipWant(
            name="here",
            source=Source(kind="directory", path="here", editable=True),
            optional=True,
            guessed=True,
        ),
    )
    assert result.notes == (
        "line 3 (here): the file names no package (#egg=NAME); the name is guessed from the "
        "path, and checked only where such a package, or one installed from that path, is "
        "installed",
        "line 1 (https://example.com/download): names no package, nor does its file name "
        "(add #egg=NAME): not checked",
    )


def test_requirements_garbage_is_one_clean_error(tmp_path: Path) -> None:
    garbage = bytes(range(1, 256)).decode("latin-1") * 50
    with pytest.raises(LockfileError) as exc:
        requirements.parse(garbage, base_dir=tmp_path)
    message = _one_line_error(exc)
    assert message.startswith("line 1: ") and message.isprintable() and len(message) < 200


@pytest.mark.parametrize(
    "text",
    [
        "x" * (requirements.MAX_LINE + 1),
        "a==1 \\\n" * (requirements.MAX_LINE // 6),
        " " * 500_000 + "#" + " " * 500_000,
        "pkg @ file:///" + "a" * 900_000 + "/work",
        "-e " + "[" * 900_000,
        "-e '" + "x" * 900_000 + "'",
        "a" * 900_000 + "==1",
        "a==1 --hash=sha256:" + "a" * 900_000,
        "# Editable install (" + "(a" * 400_000 + "\n-e .",
    ],
    ids=[
        "long-line",
        "long-continuation",
        "spaces",
        "long-url",
        "brackets",
        "quoted",
        "long-name",
        "long-hash",
        "freeze-comment",
    ],
)
def test_requirements_huge_lines_are_quick(tmp_path: Path, text: str) -> None:
    """Huge or pathological lines end in a result or one clean error, never a hang."""
    try:
        requirements.parse(text, base_dir=tmp_path)
    except LockfileError as e:
        assert "\n" not in str(e) and len(str(e)) < 300


def test_requirements_windows_drive_path_is_not_a_url(tmp_path: Path) -> None:
    (want,) = _read(r"C:\src\pkg-1.0-py3-none-any.whl", tmp_path)
    assert want.name == "pkg"
    assert want.source is not None and want.source.kind == "archive"


def test_requirements_has_no_named_environments(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no named environments"):
        requirements.parse("a==1", base_dir=tmp_path, environment="default")


def test_requirements_directory_named_by_its_pyproject(tmp_path: Path) -> None:
    """A bare local directory (as ``envlock export`` writes a directory install, and pip
    needs it) is the project its pyproject.toml names; without a static name, a guess."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "pyproject.toml").write_text(
        '[project]\nname = "My_Tool"\nversion = "1.0"\n', encoding="utf-8"
    )
    (tmp_path / "dynamic").mkdir()
    (tmp_path / "dynamic" / "pyproject.toml").write_text(
        '[project]\ndynamic = ["name"]\n', encoding="utf-8"
    )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    result = requirements.parse("./repo\n-e ./dynamic\n./broken\n", base_dir=tmp_path)
    assert result.pip == (
        PipWant(name="my-tool", source=Source(kind="directory", path="repo")),
        PipWant(
            name="dynamic",
            source=Source(kind="directory", path="dynamic", editable=True),
            optional=True,
            guessed=True,
        ),
        PipWant("broken", source=Source("directory", path="broken"), optional=True, guessed=True),
    )


def test_a_guessed_name_is_the_package_installed_from_its_path(tmp_path: Path) -> None:
    """``-e ./tools`` names no package: the one package installed from ./tools is it, whatever
    its name (no ``extra``); two installed from there, or none, leave the guess as it was."""
    from envlock.compare_foreign import compare_foreign
    from envlock.model import Environment, Package, Platform, Python

    wants = requirements.parse("-e ./tools\n./my lib\n", base_dir=tmp_path)
    assert [(w.name, w.guessed) for w in wants.pip] == [("tools", True), ("my-lib", True)]
    tools = Source("directory", path="tools", editable=True)

    def live(*packages: Package) -> Environment:
        return Environment(Python(), Platform(), packages=packages)

    real = (
        Package("toolbox", "1.0", source=tools),
        Package("mylib", "2.0", source=Source("directory", path="my lib")),
    )
    assert compare_foreign(wants, live(*real)) == []
    two = Package("toolbox-extra", "1.0", source=tools)
    findings = compare_foreign(wants, live(*real, two))
    assert [(f.category, f.subject) for f in findings] == [
        ("extra", "toolbox"),
        ("extra", "toolbox-extra"),
    ]
    not_editable = Package("toolbox", "1.0", source=Source("directory", path="tools"))
    findings = compare_foreign(wants, live(not_editable, real[1]))
    assert [(f.category, f.subject) for f in findings] == [("extra", "toolbox")]
