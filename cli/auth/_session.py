"""A valid token for commands that need a login, renewed without a funnel when it expired.

An expired access token is refreshed with the refresh token (rotation: both are replaced).
When that fails, the OAuth flow runs again with ``fsm.NULL_TRACKER``: automatic
re-authentication belongs to the command that needed it, not to a login funnel, so it emits
no funnel events.

Renewals are serialised across processes: with rotation, a refresh token works once, and a
provider that detects reuse revokes the whole token family when it is presented twice. Two
commands renewing at once would otherwise log the user out and send both to the browser.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

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
    with _one_renewal_at_a_time(ctx.credentials.profile_file.with_name("renewal.lock")):
        saved = ctx.credentials.load()
        if saved is not None and saved[1] != token and not saved[1].expired():
            return saved  # another process renewed it while this one waited
        return _renew(ctx, profile, token)


def _renew(ctx: AuthContext, profile: Profile, token: Token) -> tuple[Profile, Token]:
    if not token.refresh_token:
        why = "the provider gave this login no refresh token to renew it with"
        return reauthenticate(ctx, profile, why)
    try:
        fresh = refresh(ctx.provider, token.refresh_token)
    except TokenExchangeError as exc:
        # Said before the browser opens: a browser appearing unasked needs a reason.
        return reauthenticate(ctx, profile, f"the provider refused to renew it ({exc.message})")
    if fresh.refresh_token is None:
        fresh = Token(**{**fresh.as_json(), "refresh_token": token.refresh_token})
    return ctx.credentials.save(profile, fresh), fresh


@contextlib.contextmanager
def _one_renewal_at_a_time(lock_file: Path, wait_s: float = 30.0) -> Iterator[None]:
    """An exclusive lock on ``lock_file``, held while the body runs.

    Best effort: a lock that cannot be made (a read-only config dir) or that a stuck process
    holds for longer than ``wait_s`` lets the renewal go ahead unlocked, as before locking.
    """
    import fcntl  # POSIX only, and only needed when a token expired

    try:
        descriptor = os.open(
            lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
