"""The dev provider: a real OAuth 2.0 server with PKCE, rotation, revocation and an apps API."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authfunnel.cli.devserver import CLIENT_ID, DEMO_EMAIL, DEMO_PASSWORD, DevServer

pytestmark = pytest.mark.slow
REDIRECT = "http://127.0.0.1:49152/callback"


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


def authorize_url(server: DevServer, verifier: str | None, **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "profile email apps",
        "state": "s1",
        **extra,
    }
    if verifier is not None:
        digest = hashlib.sha256(verifier.encode()).digest()
        query["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        query["code_challenge_method"] = "S256"
    return f"{server.base_url}/authorize?{urlencode(query)}"


def csrf_token(page: httpx.Response) -> str:
    """The form's CSRF token, as a browser would send it back."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def signed_in(browser: httpx.Client, url: str) -> httpx.Response:
    """Sign the demo user in at ``url`` with ``browser``; the consent page it then shows."""
    signin = {"action": "signin", "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    token = csrf_token(browser.get(url))
    assert browser.post(url, data={**signin, "csrf_token": token}).status_code == 303
    return browser.get(url)


def consent(server: DevServer, url: str, decision: str = "approve") -> dict[str, list[str]]:
    with httpx.Client() as browser:
        token = csrf_token(signed_in(browser, url))
        answer = browser.post(url, data={"action": decision, "csrf_token": token})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.netloc == "127.0.0.1:49152"
    return parse_qs(location.query)


def tokens(server: DevServer) -> dict[str, str]:
    verifier = secrets.token_urlsafe(48)
    code = consent(server, authorize_url(server, verifier))["code"][0]
    response = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_base_url_serves_its_metadata(server: DevServer) -> None:
    metadata = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server").json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint"] == f"{server.base_url}/token"


def test_consent_without_the_sessions_csrf_token_is_refused(server: DevServer) -> None:
    url = authorize_url(server, "v" * 50)
    with httpx.Client() as other:
        foreign_token = csrf_token(other.get(url))  # valid, but for another session
    with httpx.Client() as browser:
        signed_in(browser, url)
        answers = [
            browser.post(url, data={"action": "approve"}),
            browser.post(url, data={"action": "approve", "csrf_token": "forged"}),
            browser.post(url, data={"action": "approve", "csrf_token": foreign_token}),
        ]

    for answer in answers:
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "reload the page" in answer.text


def test_sign_in_without_a_csrf_token_is_refused_and_signs_nobody_in(server: DevServer) -> None:
    url = authorize_url(server, "v" * 50)
    signin = {"action": "signin", "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    with httpx.Client() as browser:
        browser.get(url)
        refused = browser.post(url, data=signin)
        after = browser.get(url)

    assert refused.status_code == 400
    assert 'id="approve"' not in after.text
    assert 'id="signin"' in after.text


def test_pages_refuse_framing_and_foreign_content_and_the_cookie_stays_same_site(
    server: DevServer,
) -> None:
    page = httpx.get(authorize_url(server, "v" * 50))

    assert page.headers["x-frame-options"] == "DENY"
    policy = [part.strip() for part in page.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert "<style" not in page.text  # inline styles would be blocked: served as a file
    stylesheet = httpx.get(f"{server.base_url}/style.css")
    assert stylesheet.headers["content-type"].startswith("text/css")
    cookie = page.headers["set-cookie"].lower()
    assert "samesite=lax" in cookie
    assert "httponly" in cookie


def test_the_host_header_never_reaches_the_issuer_or_the_endpoints(server: DevServer) -> None:
    forged = {"Host": "evil.example:80"}
    metadata = httpx.get(
        f"{server.base_url}/.well-known/oauth-authorization-server", headers=forged
    ).json()
    index = httpx.get(f"{server.base_url}/", headers=forged).text

    urls = [value for value in metadata.values() if isinstance(value, str)]
    assert metadata["issuer"] == server.base_url
    assert all(url.startswith(server.base_url) for url in urls)
    assert "evil.example" not in index
    assert f"{server.base_url}/token" in index


def test_an_authorization_request_without_pkce_is_refused(server: DevServer) -> None:
    response = httpx.get(authorize_url(server, verifier=None))
    assert response.status_code == 400
    assert "PKCE is required" in response.text


def test_a_non_loopback_redirect_is_refused(server: DevServer) -> None:
    url = authorize_url(server, "v" * 50).replace("127.0.0.1%3A49152", "evil.example%3A80")
    assert httpx.get(url).status_code == 400


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:99999/callback",
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:49152\\@evil.example/callback",
        "http://127.0.0.1\\evil.example/callback",
        "http://127.0.0.1:49152/call\\back",
        "http://[::1/callback",
        "http://user@127.0.0.1:49152/callback",
        "http://127.0.0.1:49152/call back",
        "http://127.0.0.1:49152/callback\t",
        "http://127.0.0.1:49152/\x00",
        "http://127.0.0.1:49152\r\nSet-Cookie: a=b/callback",
        "http://127.0.0.1:49152/caf\u00e9",
        "http://127.0.0.1:49152/%zz",
        "http://127.0.0.1:49152/callback#fragment",
        "https://127.0.0.1:49152/callback",
        "//127.0.0.1:49152/callback",
        "http:///callback",
    ],
)
def test_a_malformed_redirect_uri_is_an_invalid_request_with_a_message_not_a_crash(
    server: DevServer, redirect_uri: str
) -> None:
    response = httpx.get(authorize_url(server, "v" * 50, redirect_uri=redirect_uri))

    assert response.status_code == 400
    assert "invalid_request" in response.text
    assert "redirect_uri must be a loopback address" in response.text


@settings(max_examples=40, deadline=None)
@given(
    redirect_uri=st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=20).map(
            lambda tail: "http://127.0.0.1:49152" + tail
        ),
    )
)
def test_no_redirect_uri_crashes_the_authorization_endpoint(
    server: DevServer, redirect_uri: str
) -> None:
    response = httpx.get(authorize_url(server, "v" * 50, redirect_uri=redirect_uri))
    assert response.status_code in (200, 400)


def test_a_response_type_with_a_backslash_is_refused_not_a_crash(server: DevServer) -> None:
    response = httpx.get(authorize_url(server, "v" * 50, response_type="code\\x"))

    assert response.status_code == 400
    assert "unsupported_response_type" in response.text


def test_the_loopback_redirects_rfc_8252_allows_are_accepted(server: DevServer) -> None:
    for redirect_uri in ("http://127.0.0.1:1/callback", "http://[::1]:65535/cb?x=1"):
        response = httpx.get(authorize_url(server, "v" * 50, redirect_uri=redirect_uri))
        assert response.status_code == 200, redirect_uri


def test_sign_up_screen_is_shown_for_prompt_create(server: DevServer) -> None:
    page = httpx.get(authorize_url(server, "v" * 50, prompt="create"))
    assert "Create your account" in page.text


def sign_up(server: DevServer, email: str, password: str) -> tuple[int, str, str]:
    """Sign up at a fresh session: the answer's status, where it leads, and that page."""
    url = authorize_url(server, "v" * 50, prompt="create")
    form = {"action": "signup", "name": "Someone", "email": email, "password": password}
    with httpx.Client() as browser:
        token = csrf_token(browser.get(url))
        answer = browser.post(url, data={**form, "csrf_token": token})
        location = answer.headers.get("location", "")
        shown = browser.get(f"{server.base_url}{location}").text if location else answer.text
    # What differs by nature: the email typed and the session's token.
    shown = re.sub(r'name="csrf_token" value="[^"]+"', "TOKEN", shown.replace(email, "EMAIL"))
    return answer.status_code, location, shown


def test_sign_up_answers_the_same_for_a_new_and_an_existing_email(server: DevServer) -> None:
    new = sign_up(server, f"new-{secrets.token_hex(4)}@example.com", "new-password-1")
    existing = sign_up(server, DEMO_EMAIL, "attacker-password")

    assert new == existing
    assert new[0] == 303
    assert "EMAIL" in new[2]
    assert 'id="signin"' in new[2]  # signed nobody in: the person signs in to go on
    assert server.store.authenticate(DEMO_EMAIL, DEMO_PASSWORD) is not None
    assert server.store.authenticate(DEMO_EMAIL, "attacker-password") is None


def test_a_new_account_signs_in_after_sign_up(server: DevServer) -> None:
    email = f"new-{secrets.token_hex(4)}@example.com"
    sign_up(server, email, "new-password-1")

    created = server.store.authenticate(email, "new-password-1")

    assert created is not None
    assert created.name == "Someone"


def test_deny_redirects_with_access_denied_and_the_state(server: DevServer) -> None:
    answer = consent(server, authorize_url(server, "v" * 50), decision="deny")
    assert answer["error"] == ["access_denied"]
    assert answer["state"] == ["s1"]


def test_code_exchange_needs_the_right_verifier(server: DevServer) -> None:
    code = consent(server, authorize_url(server, secrets.token_urlsafe(48)))["code"][0]
    response = httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID,
            "code_verifier": secrets.token_urlsafe(48),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def racing_token_requests(
    server: DevServer, monkeypatch: pytest.MonkeyPatch, data: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    """Two token requests with ``data``, the second sent while the first is half done."""
    # Hold the first request between finding its grant and finishing, as a slow one would be.
    first_inside, second_done = threading.Event(), threading.Event()
    save_token = server.store.save_token

    def slow_save(*args: Any) -> None:
        if not first_inside.is_set():
            first_inside.set()
            second_done.wait(timeout=30)
        save_token(*args)

    monkeypatch.setattr(server.store, "save_token", slow_save)
    answers: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(httpx.post(f"{server.base_url}/token", data=data))
    )
    first.start()
    assert first_inside.wait(timeout=30)
    second = httpx.post(f"{server.base_url}/token", data=data)
    second_done.set()
    first.join(timeout=30)
    return answers[0], second


def test_a_code_is_redeemed_once_even_by_two_exchanges_racing(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = consent(server, authorize_url(server, verifier))["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "code_verifier": verifier,
    }

    first, second = racing_token_requests(server, monkeypatch, exchange)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_a_refresh_token_is_used_once_even_by_two_refreshes_racing(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = tokens(server)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": pair["refresh_token"],
        "client_id": CLIENT_ID,
    }

    first, second = racing_token_requests(server, monkeypatch, refresh)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_userinfo_and_apps_need_a_valid_bearer_token(server: DevServer) -> None:
    access = tokens(server)["access_token"]
    assert httpx.get(f"{server.base_url}/userinfo", headers=bearer(access)).json()["email"] == (
        DEMO_EMAIL
    )
    apps = httpx.get(f"{server.base_url}/api/apps", headers=bearer(access)).json()["apps"]
    assert [app["name"] for app in apps][:1] == ["demo-app"]
    assert httpx.get(f"{server.base_url}/api/apps", headers=bearer("nope")).status_code == 401


def test_apps_are_created_per_user_and_names_are_unique(server: DevServer) -> None:
    access = tokens(server)["access_token"]
    url = f"{server.base_url}/api/apps"
    created = httpx.post(url, json={"name": "ledger"}, headers=bearer(access))
    assert created.status_code == 201
    assert httpx.post(url, json={"name": "ledger"}, headers=bearer(access)).status_code == 409
    assert httpx.post(url, json={"name": ""}, headers=bearer(access)).status_code == 400
    other = server.store.create_user("other@example.com", "Other", "password-1")
    assert server.store.apps(other.id) == []


def test_refresh_rotates_both_tokens_and_retires_the_old_pair(server: DevServer) -> None:
    first = tokens(server)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": CLIENT_ID,
    }
    second = httpx.post(f"{server.base_url}/token", data=refresh).json()
    assert second["refresh_token"] != first["refresh_token"]
    apps = f"{server.base_url}/api/apps"
    assert httpx.get(apps, headers=bearer(first["access_token"])).status_code == 401
    assert httpx.get(apps, headers=bearer(second["access_token"])).status_code == 200
    # The old refresh token is refused (and its replay ends the family: see the next test).
    assert httpx.post(f"{server.base_url}/token", data=refresh).status_code == 400


def refreshed(server: DevServer, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
        },
    )


def test_a_replayed_refresh_token_revokes_its_whole_family_and_no_other(server: DevServer) -> None:
    first, other_login = tokens(server), tokens(server)
    second = refreshed(server, first["refresh_token"]).json()

    replay = refreshed(server, first["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # Stolen or not, the family is over (RFC 6819 5.2.2.3): its current pair stops working too.
    assert refreshed(server, second["refresh_token"]).status_code == 400
    apps = f"{server.base_url}/api/apps"
    assert httpx.get(apps, headers=bearer(second["access_token"])).status_code == 401
    assert httpx.get(apps, headers=bearer(other_login["access_token"])).status_code == 200
    assert refreshed(server, other_login["refresh_token"]).status_code == 200


def test_revocation_ends_the_token(server: DevServer) -> None:
    pair = tokens(server)
    revoked = httpx.post(
        f"{server.base_url}/revoke",
        data={"token": pair["refresh_token"], "client_id": CLIENT_ID},
    )
    assert revoked.status_code == 200
    apps = f"{server.base_url}/api/apps"
    assert httpx.get(apps, headers=bearer(pair["access_token"])).status_code == 401
