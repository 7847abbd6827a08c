"""Keep credentials and home directories out of everything envlock writes or prints."""

from __future__ import annotations

import os
import re

REDACTED = "***"
# Query parameters that carry secrets (signed URLs, tokens).
_SECRET_PARAM = re.compile(
    r"(token|key|secret|passw|auth|sig|signature|credential|x-amz-|x-goog-)", re.IGNORECASE
)
# anaconda.org style ``/t/<token>/`` path segment.
_CONDA_TOKEN = re.compile(r"/t/[^/]+/")
# ``scheme://user:password@host`` anywhere in free text (errors, variable values).
# (bounded, and anchored at the start of a word: linear on hostile text)
_USERINFO_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,31}://)[^/@\s]{1,2048}@"
)


def redact_url(url: str) -> str:
    """``url`` without user-info, secret query parameters or conda ``/t/<token>/``."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*"
        )
    path = _CONDA_TOKEN.sub(f"/t/{REDACTED}/", parts.path)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Free text with any embedded URL credentials and the home directory removed."""
    text = _USERINFO_IN_TEXT.sub(r"\g<scheme>", text)
    text = _CONDA_TOKEN.sub(f"/t/{REDACTED}/", text)
    return home_to_tilde(text)


def home_to_tilde(text: str) -> str:
    home = os.path.expanduser("~").rstrip("/\\")
    if len(home) < 2 or home not in text:
        return text
    return re.sub(re.escape(home) + r"(?![\w.-])", "~", text)


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as shown to people: relative to the working directory when inside it, else
    with the home directory as ``~``."""
    text = os.fspath(path)
    try:
        rel = os.path.relpath(text)
    except ValueError:  # another drive on Windows
        rel = text
    if not rel.startswith(".."):
        return rel
    return home_to_tilde(text)
