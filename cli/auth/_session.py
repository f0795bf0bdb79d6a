"""A valid token for commands that need a login, renewed without a funnel when it expired.

An expired access token is refreshed with the refresh token (rotation: both are replaced).
When that fails, the OAuth flow runs again with ``fsm.NULL_TRACKER``: automatic
re-authentication belongs to the command that needed it, not to a login funnel, so it emits
no funnel events.
"""

from __future__ import annotations

from authfunnel.cli.app import LoginRequired
from authfunnel.cli.auth._credentials import Profile
from authfunnel.cli.auth._errors import TokenExchangeError
from authfunnel.cli.auth._login import AuthContext, reauthenticate
from authfunnel.cli.auth._oauth import refresh
from authfunnel.cli.auth._token import Token


def require_login(ctx: AuthContext) -> tuple[Profile, Token]:
    """The saved login with a fresh access token; ``LoginRequired`` (exit 4) without one."""
    saved = ctx.credentials.load()
    if saved is None:
        raise LoginRequired("you are not logged in", hint="run 'authfunnel login'")
    profile, token = saved
    if profile.provider != ctx.provider.url:
        # Its tokens belong to that provider: sending them to another would hand them over.
        raise LoginRequired(
            f"you are logged in at {profile.provider}, not at the configured provider "
            f"{ctx.provider.url}",
            hint="run 'authfunnel login' to log in there, or configure the other provider again",
        )
    if not token.expired():
        return profile, token
    return renew(ctx, profile, token)


def renew(ctx: AuthContext, profile: Profile, token: Token) -> tuple[Profile, Token]:
    """Refresh ``token``; if the provider refuses, log in again silently."""
    if token.refresh_token:
        try:
            fresh = refresh(ctx.provider, token.refresh_token)
        except TokenExchangeError:
            pass
        else:
            if fresh.refresh_token is None:
                fresh = Token(**{**fresh.as_json(), "refresh_token": token.refresh_token})
            return ctx.credentials.save(profile, fresh), fresh
    return reauthenticate(ctx, profile)
