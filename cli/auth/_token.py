"""The token a login yields: parsed once from the token endpoint's JSON, serialisable."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from authfunnel.cli.auth._errors import TokenExchangeError

# Refresh a little before the provider would refuse the token.
EXPIRY_MARGIN_SECONDS = 30
# The end of year 9999: later (or infinite, or NaN) cannot be shown as a date, nor is it one.
LATEST_EXPIRY = 253402300799.0


@dataclass(frozen=True)
class Token:
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    token_type: str = "Bearer"
    scope: str = ""

    @classmethod
    def from_response(cls, data: Any, *, now: float | None = None) -> Token:
        """From a token endpoint response; ``TokenExchangeError`` if it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise TokenExchangeError(
                "the token endpoint answered without an access_token",
                hint="check [provider] token_url points at the provider's token endpoint",
            )
        refresh = data.get("refresh_token")
        expires_in = data.get("expires_in")
        expires_at = data.get("expires_at")
        try:
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
                expires_at = (time.time() if now is None else now) + float(expires_in)
            expires_at = _timestamp(expires_at) if isinstance(expires_at, int | float) else None
        except (ValueError, OverflowError) as exc:
            raise TokenExchangeError(
                "the token endpoint sent an unusable expiry (expires_in)",
                hint="check the provider: expires_in must be a number of seconds",
            ) from exc
        return cls(
            access_token=data["access_token"],
            refresh_token=refresh if isinstance(refresh, str) else None,
            expires_at=expires_at,
            token_type=str(data.get("token_type") or "Bearer"),
            scope=str(data.get("scope") or ""),
        )

    @classmethod
    def from_json(cls, data: Any) -> Token:
        """From what ``as_json`` stored; ``ValueError`` when it is not that."""
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise ValueError("not a stored token")
        expires_at = data.get("expires_at")
        refresh = data.get("refresh_token")
        if expires_at is not None and not isinstance(expires_at, int | float):
            raise ValueError("expires_at is not a number")
        if refresh is not None and not isinstance(refresh, str):
            raise ValueError("refresh_token is not a string")
        return cls(
            access_token=data["access_token"],
            refresh_token=refresh,
            expires_at=None if expires_at is None else _timestamp(expires_at),
            token_type=str(data.get("token_type") or "Bearer"),
            scope=str(data.get("scope") or ""),
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def expired(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at - EXPIRY_MARGIN_SECONDS


def _timestamp(value: float) -> float:
    """``value`` as an expiry time; ``ValueError`` when no clock could ever reach it."""
    try:
        seconds = float(value)
    except OverflowError as exc:
        raise ValueError("expiry out of range") from exc
    if not math.isfinite(seconds) or not 0 <= seconds <= LATEST_EXPIRY:
        raise ValueError("expiry out of range")
    return seconds
