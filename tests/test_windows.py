"""Windows-shaped inputs, read here: paths pip writes on Windows, homes as Windows spells them,
a Windows prefix's layout, hints that name a Windows interpreter. Real files; ``os.name`` is
set to ``nt`` only where the branch it selects cannot otherwise run on this machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from condafactory import write_record

from envlock import conda, static
from envlock.commands import use_colour
from envlock.findings import acting_on, shell_path
from envlock.foreign.common import local_path
from envlock.localpath import recorded
from envlock.redact import home_to_tilde
from envlock.snapshot import source_from_direct_url

T = TypeVar("T")


def on_windows(call: Callable[[], T]) -> T:
    """``call()`` with ``os.name`` saying ``nt``, for the branch that Windows takes; restored
    before any assertion (pytest's own reporting reads ``os.name``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "name", "nt")
        return call()


def test_fix_commands_keep_a_bare_home_and_split_a_windows_path_after_its_tilde() -> None:
    """A home alone (``~``, ``~bob``) is not followed by an empty quoted word (``~''`` is no
    home to a shell), and ``~\\`` (a path shown on Windows) leaves its ``~`` outside the
    quotes, as ``~/`` does."""
    hint = "pip install 'numpy==1.26.4'"
    windows_python = r"~\My Projects\.venv\Scripts\python.exe"
    assert acting_on(hint, windows_python, None) == (
        r"~\'My Projects\.venv\Scripts\python.exe' -m pip install 'numpy==1.26.4'"
    )
    assert acting_on("conda install 'x'", None, "~") == "conda install -p ~ 'x'"
    assert acting_on("conda remove x", None, "~bob") == "conda remove -p ~bob x"
    assert acting_on(hint, "~/envs/a b/bin/python", None).startswith("~/'envs/a b/bin/python' -m")
    assert shell_path("~") == "~"
    assert shell_path(r"~\src\tool") == r"~\'src\tool'"
    assert shell_path("~/src/tool") == "~/'src/tool'"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///D:/work/pkg", "D:/work/pkg"),
        ("file:///d:/work/pkg", "D:/work/pkg"),  # the same folder, typed in lower case
        ("file:///D:/work%20dir/pkg", "D:/work dir/pkg"),
        ("file://server/share/pkg", "//server/share/pkg"),  # UNC: the host is the server
        ("file:///C:/Users/alice/proj", "~alice/proj"),
    ],
)
def test_windows_file_urls_record_one_path_on_any_system(
    url: str, path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip's ``direct_url.json`` from a Windows environment (read here from a copied prefix)
    records the path a capture on Windows records, not ``/D:/work/pkg``, nor a path relative
    to the working directory, nor a UNC path without its server."""
    monkeypatch.setenv("HOME", "/nonexistent/me")
    monkeypatch.chdir(tmp_path)
    source = source_from_direct_url({"url": url, "dir_info": {"editable": True}}, tmp_path)
    assert source is not None and source.url is None
    assert source.path == path
    assert local_path(url, tmp_path) == path  # another tool's lockfile: the same rule
    # as Windows itself records the path it read from the URL (written whole: not below the
    # lockfile's folder, and not in a repository)
    assert recorded(path, tmp_path) == home_to_tilde(path)


def test_a_home_in_another_case_is_this_users_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' ``C:\\Users\\Alice`` and ``c:\\users\\alice`` are one folder: pip records the
    path as it was typed, and both must be written ``~``, not one of them ``~alice``."""
    monkeypatch.setenv("HOME", r"C:\Users\Alice")  # (os.path.expanduser's ~ on this machine)
    assert home_to_tilde(r"C:\Users\Alice\proj") == r"~\proj"
    texts = (r"c:\users\alice\proj", "c:/USERS/alice/proj", r"C:\Users\Alicex\proj")
    assert on_windows(lambda: [home_to_tilde(t) for t in texts]) == [
        r"~\proj",
        "~/proj",
        r"~Alicex\proj",  # another user's
    ]


def test_a_long_path_prefix_does_not_hide_a_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/nonexistent/me")
    assert home_to_tilde(r"\\?\C:\Users\bob\proj\x.whl") == r"\\?\~bob\proj\x.whl"
    monkeypatch.setenv("HOME", r"C:\Users\Alice")
    assert home_to_tilde(r"\\?\C:\Users\Alice\proj") == r"\\?\~\proj"


def test_conda_on_windows_reads_the_condarc_in_userprofile_not_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conda expands ``~`` with ``os.path.expanduser``, which on Windows (Python 3.8 and
    later) is ``USERPROFILE`` whatever ``HOME`` says (Git Bash, a company's network home)."""
    monkeypatch.setattr(conda, "SYSTEM_CONDARC_DIRS", (str(tmp_path / "etc-conda"),))
    prefix = tmp_path / "env"
    write_record(prefix, "zlib", "1.3.1", "h4ab18f5_1")
    profile, network_home = tmp_path / "profile", tmp_path / "h"
    for home, channel in ((profile, "conda-forge"), (network_home, "bioconda")):
        home.mkdir()
        (home / ".condarc").write_text(f"channels: [{channel}]\n", encoding="utf-8")
    environ = {"HOME": str(network_home), "USERPROFILE": str(profile)}

    on_linux = conda.read_prefix(prefix, environ)
    assert on_linux is not None and on_linux.channels == ("bioconda",)
    # (read_prefix's own Path(prefix) cannot be made with os.name saying nt: its condarc part)
    warnings: list[str] = []
    channels, _, files = on_windows(lambda: conda._condarc(prefix, environ, warnings))
    assert (channels, files, warnings) == (("conda-forge",), ("~/.condarc",), [])
    no_profile = {"HOME": str(network_home), "HOMEDRIVE": str(profile), "HOMEPATH": ""}
    assert on_windows(lambda: conda._condarc(prefix, no_profile, warnings))[0] == ("conda-forge",)


def test_a_windows_venv_is_told_by_its_folders_names(tmp_path: Path) -> None:
    """``Lib/site-packages`` and no ``lib`` makes a Windows prefix, by the names as stored (on
    Windows, whose file systems ignore case, ``prefix / "lib"`` is that ``Lib`` itself)."""
    venv = tmp_path / "venv"
    dist = venv / "Lib" / "site-packages" / "alpha-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Name: alpha\nVersion: 1.0\n\n", encoding="utf-8")
    (venv / "Scripts").mkdir()
    (venv / "Scripts" / "python.exe").write_bytes(b"MZ")
    (venv / "pyvenv.cfg").write_text("home = C:\\Python312\nversion = 3.12.4\n", "utf-8")
    payload = static.read(venv)
    assert payload["platform"] == {"os": "windows", "method": "layout"}
    assert [d["name"] for d in payload["distributions"]] == ["alpha"]
    (venv / "lib" / "python3.12" / "site-packages").mkdir(parents=True)  # a POSIX one too
    assert static.read(venv)["platform"] == {"method": "unknown"}


def test_no_colour_on_windows_without_a_console_that_shows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On Windows, a terminal is coloured only when its console shows ANSI escapes (virtual
    terminal processing on); the old console host prints them raw, so where that cannot be
    asked (as here) there is no colour."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)  # (Windows has none)
    leader, follower = os.openpty()
    with open(follower, "w") as terminal:
        assert use_colour(terminal)
        assert on_windows(lambda: use_colour(terminal)) is False
    os.close(leader)
