"""Logging out: report it, forget the login here, then revoke it at the provider.

The order matters: ``CLI Auth Logout`` goes first, while events are still attributed to the
user; local credentials go next, so a dead network cannot keep anyone logged in; revocation
at the provider (RFC 7009) comes last and is best effort.
"""

from __future__ import annotations

from authfunnel import fsm
from authfunnel.cli.app import CliError, Environment, Paths, Terminal
from authfunnel.cli.auth._credentials import Credentials, Profile
from authfunnel.cli.auth._errors import CredentialsError
from authfunnel.cli.auth._token import Token


def log_out(env: Environment, telemetry: fsm.TelemetryClient, terminal: Terminal) -> bool:
    """Log out; whether there was a login (a corrupt one counts, and is cleared)."""
    credentials = Credentials(Paths.from_env(env))
    try:
        saved = credentials.load()
    except CredentialsError:
        saved = None
    else:
        if saved is None:
            return False
    with fsm.LOGOUT.run(telemetry) as tracker:
        credentials.clear()
        tracker.advance("token_revoke")
        if saved is not None:
            _revoke(env, terminal, *saved)
    return True


def _revoke(env: Environment, terminal: Terminal, profile: Profile, token: Token) -> None:
    from authfunnel.cli.auth._oauth import revoke
    from authfunnel.cli.auth._provider import Provider

    try:
        provider = Provider.from_env(env)
        if provider.url != profile.provider:
            # The token is that provider's: another one must never receive it.
            raise CliError(f"the login was made at {profile.provider}, not {provider.url}")
        if token.refresh_token:
            revoke(provider, token.refresh_token, hint="refresh_token")
        else:
            revoke(provider, token.access_token, hint="access_token")
    except CliError as exc:
        terminal.warn(f"logged out here, but the provider was not told: {exc.message}")
