"""The loopback redirect receiver (RFC 8252 section 7.3): one attempt, one outcome.

It listens on 127.0.0.1, port 0, for ``GET /callback``. ``state`` is checked before anything
else in a callback: one without this attempt's state (missing, repeated or different) never
gets its code or error looked at, and is answered 400 and ignored, because any local process
can send one; the receiver keeps waiting for the provider's until the login times out. The
first callback with the right state decides the attempt, error or code; later ones are told the
attempt is over and change nothing. Every value from the query is HTML-escaped in the page.

With the right state, ``iss`` is checked next (RFC 9207): a response naming another issuer than
the configured one, or none from a provider that promises it, came from a mix-up and fails the
attempt, whether it carries a code or an error.
"""

from __future__ import annotations

import html
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from authfunnel.cli.auth._errors import AuthorizationError, CallbackError, IssuerMismatch, clean
from authfunnel.fsm import ConsentDeclined

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} · authfunnel</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto">
<h1>{title}</h1><p>{body}</p></body></html>"""


@dataclass(frozen=True)
class Outcome:
    """What the callback with the right state said: a code, or the exception it ends with."""

    code: str | None = None
    error: BaseException | None = None


class CallbackServer:
    """Receives the provider's redirect for one login attempt with ``state``."""

    def __init__(
        self, state: str | None = None, *, issuer: str | None = None, iss_required: bool = False
    ) -> None:
        self.state = state or secrets.token_urlsafe(24)
        self.issuer = issuer
        self.iss_required = iss_required
        self._outcome: Outcome | None = None
        self._ignored = 0
        self._lock = threading.Lock()
        self.done = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.redirect_uri = f"http://127.0.0.1:{self._httpd.server_port}/callback"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown waits for this: keep the login snappy
            name="authfunnel-callback",
            daemon=True,
        )

    @property
    def outcome(self) -> Outcome | None:
        with self._lock:
            return self._outcome

    @property
    def ignored(self) -> int:
        """How many callbacks without this attempt's state were ignored (for the timeout)."""
        with self._lock:
            return self._ignored

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def receive(self, query: str) -> tuple[int, str, str]:
        """Answer the callback with ``query``: (status, title, body); the right one decides."""
        with self._lock:
            if self._outcome is not None:
                return 409, "Already done", "This login attempt is over: return to the terminal."
            outcome = judge(
                parse_qs(query, keep_blank_values=True),
                self.state,
                issuer=self.issuer,
                iss_required=self.iss_required,
            )
            if outcome is None:
                self._ignored += 1
                return (
                    400,
                    "Request ignored",
                    "This request does not belong to the login in progress and was ignored. "
                    "If you are logging in, finish in the browser tab the terminal opened.",
                )
            self._outcome = outcome
        self.done.set()
        if outcome.error is None:
            return 200, "Signed in", "You can close this tab and return to the terminal."
        if isinstance(outcome.error, ConsentDeclined):
            return 200, "Access denied", "You declined: nothing was shared. Close this tab."
        return 400, "Login failed", html.escape(str(outcome.error))


def judge(
    params: dict[str, list[str]],
    expected_state: str,
    *,
    issuer: str | None = None,
    iss_required: bool = False,
) -> Outcome | None:
    """The outcome of a callback with ``params``; None when its ``state`` is not this attempt's.

    ``state`` is checked first: without the exact one, nothing else in the callback is read.
    Then ``iss`` against ``issuer`` (when known): present and different, or absent though
    ``iss_required``, fails the attempt.
    """

    def one(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values and len(values) == 1 else None

    state = one("state")
    if state is None or not secrets.compare_digest(state.encode(), expected_state.encode()):
        return None
    mismatch = _issuer_mismatch(params, issuer, iss_required)
    if mismatch is not None:
        return Outcome(error=mismatch)
    error = one("error")
    if error is not None:
        if error == "access_denied":
            return Outcome(error=ConsentDeclined("you declined access at the provider"))
        description = clean(one("error_description") or "no description")
        return Outcome(
            error=AuthorizationError(
                f"the provider refused the login: {clean(error, 60)}: {description}",
                hint="check the provider settings (client_id, scopes), then run the command again",
            )
        )
    code = one("code")
    if not code:
        return Outcome(
            error=CallbackError(
                "the browser came back without an authorization code",
                hint="run the command again and approve access in the browser",
            )
        )
    return Outcome(code=code)


def _issuer_mismatch(
    params: dict[str, list[str]], issuer: str | None, iss_required: bool
) -> IssuerMismatch | None:
    if issuer is None:
        return None  # configured by endpoints: no issuer to compare with
    values = params.get("iss")
    hint = "check the issuer in [provider]; if it is right, someone tampered with the redirect"
    if values is None:
        if not iss_required:
            return None
        return IssuerMismatch(
            f"the provider {issuer} promises an 'iss' on its redirect, and this one has none",
            hint=hint,
        )
    if len(values) != 1 or values[0] != issuer:
        shown = ", ".join(repr(clean(value, 100)) for value in values)
        return IssuerMismatch(
            f"the redirect names the issuer {shown}, not the configured {issuer!r}", hint=hint
        )
    return None


def _handler_for(server: CallbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "authfunnel"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/callback":
                self._reply(404, "Not found", "This address only receives the login redirect.")
                return
            self._reply(*server.receive(parts.query))

        def _reply(self, status: int, title: str, body: str) -> None:
            page = _PAGE.format(title=html.escape(title), body=body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the terminal shows the flow's own progress instead

    return Handler
