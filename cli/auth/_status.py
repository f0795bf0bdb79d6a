"""Who is logged in, to which app, and where the token is: what ``authfunnel status`` shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from authfunnel.cli.app import Environment, Paths
from authfunnel.cli.auth._credentials import Credentials, Profile
from authfunnel.cli.auth._token import Token


@dataclass(frozen=True)
class LoginStatus:
    profile: Profile
    token: Token
    token_location: str  # "system keyring" or the token file's path

    @property
    def expires(self) -> str | None:
        """The token's expiry as ISO 8601 UTC, or None when it never expires."""
        if self.token.expires_at is None:
            return None
        return datetime.fromtimestamp(self.token.expires_at, UTC).isoformat(timespec="seconds")

    def as_json(self) -> dict[str, Any]:
        profile = self.profile
        return {
            "logged_in": True,
            "user_id": profile.user_id,
            "email": profile.email,
            "name": profile.name,
            # None: logged in where the provider has no apps API.
            "app": {"id": profile.app_id, "name": profile.app_name} if profile.app_id else None,
            "provider": profile.provider,
            "token_store": profile.token_store,
            "token_location": self.token_location,
            "expires_at": self.expires,
            "expired": self.token.expired(),
        }

    def lines(self) -> list[str]:
        """The status as a person reads it."""
        profile = self.profile
        state = "expired (renewed on next use)" if self.token.expired() else "valid"
        expiry = f", expires {self.expires}" if self.expires else ""
        return [
            f"Logged in as {profile.email or profile.user_id} ({profile.name})",
            f"  app:      {profile.app_name} ({profile.app_id})"
            if profile.app_id
            else "  app:      none (the provider has no apps API)",
            f"  provider: {profile.provider}",
            f"  token:    {self.token_location}, {state}{expiry}",
        ]


def login_status(env: Environment) -> LoginStatus | None:
    """The saved login, or None when nobody is logged in."""
    credentials = Credentials(Paths.from_env(env))
    saved = credentials.load()
    if saved is None:
        return None
    profile, token = saved
    where = "system keyring" if profile.token_store == "keyring" else str(credentials.token_file)
    return LoginStatus(profile, token, where)
