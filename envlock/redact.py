"""Keep credentials and home directories out of everything envlock writes or prints.

One redactor for every URL and path that leaves envlock (lockfile, stdout, stderr, error
messages, reports). It removes ``user:password@`` and ``token@`` user-info, anaconda.org's
``/t/<token>/`` path segment and the values of query (and fragment) parameters that carry
secrets: ``token``, ``access_token``, ``sig``, ``signature``, ``X-Amz-*``, ``X-Goog-*`` and
the like. It keeps what holds no secret: ``${VAR}`` placeholders (``https://${USER}:${PASS}@``,
``/t/${CONDA_TOKEN}/``) and the ``git@`` of SSH URLs (``ssh://git@host/...``,
``git@github.com:org/repo.git``). A URL whose host part cannot be parsed is masked whole.
Everything else is kept byte for byte: the URL is edited in place, never re-encoded.

In free text it also removes ``user:password@`` written without a scheme (``//u:pw@host``,
``deploy:pw@github.com:org/repo``) and the values of secret ``?name=value`` pairs outside a
URL, and writes home directories as ``~`` (this user's) or ``~name`` (another user's
``/home/name``, ``/Users/name``, ``C:\\Users\\name``, or ``/root``).
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

REDACTED = "***"

# Words of a query parameter's name that make its value a secret. A name is split into words
# at ``-``, ``_``, ``.`` and camelCase humps (``AWSAccessKeyId`` -> aws, access, key, id), so
# ``keyword``, ``signal`` or ``author`` are not secrets while ``api_key`` and ``Signature`` are.
_SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passphrase",
        "passwd",
        "pass",
        "pwd",
        "sig",
        "signature",
        "credential",
        "credentials",
        "key",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "auth",
        "authorization",
        "jwt",
        "session",
    }
)
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "signature")
_SECRET_PREFIXES = ("x-amz-", "x-goog-")
_HUMP = r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"
_WORD_SPLIT = r"[^a-z0-9]+"
# The patterns below are strings, not compiled objects: ``re`` compiles each on first use and
# keeps it, and most runs never need most of them (a value with no ``/``, ``@``, ``\\`` or
# ``=`` is never searched).
# ``${NAME}``: a placeholder that a tool fills in later, not a secret.
_PLACEHOLDER = r"(?:\$\{[A-Za-z_][A-Za-z0-9_]*\})+"
_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]{0,31}:(?=//)"
# What may follow the ``@`` of an authority: a host (or IP literal) and an optional port.
_HOST_PORT = r"(?:\[[0-9A-Za-z:.%]*\]|[^\[\]:@\s/?#\\]*)(?::(?:\d*|\$\{\w+\}))?"
# scp-like Git locations: ``user@host:path`` (no scheme).
_SCP = r"(?P<user>[^@/\s]+)@(?P<rest>[A-Za-z0-9.-]+:(?!//))"
# A query or fragment splits into ``name=value`` pairs at ``&`` or ``;`` followed by a name
# and ``=``; any other ``&`` or ``;`` belongs to the value before it (so it is masked too).
_PAIR_SEPARATOR = r"([&;])(?=[^&;=]*=)"
# anaconda.org style ``/t/<token>`` path segment.
_CONDA_TOKEN = r"/t/(?P<token>[^/\s?#]+)(?=[/\s?#]|\Z)"
# A URL in free text: a scheme at the start of a word, up to white space, a control
# character or another character that is never part of a URL, less the punctuation that ends
# a sentence or closes a quotation. Bounded, and anchored at the start of a word: linear.
_URL_IN_TEXT = (
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://"
    r"(?:[^\s\x00-\x1f\x7f\"<>`]*[^\s\x00-\x1f\x7f\"<>`.,;:!?')\]])?"
)
_AUTHORITY_END = r"[/?#\\]"
# ``user:password@`` at the start of a word with no scheme before it (a scheme's is
# handled with its URL): ``//u:pw@host/x``, ``deploy:pw@github.com:org/repo.git``,
# ``git+deploy:pw@github.com:org/repo.git``.
_BARE_USERINFO = (
    r"(?:^|(?<=[\s\"'=(<,\[]))(?P<lead>//|[A-Za-z][A-Za-z0-9.-]{0,15}\+)?(?P<user>[^\s@/:\"'<>]+):(?P<password>[^\s@/\"'<>]+)@"
    r"(?=[A-Za-z0-9\[])"
)
# ``name=value`` after ``?``, ``&`` or ``;`` in text that is not a URL (a tool's message
# quoting part of one).
_PAIR_IN_TEXT = (
    r"(?<=[?&;])(?P<name>[A-Za-z][\w.-]{0,63})="
    r"(?P<value>(?:[^\s&;#'\"<>]*[^\s&;#'\"<>.,:!?)\]])?)"
)
# Where a path may start: the start of the text, after a character that cannot be in a path,
# after the ``//`` of ``file://``, or after Windows' ``\\?\`` (a long path's prefix).
_PATH_START = r"(?:^|(?<=[^\w.~/\\-])|(?<=//)|(?<=\\\\\?\\))"
_PATH_END = r"(?![\w.-])"
# Another user's home directory: ``/home/name``, ``/Users/name``, ``C:\Users\name`` (also as
# ``/C:/Users/name`` in a ``file:`` URL), and root's.
_OTHER_HOME = (
    "(?m)" + _PATH_START + r"(?:(?:/home/|/Users/|/?[A-Za-z]:[\\/](?i:users)[\\/])"
    r"(?P<user>[^/\\\s\"'`<>|:;,*?]+)|(?P<root>/root" + _PATH_END + "))"
)


def is_placeholder(text: str) -> bool:
    """Whether ``text`` is nothing but ``${VAR}`` placeholders."""
    return re.fullmatch(_PLACEHOLDER, text) is not None


def secret_parameter(name: str) -> bool:
    """Whether a query parameter named ``name`` carries a secret (``token``,
    ``access_token``, ``X-Amz-Signature``...), not merely contains one's letters
    (``keyword``)."""
    from urllib.parse import unquote

    name = unquote(name).strip()
    lower = name.lower()
    if lower.startswith(_SECRET_PREFIXES):
        return True
    words = [w for w in re.split(_WORD_SPLIT, re.sub(_HUMP, "_", name).lower()) if w]
    return any(w in _SECRET_WORDS or w.endswith(_SECRET_SUFFIXES) for w in words)


def _keep_userinfo(userinfo: str) -> bool:
    """User-info that holds no secret: placeholders only, or the user ``git`` alone."""
    user, colon, password = userinfo.partition(":")
    if colon and not is_placeholder(password):
        return False
    return user == "git" or is_placeholder(user)


def _redact_pairs(text: str) -> str:
    """A query or fragment with the value of every secret parameter masked."""
    if "=" not in text:
        return text
    pieces = re.split(_PAIR_SEPARATOR, text)  # pair, separator, pair, ...
    for i in range(0, len(pieces), 2):
        name, eq, value = pieces[i].partition("=")
        if eq and value and secret_parameter(name) and not is_placeholder(value):
            pieces[i] = f"{name}={REDACTED}"
    return "".join(pieces)


def _redact_token_segment(path: str) -> str:
    def mask(match: re.Match[str]) -> str:
        # (a sentence may end right after a placeholder)
        placeholder = is_placeholder(match["token"].rstrip(".,;:!?')]"))
        return match.group() if placeholder else f"/t/{REDACTED}"

    return re.sub(_CONDA_TOKEN, mask, path) if "/t/" in path else path


def _redact_tail(tail: str) -> str:
    """Path, query and fragment: the ``/t/<token>`` segment and secret parameters masked."""
    before, hash_mark, fragment = tail.partition("#")
    path, question_mark, query = before.partition("?")
    return (
        _redact_token_segment(path)
        + question_mark
        + _redact_pairs(query)
        + hash_mark
        + _redact_pairs(fragment)
    )


def redact_url(url: str) -> str:
    """``url`` without secret user-info, secret query parameters or conda ``/t/<token>/``;
    :data:`REDACTED` alone when its host part cannot be parsed."""
    stripped = url.lstrip()
    if stripped != url:
        return url[: len(url) - len(stripped)] + redact_url(stripped)
    scheme = re.match(_SCHEME, url)
    if scheme is None and not url.startswith("//"):
        scp = re.match(_SCP, url)
        if scp is not None and not _keep_userinfo(scp["user"]):
            url = url[scp.start("rest") :]
        return _redact_tail(url)
    start = (scheme.end() if scheme else 0) + 2
    found = re.compile(_AUTHORITY_END).search(url, start)  # (cached by re)
    end = found.start() if found else len(url)
    userinfo, at, host_port = url[start:end].rpartition("@")
    if re.fullmatch(_HOST_PORT, host_port) is None or (not at and _misplaced_userinfo(url, end)):
        return REDACTED
    authority = url[start:end] if not at or _keep_userinfo(userinfo) else host_port
    return url[:start] + authority + _redact_tail(url[end:])


def _misplaced_userinfo(url: str, end: int) -> bool:
    """Whether a ``?`` or ``#`` ended the authority early, inside user-info that was not
    percent-encoded (``https://tok#en@host/``): an ``@`` follows before any ``/`` or ``=``."""
    if end >= len(url) or url[end] not in "?#":
        return False
    at = url.find("@", end)
    return at >= 0 and not any(c in url[end + 1 : at] for c in "/?#=&\\")


def redact_urls(text: str) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`), and nothing else
    changed."""
    if "//" not in text:
        return text
    return re.sub(_URL_IN_TEXT, lambda m: redact_url(m.group()), text)


def redact_text(text: str) -> str:
    """Free text with every URL in it redacted (:func:`redact_url`), user-info without a
    scheme and secret ``name=value`` pairs outside a URL masked, any other conda
    ``/t/<token>/`` segment masked, and home directories as ``~`` or ``~name``."""
    if "/" not in text and "@" not in text and "\\" not in text and "=" not in text:
        return text  # (most versions, names and values)
    text = _redact_token_segment(redact_urls(text))
    if "@" in text:
        text = re.sub(_BARE_USERINFO, _drop_userinfo, text)
    if "=" in text:
        text = re.sub(_PAIR_IN_TEXT, _mask_pair, text)
    return home_to_tilde(text)


def _drop_userinfo(match: re.Match[str]) -> str:
    if _keep_userinfo(f"{match['user']}:{match['password']}"):
        return match.group()
    return match["lead"] or ""


def _mask_pair(match: re.Match[str]) -> str:
    value = match["value"]
    if value in ("", REDACTED) or not secret_parameter(match["name"]) or is_placeholder(value):
        return match.group()
    return f"{match['name']}={REDACTED}"


def mask_assignments(text: str) -> str:
    """``text`` (a line quoted from a file that may not be what it claims: a link to
    ``~/.netrc``, an ``.env`` file) with the value after every secret name masked:
    ``password=x``, ``aws_secret_access_key = x``, ``token: x``, netrc's ``password x``."""
    out: list[str] = []
    pending = False  # the next word is a secret name's value
    for word in re.split(r"(\s+)", text):
        if not word or word.isspace():
            out.append(word)
            continue
        if word in ("=", ":"):
            out.append(word)
            continue
        if pending:
            out.append(REDACTED)
            pending = False
            continue
        cut = min((i for i in (word.find("="), word.find(":")) if i > 0), default=-1)
        name = word if cut < 0 else word[:cut]
        if secret_parameter(name.lstrip("-")):
            if cut < 0 or cut == len(word) - 1:
                pending = True
            elif "//" not in word[cut:]:  # (a URL's own are redacted with it)
                word = f"{word[: cut + 1]}{REDACTED}"
        out.append(word)
    return "".join(out)


def redact_strings(data: Any) -> Any:
    """JSON-like ``data`` (a parsed lockfile) with every string in it, keys too, passed
    through :func:`redact_text`, so that credentials or home paths pasted into a lockfile by
    hand are never shown; the same object when nothing needed it."""
    if isinstance(data, str):
        return redact_text(data)
    if isinstance(data, dict):
        items = {redact_strings(k): redact_strings(v) for k, v in data.items()}
        if len(items) == len(data) and all(items.get(k, items) is v for k, v in data.items()):
            return data
        return items
    if isinstance(data, list):
        values = [redact_strings(v) for v in data]
        return data if all(a is b for a, b in zip(values, data)) else values
    return data


def home_to_tilde(text: str) -> str:
    """``text`` with this user's home directory as ``~`` and another user's as ``~name``,
    wherever a path starts (not ``/gpfs/home/name``: that is someone's guess)."""
    home = os.path.expanduser("~").replace("\\", "/").rstrip("/")
    windows = os.name == "nt"  # where C:\Users\Me and c:\users\me are one folder
    seen = text.replace("\\", "/")
    if len(home) >= 2 and (home.lower() in seen.lower() if windows else home in seen):
        # either separator, as a whole path (re caches the compiled pattern)
        body = r"[\\/]".join(re.escape(part) for part in home.split("/"))
        flags = re.IGNORECASE if windows else 0
        text = re.sub(_PATH_START + body + _PATH_END, "~", text, flags=flags | re.MULTILINE)
    if "/" in text or "\\" in text:
        text = re.sub(_OTHER_HOME, _other_home, text)
    return text


def _other_home(match: re.Match[str]) -> str:
    return f"~{match['user']}" if match["user"] else "~root"


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as shown to people: relative to the working directory when inside it, else
    with the home directory as ``~``; a control character in it made visible (a file name
    from a pull request's configuration cannot colour a terminal or forge a line)."""
    from envlock.escape import printable

    text = os.fspath(path)
    try:
        rel = os.path.relpath(text)
    except ValueError:  # another drive on Windows
        rel = text
    if rel.startswith("..") and os.path.isabs(text):  # /x/locks/../.venv as /x/.venv
        text = os.path.normpath(text)
    return printable(rel if not rel.startswith("..") else home_to_tilde(text))
