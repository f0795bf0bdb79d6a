"""The ID token checks, one by one: tokens signed here with real keys, the JWKS served over real
HTTP on 127.0.0.1, each failure its own error class and a message saying what did not match."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from authfunnel.cli.auth._errors import (
    IdTokenAudienceMismatch,
    IdTokenError,
    IdTokenExpired,
    IdTokenIssuerMismatch,
    IdTokenMalformed,
    IdTokenNonceMismatch,
    IdTokenSignatureInvalid,
)
from authfunnel.cli.auth._id_token import LEEWAY_SECONDS, verify_id_token
from authfunnel.cli.auth._provider import Provider
from authfunnel.cli.auth._provider_cache import ProviderCache
from tests.cli.auth.support import FaultyEndpoint

ISSUER = "https://id.example.com"
CLIENT = "authfunnel-cli"
NONCE = "nonce-of-this-attempt"


@pytest.fixture
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


@pytest.fixture
def jwks(key: RSAKey) -> Iterator[FaultyEndpoint]:
    """The provider's key set, served over HTTP; ``received`` counts the fetches."""
    endpoint = FaultyEndpoint(200, json.dumps(KeySet([key]).as_dict(private=False)))
    yield endpoint
    endpoint.close()


def provider_for(jwks: FaultyEndpoint, state_dir: Path) -> Provider:
    return Provider(
        url=ISSUER,
        authorize_url=f"{ISSUER}/auth",
        token_url=f"{ISSUER}/token",
        revocation_url=None,
        userinfo_url=f"{ISSUER}/me",
        apps_url=None,
        client_id=CLIENT,
        scopes="openid profile email",
        issuer=ISSUER,
        jwks_uri=jwks.url,
        openid=True,
        id_token_algorithms=("RS256",),
        state_dir=state_dir,
    )


def signed(key: RSAKey, alg: str = "RS256", **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "alice", "aud": CLIENT, "iat": now, "exp": now + 300}
    claims["nonce"] = NONCE
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)


def test_a_genuine_id_token_gives_its_claims(
    key: RSAKey, jwks: FaultyEndpoint, tmp_path: Path
) -> None:
    claims = verify_id_token(provider_for(jwks, tmp_path), signed(key), nonce=NONCE)

    assert (claims["sub"], claims["aud"]) == ("alice", CLIENT)


@pytest.mark.parametrize(
    ("overrides", "error", "said"),
    [
        (
            {"iss": "https://evil.example"},
            IdTokenIssuerMismatch,
            "issuer is 'https://evil.example'",
        ),
        ({"aud": "someone-else"}, IdTokenAudienceMismatch, "issued to 'someone-else' (aud)"),
        (
            {"exp": int(time.time()) - LEEWAY_SECONDS - 60},
            IdTokenExpired,
            "the ID token's exp",
        ),
        (
            {"iat": int(time.time()) + LEEWAY_SECONDS + 600},
            IdTokenExpired,
            "the ID token's iat",
        ),
        ({"nonce": "another-attempt"}, IdTokenNonceMismatch, "carries a nonce other than"),
        ({"nonce": None}, IdTokenNonceMismatch, "carries no nonce other than"),
        ({"sub": None}, IdTokenMalformed, "sub"),
    ],
    ids=["iss", "aud", "exp", "iat", "nonce", "no-nonce", "no-sub"],
)
def test_each_claim_that_does_not_match_has_its_own_error(
    key: RSAKey,
    jwks: FaultyEndpoint,
    tmp_path: Path,
    overrides: dict[str, Any],
    error: type[IdTokenError],
    said: str,
) -> None:
    with pytest.raises(error, match=said.replace("(", r"\(").replace(")", r"\)")):
        verify_id_token(provider_for(jwks, tmp_path), signed(key, **overrides), nonce=NONCE)


def test_a_clock_a_little_off_is_within_the_leeway(
    key: RSAKey, jwks: FaultyEndpoint, tmp_path: Path
) -> None:
    late = int(time.time()) - LEEWAY_SECONDS // 2
    token = signed(key, exp=late, iat=int(time.time()) + LEEWAY_SECONDS // 2)

    assert verify_id_token(provider_for(jwks, tmp_path), token, nonce=NONCE)["sub"] == "alice"


def test_an_unknown_key_id_refetches_the_jwks_once_then_fails(
    key: RSAKey, jwks: FaultyEndpoint, tmp_path: Path
) -> None:
    provider = provider_for(jwks, tmp_path)
    verify_id_token(provider, signed(key), nonce=NONCE)  # caches the key set
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k2"})

    with pytest.raises(IdTokenSignatureInvalid, match="key id 'k2' is not in"):
        verify_id_token(provider, signed(stranger), nonce=NONCE)

    assert len(jwks.received) == 2  # the first fetch, then exactly one more


def test_a_rotated_key_is_picked_up_by_the_refetch(
    key: RSAKey, jwks: FaultyEndpoint, tmp_path: Path
) -> None:
    provider = provider_for(jwks, tmp_path)
    old = RSAKey.generate_key(2048, parameters={"kid": "old"})
    ProviderCache(tmp_path, ISSUER).save_jwks(jwks.url, KeySet([old]).as_dict(private=False))

    claims = verify_id_token(provider, signed(key), nonce=NONCE)

    assert claims["sub"] == "alice"
    assert len(jwks.received) == 1


def test_another_key_under_a_known_key_id_is_a_bad_signature(
    jwks: FaultyEndpoint, tmp_path: Path
) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})

    with pytest.raises(IdTokenSignatureInvalid, match=r"signature does not match .* 'k1'"):
        verify_id_token(provider_for(jwks, tmp_path), signed(impostor), nonce=NONCE)


@pytest.mark.parametrize(
    ("token", "error", "said"),
    [
        ("not-a-jwt", IdTokenMalformed, "cannot be read"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", IdTokenSignatureInvalid, "'none'"),
    ],
    ids=["garbage", "alg-none"],
)
def test_a_token_that_is_no_signed_jwt_is_refused(
    jwks: FaultyEndpoint, tmp_path: Path, token: str, error: type[IdTokenError], said: str
) -> None:
    with pytest.raises(error, match=said):
        verify_id_token(provider_for(jwks, tmp_path), token, nonce=NONCE)
