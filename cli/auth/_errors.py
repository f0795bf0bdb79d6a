"""Why a login can fail, one type per cause: ``error_class`` reports the type, never the text.

::

    CliError (authfunnel.cli.app)
    ├── ProviderNotConfigured   no provider URL in the config file or the environment
    ├── ProviderUnreachable     the provider did not answer (connection refused, timeout)
    ├── ProviderNotFound        the issuer answered, but with no usable discovery document
    ├── IssuerMismatch          the redirect's ``iss`` (RFC 9207) is not the configured issuer
    ├── IdTokenError            the ID token cannot be trusted; one subclass per cause:
    │   ├── IdTokenMissing          ... none came, though ``openid`` was asked of an OP
    │   ├── IdTokenSignatureInvalid ... not signed by any key in the provider's JWKS
    │   ├── IdTokenIssuerMismatch   ... ``iss`` is not the provider's issuer
    │   ├── IdTokenAudienceMismatch ... ``aud`` does not name this client
    │   ├── IdTokenExpired          ... ``exp`` passed, or ``iat`` in the future (beyond leeway)
    │   ├── IdTokenNonceMismatch    ... ``nonce`` is not the one this attempt sent
    │   ├── IdTokenMalformed        ... not a JWT, or a claim of the wrong type
    │   └── UserInfoMismatch        ... the userinfo API describes another user (``sub``)
    ├── CallbackError           the browser came back (with this attempt's state) without a code
    ├── AuthorizationError      the provider refused the request (other than access_denied)
    ├── LoginTimeout            nobody finished the browser step in time
    │   └── DeviceCodeExpired   ... the device code (RFC 8628) expired before anyone entered it
    ├── DeviceFlowUnsupported   login --device, and the provider lists no device endpoint
    ├── TokenExchangeError      the token endpoint said no, failed, or sent something unreadable
    │   └── RefreshFailed       ... for a refresh token (silent re-auth falls back to login)
    ├── ApiError                the apps or userinfo API failed
    │   └── ApiUnauthorized     ... with 401: the token is not (or no longer) valid
    └── CredentialsError        the profile or token file is unreadable, corrupt or unwritable
"""

from __future__ import annotations

from authfunnel.cli.app import CliError


class ProviderNotConfigured(CliError):
    """No provider is configured."""


class ProviderUnreachable(CliError):
    """The provider could not be reached."""


class ProviderNotFound(CliError):
    """The issuer answered, but not with a discovery document for itself."""


class IssuerMismatch(CliError):
    """The authorization response came back with another issuer's ``iss`` (a mix-up)."""


class IdTokenError(CliError):
    """The ID token failed verification (the subclass says which check)."""


class IdTokenMissing(IdTokenError):
    """An OpenID provider answered a request for ``openid`` without an ID token."""


class IdTokenSignatureInvalid(IdTokenError):
    """No key of the provider's JWKS verifies the ID token's signature."""


class IdTokenIssuerMismatch(IdTokenError):
    """The ID token's ``iss`` is not the configured issuer."""


class IdTokenAudienceMismatch(IdTokenError):
    """The ID token was issued to another client."""


class IdTokenExpired(IdTokenError):
    """The ID token is expired, or issued in the future, beyond the leeway."""


class IdTokenNonceMismatch(IdTokenError):
    """The ID token does not carry the nonce this login attempt sent."""


class IdTokenMalformed(IdTokenError):
    """The ID token is not a JWT, or one of its claims has the wrong type."""


class UserInfoMismatch(IdTokenError):
    """The userinfo API's ``sub`` is not the ID token's (OpenID Connect Core 5.3.2)."""


class CallbackError(CliError):
    """The redirect with this attempt's ``state`` carried neither a code nor an error."""


class AuthorizationError(CliError):
    """The provider answered the authorization request with an error."""


class LoginTimeout(CliError):
    """The browser step did not finish before the deadline."""


class DeviceCodeExpired(LoginTimeout):
    """The device code expired (``expired_token``, or its lifetime ran out) before approval."""


class DeviceFlowUnsupported(CliError):
    """A device login was asked of a provider that has no device authorization endpoint."""


class TokenExchangeError(CliError):
    """The token endpoint refused the request or answered with something unusable."""


class RefreshFailed(TokenExchangeError):
    """The refresh token no longer works."""


class ApiError(CliError):
    """A provider API call failed; ``status`` is the HTTP status (0: no response)."""

    def __init__(self, message: str, *, status: int = 0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ApiUnauthorized(ApiError):
    """The API refused the token (HTTP 401)."""


class CredentialsError(CliError):
    """Stored credentials cannot be read or written."""


def clean(text: str, limit: int = 200) -> str:
    """Text from the network, safe to print: no control characters, bounded length."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"
