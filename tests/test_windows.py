"""Windows-shaped inputs, read here: paths pip writes on Windows, homes as Windows spells them,
a Windows prefix's layout, hints that name a Windows interpreter. Real files; ``os.name`` is
set to ``nt`` only where the branch it selects cannot otherwise run on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from envlock.findings import acting_on, shell_path
from envlock.foreign.common import local_path
from envlock.localpath import recorded
from envlock.redact import home_to_tilde
from envlock.snapshot import source_from_direct_url


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
