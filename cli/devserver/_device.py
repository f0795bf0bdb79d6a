"""The dev provider's device login (RFC 8628): Authlib's device endpoint and grant, and the
``/device`` page where a person signs in, enters or checks the code, and approves or denies.

Codes live in memory (``DeviceCodes``), not in the SQLite store: they last minutes, are used
once, and a restarted server has no CLI waiting on the old ones. Polling faster than the
advertised interval is answered ``slow_down``, as RFC 8628 section 3.5 asks of a provider.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)

from authfunnel.cli.devserver._store import Store, User

if TYPE_CHECKING:
    from flask import Flask

DEVICE_CODE_TTL_SECONDS: Final = 600
POLL_INTERVAL_SECONDS: Final = 5


@dataclass
class _Pending:
    credential: DeviceCredentialDict
    last_poll: float | None = None
    decision: tuple[str, bool] | None = None  # (user id, approved)


class DeviceCodes:
    """The device codes handed out and not yet used, by device code and by user code."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_device: dict[str, _Pending] = {}
        self._device_of: dict[str, str] = {}

    def add(self, client_id: str, scope: str, data: dict[str, Any]) -> None:
        credential = DeviceCredentialDict(
            client_id=client_id,
            scope=scope,
            user_code=data["user_code"],
            device_code=data["device_code"],
            expires_at=self._clock() + int(data["expires_in"]),
        )
        with self._lock:
            self._by_device[data["device_code"]] = _Pending(credential)
            self._device_of[normal(data["user_code"])] = data["device_code"]

    def credential(self, device_code: str) -> DeviceCredentialDict | None:
        with self._lock:
            pending = self._by_device.get(device_code)
            return None if pending is None else pending.credential

    def scope(self, user_code: str) -> str | None:
        """The scope a live, undecided ``user_code`` asks for; None if there is no such code."""
        with self._lock:
            pending = self._pending(user_code)
            if pending is None or pending.decision is not None or pending.credential.is_expired():
                return None
            return str(pending.credential.get_scope() or "")

    def decide(self, user_code: str, user_id: str, *, approved: bool) -> bool:
        """Record the person's answer; False when the code is unknown, expired or decided."""
        with self._lock:
            pending = self._pending(user_code)
            if pending is None or pending.decision is not None or pending.credential.is_expired():
                return False
            pending.decision = (user_id, approved)
            return True

    def decision(self, user_code: str) -> tuple[str, bool] | None:
        with self._lock:
            pending = self._pending(user_code)
            return None if pending is None else pending.decision

    def polled_too_soon(self, device_code: str) -> bool:
        """Note a poll; whether it came sooner than the interval after the previous one."""
        now = self._clock()
        with self._lock:
            pending = self._by_device.get(device_code)
            if pending is None:
                return False
            previous, pending.last_poll = pending.last_poll, now
            return previous is not None and now - previous < POLL_INTERVAL_SECONDS

    def discard(self, device_code: str) -> None:
        """Forget a code once its token is issued: each works once."""
        with self._lock:
            pending = self._by_device.pop(device_code, None)
            if pending is not None:
                self._device_of.pop(normal(pending.credential.get_user_code()), None)

    def _pending(self, user_code: str) -> _Pending | None:
        device_code = self._device_of.get(normal(user_code))
        return None if device_code is None else self._by_device.get(device_code)


def normal(user_code: str) -> str:
    """A user code as typed, compared without case, spaces or dashes (RFC 8628 6.1)."""
    return "".join(ch for ch in user_code.upper() if ch.isalnum())


def device_endpoint(
    codes: DeviceCodes, verification_uri: Callable[[], str]
) -> type[DeviceAuthorizationEndpoint]:
    """Authlib's device authorization endpoint, handing its codes to ``codes``."""

    class Endpoint(DeviceAuthorizationEndpoint):  # type: ignore[misc]
        CLIENT_AUTH_METHODS = ("none",)
        EXPIRES_IN = DEVICE_CODE_TTL_SECONDS
        INTERVAL = POLL_INTERVAL_SECONDS

        def get_verification_uri(self) -> str:
            return verification_uri()

        def save_device_credential(self, client_id: str, scope: str, data: dict[str, Any]) -> None:
            codes.add(client_id, scope or "", data)

    return Endpoint


def device_grant(codes: DeviceCodes, store: Store) -> type[DeviceCodeGrant]:
    """Authlib's device-code grant, answering from ``codes`` and ``store``."""

    class Grant(DeviceCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ("none",)

        def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
            return codes.credential(device_code)

        def query_user_grant(self, user_code: str) -> tuple[User | None, bool] | None:
            decided = codes.decision(user_code)
            if decided is None:
                return None
            user_id, approved = decided
            user = store.user(user_id)
            return user, approved and user is not None  # a deleted account approves nothing

        def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
            return codes.polled_too_soon(credential["device_code"])

        def validate_device_credential(self, credential: DeviceCredentialDict) -> Any:
            user = super().validate_device_credential(credential)
            codes.discard(credential["device_code"])  # approved: its token is issued now
            return user

    return Grant


def add_device_page(
    app: Flask,
    codes: DeviceCodes,
    *,
    signed_in: Callable[[], User | None],
    page: Callable[..., tuple[str, int]],
    sign_in: Callable[[], Any],
) -> None:
    """``/device``: where the URL the CLI shows leads (``?user_code=`` filled in, or not)."""
    from flask import request

    from authfunnel.cli.devserver import _pages

    @app.route("/device", methods=["GET", "POST"])
    def device() -> Any:
        action = request.form.get("action") if request.method == "POST" else None
        if action == "signin":
            return sign_in()
        user = signed_in()
        if user is None:
            return page(
                _pages.SIGN_IN, title="Sign in", action=request.full_path, email="", signup_url=""
            )
        typed = request.form.get("user_code") or request.args.get("user_code") or ""
        if not typed:
            return page(_pages.DEVICE_CODE, title="Connect a device", action="/device")
        scope = codes.scope(typed)
        if scope is None:
            error = "That code is not valid, has expired or was already used: check the terminal."
            return page(
                _pages.DEVICE_CODE, 400, title="Connect a device", action="/device", error=error
            )
        if action in ("approve", "deny"):
            codes.decide(typed, user.id, approved=action == "approve")
            message = (
                "Done: return to your terminal."
                if action == "approve"
                else "You declined: nothing was shared. Return to your terminal."
            )
            return page(
                _pages.ERROR,
                title="Device connected" if action == "approve" else "Access denied",
                message=message,
            )
        return page(
            _pages.CONSENT,
            title="Authorize a device",
            user=user,
            client_name="authfunnel CLI",
            scopes=scope.split(),
            action=f"/device?{urlencode({'user_code': normal(typed)})}",
            notice=f"Check that your terminal shows the code {typed.upper()}.",
        )
