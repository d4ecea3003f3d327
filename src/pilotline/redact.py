"""Passwords out of database URLs and messages: every form a user may write one in (a URL's
userinfo, even with an unencoded ``/ # ? @``; ``?password=``; a libpq ``key=value`` string), for
the plant server's store and the campaign hub alike."""

from __future__ import annotations

import re
from urllib.parse import unquote

#: A password in a libpq ``key=value`` string, or in a URL's query (``?password=…``).
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)
#: A URL inside a longer text (a command-line parser's message): up to the next space.
_URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def _split(url: str) -> tuple[str, str, str | None, str]:
    """``(scheme://, user, password or None, rest)`` read without urllib, so that a password
    holding an unencoded ``/ # ? @`` (or a URL without a host) is still found: the user part
    runs to the last ``@``; without an ``@``, a "port" that is not a number is taken as one."""
    head, sep, rest = url.partition("://")
    if not sep:
        return "", "", None, url
    if "@" in rest:
        userinfo, host = rest.rsplit("@", 1)
        user, colon, password = userinfo.partition(":")
        return head + sep, user, password if colon else None, "@" + host
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    user, colon, port = authority.partition(":")
    if colon and not port.isdigit() and not authority.startswith("["):
        return head + sep, user, rest[len(user) + 1 :], ""
    return head + sep, "", None, rest


def redact(url: str) -> str:
    """The database URL (or libpq ``key=value`` string) without its password, for messages."""
    head, user, password, rest = _split(url)
    if password is not None:
        rest = f"{user}:***{rest}"
    elif user:
        rest = user + rest
    return head + _KV_PASSWORD.sub(r"\1***", rest)


def redact_text(text: str) -> str:
    """``text`` (any message) with the password of every URL and ``password=`` in it masked."""
    return _KV_PASSWORD.sub(r"\1***", _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), text))


def _secrets(url: str) -> set[str]:
    found = {m.group(2) for m in _KV_PASSWORD.finditer(url)}
    password = _split(url)[2]
    if password:
        found.add(password)
    found |= {unquote(s) for s in found}
    return {s.strip("'") for s in found if len(s.strip("'")) >= 2}


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's password (in any of its forms) masked wherever it appears."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return redact_text(text)
