"""Login by the device authorization grant (RFC 8628), for a machine where no browser opens.

The CLI asks the provider's device endpoint for a device code and a short user code
(``device_code_request``); shows the code, where to enter it, and the complete URL when the
provider gives one (``user_code_display``); then polls the token endpoint while the person
approves in a browser on any other device (``browser_wait``), with a countdown until the code
expires; and verifies what the token endpoint sent (``code_exchange``).

Authlib's OAuth 2 client has no device-code helpers (its ``rfc8628`` package is the server
side), so the code request and the polling loop are written here, on Authlib's httpx client:
each poll is its ``fetch_token`` with the device-code grant type, which turns the provider's
error answers into ``OAuthError``. The loop follows RFC 8628 section 3.5: wait ``interval``
seconds (5 when not given) between polls, 5 more for this and every later poll after
``slow_down``, keep polling on ``authorization_pending``; ``expired_token`` ends the login with
``DeviceCodeExpired`` and ``access_denied`` with ``ConsentDeclined`` (Aborted, declined).

The poller runs on its own thread and the main thread waits with ``Terminal.wait``, so Ctrl-C
stops the wait at once (an Aborted login) instead of after the poll in flight.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.auth._errors import (
    AuthorizationError,
    DeviceCodeExpired,
    DeviceFlowUnsupported,
    LoginTimeout,
    ProviderUnreachable,
    TokenExchangeError,
    clean,
)
from authfunnel.cli.auth._oauth import _check_id_token, _client, _duration, _token_response
from authfunnel.cli.auth._token import Token
from authfunnel.fsm import ConsentDeclined, FlowTracker, Step

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

    from authfunnel.cli.app import Terminal
    from authfunnel.cli.auth._provider import Provider

DEVICE_CODE_GRANT_TYPE: Final = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL_SECONDS: Final = 5  # RFC 8628 3.2: when the provider names no interval
SLOW_DOWN_SECONDS: Final = 5  # RFC 8628 3.5: added to the interval by every slow_down
_HINT: Final = "run 'authfunnel login --device' again"


@dataclass(frozen=True)
class DeviceGrant:
    """The provider's answer to a device authorization request (RFC 8628 section 3.2)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float | None  # seconds; None when the provider did not say
    interval: float

    @classmethod
    def from_response(cls, data: Any, endpoint: str) -> DeviceGrant:
        """From the device endpoint's JSON; ``AuthorizationError`` when it is not one."""

        def text(name: str) -> str | None:
            value = data.get(name) if isinstance(data, dict) else None
            return value if isinstance(value, str) and value else None

        def seconds(name: str) -> float | None:
            value = data.get(name) if isinstance(data, dict) else None
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return float(value) if 0 < value < math.inf else None

        device_code, user_code = text("device_code"), text("user_code")
        # verification_url: the name some providers (Google) used before the RFC was final.
        uri = text("verification_uri") or text("verification_url")
        if device_code is None or user_code is None or uri is None:
            raise AuthorizationError(
                f"the device endpoint {endpoint} answered without a device_code, user_code "
                "and verification_uri",
                hint="check device_authorization_url under [provider]",
            )
        return cls(
            device_code=device_code,
            user_code=user_code,
            verification_uri=uri,
            verification_uri_complete=text("verification_uri_complete"),
            expires_in=seconds("expires_in"),
            interval=seconds("interval") or DEFAULT_INTERVAL_SECONDS,
        )


def require_device_endpoint(provider: Provider) -> str:
    """The provider's device authorization endpoint; ``DeviceFlowUnsupported`` without one."""
    if provider.device_authorization_url is None:
        raise DeviceFlowUnsupported(
            f"the provider {provider.url} offers no device login "
            "(it lists no device_authorization_endpoint)",
            hint="run 'authfunnel login --no-browser' and open the URL it prints in a browser "
            "on this machine, or set device_authorization_url under [provider]",
        )
    return provider.device_authorization_url


def device_authorize(
    provider: Provider, terminal: Terminal, tracker: FlowTracker, *, timeout: float
) -> tuple[Token, str | None]:
    """Run one device login; the token, and the verified ID token's ``sub`` (or None).

    The tracker starts at ``device_code_request``. The wait ends when the code expires, or
    after ``timeout`` seconds if that comes first.
    """
    endpoint = require_device_endpoint(provider)
    with _client(provider, None) as client:
        grant = _request_codes(client, provider, endpoint)
        tracker.advance(Step.USER_CODE_DISPLAY)
        _show(grant, terminal)
        tracker.advance(Step.BROWSER_WAIT)
        data = _wait_for_approval(client, provider, grant, terminal, timeout)
        tracker.advance(Step.CODE_EXCHANGE)
        token = Token.from_response(data)
        # No nonce in this grant (RFC 8628 has no authorization request to carry one).
        return token, _check_id_token(provider, data, None, token.access_token)


def _request_codes(client: OAuth2Client, provider: Provider, endpoint: str) -> DeviceGrant:
    import httpx

    try:
        response = client.request(
            "POST",
            endpoint,
            data={"client_id": provider.client_id, "scope": provider.scopes},
            withhold_token=True,  # there is none yet: this request is how one begins
        )
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(
            f"cannot reach the device endpoint {endpoint}: {type(exc).__name__}",
            hint="check the provider is running and [provider] points at it",
        ) from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200:
        error = data.get("error") if isinstance(data, dict) else None
        said = clean(str(error), 60) if error is not None else f"HTTP {response.status_code}"
        described = data.get("error_description") if isinstance(data, dict) else None
        detail = f": {clean(str(described))}" if described is not None else ""
        raise AuthorizationError(
            f"the provider refused the device login: {said}{detail}",
            hint="check the provider allows this client the device grant (client_id, scopes)",
        )
    return DeviceGrant.from_response(data, endpoint)


def _show(grant: DeviceGrant, terminal: Terminal) -> None:
    if grant.verification_uri_complete is not None:
        terminal.say("To log in, open this URL in a browser on any device:")
        terminal.say(clean(grant.verification_uri_complete, 500), style="bold")
        terminal.say("and check that it shows the code:")
    else:
        terminal.say("To log in, open this URL in a browser on any device:")
        terminal.say(clean(grant.verification_uri, 500), style="bold")
        terminal.say("and enter the code:")
    terminal.say(clean(grant.user_code, 60), style="bold")


def _wait_for_approval(
    client: OAuth2Client,
    provider: Provider,
    grant: DeviceGrant,
    terminal: Terminal,
    timeout: float,
) -> dict[str, Any]:
    poller = _Poller(client, provider, grant)
    # One more interval past the code's lifetime: the provider's own expired_token, not a
    # clock here that runs a little ahead of it, says when the code is over.
    lifetime = None if grant.expires_in is None else grant.expires_in + grant.interval
    code_expires_first = lifetime is not None and lifetime <= timeout
    limit = lifetime if lifetime is not None and code_expires_first else timeout
    thread = threading.Thread(target=poller.run, name="authfunnel-device-poll", daemon=True)
    thread.start()
    try:
        finished = terminal.wait(poller.done, limit, "Waiting for the code to be entered")
    finally:
        poller.stop.set()  # on Ctrl-C too: no poll after the login is over
    if not finished:
        if code_expires_first:
            raise DeviceCodeExpired("the code expired before anyone entered it", hint=_HINT)
        raise LoginTimeout(
            f"nobody entered the code within {_duration(timeout)}",
            hint=_HINT + " (and --timeout SECONDS for more time)",
        )
    if poller.error is not None:
        raise poller.error
    assert poller.data is not None  # done is set with data or an error
    return poller.data


class _Poller:
    """Polls the token endpoint for ``grant`` until an answer other than "not yet"."""

    def __init__(self, client: OAuth2Client, provider: Provider, grant: DeviceGrant) -> None:
        self.client = client
        self.provider = provider
        self.grant = grant
        self.interval = grant.interval
        self.done = threading.Event()
        self.stop = threading.Event()
        self.data: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.wait(self.interval):
                if self._poll():
                    return
        except BaseException as exc:  # raised by the main thread, not lost with this one
            self.error = exc
        finally:
            self.done.set()

    def _poll(self) -> bool:
        """One poll; whether it ended the wait (with data or an error)."""
        try:
            self.data = _token_response(
                "the device login",
                lambda: self.client.fetch_token(
                    self.provider.token_url,
                    grant_type=DEVICE_CODE_GRANT_TYPE,
                    device_code=self.grant.device_code,
                    scope=None,  # the token request of this grant takes none (RFC 8628 3.4)
                ),
                TokenExchangeError,
            )
            return True
        except TokenExchangeError as exc:
            code = getattr(exc.__cause__, "error", None)
            if code == "authorization_pending":
                return False
            if code == "slow_down":
                self.interval += SLOW_DOWN_SECONDS
                return False
            if code == "access_denied":
                self.error = ConsentDeclined("you declined access at the provider")
            elif code == "expired_token":
                self.error = DeviceCodeExpired(
                    "the code expired before anyone entered it", hint=_HINT
                )
            else:
                self.error = exc
            return True
