from __future__ import annotations

import os

import pytest

from envlock.redact import display_path, home_to_tilde, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:s3cret@example.com/simple/", "https://example.com/simple/"),
        ("https://ghp_TOKEN123@github.com/o/r.git", "https://github.com/o/r.git"),
        ("git+https://oauth2:glpat-xyz@gitlab.com/o/r", "git+https://gitlab.com/o/r"),
        (
            "https://conda.anaconda.org/t/ab-12345/conda-forge/linux-64",
            "https://conda.anaconda.org/t/***/conda-forge/linux-64",
        ),
        (
            "https://bucket.s3.amazonaws.com/x.whl?X-Amz-Signature=abc&X-Amz-Date=1&v=2",
            "https://bucket.s3.amazonaws.com/x.whl?X-Amz-Signature=***&X-Amz-Date=***&v=2",
        ),
        ("https://host/x.whl?token=abc#sha256=00", "https://host/x.whl?token=***#sha256=00"),
        ("https://pypi.org/simple/", "https://pypi.org/simple/"),
    ],
)
def test_redact_url_removes_credentials(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_removes_userinfo_and_home() -> None:
    home = os.path.expanduser("~")
    text = f"cannot fetch https://me:pw@host/x from {home}/proj"
    assert redact_text(text) == "cannot fetch https://host/x from ~/proj"


def test_home_is_replaced_only_as_a_whole_path_component() -> None:
    home = os.path.expanduser("~")
    assert home_to_tilde(f"{home}/a") == "~/a"
    assert home_to_tilde(f"{home}x/a") == f"{home}x/a"


def test_display_path_is_relative_inside_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "envlock.yaml") == "envlock.yaml"
