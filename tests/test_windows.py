"""Windows-shaped inputs, read here: paths pip writes on Windows, homes as Windows spells them,
a Windows prefix's layout, hints that name a Windows interpreter. Real files; ``os.name`` is
set to ``nt`` only where the branch it selects cannot otherwise run on this machine."""

from __future__ import annotations

from envlock.findings import acting_on, shell_path


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
