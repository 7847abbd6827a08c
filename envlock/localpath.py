"""How a lockfile records a local path (an editable project, a directory or an archive
installed from disk), one rule for every reader and writer of those paths: ``capture`` and
``verify`` (the live side), ``diff`` against the live environment, and the parsers of other
tools' lockfiles (``verify --against``).

A path is written relative to the lockfile's directory when it is inside that directory, or
inside the git repository the lockfile is in (with ``..``: a monorepo's ``locks/envlock.yaml``
records ``../packages/pa``), so that a teammate's checkout at another place reads the same.
Any other path is written whole, with the home directory as ``~``.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from envlock.redact import home_to_tilde

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from envlock.model import Environment, Lockfile, Package


def repository_root(folder: str | os.PathLike[str]) -> Path | None:
    """The nearest folder at or above ``folder`` that holds ``.git`` (a directory, or a
    worktree's or submodule's file): the root of the git repository it is in; ``None`` when
    it is in none. A folder that cannot be looked in (not ours to search, or a path longer
    than the system takes) has none."""
    here = Path(folder).absolute()
    for candidate in (here, *here.parents):
        if os.path.exists(candidate / ".git"):
            return candidate
    return None


def file_url_path(url: str) -> str:
    """The local path a ``file:`` URL names, on any system: ``file:///D:/work/pkg`` (pip's
    URL on Windows) is ``D:/work/pkg`` (its drive letter upper-case: ``file:///d:/...`` is the
    same folder), ``file://server/share/pkg`` (a UNC path) is ``//server/share/pkg``, and
    ``file:///home/me/pkg`` is ``/home/me/pkg``. Raises :class:`ValueError` for a URL
    :func:`urllib.parse.urlsplit` cannot split."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.netloc and parts.netloc.lower() != "localhost":
        return "//" + unquote(parts.netloc) + path
    if _DRIVE.match(path[1:]) and path[0] == "/":
        path = path[1:]
    if _DRIVE.match(path):
        path = path[0].upper() + path[1:]
    return path


def is_windows_absolute(path: str) -> bool:
    """Whether ``path`` is a Windows path from a drive's root (``C:/x``, ``C:\\x``)."""
    return _DRIVE.match(path) is not None


_DRIVE = re.compile(r"[A-Za-z]:(?:[/\\]|$)")


def recorded(path: str, base_dir: Path) -> str:
    """``path`` (absolute) as a lockfile in ``base_dir`` records it, ``/``-separated:

    * relative to ``base_dir`` when inside it, however either is named (through a symbolic
      link or not: pip records the path it was given, or the working directory's real one);
    * relative to ``base_dir``'s real directory, with ``..``, when inside the git repository
      that directory is in (walked up from the real directory, so that ``..`` climbs what
      the file system climbs);
    * else whole, with the home directory as ``~``.
    """
    if os.name != "nt" and is_windows_absolute(path):  # a copied Windows prefix's, read here:
        return home_to_tilde(path)  # not a relative path on this system
    real_base = os.path.realpath(base_dir)
    # Only a path that is there is resolved (nothing can be installed from one that is not):
    # one read from another tool's lockfile is any text, a NUL byte (ValueError) or
    # thousands of folders, each of which realpath would look up, with a longer path each.
    real_path = os.path.realpath(path) if os.path.exists(path) else path
    for a, b in ((path, base_dir), (path, real_base), (real_path, real_base)):
        if _inside(a, b):
            return Path(os.path.relpath(a, b)).as_posix()
    root = repository_root(real_base)
    if root is not None:
        for a in (path, real_path):
            if _inside(a, root):
                return Path(os.path.relpath(a, real_base)).as_posix()
    return home_to_tilde(path)


def _inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive on Windows
        return False
    return rel != os.pardir and not rel.startswith(os.pardir + os.sep)


def rebased(lock: Lockfile, base_dir: str | os.PathLike[str]) -> Lockfile:
    """``lock`` with each local path that is written whole (absolute or ``~``-based) as
    :func:`recorded` writes it now from ``base_dir``, the lockfile's directory: what the live
    side of ``verify`` and ``diff`` is recorded with.

    Older envlocks wrote a path outside the lockfile's directory but inside its git repository
    whole (``locks/envlock.yaml`` recorded ``/home/me/proj/packages/pa``), where ``capture``
    now writes ``../packages/pa``: such a lockfile, checked against the environment it was
    captured from, was source drift. A whole path that is the live one's place is the same
    source; one somewhere else still differs. The file itself is not rewritten.
    """
    environments = {name: _rebased(env, base_dir) for name, env in lock.environments.items()}
    if all(environments[name] is env for name, env in lock.environments.items()):
        return lock
    return replace(lock, environments=environments)


def _rebased(env: Environment, base_dir: str | os.PathLike[str]) -> Environment:
    packages = tuple(_package(p, base_dir) for p in env.packages)
    if all(new is old for new, old in zip(packages, env.packages)):
        return env
    return replace(env, packages=packages)


def _package(pkg: Package, base_dir: str | os.PathLike[str]) -> Package:
    source = pkg.source
    if source is None or not source.path or not source.path.startswith(("/", "~")):
        return pkg
    whole = os.path.expanduser(source.path)
    if not os.path.isabs(whole):  # ~NAME of a user this machine does not have
        return pkg
    now = recorded(whole, Path(base_dir))
    if now == source.path:
        return pkg
    return replace(pkg, source=replace(source, path=now))
