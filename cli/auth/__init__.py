"""Logging in: the RFC 8252 native-app OAuth flow with PKCE, credentials and silent re-auth.

``_oauth`` runs the browser round trip (loopback redirect, state, PKCE, token exchange) on
Authlib's httpx client; ``_login`` walks the funnel's steps after it (apps, profile);
``_credentials`` keeps the profile and the token; ``_session`` gives commands a valid token,
refreshing or re-authenticating silently (no funnel events) when it has expired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app import lazy_face

if TYPE_CHECKING:
    from authfunnel.cli.auth._api import ProviderApi
    from authfunnel.cli.auth._command import add_login_options, run_login
    from authfunnel.cli.auth._credentials import Credentials, Profile
    from authfunnel.cli.auth._errors import ApiUnauthorized, CredentialsError
    from authfunnel.cli.auth._login import AuthContext, can_open_browser, declined, log_in
    from authfunnel.cli.auth._logout import log_out
    from authfunnel.cli.auth._oauth import Fallback
    from authfunnel.cli.auth._session import renew, require_login
    from authfunnel.cli.auth._status import LoginStatus, login_status

# Each public name and the module it lives in, loaded on first use (see app.lazy_face).
_HOMES = {
    "ApiUnauthorized": "_errors",
    "AuthContext": "_login",
    "Credentials": "_credentials",
    "CredentialsError": "_errors",
    "Fallback": "_oauth",
    "LoginStatus": "_status",
    "Profile": "_credentials",
    "ProviderApi": "_api",
    "add_login_options": "_command",
    "can_open_browser": "_login",
    "declined": "_login",
    "log_in": "_login",
    "log_out": "_logout",
    "login_status": "_status",
    "renew": "_session",
    "require_login": "_session",
    "run_login": "_command",
}

__all__ = [
    "ApiUnauthorized",
    "AuthContext",
    "Credentials",
    "CredentialsError",
    "Fallback",
    "LoginStatus",
    "Profile",
    "ProviderApi",
    "add_login_options",
    "can_open_browser",
    "declined",
    "log_in",
    "log_out",
    "login_status",
    "renew",
    "require_login",
    "run_login",
]

__getattr__, __dir__ = lazy_face(__name__, _HOMES)
