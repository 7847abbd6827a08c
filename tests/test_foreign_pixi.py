"""pixi.lock (versions 4 to 7) read into what one environment on one platform must contain:
every real pixi.lock of the shared corpus, exact values from a few, and hostile input."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from envlock.errors import EnvlockError, LockfileError, UsageError
from envlock.foreign import CondaWant, Foreign, PipWant, common, pixi
from envlock.model import Source

HEX64 = re.compile(r"^[0-9a-f]{64}$")
PEP503 = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# Corpus files that must be refused, and the message.
REJECTED = {
    "rattler-v3-robostack-turtlesim.pixi.lock": (
        "pixi.lock version 3 is older than this envlock reads (4 to 7); "
        "update it with a current pixi"
    ),
    "rattler-forward-compatible-version1000.pixi.lock": (
        "pixi.lock version 1000 is newer than this envlock reads (4 to 7)"
    ),
    "invalid-v6-missing-environments.pixi.lock": "environments: required",
}


def _pixi(corpus: Path) -> Path:
    return corpus / "lockfiles" / "pixi"


def read(corpus: Path, name: str, **choice: str) -> Foreign:
    path = _pixi(corpus) / name
    return pixi.parse(path.read_text(encoding="utf-8"), base_dir=path.parent, **choice)


def only(items: tuple[CondaWant, ...] | tuple[PipWant, ...] | None, name: str) -> object:
    found = [w for w in items or () if w.name == name]
    assert len(found) == 1, (name, found)
    return found[0]


def pip(result: Foreign, name: str) -> PipWant:
    want = only(result.pip, name)
    assert isinstance(want, PipWant)
    return want


def conda(result: Foreign, name: str) -> CondaWant:
    want = only(result.conda, name)
    assert isinstance(want, CondaWant)
    return want


# ---------------------------------------------------------------------------------------------
# Every corpus file
# ---------------------------------------------------------------------------------------------


def test_every_corpus_pixi_lock_loads_for_each_environment_and_platform(corpus: Path) -> None:
    files = sorted(_pixi(corpus).glob("*.lock"))
    assert len(files) >= 40
    read_pairs = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.name in REJECTED:
            with pytest.raises(LockfileError) as e:
                pixi.parse(text, base_dir=path.parent)
            assert str(e.value).startswith(REJECTED[path.name]), path.name
            assert "\n" not in str(e.value)
            continue
        doc = common.data(text, "yaml")
        for env_name, env in doc["environments"].items():
            for plat, refs in env["packages"].items():
                result = pixi.from_data(
                    doc, base_dir=path.parent, environment=env_name, platform=plat
                )
                _check(result, doc, env_name, plat, refs, path.name)
                read_pairs += 1
    assert read_pairs > 150


def _check(result: Foreign, doc: dict, env: str, plat: str, refs: list, name: str) -> None:
    where = f"{name} {env} {plat}"
    assert result.format == "pixi"
    assert result.environment == env
    assert isinstance(result.conda, tuple) and isinstance(result.pip, tuple)
    dev = sum(1 for ref in refs if ref.get("dev"))
    n_pypi = sum(1 for ref in refs if "pypi" in ref)
    assert len(result.pip) == n_pypi, where
    assert len(result.conda) == len(refs) - n_pypi - dev, where
    named = {
        p["name"]: f"{p['name']} ({p['subdir']})" for p in doc.get("platforms", []) if "subdir" in p
    }
    assert result.platform == named.get(plat, plat), where  # as the header shows it
    for c in result.conda:
        assert c.name and c.name == c.name.strip(), where
        if c.channel is not None:  # a package file: its file name says all three
            assert c.version and c.build, (where, c)
            assert c.channel_url is None or "://" in c.channel_url
        assert c.sha256 is None or HEX64.match(c.sha256), (where, c)
    for p in result.pip:
        assert PEP503.match(p.name), (where, p)
        assert p.source is not None, (where, p)
        assert p.source.kind in ("index", "vcs", "directory", "archive"), (where, p)
        if p.source.kind == "vcs":
            assert p.source.commit and common.is_commit(p.source.commit), (where, p)
        if p.source.kind != "directory":
            assert p.version, (where, p)
        for h in p.hashes:
            assert h.startswith(("sha256=", "md5=")), (where, p)


def test_corpus_default_choice_asks_for_a_platform_when_there_are_several(corpus: Path) -> None:
    with pytest.raises(UsageError) as e:
        read(corpus, "examples-pypi.pixi.lock")
    assert str(e.value) == (
        "environment default has packages for several platforms: linux-64, osx-64, osx-arm64, "
        "win-64 (choose one with --platform)"
    )


def test_corpus_single_platform_is_the_default(corpus: Path) -> None:
    result = read(corpus, "tests-cuda-virtual-dependency.pixi.lock")
    assert result.platform == "linux-64"
    assert result.environment == "default"


# ---------------------------------------------------------------------------------------------
# Exact values from real files
# ---------------------------------------------------------------------------------------------


def test_cuda_virtual_dependency_exact(corpus: Path) -> None:
    result = read(corpus, "tests-cuda-virtual-dependency.pixi.lock", platform="linux-64")
    assert result.pip == ()
    assert result.conda == (
        CondaWant(
            name="cuda-version",
            version="12.6",
            build="h7480c83_3",
            channel="https://prefix.dev/conda-forge",
            channel_url="https://prefix.dev/conda-forge",
            subdir="noarch",
            md5="1c8b99e65a4423b1e4ac2e4c76fb0978",
            sha256="fd9104d73199040285b6a6ad56322b38af04828fabbac1f5a268a83509358425",
        ),
    )
    assert result.notes == ()


def test_v4_conda_and_pypi_from_anaconda_org(corpus: Path) -> None:
    result = read(corpus, "rattler-v4-pypi-matplotlib.pixi.lock", platform="linux-64")
    mutex = conda(result, "_libgcc_mutex")  # an entry without ``build``: the file name has it
    assert (mutex.version, mutex.build, mutex.channel, mutex.subdir) == (
        "0.1",
        "conda_forge",
        "conda-forge",
        "linux-64",
    )
    assert mutex.channel_url == "https://conda.anaconda.org/conda-forge"
    assert pip(result, "matplotlib").source == Source(kind="index")


def test_yaml_1_1_number_trap_reads_the_version_from_the_file_name(corpus: Path) -> None:
    # ``version: 3.7_0`` unquoted is the float 3.7 to a YAML 1.1 reader; pixi wrote the text
    result = read(corpus, "examples-r.pixi.lock", platform="osx-arm64")
    assert conda(result, "r-survival").version == "3.7_0"
    assert conda(result, "r-boot").version == "1.3_31"


def test_all_digit_hashes_are_kept_as_written(corpus: Path) -> None:
    result = read(corpus, "tests-pypi-index-transitive.pixi.lock")
    assert pip(result, "foo").hashes == ("sha256=" + "0" * 64,)
    assert pip(result, "bar").hashes == ("sha256=" + "1" * 64,)
    assert pip(result, "foo").source == Source(kind="index")


def test_index_wheel_has_its_hash(corpus: Path) -> None:
    result = read(corpus, "tests-mixed-pypi-conda.pixi.lock")
    assert pip(result, "boltons") == PipWant(
        name="boltons",
        version="25.0.0",
        source=Source(kind="index"),
        hashes=("sha256=dc9fb38bf28985715497d1b54d00b62ea866eca3938938ea9043e254a3a6ca62",),
    )
    assert conda(result, "flask").channel == "https://prefix.dev/conda-forge"


def test_v7_named_platforms(corpus: Path) -> None:
    name = "examples-multi-machine.pixi.lock"
    p1 = read(corpus, name, platform="p1")
    assert p1.platform == "p1 (win-64)"  # the report's header: both, as the notes say it
    assert any("__cuda=12" in n and "not checked" in n for n in p1.notes)
    # a subdir that one platform name has
    p3 = read(corpus, name, platform="osx-arm64")
    assert p3.platform == "p3 (osx-arm64)"
    assert any(n.startswith("platform p3 (osx-arm64)") for n in p3.notes)
    # a name that is also a subdir wins, and the note names the other platform
    win = read(corpus, name, platform="win-64")
    assert win.platform == "win-64"
    assert any("p1 is also win-64" in n for n in win.notes)
    assert len(win.conda) > 50
    with pytest.raises(UsageError) as e:
        read(corpus, name, platform="osx-64")
    assert "the file has: linux-64, p1 (win-64), p2 (linux-64), p3 (osx-arm64), win-64" in str(
        e.value
    )
    assert "--platform" in str(e.value)


def test_v7_conda_source_package(corpus: Path) -> None:
    result = read(corpus, "rattler-v7-sources.pixi.lock")
    assert result.conda == (
        CondaWant(name="child-package", version="0.1.0", build="pyhbf21a9e_0", subdir="noarch"),
    )
    built = read(corpus, "examples-conditional-dependencies.pixi.lock", platform="linux-64")
    assert conda(built, "cuda_probe") == CondaWant(name="cuda_probe")
    assert conda(built, "cuda-version").channel == "https://prefix.dev/conda-forge"
    assert any("by name only" in n and "cuda_probe" in n for n in built.notes)


def test_v6_conda_path_references_choose_by_name_build_and_subdir(corpus: Path) -> None:
    name = "rattler-v6-conda-path.pixi.lock"
    win = read(corpus, name, platform="win-64")
    assert [(c.name, c.build, c.subdir, c.channel) for c in win.conda] == [
        ("minimal-project", "first", "win-64", None),
        ("a-python-project", "py38", "noarch", None),
        ("b-python-project", "h398123", "noarch", None),
    ]
    linux = read(corpus, name, platform="linux-64")
    assert [(c.name, c.version, c.subdir) for c in linux.conda] == [
        ("minimal-project", "0.1", "linux-64")
    ]
    second = read(corpus, name, environment="second")
    assert [c.build for c in second.conda] == ["second"]


def test_conda_package_file_at_a_local_path(corpus: Path) -> None:
    result = read(corpus, "conda-lockfiles-pixi.pixi.lock")
    assert result.platform == "noarch"
    dep = conda(result, "dependency")
    assert (dep.version, dep.build, dep.subdir) == ("1.0", "0", "noarch")
    assert dep.channel == "file:///Users/kodegard/dev/plugins/conda-lockfiles/tests/data/channel"
    # noarch packages install on any platform
    anywhere = read(corpus, "conda-lockfiles-pixi.pixi.lock", platform="linux-64")
    assert anywhere.conda == result.conda


def test_git_pypi_entries_keep_the_commit(corpus: Path) -> None:
    detectron = pip(
        read(corpus, "examples-detectron2-from-source.pixi.lock", platform="linux-64"),
        "detectron2",
    )
    assert detectron.source == Source(
        kind="vcs",
        url="https://github.com/facebookresearch/detectron2.git",
        vcs="git",
        commit="bcfd464d0c810f0442d91a349c0f6df945467143",
    )
    assert detectron.hashes == ()
    export = read(corpus, "tests-project-export.pixi.lock", platform="linux-64")
    sub = pip(export, "test-git-subdir-roundtrip").source
    assert sub is not None
    assert sub.commit == "86fd30aa3baa9bde1491fb1468f767b93f3d5009"
    assert sub.requested_revision == "ihn/fix-pypi-git-subdir-roundtrip"
    assert (
        sub.subdirectory == "tests/data/mock-projects/test-project-export/test-git-subdir-roundtrip"
    )
    flask = pip(read(corpus, "examples-pypi-source-deps.pixi.lock", platform="linux-64"), "flask")
    assert flask.source is not None
    assert (flask.source.url, flask.source.commit) == (
        "https://github.com/pallets/flask",
        "2579ce9f18e67ec3213c6eceb5240310ccd46af8",
    )


def test_v4_git_at_commit_direct_url_and_editable_path(corpus: Path) -> None:
    result = read(corpus, "rattler-v4-path-based.pixi.lock")
    flask = pip(result, "flask").source
    assert flask == Source(
        kind="vcs",
        url="ssh://git@github.com/pallets/flask",  # ``git@`` holds no secret: kept
        vcs="git",
        commit="b90a4f1f4a370e92054b9cc9db0efcb864f87ebe",
    )
    assert pip(result, "click").source == Source(
        kind="archive",
        url="https://github.com/pallets/click/releases/download/8.1.7/click-8.1.7-py3-none-any.whl",
    )
    assert pip(result, "minimal-project").source == Source(
        kind="directory", path="minimal_project", editable=True
    )


def test_editable_local_packages(corpus: Path) -> None:
    result = read(corpus, "tests-editable-non-editable.pixi.lock")
    assert pip(result, "foo").source == Source(kind="directory", path="foo", editable=True)
    assert pip(result, "bar").source == Source(kind="directory", path="bar", editable=True)
    extras = read(corpus, "examples-editable-with-extras.pixi.lock", platform="linux-64")
    assert pip(extras, "package-with-extras").source == Source(
        kind="directory", path="package_with_extras", editable=True
    )
    # version 6 dropped ``editable``: a note says it is not known
    v6 = read(corpus, "tests-v6-editable-no-rewrite.pixi.lock")
    assert pip(v6, "yohane").source == Source(kind="directory", path=".")
    assert pip(v6, "yohane").hashes == ()  # a hash of the project's metadata, not an artifact
    assert any("editable" in n and "yohane" in n for n in v6.notes)


def test_local_wheels_find_links_and_other_machines_paths(corpus: Path, tmp_path: Path) -> None:
    links = read(corpus, "examples-pypi-find-links.pixi.lock", platform="linux-64")
    assert pip(links, "requests").source == Source(kind="index")  # a local flat index
    text = (_pixi(corpus) / "tests-local-wheel.pixi.lock").read_text(encoding="utf-8")
    base = tmp_path / "a" / "project"
    wheel = pip(pixi.parse(text, base_dir=base), "foobar").source
    assert wheel == Source(
        kind="archive",
        path=common.local_path("../local-wheel/foobar-0.1.0-py3-none-any.whl", base),
    )
    assert wheel.path is not None and wheel.path.endswith(
        "a/local-wheel/foobar-0.1.0-py3-none-any.whl"
    )
    windows = read(corpus, "rattler-v4-absolute-path.pixi.lock", platform="win-64")
    source = pip(windows, "minimal-project").source
    assert source is not None and source.kind == "directory"
    assert source.path in (
        "E:/Developer/prefix/pixi/examples/pypi-source-deps/minimal-project",
        "E:\\Developer\\prefix\\pixi\\examples\\pypi-source-deps\\minimal-project",
    )


def test_environments_are_chosen_by_name(corpus: Path) -> None:
    name = "examples-gcp-keyring.pixi.lock"
    gcp = read(corpus, name, environment="test-gcp", platform="linux-64")
    assert gcp.environment == "test-gcp"
    assert pip(gcp, "python-library-gcp-keyring").version == "0.1.1"
    local = read(corpus, name, platform="linux-64")
    assert pip(local, "python-library-gcp-keyring").source == Source(
        kind="directory", path=".", editable=True
    )
    with pytest.raises(UsageError) as e:
        read(corpus, name, environment="nope", platform="linux-64")
    assert str(e.value) == (
        "no environment 'nope' in this pixi.lock; the file has: default, publish, test-gcp, "
        "test-local (choose one with --against-env)"
    )


# ---------------------------------------------------------------------------------------------
# Inline files: choices, credentials, hostile input
# ---------------------------------------------------------------------------------------------

V6 = """\
version: 6
environments:
  default:
    channels:
    - url: https://conda.anaconda.org/conda-forge/
    packages:
      linux-64:
      - conda: https://conda.anaconda.org/conda-forge/noarch/tzdata-2025b-h78e105d_0.conda
      - pypi: https://files.pythonhosted.org/packages/aa/bb/six-1.17.0-py2.py3-none-any.whl
packages:
- conda: https://conda.anaconda.org/conda-forge/noarch/tzdata-2025b-h78e105d_0.conda
  sha256: 5aaa366385d716557e365f0a4e9c3fca43ba196872abbbe3d56bb610d131e192
  md5: 4222072737ccff51314b5ece9c7d6f5a
- pypi: https://files.pythonhosted.org/packages/aa/bb/six-1.17.0-py2.py3-none-any.whl
  name: Six
  version: 1.17.0
  sha256: 4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274
"""


def parse(text: str, tmp_path: Path, **choice: str) -> Foreign:
    return pixi.parse(text, base_dir=tmp_path, **choice)


def test_small_v6_file(tmp_path: Path) -> None:
    result = parse(V6, tmp_path)
    assert result.platform == "linux-64"
    assert conda(result, "tzdata") == CondaWant(
        name="tzdata",
        version="2025b",
        build="h78e105d_0",
        channel="conda-forge",
        channel_url="https://conda.anaconda.org/conda-forge",
        subdir="noarch",
        md5="4222072737ccff51314b5ece9c7d6f5a",
        sha256="5aaa366385d716557e365f0a4e9c3fca43ba196872abbbe3d56bb610d131e192",
    )
    assert pip(result, "six").version == "1.17.0"
    with pytest.raises(UsageError) as e:
        parse(V6, tmp_path, platform="osx-arm64")
    assert str(e.value) == (
        "no packages for platform osx-arm64 in environment default; the file has: linux-64 "
        "(choose one with --platform)"
    )


def test_no_default_environment(tmp_path: Path) -> None:
    text = V6.replace("  default:", "  dev:")
    with pytest.raises(UsageError) as e:
        parse(text, tmp_path)
    assert 'no "default" environment; the file has: dev (choose one with --against-env)' in str(
        e.value
    )
    assert parse(text, tmp_path, environment="dev").environment == "dev"


def test_one_subdir_under_two_platform_names_asks_for_the_name(tmp_path: Path) -> None:
    text = """\
version: 7
platforms:
- name: gpu
  subdir: linux-64
  virtual-packages: [__cuda=12]
- name: cpu
  subdir: linux-64
environments:
  default:
    channels: []
    packages:
      gpu: []
      cpu: []
packages: []
"""
    with pytest.raises(UsageError) as e:
        parse(text, tmp_path, platform="linux-64")
    assert str(e.value) == (
        "several platforms of environment default are linux-64: gpu, cpu "
        "(choose one by name with --platform)"
    )
    gpu = parse(text, tmp_path, platform="gpu")
    assert (gpu.platform, gpu.conda, gpu.pip) == ("gpu (linux-64)", (), ())
    assert gpu.notes == (
        "platform gpu (linux-64): the virtual packages pixi solved for are not checked (__cuda=12)",
    )


def test_v7_dev_source_packages_are_not_installed(tmp_path: Path) -> None:
    text = """\
version: 7
platforms:
- name: linux-64
environments:
  default:
    channels: []
    packages:
      linux-64:
      - conda: .
        name: mine
        dev: true
      - conda: ./tool
        variants: {python: '3.12'}
packages:
- conda: .
  name: mine
  dev: true
- conda: ./tool
  name: tool
  version: 1.0.0
  variants: {python: '3.11'}
- conda: ./tool
  name: tool
  version: 2.0.0
  variants: {python: '3.12'}
"""
    result = parse(text, tmp_path)
    assert result.conda == (CondaWant(name="tool", version="2.0.0"),)


SECRET_V5 = """\
version: 5
environments:
  default:
    channels:
    - url: https://user:secret@conda.example.com/t/tok123/private/
    indexes:
    - https://user:secret@pypi.example.com/simple
    packages:
      linux-64:
      - conda: https://user:secret@conda.example.com/t/tok123/private/linux-64/thing-1.0-h1_0.conda
      - pypi: https://user:secret@pypi.example.com/files/idx-1.0-py3-none-any.whl
      - pypi: direct+https://user:secret@files.example.com/t/tok123/dl/direct-2.0-py3-none-any.whl
      - pypi: git+https://user:secret@git.example.com/org/repo.git?rev=main#0123456789abcdef0123456789abcdef01234567
packages:
- kind: conda
  name: thing
  version: '1.0'
  build: h1_0
  subdir: linux-64
  url: https://user:secret@conda.example.com/t/tok123/private/linux-64/thing-1.0-h1_0.conda
  md5: 4222072737ccff51314b5ece9c7d6f5a
- kind: pypi
  name: idx
  version: '1.0'
  url: https://user:secret@pypi.example.com/files/idx-1.0-py3-none-any.whl
- kind: pypi
  name: direct
  version: '2.0'
  url: direct+https://user:secret@files.example.com/t/tok123/dl/direct-2.0-py3-none-any.whl
  sha256: 4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274
- kind: pypi
  name: repo
  version: '3.0'
  url: git+https://user:secret@git.example.com/org/repo.git?rev=main#0123456789abcdef0123456789abcdef01234567
"""


def test_credentials_never_survive(tmp_path: Path) -> None:
    result = parse(SECRET_V5, tmp_path)
    shown = repr(result)
    assert "secret" not in shown and "tok123" not in shown and "user:" not in shown
    thing = conda(result, "thing")
    assert thing.channel_url == "https://conda.example.com/private"
    assert pip(result, "idx").source == Source(kind="index")
    direct = pip(result, "direct").source
    assert direct is not None and direct.kind == "archive"
    assert direct.hash == "sha256=4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    repo = pip(result, "repo").source
    assert repo == Source(
        kind="vcs",
        url="https://git.example.com/org/repo.git",
        vcs="git",
        commit="0123456789abcdef0123456789abcdef01234567",
        requested_revision="main",
    )
    # nor in an error that names a location
    broken = SECRET_V5.replace("  url: git+https://user:secret@git", "  url: git+https://other@git")
    with pytest.raises(LockfileError) as e:
        parse(broken, tmp_path)
    message = str(e.value)
    assert message.startswith("environments.default.packages.linux-64[3]: no entry of packages")
    assert "secret" not in message and "tok123" not in message


HOSTILE = [
    ("", "empty"),
    ("- a\n- b\n", "top level: expected a mapping, got list"),
    ("just text", "top level: expected a mapping, got string"),
    ("environments: {}\n", "version: required"),
    ("version: six\n", "version: expected integer, got string"),
    ("version: true\n", "version: expected integer, got boolean"),
    ("version: 6.0\n", "version: expected integer"),
    ("version: 2\nenvironments: {}\n", "version 2 is older"),
    ("version: 8\n", "version 8 is newer"),
    ("version: 6\nenvironments: []\n", "environments: expected a mapping, got list"),
    ("version: 6\nenvironments: {default: 3}\n", "environments.default: expected a mapping"),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: {}}}}\n",
        "environments.default.packages.linux-64: expected list",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: [3]}}}\npackages: []\n",
        "environments.default.packages.linux-64[0]: expected a mapping",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: [{x: 1}]}}}\npackages: []\n",
        "environments.default.packages.linux-64[0]: expected a conda, conda_source or pypi key",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: [{conda: a}]}}}\npackages: []\n",
        "environments.default.packages.linux-64[0]: no entry of packages matches conda: a",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: [{pypi: [1]}]}}}\n",
        "environments.default.packages.linux-64[0].pypi: expected string, got list",
    ),
    ("version: 6\nenvironments: {default: {}}\npackages: []\n", None),
    ("version: 6\nenvironments: {default: {}}\npackages: {}\n", "packages: expected list"),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\npackages: {a: 1}\n",
        "packages: expected list, got mapping",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\npackages: [1]\n",
        "packages[0]: expected a mapping, got integer",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\npackages: [{a: 1}]\n",
        "packages[0]: expected a conda, conda_source or pypi key",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{conda: ../recipe}]\n",
        "packages[0].name: required",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{conda: 'https://h/c/noarch/a-1-0.conda', sha256: abc}]\n",
        "packages[0].sha256: expected 64 hexadecimal digits",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{conda: 'https://h/c/noarch/a-1-0.conda', md5: [1]}]\n",
        "packages[0].md5: expected string, got list",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{pypi: 'https://h/a-1-py3-none-any.whl'}]\n",
        "packages[0].name: required",
    ),
    (
        "version: 6\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{pypi: 'https://h/a-1-py3-none-any.whl', name: a, version: 1.10}]\n",
        "packages[0].version: a number where a string belongs",
    ),
    (
        "version: 5\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{kind: wheel}]\n",
        "packages[0].kind: expected conda or pypi, got 'wheel'",
    ),
    (
        "version: 5\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{kind: pypi, name: a}]\n",
        "packages[0].url: required (or path)",
    ),
    (
        "version: 5\nenvironments: {default: {packages: {linux-64: []}}}\n"
        "packages: [{kind: pypi, name: a, path: ., editable: 'yes'}]\n",
        "packages[0].editable: expected boolean, got string",
    ),
    ("version: 7\nenvironments: {default: {packages: {}}}\n", "platforms: required"),
    (
        "version: 7\nplatforms: [{subdir: linux-64}]\nenvironments: {default: {}}\n",
        "platforms[0].name: required",
    ),
    (
        "version: 7\nplatforms: [{name: a}, {name: a}]\nenvironments: {default: {}}\n",
        "platforms[1].name: platform 'a' is defined twice",
    ),
    (
        "version: 7\nplatforms: [{name: a, virtual-packages: [1]}]\n"
        "environments: {default: {packages: {a: []}}}\n",
        "platforms[0].virtual-packages[0]: expected string",
    ),
    (
        "version: 7\nplatforms: [{name: linux-64}]\n"
        "environments: {default: {packages: {osx-64: []}}}\n",
        "environments.default.packages.osx-64: platform 'osx-64' is not in the file's platforms",
    ),
    (
        "version: 7\nplatforms: [{name: win-64}]\n"
        "environments: {default: {packages: {win-64: [{conda_source: x}]}}}\n"
        "packages: [{conda_source: '[x] @ .'}]\n",
        "packages[0].conda_source: expected NAME[hash] @ location",
    ),
    (
        "version: 7\nplatforms: [{name: win-64}]\n"
        "environments: {default: {packages: {win-64: [{conda: ., variants: 3}]}}}\n"
        "packages: [{conda: ., name: x}]\n",
        "environments.default.packages.win-64[0].variants: expected a mapping",
    ),
    (
        "version: 5\nenvironments: {default: {find-links: [3], packages: {linux-64: []}}}\n",
        "environments.default.find-links[0]: expected a mapping",
    ),
    ("version: 6\n[[[", "not valid YAML"),
    ("version: 3\n[[[", "pixi.lock version 3 is older"),  # refused before it is loaded
    ("version: 6\n" + "a: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_hostile_input_is_one_clean_error(text: str, message: str | None, tmp_path: Path) -> None:
    if message is None:
        result = parse(text, tmp_path)
        assert (result.conda, result.pip) == ((), ())
        return
    with pytest.raises(LockfileError) as e:
        parse(text, tmp_path)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def _mutations(doc: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in a document a value could be replaced."""
    found = [path] if path else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found.extend(_mutations(value, (*path, key)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found.extend(_mutations(value, (*path, i)))
    return found


@pytest.mark.parametrize(
    "name",
    [
        "tests-pypi-index-transitive.pixi.lock",
        "rattler-v7-pypi-custom-index.pixi.lock",
        "rattler-v6-conda-path.pixi.lock",
        "rattler-v7-sources.pixi.lock",
        "tests-v6-local-archive-path.pixi.lock",
    ],
)
def test_every_value_of_a_real_file_replaced_by_a_wrong_type(corpus: Path, name: str) -> None:
    """Whatever value is swapped for whatever wrong type, the answer is a result or one clean
    error: never a KeyError, TypeError, AttributeError or ValueError."""
    path = _pixi(corpus) / name
    doc = common.data(path.read_text(encoding="utf-8"), "yaml")
    bad_values: list[object] = [None, 7, True, -1.5, "", "x" * 300, [], [1, None], {}, {"a": []}]
    tried = 0
    for where in _mutations(doc):
        for bad in bad_values:
            mutated = copy.deepcopy(doc)
            target = mutated
            for step in where[:-1]:
                target = target[step]  # type: ignore[index]
            target[where[-1]] = bad  # type: ignore[index]
            try:
                pixi.from_data(mutated, base_dir=path.parent)
            except EnvlockError as e:
                assert "\n" not in str(e) and str(e)
            tried += 1
    assert tried > 100
