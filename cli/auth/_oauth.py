"""The browser round trip and the token endpoint, on Authlib's httpx OAuth 2 client.

One attempt: a loopback receiver on a fresh port, a fresh ``state`` and S256 PKCE verifier,
the authorization URL opened in a browser when one opens, then printed with one line that says
which happened (never "opening" and then "no browser"), a wait with a countdown, the state
checked (and ``iss``, RFC 9207), then the code exchanged with the verifier, and the ID token an
OpenID provider returns verified (``_id_token``) against the nonce this attempt sent. The
tracker is at ``browser_wait`` while the person is in the browser and moves to
``code_exchange`` here: a failed check fails the flow at the step it belongs to.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authfunnel.cli.auth._errors import (
    IdTokenMissing,
    LoginTimeout,
    ProviderUnreachable,
    RefreshFailed,
    TokenExchangeError,
    clean,
)
from authfunnel.cli.auth._provider import Provider
from authfunnel.cli.auth._token import Token
from authfunnel.fsm import FlowTracker, Step

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

    from authfunnel.cli.app import Terminal

DEFAULT_TIMEOUT_SECONDS = 300.0
HTTP_TIMEOUT_SECONDS = 15.0
# Shows a URL in a browser; False when none opened (``webbrowser.open``'s contract).
Opener = Callable[[str], bool]


@dataclass(frozen=True)
class Fallback:
    """What finishes the browser step where no browser opened (the demo's autopilot)."""

    says: str  # the line shown above the URL, in place of "open this URL in a browser"
    run: Callable[[str], None]  # started with the URL once it is shown; must not block


def authorize(
    provider: Provider,
    terminal: Terminal,
    tracker: FlowTracker,
    *,
    opener: Opener | None,
    fallback: Fallback | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    signup: bool = False,
) -> tuple[Token, str | None]:
    """Run one browser authorization; the token it yields, and the verified ID token's ``sub``
    (None without an ID token), which the userinfo API must then confirm.

    ``opener``: ``None`` when no browser is to be tried (``--no-browser``, no display).
    """
    # http.server loads here, not with the package: `login --help` and `status` never pay it.
    from authfunnel.cli.auth._discovery import probe
    from authfunnel.cli.auth._loopback import CallbackServer

    if provider.issuer is None:
        probe(provider.authorize_url)  # one found by its issuer was checked by discovery

    verifier = secrets.token_urlsafe(64)
    receiver = CallbackServer(issuer=provider.issuer, iss_required=provider.iss_parameter_supported)
    with receiver as callback, _client(provider, callback.redirect_uri) as client:
        extra = dict(provider.authorize_params)
        if signup and "create" in provider.prompt_values:
            extra["prompt"] = "create"  # the provider's own sign-up screen
        elif signup and provider.registration_url is not None:
            _show(provider.registration_url, "create your account", terminal, opener, None)
            terminal.say("Once your account exists, sign in with it:")
        nonce = secrets.token_urlsafe(24) if "openid" in provider.scopes.split() else None
        if nonce is not None:
            extra["nonce"] = nonce
        url, _ = client.create_authorization_url(
            provider.authorize_url, state=callback.state, code_verifier=verifier, **extra
        )
        _show(url, "create your account" if signup else "sign in", terminal, opener, fallback)
        if not terminal.wait(callback.done, timeout, "Waiting for the browser"):
            raise LoginTimeout(
                f"nobody finished the browser step within {_duration(timeout)}"
                + _ignored_note(callback.ignored),
                hint="run the command again (and --timeout SECONDS for more time)",
            )
        outcome = callback.outcome
        assert outcome is not None  # done is set only with an outcome
        if outcome.error is not None:
            raise outcome.error
        tracker.advance(Step.CODE_EXCHANGE)
        data = _token_response(
            "the token exchange",
            lambda: client.fetch_token(
                provider.token_url, code=outcome.code, code_verifier=verifier
            ),
            TokenExchangeError,
        )
        token = Token.from_response(data)
        return token, _check_id_token(provider, data, nonce, token.access_token)


def _check_id_token(
    provider: Provider, data: dict[str, Any], nonce: str | None, access_token: str
) -> str | None:
    """Verify the ID token that came with the tokens (its ``sub``, or None where there is none
    or nothing to verify it with); require one from an OpenID provider."""
    from authfunnel.cli.auth._id_token import verify_id_token

    id_token = data.get("id_token")
    if id_token is None:
        if provider.openid and nonce is not None:
            raise IdTokenMissing(
                f"the OpenID provider {provider.url} was asked for 'openid' and sent no ID token",
                hint="an OpenID provider must send one: ask its operator",
            )
        return None
    if not isinstance(id_token, str):
        raise IdTokenMissing("the token endpoint sent an ID token that is not a string")
    if provider.jwks_uri is None:
        return None  # a plain OAuth provider's extra: nothing here reads it or can verify it
    claims = verify_id_token(provider, id_token, nonce=nonce or "", access_token=access_token)
    return str(claims["sub"])


def _show(
    url: str, screen: str, terminal: Terminal, opener: Opener | None, fallback: Fallback | None
) -> None:
    """Open ``url`` in a browser if one opens, then say the one thing that happened."""
    # Tried first, said after: a display or a BROWSER setting is no promise that one opens.
    opened = opener is not None and opener(url)
    if opened:
        terminal.say(f"Opening your browser to {screen}. If it does not open, visit:")
    elif fallback is not None:
        terminal.say(fallback.says)
    elif opener is not None:
        terminal.say(f"No browser here: open this URL in a browser to {screen}:")
    else:
        terminal.say(f"Open this URL in a browser to {screen}:")
    terminal.say(url, style="bold")
    if not opened and fallback is not None:
        fallback.run(url)


def refresh(provider: Provider, refresh_token: str) -> Token:
    """A new token from ``refresh_token``; ``RefreshFailed`` when the provider says no.

    No ``scope`` is sent: RFC 6749 section 6 then grants the scopes of the original grant,
    whereas re-sending the configured ones is refused (``invalid_scope``) by a scope-strict
    provider that granted fewer (oidc-provider drops ``offline_access`` without consent, and
    any scope it does not know)."""
    with _client(provider, None, scoped=False) as client:
        return _token_call(
            "the token refresh",
            lambda: client.refresh_token(provider.token_url, refresh_token=refresh_token),
            RefreshFailed,
        )


def revoke(provider: Provider, token: str, hint: str) -> None:
    """Revoke ``token`` at the provider (RFC 7009); ``ProviderUnreachable`` if it cannot."""
    import httpx

    if provider.revocation_url is None:
        raise ProviderUnreachable("the provider lists no revocation endpoint")

    with _client(provider, None) as client:
        try:
            response = client.revoke_token(
                provider.revocation_url, token=token, token_type_hint=hint
            )
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"cannot reach {provider.revocation_url}") from exc
    if response.status_code >= 400:
        raise ProviderUnreachable(
            f"the provider refused the revocation (HTTP {response.status_code})"
        )


def _client(provider: Provider, redirect_uri: str | None, *, scoped: bool = True) -> OAuth2Client:
    # Authlib 1.9 prefers httpx2 and warns on import when it finds httpx, which this project
    # uses (and pins): the warning is about Authlib's plans, not something a user can act on.
    # authlib.deprecate installs an "always" filter when first imported, so it is imported
    # before ours is added on top of it.
    from authlib.deprecate import AuthlibDeprecationWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=provider.client_id,
        # Without a scope, Authlib adds none to a refresh (it adds its own scope otherwise).
        scope=provider.scopes if scoped else None,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        revocation_endpoint_auth_method="none",
        timeout=HTTP_TIMEOUT_SECONDS,
    )


def _token_call(what: str, call: Callable[[], Any], error: type[TokenExchangeError]) -> Token:
    return Token.from_response(_token_response(what, call, error))


def _token_response(
    what: str, call: Callable[[], Any], error: type[TokenExchangeError]
) -> dict[str, Any]:
    import httpx
    from authlib.integrations.base_client import OAuthError

    hint = "run the command again; if it persists, check the provider's token endpoint"
    try:
        data = call()
    except OAuthError as exc:
        # The provider's JSON decides these types: a number or a list must not crash clean().
        description = clean(str(exc.description or "no description"))
        raise error(
            f"{what} was refused: {clean(str(exc.error), 60)}: {description}", hint=hint
        ) from exc
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        raise error(f"{what} failed with HTTP {status}", hint=hint) from exc
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(
            f"cannot reach the token endpoint for {what}: {type(exc).__name__}",
            hint="check the provider is running and [provider] points at it",
        ) from exc
    except ValueError as exc:
        raise error(f"{what} got an answer that is not a JSON object", hint=hint) from exc
    except OverflowError as exc:  # Authlib's int() of an infinite expires_in
        raise error(f"{what} got an unusable expiry (expires_in)", hint=hint) from exc
    return dict(data)


def _duration(seconds: float) -> str:
    value, unit = (seconds / 60, "minute") if seconds >= 60 else (seconds, "second")
    return f"{value:g} {unit}" + ("" if value == 1 else "s")


def _ignored_note(ignored: int) -> str:
    # A forged or stale callback is ignored, not fatal: when the wait then runs out, say so,
    # since it is the likeliest reason nobody's login arrived.
    if not ignored:
        return ""
    requests = "1 request" if ignored == 1 else f"{ignored} requests"
    return f" ({requests} to the login callback without this attempt's state ignored)"
