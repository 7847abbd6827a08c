"""No secret leaves envlock (issue 7): Hypothesis seeds generated secrets into a real
environment on disk (a conda prefix with a venv's interpreter: conda records, conda history,
condarc files, a pip distribution's ``direct_url.json``, numerics variables), into foreign
lockfiles (requirements, a conda explicit spec, pixi.lock, pylock.toml, environment.yml) and
into a lockfile edited by hand, then runs every command in-process (capture, verify, verify
--against, diff, show, export to each format, doctor) with every reporter, and asserts that
no secret, nor a long piece of one, appears in any lockfile, report or export written, or on
stdout or stderr.

The environment is built once per module; each example rewrites only the files that carry
secrets. Each example captures with one set of secrets and then changes the environment with
another (other hashes, commits and channels), so that verify and diff report drift whose
messages show URLs of both."""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import os
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
from condafactory import (
    host_subdir,
    make_conda_prefix,
    python_version_of,
    write_history,
    write_record,
)
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from envlock.cli import COMMANDS, main
from envlock.commands import REPORTERS
from envlock.export import FORMATS as EXPORT_FORMATS

# A secret: letters, digits, the unreserved punctuation and percent-encoded characters that
# user-info, a path segment or a query value cannot carry raw (@ : / # ? %).
_PIECE = st.sampled_from(
    [
        *string.ascii_letters,
        *string.digits,
        "-",
        ".",
        "_",
        "~",
        "%40",
        "%3A",
        "%2F",
        "%23",
        "%3F",
        "%25",
    ]
)
SECRET = st.lists(_PIECE, min_size=10, max_size=30).map(lambda parts: "Zq" + "".join(parts))
N_SECRETS = 16  # per phase: see Phase
SECRETS = st.lists(SECRET, min_size=2 * N_SECRETS, max_size=2 * N_SECRETS, unique=True)
WINDOW = 12  # no piece of a secret this long may appear either
FOREIGN = ("requirements.txt", "explicit.txt", "pixi.lock", "pylock.toml", "environment.yml")


@dataclass(frozen=True)
class World:
    prefix: Path
    python: Path
    site: Path
    subdir: str
    work: Path  # lockfiles, foreign lockfiles and reports live here


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("secrets")
    prefix = root / "env"
    python = make_conda_prefix(prefix)
    short = ".".join(python_version_of(str(python)).split(".")[:2])
    site = prefix / "lib" / f"python{short}" / "site-packages"
    assert site.is_dir()
    work = root / "work"
    work.mkdir()
    return World(prefix, python, site, host_subdir(), work)


def _sha(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _dist_info(site: Path, name: str, version: str, direct_url: dict[str, object]) -> None:
    for old in site.glob(f"{name}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    folder = site / f"{name}-{version}.dist-info"
    folder.mkdir()
    files = {
        "METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n",
        "INSTALLER": "pip\n",
        "REQUESTED": "",
        "direct_url.json": json.dumps(direct_url),
    }
    for fname, text in files.items():
        (folder / fname).write_text(text, encoding="utf-8")
    record = [f"{folder.name}/{fname},," for fname in (*files, "RECORD")]
    (folder / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")


def seed_environment(w: World, s: list[str], phase: int) -> dict[str, str]:
    """Write every file of the environment that carries a secret; return the variables."""
    tag = f"p{phase}"
    private = f"https://user:{s[0]}@private{phase}.example.com/t/{s[1]}/ml"
    org = f"https://conda.anaconda.org/t/{s[2]}/private-ch"
    for old in (w.prefix / "conda-meta").glob("*.json"):
        if not old.name.startswith("python-"):
            old.unlink()
    write_record(
        w.prefix,
        "zlib",
        "1.3.1",
        f"h{tag}_0",
        channel=private,
        subdir=w.subdir,
        requested_spec=f"{private}::zlib==1.3.1",
    )
    write_record(w.prefix, "libsecret", "0.1", f"h{tag}_0", channel=org, subdir="noarch")
    history = w.prefix / "conda-meta" / "history"
    history.unlink(missing_ok=True)
    write_history(
        w.prefix,
        [
            (
                "update",
                [f"+{private}/{w.subdir}::zlib-1.3.1-h{tag}_0"],
                [f"{private}::zlib==1.3.1", f"--channel={org}", f"{org}::libsecret"],
            )
        ],
    )
    (w.prefix / ".condarc").write_text(
        f"channels:\n  - {org}\n  - https://u:{s[3]}@mirror.example.com/conda-forge\n"
        f"  - https://mirror.example.com/t/{s[4]}/bioconda\n",
        encoding="utf-8",
    )
    (w.work / "condarc").write_text(
        f"channels:\n  - https://{s[5]}@other.example.com/conda/\n", encoding="utf-8"
    )
    _dist_info(
        w.site,
        "secretpkg",
        "1.0",
        {
            "url": f"https://__token__:{s[6]}@pypi.example.com/packages/secretpkg-1.0-py3-none-any"
            f".whl?token={s[7]}&X-Amz-Signature={s[8]}&v={tag}",
            "archive_info": {"hashes": {"sha256": _sha("secretpkg", tag)}},
        },
    )
    _dist_info(
        w.site,
        "vcspkg",
        "2.0",
        {
            "url": f"https://{s[9]}@github.com/org/vcspkg.git",
            "vcs_info": {
                "vcs": "git",
                "commit_id": _sha("vcs", tag)[:40],
                "requested_revision": tag,
            },
        },
    )
    return {
        "XLA_FLAGS": f"--xla_dump_to=https://u:{s[10]}@dump.example.com/x?access_token={s[11]}",
        "JAX_PLATFORMS": f"cpu,https://h.example.com/t/{s[12]}/p?sig={s[13]}",
        "CONDARC": str(w.work / "condarc"),
    }


def seed_foreign(w: World, s: list[str]) -> dict[str, Path]:
    """Foreign lockfiles (every format that records URLs) that name the environment's packages
    through secret URLs."""
    wheel = f"https://{s[14]}@pypi.example.com/secretpkg-1.0-py3-none-any.whl"
    requirements = (
        f"--index-url https://u:{s[0]}@pypi.example.com/simple\n"
        f"--extra-index-url https://pypi.example.com/simple?token={s[1]}\n"
        f"-f https://x.example.com/t/{s[2]}/links/\n"
        f"secretpkg @ {wheel}?X-Goog-Signature={s[3]}#sha256={_sha('other')}\n"
        f"vcspkg @ git+https://oauth2:{s[4]}@gitlab.example.com/org/vcspkg.git@{'c' * 40}\n"
    )
    conda_url = f"https://user:{s[5]}@private.example.com/t/{s[6]}/ml/{w.subdir}"
    explicit = (
        f"# platform: {w.subdir}\n@EXPLICIT\n"
        f"{conda_url}/zlib-1.3.1-hother_0.conda#{'d' * 32}\n"
        f"https://conda.anaconda.org/t/{s[7]}/private-ch/noarch/libsecret-0.2-h0_0.conda\n"
        f"# pip secretpkg @ {wheel}?token={s[8]}#sha256={_sha('other')}\n"
    )
    pypi = f"https://{s[9]}@pypi.example.com/packages/secretpkg-1.0-py3-none-any.whl?sig={s[10]}"
    conda_pkg = f"{conda_url}/zlib-1.3.1-hother_0.conda"
    pixi = (
        "version: 6\nenvironments:\n  default:\n    channels:\n"
        f"    - url: https://user:{s[11]}@private.example.com/t/{s[12]}/ml/\n"
        f"    indexes:\n    - https://__token__:{s[13]}@pypi.example.com/simple\n"
        f"    packages:\n      {w.subdir}:\n      - conda: {conda_pkg}\n      - pypi: {pypi}\n"
        f"packages:\n- conda: {conda_pkg}\n  sha256: {_sha('zlib')}\n  md5: {'e' * 32}\n"
        f"- pypi: {pypi}\n  name: secretpkg\n  version: '1.0'\n  sha256: {_sha('other')}\n"
    )
    pylock = (
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "secretpkg"\n'
        f'version = "1.0"\n\n[[packages.wheels]]\nurl = "{wheel}?token={s[1]}"\n'
        f'[packages.wheels.hashes]\nsha256 = "{_sha("other")}"\n'
    )
    environment = (
        f"name: x\nchannels:\n  - https://localhost/t/{s[2]}/stable\n"
        f"  - https://u:{s[3]}@mirror.example.com/conda-forge\n  - conda-forge\n"
        "dependencies:\n  - zlib=1.3.1\n  - pip:\n"
        f"    - --index-url https://u:{s[4]}@pypi.example.com/simple\n"
        f"    - secretpkg @ {wheel}?sig={s[5]}\n"
    )
    bad = (
        f"--index-url https://u:{s[15]}@pypi.example.com/simple\nsecretpkg @@ https://{s[15]}@h/x\n"
    )
    files = {
        "requirements.txt": requirements,
        "explicit.txt": explicit,
        "pixi.lock": pixi,
        "pylock.toml": pylock,
        "environment.yml": environment,
        "bad-requirements.txt": bad,
    }
    for name, text in files.items():
        (w.work / name).write_text(text, encoding="utf-8")
    return {name: w.work / name for name in files}


def hand_edited(lockfile: Path, s: list[str], url_for_a_name: bool = False) -> str:
    """``lockfile`` with secret URLs where a person might paste them (also for a package's
    name, which the parser refuses: its error must not show the secret)."""
    import yaml

    from envlock.lockfile import parse

    data = parse(lockfile.read_text(encoding="utf-8"), "yaml")
    ((_, env),) = data["environments"].items()
    secret_url = f"https://user:{s[0]}@h.example.com/t/{s[1]}/x?token={s[2]}"
    env["packages"]["secretpkg"]["url"] = f"{secret_url}&n=1"
    env["packages"]["vcspkg"]["url"] = f"https://{s[3]}@github.com/org/vcspkg.git"
    env["packages"]["vcspkg"]["requested_revision"] = f"deploy:{s[6]}@github.com:org/vcspkg"
    if url_for_a_name:
        env["packages"][f"https://user:{s[7]}@h.example.com/x"] = dict(env["packages"]["secretpkg"])
    env["variables"]["set"]["XLA_FLAGS"] = f"--dump={secret_url}&n=2"
    conda = env["conda"]
    # (a channel with a query string is refused by export: it would change every package URL)
    conda["channels"].append(f"https://user:{s[0]}@h.example.com/t/{s[1]}/n3")
    conda["channels"].append(f"//u:{s[8]}@mirror.example.com/conda-forge")
    conda["packages"]["zlib"]["channel"] = f"https://{s[4]}@private.example.com/ml"
    conda["packages"]["zlib"]["spec"] = f"{secret_url}&n=4::zlib"
    conda["packages"]["libsecret"]["channel_url"] = f"https://u:{s[5]}@h.example.com/c"
    return yaml.safe_dump(data, sort_keys=False)


@contextlib.contextmanager
def environ(variables: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.pop("VIRTUAL_ENV", None)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run(*args: str) -> tuple[int, str]:
    """``envlock ARGS`` in-process: (exit status, stdout + stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def _views(text: str) -> list[str]:
    """``text`` as written and as each reporter's escaping reads back (Markdown backslashes,
    GitHub's percent-encoding, XML entities)."""
    github = text.replace("%3A", ":").replace("%2C", ",").replace("%0A", "\n")
    github = github.replace("%0D", "\r").replace("%25", "%")
    markdown = re.sub(r"\\([\\`*_\[\]<>#+!|~&$])", r"\1", text.replace("&#8203;", ""))
    return [text, github, markdown, html.unescape(text)]


def _pieces(secret: str) -> set[str]:
    forms = {secret, unquote(secret)}
    pieces = set(forms)
    for form in forms:
        for i in range(len(form) - WINDOW + 1):
            window = form[i : i + WINDOW]
            if len(set(window)) >= 4:  # "aaaaaaaaaaaa" could be anything's
                pieces.add(window)
    return pieces


def assert_no_secret(where: str, text: str, secrets: list[str]) -> None:
    views = _views(text)
    for secret in secrets:
        for piece in _pieces(secret):
            for view in views:
                assert piece not in view, f"{where}: {piece!r} of secret {secret!r} leaked:\n{text}"


def test_the_property_covers_every_command() -> None:
    covered = {"capture", "verify", "diff", "show", "export", "schema", "doctor"}
    assert set(COMMANDS) <= covered, f"add {set(COMMANDS) - covered} to test_secrets"


# Every reporter for one example (each command x reporter once), a few for the others: a leak
# depends on the code path far more than on the secret, and each reporter costs 13 probes.
EVERY_REPORTER = [
    f"Zq{i:02d}{c}Kq%40x%2Fy~{i:02d}" for i, c in enumerate(string.ascii_letters[:32])
]


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking takes minutes here
)
@given(
    secrets=SECRETS,
    reporters=st.lists(st.sampled_from(sorted(REPORTERS)), min_size=1, max_size=2, unique=True),
)
@example(secrets=EVERY_REPORTER, reporters=sorted(REPORTERS))
def test_no_secret_reaches_a_lockfile_or_an_output(
    world: World, secrets: list[str], reporters: list[str]
) -> None:
    w = world
    first, second = secrets[:N_SECRETS], secrets[N_SECRETS:]
    for old in w.work.iterdir():
        old.unlink()
    common = {
        "CONDA_PREFIX": str(w.prefix),
        "ENVLOCK_CACHE_DIR": "off",
        "GITHUB_STEP_SUMMARY": str(w.work / "step-summary.md"),
    }
    outputs: list[tuple[str, str]] = []

    def check(*args: str, ok: tuple[int, ...] = (0, 1)) -> None:
        code, text = run(*args)
        assert code in ok, f"envlock {' '.join(args)} exited {code}:\n{text}"
        outputs.append((f"envlock {' '.join(args)}", text))

    yaml_lock, toml_lock = str(w.work / "envlock.yaml"), str(w.work / "envlock.toml")
    with environ({**common, **seed_environment(w, first, 1)}):
        check("capture", yaml_lock, "--no-runtime")
        check("capture", toml_lock)  # with the runtime probes
    foreign = seed_foreign(w, first)
    with environ({**common, **seed_environment(w, second, 2)}):
        for fmt in reporters:
            report = str(w.work / f"report.{fmt}")
            check("verify", yaml_lock, "--no-runtime", "--format", fmt)
            check("verify", toml_lock, "--no-runtime", "--format", fmt, "--output", report)
            check("diff", yaml_lock, toml_lock, "--format", fmt)
            check("diff", yaml_lock, "--no-runtime", "--format", fmt)
            for name in FOREIGN:
                check("verify", "--against", str(foreign[name]), "--no-runtime", "--format", fmt)
        check("verify", "--against", str(foreign["bad-requirements.txt"]), ok=(2,))
        check("show", yaml_lock)
        check("show", toml_lock)
        for to in EXPORT_FORMATS:
            check("export", yaml_lock, "--to", to)
            check("export", toml_lock, "--to", to, "-o", str(w.work / f"export.{to}"))
        # a lockfile edited by hand, with credentials where URLs go
        hand = w.work / "hand-edited.yaml"
        hand.write_text(hand_edited(Path(yaml_lock), first), encoding="utf-8")
        for fmt in reporters:
            check("verify", str(hand), "--no-runtime", "--format", fmt)
            check("diff", str(hand), yaml_lock, "--format", fmt)
        check("show", str(hand))
        for to in EXPORT_FORMATS:
            check("export", str(hand), "--to", to, ok=(0,))
        named = w.work / "hand-named.yaml"
        named.write_text(hand_edited(Path(yaml_lock), first, True), encoding="utf-8")
        for args in (("verify", "--no-runtime"), ("show",), ("export", "--to", "requirements")):
            check(args[0], str(named), *args[1:], ok=(2,))  # a URL for a name: refused
        check("doctor", "--format", "text")
        check("doctor", "--deep", "--format", "json")
        check("schema")
    secrets_all = [*first, *second]
    for where, text in outputs:
        assert_no_secret(where, text, secrets_all)
    for path in sorted(w.work.iterdir()):
        if path.name in foreign or path.name in ("condarc", "hand-edited.yaml", "hand-named.yaml"):
            continue  # what the test wrote
        assert_no_secret(str(path.name), path.read_text(encoding="utf-8"), secrets_all)
    written = (w.work / "envlock.yaml").read_text(encoding="utf-8")
    assert "private1.example.com/ml" in written  # the channel is there, without its secrets
    assert "secretpkg" in written and "vcspkg" in written
