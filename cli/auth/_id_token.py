"""The ID token, verified before anything in the login trusts the provider's answer.

The signature is checked with joserfc (Authlib's JOSE: ``authlib.jose`` is deprecated in its
favour) against the provider's JWKS, the claims with Authlib's ``CodeIDToken`` (OpenID Connect
Core 3.1.3.7): ``iss`` is the configured issuer, ``aud`` names this client, ``exp`` / ``iat`` hold
within ``LEEWAY_SECONDS``, ``nonce`` is this attempt's, ``at_hash`` matches the access token.
This is Authlib's own ``parse_id_token`` made strict, with one JWKS re-fetch when the token
names a key the cached set lacks (the provider rotated its keys). Each failed check raises its
own ``IdTokenError`` subclass, whose message says what did not match.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.auth._discovery import fetch_jwks
from authfunnel.cli.auth._errors import (
    IdTokenAudienceMismatch,
    IdTokenError,
    IdTokenExpired,
    IdTokenIssuerMismatch,
    IdTokenMalformed,
    IdTokenNonceMismatch,
    IdTokenSignatureInvalid,
    clean,
)
from authfunnel.cli.auth._provider import Provider
from authfunnel.cli.auth._provider_cache import ProviderCache

if TYPE_CHECKING:
    from joserfc.errors import ClaimError
    from joserfc.jwt import Token as Jwt

# Clocks differ a little between this machine and the provider's.
LEEWAY_SECONDS: Final = 60
_HINT: Final = "run the command again; if it persists, check the clock here and the provider"


def verify_id_token(
    provider: Provider,
    id_token: str,
    *,
    nonce: str,
    access_token: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's verified claims; an ``IdTokenError`` subclass when a check fails."""
    from authlib.oidc.core import CodeIDToken
    from joserfc.errors import ClaimError

    if provider.issuer is None or provider.jwks_uri is None:
        raise IdTokenSignatureInvalid(
            "an ID token came back, but the provider publishes no keys to verify it with",
            hint="configure the provider by its issuer, so its keys can be discovered",
        )
    token = _decode(provider, id_token)
    claims = CodeIDToken(
        token.claims,
        token.header,
        {
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": provider.client_id},
        },
        {"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
    )
    moment = time.time() if now is None else now
    try:
        claims.validate(now=int(moment), leeway=LEEWAY_SECONDS)
    except ClaimError as exc:
        raise _claim_error(exc, dict(token.claims), provider, moment) from exc
    except (TypeError, ValueError) as exc:  # a claim of the wrong JSON type
        raise IdTokenMalformed(f"the ID token has a malformed claim ({exc})", hint=_HINT) from exc
    return dict(claims)


def _decode(provider: Provider, id_token: str) -> Jwt:
    from joserfc import jwt
    from joserfc.errors import (
        BadSignatureError,
        InvalidKeyIdError,
        JoseError,
        UnsupportedAlgorithmError,
    )
    from joserfc.jws import JWSRegistry

    assert provider.jwks_uri is not None
    assert provider.issuer is not None
    # RS256 is what OpenID Connect requires every provider to support; "none" is never listed.
    registry_algorithms = [a for a in provider.id_token_algorithms or ("RS256",) if a != "none"]
    registry = JWSRegistry(algorithms=registry_algorithms, strict_check_header=False)
    cache = ProviderCache(provider.state_dir, provider.issuer) if provider.state_dir else None
    for refetch in (False, True):
        keys = _key_set(provider.jwks_uri, cache, refetch=refetch)
        try:
            return jwt.decode(id_token, keys, registry=registry)
        except InvalidKeyIdError as exc:
            if not refetch:
                continue  # the provider may have rotated its keys since they were cached
            raise IdTokenSignatureInvalid(
                "the ID token is signed with a key the provider does not publish "
                f"(key id {clean(str(_header(id_token).get('kid')), 60)!r} is not in "
                f"{provider.jwks_uri})",
                hint=_HINT,
            ) from exc
        except BadSignatureError as exc:
            raise IdTokenSignatureInvalid(
                f"the ID token's signature does not match the provider's key "
                f"{clean(str(_header(id_token).get('kid')), 60)!r} from {provider.jwks_uri}",
                hint=_HINT,
            ) from exc
        except UnsupportedAlgorithmError as exc:
            raise IdTokenSignatureInvalid(
                f"the ID token is signed with {clean(str(_header(id_token).get('alg')), 20)!r}, "
                f"not an algorithm the provider lists ({', '.join(registry_algorithms)})",
                hint=_HINT,
            ) from exc
        except JoseError as exc:
            raise IdTokenMalformed(
                f"the ID token cannot be read as a signed JWT ({clean(exc.error, 60)})",
                hint=_HINT,
            ) from exc
        except ValueError as exc:
            raise IdTokenMalformed("the ID token is not a JWT", hint=_HINT) from exc
    raise AssertionError("unreachable: the second pass returns or raises")


def _key_set(uri: str, cache: ProviderCache | None, *, refetch: bool) -> Any:
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    document = None if refetch or cache is None else cache.jwks(uri)
    if document is None:
        document = fetch_jwks(uri)
        if cache is not None:
            cache.save_jwks(uri, document)
    try:
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise IdTokenSignatureInvalid(
            f"the provider's key set at {uri} holds a key that cannot be read", hint=_HINT
        ) from exc


def _header(id_token: str) -> dict[str, Any]:
    """The JOSE header, read without verifying anything (only to name the key in a message)."""
    import base64
    import json

    try:
        encoded = id_token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return {}
    return header if isinstance(header, dict) else {}


def _claim_error(
    exc: ClaimError, claims: dict[str, Any], provider: Provider, now: float
) -> IdTokenError:
    from joserfc.errors import ExpiredTokenError, MissingClaimError

    claim = exc.claim

    def shown(name: str) -> str:
        value = claims.get(name)
        return repr(clean(str(value), 100)) if value is not None else "missing"

    if claim == "iss":
        return IdTokenIssuerMismatch(
            f"the ID token's issuer is {shown('iss')}, not {provider.issuer!r}", hint=_HINT
        )
    if claim in ("aud", "azp"):
        return IdTokenAudienceMismatch(
            f"the ID token was issued to {shown(claim)} ({claim}), not to this client "
            f"{provider.client_id!r}",
            hint="check client_id under [provider]",
        )
    if isinstance(exc, ExpiredTokenError) or claim in ("exp", "iat", "nbf"):
        return IdTokenExpired(
            f"the ID token's {claim} ({_when(claims.get(claim))}) is outside the time now here "
            f"({_when(now)}), even allowing {LEEWAY_SECONDS} s",
            hint="check this machine's clock, then run the command again",
        )
    if claim == "nonce":
        found = "carries no nonce" if isinstance(exc, MissingClaimError) else "carries a nonce"
        return IdTokenNonceMismatch(
            f"the ID token {found} other than the one this login sent (a replayed or "
            "injected token)",
            hint=_HINT,
        )
    return IdTokenMalformed(
        f"the ID token fails the check of its {clean(claim, 60)} claim", hint=_HINT
    )


def _when(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
        except (ValueError, OverflowError, OSError):
            pass
    return repr(clean(str(value), 40))
