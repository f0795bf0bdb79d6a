"""Which redirect URIs the CLI may use: loopback, any port (RFC 8252 section 7.3), nothing odd.

A redirect URI decides where the authorization code goes, so anything two URL parsers could
read differently is refused outright rather than normalised: a backslash (browsers read it as
``/``, ``urlsplit`` does not), spaces and control characters, non-ASCII, user information,
malformed percent-escapes. The reason is said in words that never repeat the URI itself:
OAuth error descriptions may not carry ``"`` or ``\\`` (and Authlib raises on them).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import SplitResult, urlsplit

EXPECTED: Final = (
    "redirect_uri must be a loopback address, http://127.0.0.1:PORT/PATH or "
    "http://[::1]:PORT/PATH (RFC 8252)"
)
# RFC 3986's characters: unreserved, reserved, and %HH escapes; nothing else.
_URI: Final = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_LOOPBACK_HOSTS: Final = ("127.0.0.1", "::1")


def redirect_uri_problem(redirect_uri: str) -> str | None:
    """Why ``redirect_uri`` is not one the CLI may use, or None when it is."""
    if not _URI.fullmatch(redirect_uri):
        return "it holds characters a URI cannot (a backslash, a space, a control character)"
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:  # "[::1" or ":99999": not a URL at all
        return "it is not a well-formed URL"
    if "#" in redirect_uri:  # even an empty one: RFC 6749 3.1.2 allows no fragment
        return "it has a fragment (#)"
    return _parts_problem(parts, port)


def _parts_problem(parts: SplitResult, port: int | None) -> str | None:
    if parts.scheme != "http":
        return "its scheme is not http"
    if parts.username is not None or parts.password is not None:
        return "it carries user information (user@)"
    if parts.hostname not in _LOOPBACK_HOSTS:
        return "its host is not 127.0.0.1 or [::1]"
    if port is None or not 0 < port < 65536:
        return "it has no port from 1 to 65535"
    return None
