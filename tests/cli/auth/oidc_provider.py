"""A real third-party OpenID provider for the login tests: panva's oidc-provider, run by Node.

``OidcProvider`` starts ``tests/providers/oidc_provider/server.js`` on 127.0.0.1 (port 0 unless
told) and reads the issuer it prints. ``person`` is someone at its own login and consent pages,
over real HTTP with httpx: it follows the redirects, fills in the forms the provider sends, and
stops at the redirect to the CLI's loopback receiver, which it may rewrite first (a forged
``iss``) before delivering it. Nothing here stands in for the provider.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from html import unescape
from pathlib import Path
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

BED = Path(__file__).parents[2] / "providers" / "oidc_provider"
STARTUP_SECONDS = 60


def require_node() -> str:
    """The ``node`` binary; absent, the test skips, except in CI, where it fails."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing: the oidc-provider tests need Node 20 (apt-get nodejs)")
        pytest.skip("needs Node (node on PATH) to run the third-party OpenID provider")
    if not (BED / "node_modules" / "oidc-provider").is_dir():
        # The README's one test command runs on a machine that never ran .ci/run: there the
        # provider is a skip that says how to install it; in CI its absence is a failure.
        missing = f"oidc-provider is not installed: run 'npm ci' in {BED} (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return node


class OidcProvider:
    """oidc-provider listening on 127.0.0.1:``port``; ``kid`` fixes its signing key's id,
    ``device_ttl`` the lifetime of its device codes in seconds (default: ten minutes)."""

    def __init__(
        self, port: int = 0, *, kid: str | None = None, device_ttl: int | None = None
    ) -> None:
        env = {**os.environ, "NODE_NO_WARNINGS": "1"}
        if kid is not None:
            env["AUTHFUNNEL_TEST_KID"] = kid
        if device_ttl is not None:
            env["AUTHFUNNEL_TEST_DEVICE_TTL"] = str(device_ttl)
        self.proc = subprocess.Popen(
            [require_node(), "server.js", str(port)],
            cwd=BED,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.issuer = self._wait_for_issuer()
        self.port = int(urlsplit(self.issuer).port or 0)

    def _wait_for_issuer(self) -> str:
        assert self.proc.stdout is not None
        found: list[str] = []
        reader = threading.Thread(
            target=lambda: found.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(STARTUP_SECONDS)
        match = re.match(r"listening on (http://127\.0\.0\.1:\d+)", found[0] if found else "")
        if match is None:
            self.stop()
            raise AssertionError(f"oidc-provider did not start: {found!r}")
        return match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> OidcProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def person(
    *,
    login: str = "alice",
    approve: bool = True,
    rewrite_callback: Callable[[str], str] | None = None,
    rewrite_authorize: Callable[[str], str] | None = None,
) -> Callable[[str], str]:
    """Someone who signs in as ``login`` and approves (or cancels) at the provider's pages.

    Returns what the CLI's loopback receiver answered. ``rewrite_authorize`` changes the URL the
    CLI showed before it reaches the provider, ``rewrite_callback`` the provider's redirect
    before it reaches the CLI: a tampering party on either side of the browser.
    """

    def act(url: str) -> str:
        # The authorize URL names the CLI's loopback receiver: where this person stops.
        receiver = httpx.URL(httpx.QueryParams(urlsplit(url).query)["redirect_uri"])
        with httpx.Client(timeout=30) as http:
            response = http.get(rewrite_authorize(url) if rewrite_authorize else url)
            for _ in range(20):
                if response.is_redirect:
                    target = urljoin(str(response.url), response.headers["location"])
                    if _same_endpoint(httpx.URL(target), receiver):
                        if rewrite_callback is not None:
                            target = rewrite_callback(target)
                        return http.get(target).text
                    response = http.get(target)
                    continue
                response = _answer(http, response, login=login, approve=approve)
            raise AssertionError(f"never came back to the CLI; last page:\n{response.text}")

    return act


def device_person(*, login: str = "alice", approve: bool = True) -> Callable[[str], str]:
    """Someone who opens the device URL the CLI showed (the user code in it) in a browser
    elsewhere, confirms the code, signs in and approves (or cancels) at the provider's pages.

    Returns the text of the provider's closing page ("Sign-in Success", or why not).
    """

    def act(url: str) -> str:
        with httpx.Client(timeout=30) as http:
            response = http.get(url)
            for _ in range(20):
                if response.is_redirect:
                    response = http.get(urljoin(str(response.url), response.headers["location"]))
                elif 'name="prompt"' in response.text:
                    response = _answer(http, response, login=login, approve=approve)
                elif 'type="hidden" name="user_code"' in response.text:
                    response = _submit_device_form(http, response)
                else:
                    return response.text  # the device flow's own end page
            raise AssertionError(f"the device pages never ended; last page:\n{response.text}")

    return act


def _submit_device_form(http: httpx.Client, page: httpx.Response) -> httpx.Response:
    """Send the device page's form as its Continue button does: the user code carried in the
    URL, then its confirmation (the fields are hidden: the code came in the URL)."""
    assert page.status_code == 200, f"HTTP {page.status_code}: {page.text[:500]}"
    form = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert form is not None, page.text[:1000]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return http.post(urljoin(str(page.url), unescape(form.group(1))), data=hidden)


def _same_endpoint(url: httpx.URL, callback: httpx.URL) -> bool:
    return (url.host, url.port, url.path) == (callback.host, callback.port, callback.path)


def _answer(
    http: httpx.Client, page: httpx.Response, *, login: str, approve: bool
) -> httpx.Response:
    """Fill in the provider's page: its login form, or its consent form (or Cancel)."""
    assert page.status_code == 200, f"HTTP {page.status_code}: {page.text[:500]}"
    form = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    prompt = re.search(r'name="prompt" value="([^"]+)"', page.text)
    assert form is not None, page.text[:1000]
    assert prompt is not None, page.text[:1000]
    action = urljoin(str(page.url), unescape(form.group(1)))
    if prompt.group(1) == "login":
        return http.post(action, data={"prompt": "login", "login": login, "password": "any"})
    if not approve:
        cancel = re.search(r'<a href="([^"]+/abort)"', page.text)
        assert cancel is not None, page.text[:1000]
        return http.get(urljoin(str(page.url), unescape(cancel.group(1))))
    return http.post(action, data={"prompt": "consent"})
