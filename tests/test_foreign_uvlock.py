"""uv.lock read as a foreign lockfile: what ``uv sync`` installs for one marker environment.
Every corpus lock for a Linux, a Windows and a macOS interpreter; exact values from real
files; a hand-written lock with forks, extras, groups, conflicts and every kind of source;
hostile input and credentials; and a real project locked and synced by uv, offline, whose
environment must be exactly what the parse wants."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envlock.errors import LockfileError, UsageError
from envlock.foreign import Foreign, PipWant, uvlock
from envlock.model import Source

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SECRET = "s3cr3t-T0KEN"


def _env(
    sys_platform: str, machine: str, python: str = "3.12.4", impl: str = "CPython"
) -> dict[str, str]:
    system = {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[sys_platform]
    return {
        "implementation_name": impl.lower(),
        "implementation_version": python,
        "os_name": "nt" if sys_platform == "win32" else "posix",
        "platform_machine": machine,
        "platform_python_implementation": impl,
        "platform_release": "",
        "platform_system": system,
        "platform_version": "",
        "python_full_version": python,
        "python_version": ".".join(python.split(".")[:2]),
        "sys_platform": sys_platform,
    }


LINUX = _env("linux", "x86_64")
WINDOWS = _env("win32", "AMD64")
MACOS = _env("darwin", "arm64")
PLATFORMS = {"linux": LINUX, "windows": WINDOWS, "macos": MACOS}


def _required(result: Foreign) -> dict[str, PipWant]:
    assert result.pip is not None
    return {w.name: w for w in result.pip if not w.optional}


def _optional(result: Foreign) -> dict[str, PipWant]:
    assert result.pip is not None
    return {w.name: w for w in result.pip if w.optional}


def _one_line_error(exc: pytest.ExceptionInfo[Exception]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


def _corpus_lock(
    corpus: Path, name: str, markers: dict[str, str] | None = None, **kw: object
) -> Foreign:
    folder = corpus / "lockfiles" / "uv"
    text = (folder / name).read_text(encoding="utf-8")
    return uvlock.parse(text, base_dir=folder, markers=markers, **kw)  # type: ignore[arg-type]


# --- the corpus ----------------------------------------------------------------------------

# (file, windows-only, installed everywhere but Windows): platform-specific packages
PLATFORM_SPECIFIC = {
    "uv-built-by-uv.uv.lock": ({"colorama"}, set()),
    "mjlab.uv.lock": ({"colorama"}, set()),
    "pydantic-ai.uv.lock": ({"colorama", "pywin32", "pywin32-ctypes"}, set()),
    "syft-nested-extras.uv.lock": ({"colorama"}, {"uvloop"}),
    "uv-scripts-benchmark.uv.lock": ({"colorama", "pywin32-ctypes"}, set()),
}


def test_corpus_every_file_parses_for_every_platform(corpus: Path) -> None:
    folder = corpus / "lockfiles" / "uv"
    files = sorted(folder.iterdir())
    assert len(files) == 8
    host = None  # the interpreter running the tests
    for path in files:
        text = path.read_text(encoding="utf-8")
        declared = re.search(r'^requires-python = "([^"]+)"', text, re.MULTILINE)
        assert declared is not None
        for markers in (host, LINUX, WINDOWS, MACOS):
            result = uvlock.parse(text, base_dir=folder, markers=markers)
            assert result.format == "uv-lock"
            assert result.conda is None
            assert result.platform is None and result.environment is None
            assert result.requires_python == declared.group(1)
            assert result.pip, path.name
            names = [w.name for w in result.pip]
            assert len(names) == len(set(names)), path.name  # one want per name
            for want in result.pip:
                assert want.marker is None
                assert want.source is not None or want.optional, (path.name, want.name)
                assert all(re.fullmatch(r"sha256=[0-9a-f]{64}", h) for h in want.hashes)
            # every [[package]] but the virtual ones is wanted, required or optional
            virtual = text.count("source = { virtual = ")
            assert len(result.pip) == len(set(re.findall(r'^name = "(.+)"$', text, re.M))) - virtual
    for name, (windows_only, not_windows) in PLATFORM_SPECIFIC.items():
        by_platform = {p: _required(_corpus_lock(corpus, name, m)) for p, m in PLATFORMS.items()}
        for package in windows_only:
            assert package in by_platform["windows"], (name, package)
            assert package not in by_platform["linux"], (name, package)
            assert package not in by_platform["macos"], (name, package)
        for package in not_windows:
            assert package not in by_platform["windows"], (name, package)
            assert package in by_platform["linux"] and package in by_platform["macos"]


def test_built_by_uv_editable_root_and_dev_group(corpus: Path) -> None:
    result = _corpus_lock(corpus, "uv-built-by-uv.uv.lock", LINUX)
    required = _required(result)
    assert sorted(required) == [
        "anyio", "built-by-uv", "idna", "iniconfig", "packaging", "pluggy", "pytest", "sniffio"
    ]  # fmt: skip
    assert required["built-by-uv"] == PipWant(
        name="built-by-uv",
        version="0.1.0",
        source=Source(kind="directory", path=".", editable=True),
    )
    assert required["anyio"] == PipWant(
        name="anyio",
        version="4.6.2.post1",
        source=Source(kind="index"),
        hashes=(
            "sha256=4c8bc31ccdb51c7f7bd251f51c609e038d63e34219b44aa86e47576389880b4c",
            "sha256=6d170c36fba3bdd840c73d3868c1e777e33676a69c3a72cf0a0d5d6d8009b61d",
        ),
    )
    assert required["pytest"].version == "8.3.3"  # from the dev group, synced by default
    assert _optional(result) == {
        "colorama": PipWant(
            name="colorama",
            version="0.4.6",
            source=Source(kind="index"),
            hashes=(
                "sha256=08695f5cb7ed6e0531a20572697297273c47b8cae5a63ffc6d6ed5c201be6e44",
                "sha256=4f1d9991f5acc0ca119f9d443620b77f9d6b33703e51011c16baf57afb285fc6",
            ),
            optional=True,
        )
    }
    assert result.notes == (
        "1 package is for other platforms, Python versions, extras, groups or workspace "
        "members: allowed, not required",
    )
    no_dev = _required(_corpus_lock(corpus, "uv-built-by-uv.uv.lock", LINUX, groups=()))
    assert sorted(no_dev) == ["anyio", "built-by-uv", "idna", "sniffio"]


def test_mjlab_git_source_and_torch_forks(corpus: Path) -> None:
    linux = _required(_corpus_lock(corpus, "mjlab.uv.lock", LINUX))
    assert linux["mujoco-warp"] == PipWant(
        name="mujoco-warp",
        version="0.0.1",
        source=Source(
            kind="vcs",
            vcs="git",
            url="https://github.com/google-deepmind/mujoco_warp",
            commit="486642c3fa262a989b482e0e506716d5793d61a9",
            requested_revision="486642c3fa262a989b482e0e506716d5793d61a9",
        ),
    )
    assert linux["mjlab"].source == Source(kind="directory", path=".", editable=True)
    # sys_platform != 'darwin': the CUDA build from download.pytorch.org
    torch = linux["torch"]
    assert torch.version == "2.8.0+cu128"
    assert torch.source == Source(kind="index")
    assert len(torch.hashes) == 10
    assert "sha256=0c96999d15cf1f13dd7c913e0b21a9a355538e6cfc10861a17158320292f5954" in (
        torch.hashes
    )
    assert linux["triton"].version == "3.4.0"  # torch+cu128 on Linux only
    assert linux["mujoco"].version == "3.3.7.dev811775910" and linux["mujoco"].hashes == ()
    macos = _required(_corpus_lock(corpus, "mjlab.uv.lock", MACOS))
    assert macos["torch"].version == "2.8.0"  # the PyPI fork
    assert not set(macos["torch"].hashes) & set(torch.hashes)
    assert "triton" not in macos
    assert _required(_corpus_lock(corpus, "mjlab.uv.lock", WINDOWS))["torch"] == torch
    # the fork not installed is not offered as another allowed version of a required name
    result = _corpus_lock(corpus, "mjlab.uv.lock", MACOS)
    assert [w.version for w in result.pip or () if w.name == "torch"] == ["2.8.0"]


def test_mjlab_python_version_forks(corpus: Path) -> None:
    old = _required(_corpus_lock(corpus, "mjlab.uv.lock", _env("linux", "x86_64", "3.10.12")))
    new = _required(_corpus_lock(corpus, "mjlab.uv.lock", LINUX))
    assert old["numpy"].version == "2.2.6" and new["numpy"].version == "2.3.2"
    assert "exceptiongroup" in old and "exceptiongroup" not in new


def test_pydantic_ai_workspace(corpus: Path) -> None:
    result = _corpus_lock(corpus, "pydantic-ai.uv.lock", LINUX)
    required, optional = _required(result), _optional(result)
    assert required["pydantic-ai"].source == Source(kind="directory", path=".", editable=True)
    assert required["pydantic-ai"].version is None  # a dynamic version is not in the lock
    for member, path in [
        ("pydantic-ai-slim", "pydantic_ai_slim"),
        ("pydantic-evals", "pydantic_evals"),
        ("pydantic-graph", "pydantic_graph"),
    ]:
        assert required[member].source == Source(kind="directory", path=path, editable=True)
    # members the root does not depend on: uv sync (without --all-packages) leaves them out
    assert optional["clai"].source == Source(kind="directory", path="clai", editable=True)
    assert "pydantic-ai-examples" in optional
    assert required["strict-no-cover"].source == Source(
        kind="vcs",
        vcs="git",
        url="https://github.com/pydantic/strict-no-cover.git",
        commit="7fc59da2c4dff919db2095a0f0e47101b657131d",
        requested_revision="7fc59da2c4dff919db2095a0f0e47101b657131d",
    )
    assert len(required) == 165
    assert any(n.startswith("as uv sync without --extra: the extras ag-ui,") for n in result.notes)
    assert any("the groups lint are not required" in n for n in result.notes)
    # uv sync --package clai
    clai = _corpus_lock(corpus, "pydantic-ai.uv.lock", LINUX, environment="clai")
    assert clai.environment == "clai"
    assert "clai" in _required(clai) and "pydantic-ai-examples" not in _required(clai)
    with pytest.raises(UsageError) as exc:
        _corpus_lock(corpus, "pydantic-ai.uv.lock", LINUX, environment="nope")
    assert _one_line_error(exc) == (
        "no workspace member nope; the file has: clai, pydantic-ai, pydantic-ai-examples, "
        "pydantic-ai-slim, pydantic-evals, pydantic-graph (choose one with --against-env)"
    )
    with pytest.raises(UsageError) as exc:
        _corpus_lock(corpus, "pydantic-ai.uv.lock", LINUX, groups=("docs",))
    assert _one_line_error(exc) == "no dependency group docs; the file has: dev, lint"
    lint = _required(_corpus_lock(corpus, "pydantic-ai.uv.lock", LINUX, groups=("dev", "lint")))
    assert {"griffecli", "mypy", "pyright", "ruff"} <= set(lint)
    assert "pyright" not in required and set(required) < set(lint)


def test_syft_extras_follow_the_implementation(corpus: Path) -> None:
    """``httpx[brotli]``: brotli on CPython, brotlicffi on PyPy (extras of a dependency are
    followed; the virtual root is not installed)."""
    cpython = _corpus_lock(corpus, "syft-conflicting-with-extras.uv.lock", LINUX)
    pypy = _corpus_lock(
        corpus, "syft-conflicting-with-extras.uv.lock", _env("linux", "x86_64", "3.11.9", "PyPy")
    )
    assert "brotli" in _required(cpython) and "brotlicffi" not in _required(cpython)
    assert "brotlicffi" in _required(pypy) and "brotli" not in _required(pypy)
    for result in (cpython, pypy):
        required = _required(result)
        assert {"h2", "socksio", "httpx", "click", "rich"} <= set(required)
        assert "testpkg" not in {w.name for w in result.pip or ()}  # virtual: never installed


def test_script_lock_requirements_are_the_roots(corpus: Path) -> None:
    result = _corpus_lock(corpus, "uv-test_publish.py.lock", LINUX)
    required = _required(result)
    assert len(required) == 40 and not _optional(result)
    assert required["sigstore"].version == "4.4.0"
    assert required["pypi-attestations"].version == "0.0.28"
    assert "socksio" in required  # httpx[socks]
    with pytest.raises(UsageError, match=r"^this uv.lock has no workspace members"):
        _corpus_lock(corpus, "uv-test_publish.py.lock", LINUX, environment="x")


def test_uv_repo_root_has_no_dev_group(corpus: Path) -> None:
    result = _corpus_lock(corpus, "uv-repo-root.uv.lock", LINUX)
    assert list(_required(result)) == ["uv"]
    assert "dependency groups synced: none" in result.notes[0]
    docs = _required(_corpus_lock(corpus, "uv-repo-root.uv.lock", LINUX, groups=("docs",)))
    assert "mkdocs" in docs
    old = _env("linux", "x86_64", "3.11.4")
    assert "mkdocs" not in _required(
        _corpus_lock(corpus, "uv-repo-root.uv.lock", old, groups=("docs",))
    )


# --- a hand-written lock -------------------------------------------------------------------

REGISTRY = f'{{ registry = "https://user:{SECRET}@pypi.example.com/simple" }}'
CPU_INDEX = '{ registry = "https://download.example.com/cpu" }'
GPU_INDEX = '{ registry = "https://download.example.com/gpu" }'
FILES = "https://files.example.com"
GIT = f"https://user:{SECRET}@git.example.com/org/gitpkg.git?subdirectory=py&rev=main#{COMMIT}"
VISION = f"https://tok:{SECRET}@files.example.com/vision-0.5-py3-none-any.whl"
DEV_ON, DEV_OFF = "extra == 'group-3-app-dev'", "extra != 'group-3-app-dev'"  # uv's encoding

HAND = f"""
version = 1
revision = 3
requires-python = ">=3.9"
resolution-markers = [
    "sys_platform == 'win32'",
    "sys_platform != 'win32'",
]
conflicts = [[
    {{ package = "web", extra = "fast" }},
    {{ package = "web", extra = "slow" }},
]]

[manifest]
members = ["app", "helper", "tools"]

[[package]]
name = "accel"
version = "1.0"
source = {{ path = "wheels/accel-1.0-py3-none-any.whl" }}
wheels = [{{ filename = "accel-1.0-py3-none-any.whl", hash = "sha256:{SHA_C}" }}]

[[package]]
name = "app"
version = "1.0.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "gamma", version = "1.0", source = {REGISTRY}, marker = "sys_platform == 'win32'" }},
    {{ name = "gamma", version = "2.0", source = {REGISTRY}, marker = "sys_platform != 'win32'" }},
    {{ name = "gitpkg" }},
    {{ name = "helper" }},
    {{ name = "vision" }},
]

[package.optional-dependencies]
plot = [{{ name = "plotlib" }}]

[package.dev-dependencies]
dev = [{{ name = "devtool" }}]
lint = [{{ name = "linter", marker = "python_full_version >= '3.10'" }}]

[[package]]
name = "devtool"
version = "1.0"
source = {REGISTRY}

[[package]]
name = "gamma"
version = "1.0"
source = {REGISTRY}
resolution-markers = ["sys_platform == 'win32'"]
wheels = [{{ url = "{FILES}/gamma-1.0-py3-none-any.whl", hash = "sha256:{SHA_A}" }}]

[[package]]
name = "gamma"
version = "2.0"
source = {REGISTRY}
resolution-markers = ["sys_platform != 'win32'"]
sdist = {{ url = "{FILES}/gamma-2.0.tar.gz", hash = "sha256:{SHA_B.upper()}" }}
wheels = [{{ url = "{FILES}/gamma-2.0-py3-none-any.whl", hash = "sha256:{SHA_C}" }}]

[[package]]
name = "gitpkg"
version = "0.3"
source = {{ git = "{GIT}" }}

[[package]]
name = "helper"
version = "0.1"
source = {{ editable = "libs/helper" }}
dependencies = [{{ name = "middle" }}]

[[package]]
name = "kernel"
version = "1.0+cpu"
source = {CPU_INDEX}
resolution-markers = ["{DEV_ON}"]

[[package]]
name = "kernel"
version = "1.0+gpu"
source = {GPU_INDEX}
resolution-markers = ["{DEV_OFF}"]

[[package]]
name = "linter"
version = "1.0"
source = {REGISTRY}

[[package]]
name = "middle"
version = "0.2"
source = {{ directory = "vendor/middle" }}
dependencies = [{{ name = "web", extra = ["fast"] }}]

[[package]]
name = "plotlib"
version = "1.0"
source = {REGISTRY}

[[package]]
name = "speedup"
version = "1.0"
source = {REGISTRY}
dependencies = [{{ name = "winonly", marker = "sys_platform == 'win32'" }}]

[[package]]
name = "toolkit"
version = "1.0"
source = {REGISTRY}

[[package]]
name = "tools"
version = "0.1"
source = {{ virtual = "tools" }}
dependencies = [{{ name = "toolkit" }}]

[[package]]
name = "vision"
version = "0.5"
source = {{ url = "{VISION}" }}
dependencies = [
    {{ name = "accel", marker = "extra == 'extra-3-web-fast'" }},
    {{ name = "kernel", version = "1.0+cpu", source = {CPU_INDEX}, marker = "{DEV_ON}" }},
    {{ name = "kernel", version = "1.0+gpu", source = {GPU_INDEX}, marker = "{DEV_OFF}" }},
]
wheels = [{{ url = "{VISION}", hash = "sha256:{SHA_A}" }}]

[[package]]
name = "web"
version = "3.0"
source = {REGISTRY}

[package.optional-dependencies]
fast = [{{ name = "speedup" }}]
slow = []

[[package]]
name = "winonly"
version = "1.0"
source = {REGISTRY}
"""


def _hand(tmp_path: Path, markers: dict[str, str] = LINUX, **kw: object) -> Foreign:
    return uvlock.parse(HAND, base_dir=tmp_path, markers=markers, **kw)  # type: ignore[arg-type]


def test_hand_written_lock_on_linux(tmp_path: Path) -> None:
    result = _hand(tmp_path)
    assert SECRET not in repr(result)
    required = _required(result)
    assert sorted(required) == [
        "accel", "app", "devtool", "gamma", "gitpkg", "helper", "kernel", "middle", "speedup",
        "vision", "web",
    ]  # fmt: skip
    assert required["app"].source == Source(kind="directory", path=".", editable=True)
    assert required["helper"].source == Source(kind="directory", path="libs/helper", editable=True)
    assert required["middle"].source == Source(kind="directory", path="vendor/middle")
    assert required["gamma"] == PipWant(
        name="gamma",
        version="2.0",
        source=Source(kind="index"),
        hashes=(f"sha256={SHA_B}", f"sha256={SHA_C}"),  # the sdist's hash, lower case
    )
    assert required["gitpkg"].source == Source(
        kind="vcs",
        vcs="git",
        url="https://git.example.com/org/gitpkg.git",
        commit=COMMIT,
        requested_revision="main",
        subdirectory="py",
    )
    assert required["vision"].source == Source(
        kind="archive",
        url="https://files.example.com/vision-0.5-py3-none-any.whl",
        hash=f"sha256={SHA_A}",
    )
    assert required["accel"].source == Source(
        kind="archive", path="wheels/accel-1.0-py3-none-any.whl", hash=f"sha256={SHA_C}"
    )
    # middle asks for web[fast], found after vision was reached: uv's first pass activates
    # it before any conflict marker is evaluated, so vision's accel applies
    assert required["speedup"].version == "1.0"
    # the dev group of the root is synced: its conflict marker selects the CPU build
    assert required["kernel"].version == "1.0+cpu"
    assert set(_optional(result)) == {"linter", "plotlib", "toolkit", "winonly"}
    assert all(w.version == "1.0" for w in _optional(result).values())
    assert "tools" not in {w.name for w in result.pip or ()}  # virtual
    assert result.requires_python == ">=3.9"
    assert result.notes == (
        "as uv sync without --extra: the extras plot are not required",
        "dependency groups synced: dev (tool.uv.default-groups is not in the lock); the groups "
        "lint are not required",
        "4 packages are for other platforms, Python versions, extras, groups or workspace "
        "members: allowed, not required",
    )


def test_hand_written_lock_on_windows(tmp_path: Path) -> None:
    required = _required(_hand(tmp_path, WINDOWS))
    assert required["gamma"] == PipWant(
        name="gamma", version="1.0", source=Source(kind="index"), hashes=(f"sha256={SHA_A}",)
    )
    assert "winonly" in required


def test_hand_written_lock_groups(tmp_path: Path) -> None:
    no_groups = _hand(tmp_path, groups=())
    assert _required(no_groups)["kernel"].version == "1.0+gpu"
    assert "devtool" in _optional(no_groups)
    lint = _required(_hand(tmp_path, groups=("lint",)))
    assert "linter" in lint and "devtool" not in lint
    assert lint["kernel"].version == "1.0+gpu"
    old_python = _required(_hand(tmp_path, _env("linux", "x86_64", "3.9.18"), groups=("lint",)))
    assert "linter" not in old_python
    with pytest.raises(UsageError) as exc:
        _hand(tmp_path, groups=("docs", "lint"))
    assert _one_line_error(exc) == "no dependency group docs; the file has: dev, lint"


def test_hand_written_lock_members(tmp_path: Path) -> None:
    tools = _hand(tmp_path, environment="tools")
    assert tools.environment == "tools"
    assert sorted(_required(tools)) == ["toolkit"]  # the virtual member itself is not installed
    helper = _required(_hand(tmp_path, environment="Helper"))
    assert sorted(helper) == ["helper", "middle", "speedup", "web"]


def test_forks_without_version_are_chosen_by_resolution_markers(tmp_path: Path) -> None:
    text = """
version = 1
requires-python = ">=3.8"
[[package]]
name = "root"
version = "1"
source = { virtual = "." }
dependencies = [{ name = "dep" }]
[[package]]
name = "dep"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version < '3.10'"]
[[package]]
name = "dep"
version = "2.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version >= '3.10'"]
"""
    old = uvlock.parse(text, base_dir=tmp_path, markers=_env("linux", "x86_64", "3.9.1"))
    new = uvlock.parse(text, base_dir=tmp_path, markers=LINUX)
    assert [(w.name, w.version) for w in old.pip or ()] == [("dep", "1.0")]
    assert [(w.name, w.version) for w in new.pip or ()] == [("dep", "2.0")]


def test_unreached_forks_allow_any_version(tmp_path: Path) -> None:
    text = """
version = 1
[[package]]
name = "root"
source = { editable = "." }
[package.optional-dependencies]
cpu = [{ name = "torch", version = "2.0+cpu", source = { registry = "https://a.example/cpu" } }]
gpu = [{ name = "torch", version = "2.0+gpu", source = { registry = "https://a.example/gpu" } }]
[[package]]
name = "torch"
version = "2.0+cpu"
source = { registry = "https://a.example/cpu" }
[[package]]
name = "torch"
version = "2.0+gpu"
source = { registry = "https://a.example/gpu" }
"""
    result = uvlock.parse(text, base_dir=tmp_path, markers=LINUX)
    assert result.pip == (
        PipWant(name="root", source=Source(kind="directory", path=".", editable=True)),
        PipWant(name="torch", optional=True),
    )


def test_default_markers_are_the_running_interpreter(tmp_path: Path) -> None:
    text = """
version = 1
[[package]]
name = "root"
source = { virtual = "." }
dependencies = [
    { name = "win", marker = "sys_platform == 'win32'" },
    { name = "other", marker = "sys_platform != 'win32'" },
]
[[package]]
name = "win"
version = "1"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "other"
version = "1"
source = { registry = "https://pypi.org/simple" }
"""
    required = _required(uvlock.parse(text, base_dir=tmp_path))
    assert list(required) == (["win"] if sys.platform == "win32" else ["other"])


def test_paths_outside_the_lock_directory(tmp_path: Path) -> None:
    text = """
version = 1
[[package]]
name = "root"
source = { editable = "." }
dependencies = [{ name = "sibling" }, { name = "wheel" }, { name = "old" }]
[[package]]
name = "old"
version = "1"
source = { path = "vendor/old" }
[[package]]
name = "sibling"
version = "1"
source = { directory = "../sibling" }
[[package]]
name = "wheel"
version = "1"
source = { path = "/opt/wheels/wheel-1-py3-none-any.whl" }
"""
    base = tmp_path / "proj"
    required = _required(uvlock.parse(text, base_dir=base, markers=LINUX))
    assert required["sibling"].source == Source(kind="directory", path=_outside(base, "../sibling"))
    wheel = required["wheel"].source
    assert wheel is not None and wheel.path == "/opt/wheels/wheel-1-py3-none-any.whl"
    assert wheel.hash is None  # no hash in the file
    assert required["old"].source == Source(kind="directory", path="vendor/old")


def _outside(base_dir: Path, rel: str) -> str:
    from envlock.redact import home_to_tilde

    return home_to_tilde(Path(os.path.normpath(base_dir / rel)).as_posix())


# --- hostile input -------------------------------------------------------------------------

ROOT = '[[package]]\nname = "root"\nsource = { editable = "." }\n'

HOSTILE = [
    ("{{{ not toml", "not a uv.lock: not valid TOML"),
    ("version = 2\n", "uv.lock version 2 is newer than this envlock reads (1)"),
    ("version = 123456789012345678901234567890\n", "uv.lock version 12345678901234567890"),
    ("version = 0\n", "uv.lock version 0 is not one envlock reads (1)"),
    ('version = "1"\n', "version: expected integer, got string"),
    ("version = true\n", "version: expected integer, got boolean"),
    ("requires-python = '>=3'\n", "version: required"),
    ('version = 1\n[[distribution]]\nname = "a"\n', "an early uv.lock ([[distribution]]"),
    ('[[distribution]]\nname = "a"\n', "an early uv.lock ([[distribution]], uv before 0.3)"),
    ("version = 1\nrevision = 'x'\n", "revision: expected integer, got string"),
    ("version = 1\nrequires-python = 'nope'\n" + ROOT, "requires-python: not a version spec"),
    ("version = 1\npackage = 3\n", "package: expected list, got integer"),
    ("version = 1\npackage = [1]\n", "package[0]: expected a mapping, got integer"),
    ("version = 1\n[[package]]\nversion = '1'\n", "package[0].name: required"),
    ("version = 1\n[[package]]\nname = 3\n", "package[0].name: expected string, got integer"),
    ("version = 1\n[[package]]\nname = 'a'\n", "package[0].source: required"),
    ("version = 1\n[[package]]\nname = 'a'\nsource = 'pypi'\n", "package[0].source: expected a"),
    (
        "version = 1\n[[package]]\nname = 'a'\nsource = { foo = 'x' }\n",
        "package[0].source: needs exactly one of registry, git, url, path, directory, editable",
    ),
    (
        "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x', git = 'y' }\n",
        "package[0].source: needs exactly one of",
    ),
    (
        "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 3 }\n",
        "package[0].source.registry: expected string, got integer",
    ),
    (
        "version = 1\n[[package]]\nname = 'a'\nsource = { git = 'https://h.example/r?rev=x' }\n",
        "package[0].source.git: no commit after '#': https://h.example/r?rev=x",
    ),
    (
        "version = 1\n[[package]]\nname = 'a'\nsource = { git = 'http://[::1/x#" + COMMIT + "' }\n",
        "package[0].source.git: not a URL",
    ),
    ("version = 1\n" + ROOT + "dependencies = 'x'\n", "package[0].dependencies: expected list"),
    (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'ghost' }]\n",
        "package[0].dependencies[0]: no package ghost in the file",
    ),
    (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'root', version = '9' }]\n",
        "package[0].dependencies[0]: no package root 9 in the file",
    ),
    (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'root', marker = 'os_name ==' }]\n",
        "package[0].dependencies[0].marker: not a marker: os_name ==",
    ),
    (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'root', marker = 3 }]\n",
        "package[0].dependencies[0].marker: expected string, got integer",
    ),
    (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'root', extra = 'x' }]\n",
        "package[0].dependencies[0].extra: expected list, got string",
    ),
    (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'root', extra = [1] }]\n",
        "package[0].dependencies[0].extra[0]: expected string, got integer",
    ),
    (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'root', source = 'x' }]\n",
        "package[0].dependencies[0].source: expected a mapping, got string",
    ),
    ("version = 1\n" + ROOT + "wheels = [{ hash = 'md5' }]\n", "package[0].wheels[0].hash: not"),
    ("version = 1\n" + ROOT + "wheels = [{ hash = 5 }]\n", "package[0].wheels[0].hash: expected"),
    ("version = 1\n" + ROOT + "wheels = 'x'\n", "package[0].wheels: expected list, got string"),
    ("version = 1\n" + ROOT + "sdist = []\n", "package[0].sdist: expected a mapping, got list"),
    (
        "version = 1\n" + ROOT + "resolution-markers = [3]\n",
        "package[0].resolution-markers[0]: expected string, got integer",
    ),
    (
        "version = 1\n" + ROOT + "resolution-markers = ['python_version']\n",
        "package[0].resolution-markers[0]: not a marker",
    ),
    (
        "version = 1\n" + ROOT + "optional-dependencies = []\n",
        "package[0].optional-dependencies: expected a mapping, got list",
    ),
    (
        "version = 1\n" + ROOT + "dev-dependencies = { dev = 'x' }\n",
        "package[0].dev-dependencies.dev: expected list, got string",
    ),
    ("version = 1\nmanifest = 'x'\n" + ROOT, "manifest: expected a mapping, got string"),
    ("version = 1\nconflicts = 'x'\n" + ROOT, "conflicts: expected list, got string"),
    ("version = 1\nsupported-markers = ['x ==']\n" + ROOT, "supported-markers[0]: not a marker"),
    (
        "version = 1\n[manifest]\nmembers = ['ghost']\n" + ROOT,
        "manifest.members: no package named ghost in the file",
    ),
    (
        "version = 1\n[manifest]\nrequirements = [{ extras = ['x'] }]\n",
        "manifest.requirements[0].name: required",
    ),
    (
        "version = 1\n[[package]]\nname = 'a'\nversion = '1'\nsource = { registry = 'x' }\n",
        "no project, workspace member or [manifest] requirements",
    ),
    (
        "version = 1\n" + ROOT + ROOT.replace('"root"', '"other"'),
        "more than one package has the source '.'",
    ),
    ("version = 1\n" + ROOT + ROOT, "package[1]: a second workspace member named root"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_hostile_input_is_one_clean_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LockfileError) as exc:
        uvlock.parse(text, base_dir=tmp_path, markers=LINUX)
    assert _one_line_error(exc).startswith(message)


def test_ambiguous_and_doubly_selected_forks(tmp_path: Path) -> None:
    forks = (
        "[[package]]\nname = 'x'\nversion = '1'\nsource = { registry = 'https://a.example' }\n"
        "[[package]]\nname = 'x'\nversion = '2'\nsource = { registry = 'https://a.example' }\n"
    )
    ambiguous = "version = 1\n" + ROOT + "dependencies = [{ name = 'x' }]\n" + forks
    with pytest.raises(LockfileError) as exc:
        uvlock.parse(ambiguous, base_dir=tmp_path, markers=LINUX)
    assert _one_line_error(exc) == (
        "package[0].dependencies[0]: 2 of the packages named x apply here; "
        "its version and source must say which"
    )
    both = (
        "version = 1\n" + ROOT + "dependencies = [{ name = 'x', version = '1' }, "
        "{ name = 'x', version = '2' }]\n" + forks
    )
    with pytest.raises(LockfileError) as exc:
        uvlock.parse(both, base_dir=tmp_path, markers=LINUX)
    assert _one_line_error(exc) == "x: more than one of its packages applies here (1, 2)"


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as exc:
        _hand(tmp_path, environment="ghost")
    assert _one_line_error(exc) == (
        "no workspace member ghost; the file has: app, helper, tools "
        "(choose one with --against-env)"
    )


def test_credentials_never_survive(tmp_path: Path) -> None:
    assert SECRET not in repr(_hand(tmp_path)) + repr(_hand(tmp_path, WINDOWS))
    bad_git = (
        "version = 1\n[[package]]\nname = 'a'\n"
        f"source = {{ git = 'https://user:{SECRET}@git.example.com/r.git?rev=main' }}\n"
    )
    bad_hash = (
        "version = 1\n" + ROOT + f"wheels = [{{ hash = 'https://u:{SECRET}@h.example/x' }}]\n"
    )
    missing = (
        "version = 1\n"
        + ROOT
        + f"dependencies = [{{ name = 'x', version = 'https://u:{SECRET}@h' }}]\n"
    )
    for text in (bad_git, bad_hash, missing):
        with pytest.raises(LockfileError) as exc:
            uvlock.parse(text, base_dir=tmp_path, markers=LINUX)
        assert SECRET not in _one_line_error(exc)


def test_supported_markers_become_environments(tmp_path: Path) -> None:
    supported = "[\"sys_platform == 'linux'\", \"sys_platform == 'darwin'\"]"
    text = f"version = 1\nsupported-markers = {supported}\n" + ROOT
    result = uvlock.parse(text, base_dir=tmp_path, markers=LINUX)
    assert result.environments == ("sys_platform == 'linux'", "sys_platform == 'darwin'")


# --- uv itself: lock and sync a real project offline, then compare -------------------------


def _uv(args: list[str], cwd: Path, cache: Path, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        UV_CACHE_DIR=str(cache),
        UV_OFFLINE="1",
        XDG_CONFIG_HOME=str(cache / "config"),  # no user uv.toml (the project's is needed)
        UV_PYTHON_DOWNLOADS="never",
        UV_PYTHON=sys.executable,
        **extra,
    )
    done = subprocess.run(
        ["uv", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _freeze(lines: str) -> dict[str, str | None]:
    """``uv pip freeze`` output as name -> version (None for direct references)."""
    from envlock._probe import canonical_name

    found: dict[str, str | None] = {}
    for line in lines.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            found[canonical_name(name)] = version
        elif " @ " in line:
            found[canonical_name(line.split(" @ ", 1)[0])] = None
        elif line.startswith("-e "):
            found[canonical_name(line.rstrip("/").rsplit("/", 1)[-1])] = None
    return found


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed")
def test_uv_sync_installs_what_the_parse_wants(tmp_path: Path) -> None:
    """A project with a dependency forked by platform, a Windows-only transitive dependency,
    an extra, a dev group, a git dependency and a local wheel: ``uv lock`` and ``uv sync``
    offline; the synced environment is exactly what the parse of the lock wants, and
    envlock finds nothing to report."""
    from factory import build_wheel, make_git_repo, make_project

    from envlock import api
    from envlock.compare_foreign import compare_foreign, marker_environment

    wheels, local = tmp_path / "wheels", tmp_path / "local"
    build_wheel(wheels, "alpha", "1.0", requires=["beta>=1", "winonly; sys_platform == 'win32'"])
    for name, version in [("beta", "2.0"), ("winonly", "1.0"), ("extraonly", "1.0"),
                          ("devtool", "3.0"), ("gamma", "1.0"), ("gamma", "2.0")]:  # fmt: skip
        build_wheel(wheels, name, version)
    build_wheel(local, "localwheel", "0.5")
    git_dir = make_project(tmp_path / "gitdep", "gitdep", "0.3")
    commit = make_git_repo(git_dir)
    requires = [
        "alpha",
        "gamma==1.0; sys_platform == 'win32'",
        "gamma==2.0; sys_platform != 'win32'",
        "gitdep",
        "localwheel",
    ]
    proj = make_project(tmp_path / "proj", "proj", "0.1.0", requires=requires)
    with (proj / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write(
            f"""
[project]
name = "proj"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = {requires!r}

[project.optional-dependencies]
feat = ["extraonly"]

[dependency-groups]
dev = ["devtool"]

[tool.uv]
find-links = ["../wheels"]
no-index = true

[tool.uv.sources]
gitdep = {{ git = "{git_dir.resolve().as_uri()}", rev = "{commit}" }}
localwheel = {{ path = "../local/localwheel-0.5-py3-none-any.whl" }}
"""
        )
    cache = tmp_path / "uv-cache"
    _uv(["lock"], proj, cache)
    _uv(["sync", "--frozen"], proj, cache)
    text = (proj / "uv.lock").read_text(encoding="utf-8")

    python = proj / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    live = api.capture(python=str(python), base_dir=proj, runtime=False)
    result = uvlock.parse(text, base_dir=proj, markers=marker_environment(live))
    frozen = _freeze(_uv(["pip", "freeze", "--python", str(python)], proj, cache))
    required = _required(result)
    assert set(frozen) == set(required)
    for name, pinned in frozen.items():
        assert pinned is None or required[name].version == pinned, name
    gamma = "1.0" if sys.platform == "win32" else "2.0"
    assert required["gamma"].version == gamma
    assert required["gitdep"].source is not None and required["gitdep"].source.commit == commit
    assert set(_optional(result)) == {"extraonly"} | (set() if os.name == "nt" else {"winonly"})
    assert compare_foreign(result, live) == []

    # another environment: without the dev group, with the extra
    other = tmp_path / "other-venv"
    _uv(["sync", "--frozen", "--no-dev", "--extra", "feat"], proj, cache,
        UV_PROJECT_ENVIRONMENT=str(other))  # fmt: skip
    python = other / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    live = api.capture(python=str(python), base_dir=proj, runtime=False)
    markers = marker_environment(live)
    assert (
        compare_foreign(uvlock.parse(text, base_dir=proj, markers=markers, groups=()), live) == []
    )
    findings = compare_foreign(uvlock.parse(text, base_dir=proj, markers=markers), live)
    assert [(f.category, f.subject, f.expected) for f in findings] == [
        ("missing", "devtool", "3.0")
    ]
