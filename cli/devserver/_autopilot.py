"""The browser step without a browser: real HTTP requests to the sign-in and consent pages.

``authfunnel demo`` uses it on a machine with no display, so the main job runs end to end
anywhere; ``complete_device_step`` does the same for a device login (RFC 8628). It does what a
person would: load the authorization URL, (sign up, then) sign in, press
Approve (or Deny), and follow the redirect to the CLI's loopback receiver, sending each form's
CSRF token back as a browser does.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 10.0


class AutopilotError(RuntimeError):
    """A page did not answer as the dev provider's pages do."""


def complete_browser_step(
    url: str,
    *,
    email: str,
    password: str,
    approve: bool = True,
    signup_name: str | None = None,
) -> int:
    """Sign in at ``url``, answer the consent page, deliver the redirect; its HTTP status."""
    import httpx

    with httpx.Client(follow_redirects=False, timeout=TIMEOUT_SECONDS) as http:
        first = _expect(http.get(url), 200, "the sign-in page")
        form = {"action": "signin", "email": email, "password": password}
        if signup_name is not None:
            # Sign-up signs nobody in (it must not tell whether the email was taken): the
            # sign-in that a person does next follows.
            signup = {**form, "action": "signup", "name": signup_name}
            _expect(http.post(url, data=_with_token(signup, first)), 303, "signing up")
        _expect(http.post(url, data=_with_token(form, first)), 303, "signing in")
        consent = _expect(http.get(url), 200, "the consent page")
        if "Approve" not in consent.text:
            raise AutopilotError("the consent page has no Approve button")
        decision = _with_token({"action": "approve" if approve else "deny"}, consent)
        redirect = _expect(http.post(url, data=decision), 302, "the consent answer")
        return http.get(redirect.headers["location"]).status_code


def complete_device_step(url: str, *, email: str, password: str, approve: bool = True) -> str:
    """At the device URL a CLI showed (``/device?user_code=...``): sign in, then approve (or
    deny) the device; the title of the page that ends it."""
    import re

    import httpx

    with httpx.Client(follow_redirects=False, timeout=TIMEOUT_SECONDS) as http:
        first = _expect(http.get(url), 200, "the device sign-in page")
        form = {"action": "signin", "email": email, "password": password}
        _expect(http.post(url, data=_with_token(form, first)), 303, "signing in")
        consent = _expect(http.get(url), 200, "the device consent page")
        action = re.search(r'<form method="post" action="([^"]+)"', consent.text)
        if action is None or "Approve" not in consent.text:
            raise AutopilotError("the device consent page has no Approve form")
        decision = _with_token({"action": "approve" if approve else "deny"}, consent)
        target = httpx.URL(url).join(html.unescape(action.group(1)))
        done = _expect(http.post(target, data=decision), 200, "the device answer")
        title = re.search(r"<h1>([^<]*)</h1>", done.text)
        return title.group(1) if title else ""


def _with_token(form: dict[str, str], page: httpx.Response) -> dict[str, str]:
    """``form`` with the page's CSRF token, as a browser submitting the page's form sends."""
    from html.parser import HTMLParser

    class HiddenInputs(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.values: dict[str, str] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            fields = dict(attrs)
            if tag == "input" and fields.get("type") == "hidden" and fields.get("name"):
                self.values[str(fields["name"])] = fields.get("value") or ""

    hidden = HiddenInputs()
    hidden.feed(page.text)
    if "csrf_token" not in hidden.values:
        raise AutopilotError("the page's form has no CSRF token")
    return {**form, "csrf_token": hidden.values["csrf_token"]}


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise AutopilotError(f"{what} answered HTTP {response.status_code}, not {status}")
    return response
