"""Authlib's authorization server wired to the store: grants, PKCE, revocation, bearer tokens.

The client is public (``token_endpoint_auth_method=none``), so PKCE with S256 is mandatory at
the authorization endpoint, not only at the token endpoint. Redirects go to any port of the
loopback interface, as RFC 8252 section 7.3 asks of native-app providers. Refresh tokens rotate:
each refresh revokes the old pair and issues a new one of the same family, and a retired
refresh token presented again revokes its whole family (replay detection).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, UnsupportedResponseTypeError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask

from authfunnel.cli.devserver._accounts import CLIENT_ID
from authfunnel.cli.devserver._redirect_uri import EXPECTED, redirect_uri_problem
from authfunnel.cli.devserver._store import Store, User

SCOPES = ("openid", "profile", "email", "apps")
DEVICE_GRANT_TYPES = ("urn:ietf:params:oauth:grant-type:device_code",)
ACCESS_TOKEN_TTL_SECONDS = 3600


class PublicClient(ClientMixin):  # type: ignore[misc]
    """The CLI: a public native client that may redirect to any loopback port."""

    client_id = CLIENT_ID

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri_problem(redirect_uri) is None

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token", *DEVICE_GRANT_TYPES)


CLIENT = PublicClient()


class AuthorizationCode:
    """A stored code, in the shape Authlib's grant reads."""

    def __init__(self, row: sqlite3.Row) -> None:
        self.row = row
        self.code_challenge = row["code_challenge"]
        self.code_challenge_method = row["code_challenge_method"]

    def get_redirect_uri(self) -> str:
        return str(self.row["redirect_uri"])

    def get_scope(self) -> str:
        return str(self.row["scope"])

    def get_nonce(self) -> None:
        return None

    def get_auth_time(self) -> None:
        return None


class Token(TokenMixin):  # type: ignore[misc]
    """A stored token pair."""

    def __init__(self, row: sqlite3.Row) -> None:
        self.row = row
        self.access_token = row["access_token"]
        self.refresh_token = row["refresh_token"]
        self.user_id = row["user_id"]
        self.family: str = row["family"] or row["access_token"]

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == self.row["client_id"])

    def get_scope(self) -> str:
        return str(self.row["scope"])

    def get_expires_in(self) -> int:
        return int(self.row["expires_in"])

    def is_expired(self) -> bool:
        return bool(self.row["issued_at"] + self.row["expires_in"] < time.time())

    def is_revoked(self) -> bool:
        return bool(self.row["revoked"])

    def get_user(self) -> str:
        return str(self.user_id)

    def get_client(self) -> ClientMixin:
        return CLIENT


class S256Required(CodeChallenge):  # type: ignore[misc]
    """PKCE, S256 only, required on every authorization request (the client is public)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: send code_challenge with method S256")
        super().validate_code_challenge(grant, redirect_uri)


class Server(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server, refusing a response type without echoing it."""

    def get_authorization_grant(self, request: Any) -> Any:
        # Authlib echoes the response_type in its error, and a backslash or a quote in it
        # then raises ValueError (a 500): only "code" exists here, so say that instead.
        if request.payload.response_type != "code":
            raise UnsupportedResponseTypeError(
                None, description="response_type must be code (the only one supported)"
            )
        return super().get_authorization_grant(request)


def build(app: Flask, store: Store) -> tuple[AuthorizationServer, ResourceProtector]:
    """The authorization server and resource protector for ``app``, backed by ``store``."""

    class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ("none",)

        @staticmethod
        def validate_authorization_redirect_uri(request: Any, client: ClientMixin) -> str:
            # Authlib's own puts the URI in the error description, and raises ValueError (a
            # 500) when it holds a backslash or a quote: the reason is said without it.
            redirect_uri: str | None = request.payload.redirect_uri
            problem = "it is missing" if not redirect_uri else redirect_uri_problem(redirect_uri)
            if problem is not None:
                raise InvalidRequestError(f"{EXPECTED}: {problem}")
            assert redirect_uri is not None
            return redirect_uri

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            store.save_code(
                {
                    "code": code,
                    "client_id": request.client.get_client_id(),
                    "user_id": request.user.id,
                    "redirect_uri": request.payload.redirect_uri,
                    "scope": request.payload.scope or "",
                    "code_challenge": data.get("code_challenge"),
                    "code_challenge_method": data.get("code_challenge_method"),
                }
            )

        def query_authorization_code(self, code: str, client: ClientMixin) -> Any:
            # Taken, not read: RFC 6749 4.1.2 allows one use, and Authlib deletes the code
            # only after issuing the token, so a read here let a racing exchange in twice.
            row = store.take_code(code, client.get_client_id())
            return None if row is None else AuthorizationCode(row)

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            store.delete_code(authorization_code.row["code"])

        def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
            return store.user(authorization_code.row["user_id"])

    class RotatingRefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ("none",)
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
            # Retired as it is read: Authlib revokes the old pair only after issuing the new
            # one, so a read here let two racing refreshes both succeed, defeating rotation.
            # A retired one presented again is a replay: the store revokes its family, and
            # None makes Authlib answer invalid_grant.
            row = store.take_refresh_token(refresh_token)
            return None if row is None else Token(row)

        def authenticate_user(self, credential: Token) -> User | None:
            return store.user(credential.user_id)

        def revoke_old_credential(self, credential: Token) -> None:
            store.revoke(credential.access_token)

    class Revocation(RevocationEndpoint):  # type: ignore[misc]
        CLIENT_AUTH_METHODS = ("none",)

        def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
            row = store.token(access_token=token_string) or store.token(refresh_token=token_string)
            return None if row is None else Token(row)

        def revoke_token(self, token: Token, request: Any) -> None:
            store.revoke(token.access_token)

    class Validator(BearerTokenValidator):  # type: ignore[misc]
        def authenticate_token(self, token_string: str) -> Token | None:
            row = store.token(access_token=token_string)
            return None if row is None else Token(row)

    def save_token(token: dict[str, Any], request: Any) -> None:
        # A refresh passes the old pair (Authlib's request.refresh_token): the new one joins
        # its family, which a replay of any retired member revokes whole.
        rotated = request.refresh_token if isinstance(request.refresh_token, Token) else None
        family = rotated.family if rotated is not None else None
        store.save_token(token, request.client.get_client_id(), request.user.id, family)

    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": ACCESS_TOKEN_TTL_SECONDS,
        "refresh_token": ACCESS_TOKEN_TTL_SECONDS,
        **dict.fromkeys(DEVICE_GRANT_TYPES, ACCESS_TOKEN_TTL_SECONDS),
    }
    server = Server(app, query_client=_query_client, save_token=save_token)
    server.register_grant(CodeGrant, [S256Required(required=True)])
    server.register_grant(RotatingRefreshGrant)
    server.register_endpoint(Revocation)
    protector = ResourceProtector()
    protector.register_token_validator(Validator())
    return server, protector


def _query_client(client_id: str) -> PublicClient | None:
    return CLIENT if client_id == CLIENT_ID else None
