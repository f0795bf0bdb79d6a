"""Logging in: the RFC 8252 native-app OAuth flow with PKCE, credentials and silent re-auth.

``_oauth`` runs the browser round trip (loopback redirect, state, PKCE, token exchange) on
Authlib's httpx client; ``_login`` walks the funnel's steps after it (apps, profile);
``_credentials`` keeps the profile and the token; ``_session`` gives commands a valid token,
refreshing or re-authenticating silently (no funnel events) when it has expired.

"""

from authfunnel.cli.auth._api import ProviderApi
from authfunnel.cli.auth._command import add_login_options, run_login
from authfunnel.cli.auth._credentials import Credentials, Profile
from authfunnel.cli.auth._errors import ApiUnauthorized, CredentialsError
from authfunnel.cli.auth._login import AuthContext, can_open_browser, declined, log_in
from authfunnel.cli.auth._logout import log_out
from authfunnel.cli.auth._session import renew, require_login
from authfunnel.cli.auth._status import LoginStatus, login_status

__all__ = [
    "ApiUnauthorized",
    "AuthContext",
    "Credentials",
    "CredentialsError",
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
