from __future__ import annotations

import os
import time

import pytest

from envlock.redact import (
    display_path,
    home_to_tilde,
    mask_assignments,
    redact_strings,
    redact_text,
    redact_url,
    secret_parameter,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:s3cret@example.com/simple/", "https://example.com/simple/"),
        ("https://ghp_TOKEN123@github.com/o/r.git", "https://github.com/o/r.git"),
        ("git+https://oauth2:glpat-xyz@gitlab.com/o/r", "git+https://gitlab.com/o/r"),
        ("https://user:p@ss@example.com/x", "https://example.com/x"),  # an unencoded @
        (
            "https://conda.anaconda.org/t/ab-12345/conda-forge/linux-64",
            "https://conda.anaconda.org/t/***/conda-forge/linux-64",
        ),
        ("https://conda.anaconda.org/t/ab-12345", "https://conda.anaconda.org/t/***"),
        (
            "https://bucket.s3.amazonaws.com/x.whl?X-Amz-Signature=abc&X-Amz-Date=1&v=2",
            "https://bucket.s3.amazonaws.com/x.whl?X-Amz-Signature=***&X-Amz-Date=***&v=2",
        ),
        (
            "https://storage.googleapis.com/b/x.whl?X-Goog-Credential=a%2Fb&X-Goog-Signature=c",
            "https://storage.googleapis.com/b/x.whl?X-Goog-Credential=***&X-Goog-Signature=***",
        ),
        (
            "https://b.s3.amazonaws.com/x?AWSAccessKeyId=AKIA&Expires=1&Signature=abc",
            "https://b.s3.amazonaws.com/x?AWSAccessKeyId=***&Expires=1&Signature=***",
        ),
        (
            "https://acct.blob.core.windows.net/c/x.whl?sv=2022&sp=r&sig=abc%3D",
            "https://acct.blob.core.windows.net/c/x.whl?sv=2022&sp=r&sig=***",
        ),
        ("https://host/x.whl?token=abc#sha256=00", "https://host/x.whl?token=***#sha256=00"),
        (
            "https://host/x?access_token=a&private_token=b",
            "https://host/x?access_token=***&private_token=***",
        ),
        ("https://host/cb#access_token=abc&state=1", "https://host/cb#access_token=***&state=1"),
        # a ; or & that does not start another parameter belongs to the secret value
        ("https://host/x?token=a;b&c=d", "https://host/x?token=***&c=d"),
        ("https://host/x?a=1;token=s", "https://host/x?a=1;token=***"),
        ("https://host/x?token=", "https://host/x?token="),
        ("https://pypi.org/simple/", "https://pypi.org/simple/"),
        # kept byte for byte: no re-encoding of what is not a secret
        ("https://host/a%20b/x?q=a+b&v=%2F&empty", "https://host/a%20b/x?q=a+b&v=%2F&empty"),
        ("https://host?", "https://host?"),
        ("file:///opt/wheels/x-1.0-py3-none-any.whl", "file:///opt/wheels/x-1.0-py3-none-any.whl"),
        ("http://[::1]:8080/simple", "http://[::1]:8080/simple"),
    ],
)
def test_redact_url_removes_credentials(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://${USER}:${PASS}@host/simple",
        "https://${TOKEN}@host/simple",
        "https://conda.anaconda.org/t/${CONDA_TOKEN}/conda-forge",
        "https://host/x.whl?token=${TOKEN}",
        "https://host:${PORT}/simple",
        "ssh://git@github.com/org/repo.git",
        "git+ssh://git@github.com/org/repo.git@v1.0",
        "git@github.com:org/repo.git",
        "https://host/x?keyword=a&signal=b&author=c&monkey=d&design=e&passive=f",
    ],
)
def test_redact_url_keeps_what_holds_no_secret(url: str) -> None:
    assert redact_url(url) == url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:${PASS}@host/x", "https://host/x"),  # the user may be the token
        ("https://git:pw@host/x", "https://host/x"),
        ("ssh://deploy@host/repo.git", "ssh://host/repo.git"),
        ("ghp_abc@github.com:org/repo.git", "github.com:org/repo.git"),
        ("https://host/t/${A}x/ch", "https://host/t/***/ch"),
    ],
)
def test_redact_url_keeps_git_and_placeholders_only_alone(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/x",  # an IP literal never closed
        "https://user:pa/ss@host/x",  # an unencoded / in the password: the port is "pa"
        "https://tok#en@host/x",  # an unencoded # in the token
        "https://tok?en@host/x",
        "https://user:pw@host name/x",
    ],
)
def test_unparseable_url_is_masked_whole(url: str) -> None:
    assert redact_url(url) == "***"


def test_a_query_with_an_at_sign_is_still_a_query() -> None:
    assert redact_url("https://host/?email=a@b.org") == "https://host/?email=a@b.org"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True),
        ("Token", True),
        ("access_token", True),
        ("accessToken", True),
        ("refresh-token", True),
        ("api_key", True),
        ("apikey", True),
        ("key", True),
        ("sig", True),
        ("signature", True),
        ("X-Amz-Security-Token", True),
        ("x-goog-date", True),
        ("client_secret", True),
        ("password", True),
        ("keyword", False),
        ("monkey", False),
        ("signal", False),
        ("author", False),
        ("design", False),
        ("v", False),
        ("sha256", False),
        ("subdirectory", False),
        ("passphrase", True),
        ("session_id", True),
        ("X-Session", True),
        ("version", False),
    ],
)
def test_secret_parameter_names(name: str, secret: bool) -> None:
    assert secret_parameter(name) is secret


def test_redact_text_removes_userinfo_and_home() -> None:
    home = os.path.expanduser("~")
    text = f"cannot fetch https://me:pw@host/x from {home}/proj"
    assert redact_text(text) == "cannot fetch https://host/x from ~/proj"


def test_redact_text_redacts_every_url_in_it() -> None:
    text = (
        "XLA_FLAGS=--xla_dump_to=https://h/x?token=abc, 'https://tok@h/y' "
        "(see https://h/z?X-Amz-Signature=s). Then /t/tk-1/ and ssh://git@h/r.git."
    )
    assert redact_text(text) == (
        "XLA_FLAGS=--xla_dump_to=https://h/x?token=***, 'https://h/y' "
        "(see https://h/z?X-Amz-Signature=***). Then /t/***/ and ssh://git@h/r.git."
    )


def test_redact_text_keeps_placeholders_at_the_end_of_a_sentence() -> None:
    text = "channel https://h/t/${CONDA_TOKEN}. and https://${U}:${P}@h."
    assert redact_text(text) == text


def test_redaction_is_linear_on_hostile_text() -> None:
    hostile = [
        "https://" + "a:" * 200_000 + "@",
        "https://h/?" + "&" * 400_000 + "token=1",
        "https://h/?" + "token=" * 100_000,
        "x://" * 100_000,
        "/t/" * 200_000,
        "a" * 40 + "://" + "@" * 300_000,
        "a:" * 200_000 + "@",
        " u:" + "p" * 300_000 + "@",
        "/home/" * 100_000,
        "C:\\Users\\" * 100_000,
        "?token=" + "=" * 300_000,
        "&a=" * 100_000,
    ]
    for text in hostile:
        start = time.perf_counter()
        redact_text(text)
        redact_url(text)
        assert time.perf_counter() - start < 2.0, text[:40]


def test_home_is_replaced_only_as_a_whole_path_component() -> None:
    home = os.path.expanduser("~")
    assert home_to_tilde(f"{home}/a") == "~/a"
    assert home_to_tilde(f"{home}x/a") == f"{home}x/a"
    assert home_to_tilde(f"file://{home}/a") == "file://~/a"
    assert home_to_tilde(f"--dump={home}/a") == "--dump=~/a"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/home/alice/proj", "~alice/proj"),
        ("/Users/carol/src/pkg", "~carol/src/pkg"),
        ("C:\\Users\\bob\\chan", "~bob\\chan"),
        ("c:/users/bob/proj", "~bob/proj"),
        ("file:///C:/Users/bob/repos/r", "file://~bob/repos/r"),
        ("git+file:///home/alice/gitrepo", "git+file://~alice/gitrepo"),
        ("--xla_dump_to=/home/alice/dump", "--xla_dump_to=~alice/dump"),
        ("from /home/alice/x and /home/bob/y", "from ~alice/x and ~bob/y"),
        # not where a path starts, or not a home: kept
        ("/gpfs/home/dave/x", "/gpfs/home/dave/x"),
        ("~/../home/x", "~/../home/x"),
        ("/homes/x", "/homes/x"),
        ("/home/", "/home/"),
    ],
)
def test_other_users_homes_are_written_from_their_tilde(
    text: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", "/nonexistent/me")
    assert home_to_tilde(text) == expected
    assert redact_text(text) == expected


def test_root_is_a_home_unless_it_is_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/nonexistent/me")
    assert home_to_tilde("/root/secret-proj") == "~root/secret-proj"
    assert home_to_tilde("/rootfs/a:/root") == "/rootfs/a:~root"
    monkeypatch.setenv("HOME", "/root")
    assert home_to_tilde("/root/secret-proj") == "~/secret-proj"
    monkeypatch.setenv("HOME", "/gpfs/home/dave")
    assert home_to_tilde("/gpfs/home/dave/proj") == "~/proj"
    monkeypatch.setenv("HOME", "/")
    assert home_to_tilde("/root/x") == "~root/x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deploy:pw123@github.com:o/r.git", "github.com:o/r.git"),
        ("git+deploy:pw123@github.com:o/r.git", "git+github.com:o/r.git"),
        ("//u:pw123@host/x.whl", "//host/x.whl"),
        ("invalid address 'u:pw123@127.0.0.1:1'", "invalid address '127.0.0.1:1'"),
        ("echoed '1/?token=abc123'.", "echoed '1/?token=***'."),
        (" https://bob:pw123@host/x", " https://host/x"),
        # no secret
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("${USER}:${PASS}@host:o/r", "${USER}:${PASS}@host:o/r"),
        ("?keyword=value", "?keyword=value"),
        ("a:b @ c", "a:b @ c"),
    ],
)
def test_user_info_and_secret_pairs_outside_a_url(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_url_with_leading_space() -> None:
    assert redact_url(" https://bob:pw@host/x") == " https://host/x"


def test_redact_strings_cleans_keys_too() -> None:
    data = {"packages": {"https://u:pw@h/x": {"url": "deploy:pw@github.com:o/r"}}, "n": 1}
    assert redact_strings(data) == {"packages": {"https://h/x": {"url": "github.com:o/r"}}, "n": 1}
    clean = {"packages": {"numpy": {"version": "1.26.4"}}}
    assert redact_strings(clean) is clean


def test_display_path_is_relative_inside_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "envlock.yaml") == "envlock.yaml"
    # outside it: absolute, and without the ".." of a relative argument made absolute
    (tmp_path / "locks").mkdir()
    monkeypatch.chdir(tmp_path / "locks")
    assert display_path(tmp_path / "locks" / ".." / "v" / "bin") == str(tmp_path / "v" / "bin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aws_secret_access_key = AKIAZQ123", "aws_secret_access_key = ***"),
        ("export DB_PASSWORD=hunter2", "export DB_PASSWORD=***"),
        ("machine h login me password ghp_x1", "machine h login me password ***"),
        ("token: abc", "token: ***"),
        ("--password=abc", "--password=***"),
        ("numpy==1.26.4 --hash=sha256:ab", "numpy==1.26.4 --hash=sha256:ab"),
        ("keyword = value", "keyword = value"),
    ],
)
def test_mask_assignments(text: str, expected: str) -> None:
    assert mask_assignments(text) == expected
