"""Lockfiles that other tools write (pylock.toml, requirements, conda explicit specs,
conda-lock, pixi.lock, conda env exports), read into one model of what each says must be
installed, so that ``envlock verify --against FILE`` can check a live environment with them.

A foreign lockfile records less than envlock's own: a requirements file knows nothing of
conda, an explicit spec nothing of pip. :class:`Foreign` keeps ``None`` for a side the format
does not record, and ``None`` for any field it leaves out, and only what is recorded is
compared. Every parser is defensive (these files arrive in pull requests): anything that is
not the documented shape raises :class:`~envlock.errors.LockfileError` with one line.
"""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.foreign.model import CondaWant, Foreign, PipWant

__all__ = ["FORMATS", "CondaWant", "Foreign", "PipWant", "detect", "load"]


# --against-format NAME -> (module under envlock.foreign, description)
FORMATS = {
    "pylock": ("pylock", "pylock.toml (PEP 751)"),
    "requirements": ("requirements", "pinned requirements"),
    "conda-explicit": ("explicit", "conda explicit spec"),
    "conda-lock": ("condalock", "conda-lock.yml"),
    "pixi": ("pixi", "pixi.lock"),
    "environment-yml": ("envexport", "conda environment file"),
    "uv-lock": ("uvlock", "uv.lock"),
}


def detect(text: str) -> str:
    """The format of a foreign lockfile, from its content (a file named ``pylock.toml`` can
    hold requirements); :class:`LockfileError` for envlock's own and for unsupported ones."""
    import re

    from envlock.errors import LockfileError

    # white space within the line only: ``\s*`` would span blank lines, quadratic in their run
    if re.search(r"^[ \t\f\v]*@EXPLICIT[ \t\r\f\v]*$", text, re.MULTILINE):
        return "conda-explicit"
    if re.search(r"^(lock-version\s*=|\[\[packages\]\])", text, re.MULTILINE):
        return "pylock"
    if re.search(r"^\[\[(package|distribution)\]\]", text, re.MULTILINE) and re.search(
        r"^version\s*=\s*\d", text, re.MULTILINE
    ):
        return "uv-lock"
    keys = set(re.findall(r"^([A-Za-z_][\w-]*)\s*:", text, re.MULTILINE))
    if {"version", "packages"} <= keys:  # an envlock lockfile has no top-level packages
        return "pixi"
    if {"version", "environments"} <= keys:
        raise LockfileError(
            "an envlock lockfile, not a foreign one: verify against it without --against"
        )
    if "package" in keys and ("metadata" in keys or "version" in keys):
        version = re.search(r"^version\s*:\s*['\"]?0*([0-9]+)", text, re.MULTILINE)
        # conda-lock has only ever written version 1; pixi.lock (rattler) used this layout
        # up to its version 3. Compared as text: int() refuses more than 4,300 digits.
        return "pixi" if version and version.group(1) not in ("0", "1") else "conda-lock"
    if "dependencies" in keys:
        return "environment-yml"
    return "requirements"


def load(
    path: Path,
    fmt: str | None = None,
    *,
    platform: str | None = None,
    environment: str | None = None,
    markers: dict[str, str] | None = None,
    groups: tuple[str, ...] | None = None,
    text: str | None = None,
) -> Foreign:
    """Read a foreign lockfile: its format from ``fmt`` or its content, the platform (conda
    subdir) and environment chosen where the format has several; ``markers`` (the target's
    PEP 508 marker values) and ``groups`` (its dependency groups; ``None``: uv's default)
    decide what a uv.lock installs. ``text``: the file's, when it has been read already
    (:func:`read`). Every error names the file."""
    import importlib

    from envlock.errors import LockfileError, UsageError
    from envlock.redact import display_path, redact_text

    where = display_path(path)
    if text is None:
        text = read(path)
    try:
        fmt = fmt or detect(text)
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
        module = importlib.import_module(f"envlock.foreign.{FORMATS[fmt][0]}")
        options: dict[str, object] = {}
        if fmt == "uv-lock":
            options = {"markers": markers, "groups": groups}
        elif groups is not None:
            raise UsageError("--against-groups goes with a uv.lock")
        foreign: Foreign = module.parse(
            text,
            base_dir=path.absolute().parent,
            platform=platform,
            environment=environment,
            **options,
        )
    except (LockfileError, UsageError) as e:
        raise type(e)(f"{where}: {redact_text(str(e))}") from None
    except RecursionError:
        raise LockfileError(f"{where}: nested too deeply") from None
    return foreign


def read(path: Path) -> str:
    """The text of a foreign lockfile (see :func:`envlock.lockfile.read`): a file that is
    missing, not a regular file, too large, not text or left with git's conflict markers is
    refused here, naming it."""
    from envlock.errors import LockfileError
    from envlock.lockfile import MergeConflict, refuse_merge_conflict
    from envlock.lockfile import read as read_untrusted
    from envlock.redact import display_path

    text = read_untrusted(path)[1]
    try:
        refuse_merge_conflict(text)
    except MergeConflict as e:
        raise LockfileError(f"{display_path(path)}: {e}") from None
    return text


def __getattr__(name: str) -> object:
    # The model's dataclasses load only when used: ``envlock verify`` without --against
    # needs FORMATS alone (for its --help), and dataclasses cost milliseconds to create.
    if name in ("CondaWant", "Foreign", "PipWant"):
        from envlock.foreign import model

        return getattr(model, name)
    raise AttributeError(f"module 'envlock.foreign' has no attribute {name!r}")
