"""Shared fixtures. Tests build real environments under tmp_path; the host's own
site-packages must come out of the session unchanged."""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/factory.py and friends

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _host_distributions() -> set[str]:
    site = Path(sysconfig.get_paths()["purelib"])
    return {p.name for p in site.iterdir() if p.name.endswith((".dist-info", ".egg-info"))}


@pytest.fixture(scope="session", autouse=True)
def host_environment_unchanged() -> Iterator[None]:
    """Fail the session if any test installed into or removed from the host environment."""
    before = _host_distributions()
    yield
    after = _host_distributions()
    assert after == before, f"tests changed the host environment: {sorted(after ^ before)}"


@pytest.fixture(scope="session", autouse=True)
def lockfile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The parsed-lockfile cache of this session's processes (and their children) lives in a
    directory of its own: exercised, never written under the user's ~/.cache."""
    import os

    before = os.environ.get("ENVLOCK_CACHE_DIR")
    os.environ["ENVLOCK_CACHE_DIR"] = str(tmp_path_factory.mktemp("envlock-cache"))
    yield
    if before is None:
        del os.environ["ENVLOCK_CACHE_DIR"]
    else:
        os.environ["ENVLOCK_CACHE_DIR"] = before


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No allowlisted variable and no active environment inherited from the caller."""
    from envlock.variables import VARIABLES

    for name in [*VARIABLES, "VIRTUAL_ENV", "CONDA_PREFIX", "SOURCE_DATE_EPOCH", "NO_COLOR"]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is absent ({CORPUS})")
    return CORPUS


@pytest.fixture
def no_lockfile_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", "off")  # in-process loads: no ~/.cache writes


@pytest.fixture(params=["c", "pure"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each YAML loader envlock can read with: PyYAML's C loader (libyaml, the default) and
    its pure-Python one (``ENVLOCK_YAML_LOADER=pure``), in this process and in the envlock
    processes a test starts; no lockfile cache, so that every read parses."""
    import yaml

    if request.param == "c" and not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML was built without libyaml: no C loader")
    monkeypatch.setenv("ENVLOCK_YAML_LOADER", request.param)
    monkeypatch.setenv("ENVLOCK_CACHE_DIR", "off")
    return str(request.param)


@pytest.fixture(scope="session")
def host_lockfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``envlock capture`` of the interpreter running these tests (and their children).
    Tests copy it before changing it."""
    from support import envlock, host_env

    where = tmp_path_factory.mktemp("host")
    done = envlock("capture", "-q", "envlock.yaml", cwd=where, env=host_env())
    assert done.returncode == 0, done.stderr
    return where / "envlock.yaml"
