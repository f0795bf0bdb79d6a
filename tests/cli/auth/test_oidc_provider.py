"""Logging in against a real third-party OpenID provider (oidc-provider 8, certified), by issuer.

The provider runs in Node on 127.0.0.1 (``oidc_provider.OidcProvider``); a person signs in at its
own pages over real HTTP (``oidc_provider.person``); the CLI runs in this process, its browser
replaced by that person. Tampering happens where an attacker would: on the redirect (a forged
``iss``), on the authorize URL (another ``nonce``), or at the provider (a new signing key).
"""

from __future__ import annotations

import io
import json
import re
import socket
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.auth import AuthContext, require_login
from authfunnel.fsm.testing import assert_valid
from tests.cli.auth.conftest import Recorder
from tests.cli.auth.oidc_provider import OidcProvider, person
from tests.cli.auth.support import Browser, FaultyEndpoint, Result, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def oidc() -> Iterator[OidcProvider]:
    with OidcProvider() as provider:
        yield provider


def variables(home: Path, issuer: str) -> dict[str, str]:
    return {
        "AUTHFUNNEL_HOME": str(home),
        "AUTHFUNNEL_ISSUER": issuer,
        "DISPLAY": ":99",
        "NO_COLOR": "1",
        "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
    }


def browse(monkeypatch: pytest.MonkeyPatch, **behaviour: object) -> Browser:
    browser = Browser(person(**behaviour))  # type: ignore[arg-type]
    monkeypatch.setattr(webbrowser, "open", browser.open)
    return browser


def failed_at(recorder: Recorder) -> tuple[str, str]:
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]
    failed = recorder.funnel_events()[-1]
    assert_valid(failed)
    return str(failed.properties["step"]), str(failed.properties["error_class"])


def test_login_by_issuer_discovers_the_provider_and_verifies_its_id_token(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    browser = browse(monkeypatch)

    result = run_cli(variables(home, oidc.issuer), "login")

    browser.join()
    assert result.status == 0, result.err
    # The provider has no apps API: the login completes without the app steps, and says so.
    assert "Logged in as alice@example.com." in result.out
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert [step for flow, step in recorder.steps if flow == "login"] == [
        "browser_wait",
        "code_exchange",
        "profile_configure",
    ]
    completed = recorder.funnel_events()[-1]
    assert_valid(completed)
    assert completed.properties["skipped"] is True
    query = browser.urls[0]
    assert query.startswith(f"{oidc.issuer}/auth?")  # its endpoint, not the dev layout's
    assert "scope=openid+profile+email+offline_access" in query
    assert "prompt=consent" in query
    assert "nonce=" in query
    profile = json.loads((home / "config" / "profile.json").read_text())
    assert (profile["provider"], profile["user_id"]) == (oidc.issuer, "alice")
    assert (profile["app_id"], profile["app_name"]) == ("", "")
    status = run_cli(variables(home, oidc.issuer), "status")
    assert "app:      none (the provider has no apps API)" in status.out
    token = json.loads((home / "config" / "token.json").read_text())
    assert token["refresh_token"]  # offline_access was granted: consent was asked
    cached = json.loads(next((home / "state" / "providers").glob("*.json")).read_text())
    assert cached["issuer"] == oidc.issuer
    assert cached["discovery"]["document"]["issuer"] == oidc.issuer
    assert time.time() - cached["discovery"]["fetched_at"] < 3600
    assert cached["jwks"]["uri"] == f"{oidc.issuer}/jwks"


def test_choosing_an_app_where_the_provider_has_no_apps_api_is_refused_before_the_browser(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    browser = browse(monkeypatch)

    result = run_cli(variables(home, oidc.issuer), "login", "--app", "mine")

    assert result.status == 2
    assert "--app 'mine': the provider has no apps API" in result.err
    assert "log in without --app" in result.err
    assert browser.urls == []
    assert recorder.funnel_names() == []  # no login attempt counted


def test_signup_where_the_provider_offers_none_says_so_before_any_browser(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    browser = browse(monkeypatch)

    result = run_cli(variables(home, oidc.issuer), "signup")

    assert result.status == 1
    assert f"the provider at {oidc.issuer} offers no signup" in result.err
    assert "registration_url" in result.err
    assert browser.urls == []
    assert recorder.funnel_names() == []  # no signup was possible: none is counted


def test_signup_goes_through_a_configured_registration_url_and_never_sends_prompt_create(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    registration = f"{oidc.issuer}/where-accounts-are-made"
    act = person()
    browser = Browser(lambda url: None if url == registration else act(url))
    monkeypatch.setattr(webbrowser, "open", browser.open)
    settings = {**variables(home, oidc.issuer), "AUTHFUNNEL_REGISTRATION_URL": registration}

    result = run_cli(settings, "signup")

    browser.join()
    assert result.status == 0, result.err
    assert browser.urls[0] == registration  # the registration page first, then the sign-in
    assert "prompt=create" not in browser.urls[1]
    assert "Once your account exists, sign in with it" in result.out
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert recorder.funnel_events()[0].properties["flow"] == "signup"


def test_cancelling_at_the_provider_aborts_at_browser_wait_declined(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    browser = browse(monkeypatch, approve=False)

    result = run_cli(variables(home, oidc.issuer), "login")

    browser.join()
    assert result.status == 1
    assert "you declined access in the browser" in result.err
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_ABORTED]
    aborted = recorder.funnel_events()[-1]
    assert (aborted.properties["step"], aborted.properties["reason"]) == (
        "browser_wait",
        "declined",
    )
    assert not (home / "config" / "profile.json").exists()


@pytest.mark.parametrize(
    ("forge", "said"),
    [
        (
            lambda url: re.sub(r"iss=[^&]+", "iss=https%3A%2F%2Fevil.example", url),
            "the redirect names the issuer 'https://evil.example'",
        ),
        (
            lambda url: re.sub(r"&?iss=[^&]+", "", url),
            "promises an 'iss' on its redirect, and this one has none",
        ),
    ],
    ids=["another-issuer", "no-issuer"],
)
def test_a_redirect_with_a_forged_iss_fails_the_login_at_browser_wait(
    monkeypatch: pytest.MonkeyPatch,
    oidc: OidcProvider,
    recorder: Recorder,
    home: Path,
    forge: object,
    said: str,
) -> None:
    pages: list[str] = []
    act = person(rewrite_callback=forge)  # type: ignore[arg-type]
    browser = Browser(lambda url: pages.append(act(url)))
    monkeypatch.setattr(webbrowser, "open", browser.open)

    result = run_cli(variables(home, oidc.issuer), "login")

    browser.join()
    assert result.status == 1
    assert said in result.err
    assert "Login failed" in pages[0]
    assert failed_at(recorder) == ("browser_wait", "authfunnel.IssuerMismatch")
    assert not (home / "config" / "profile.json").exists()


def test_an_id_token_for_another_nonce_fails_the_login_at_code_exchange(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    # The URL the CLI showed is altered on its way to the provider: the ID token that comes
    # back is genuine, signed and addressed to this client, but for another login attempt.
    browse(monkeypatch, rewrite_authorize=lambda url: re.sub(r"nonce=[^&]+", "nonce=other", url))

    result = run_cli(variables(home, oidc.issuer), "login")

    assert result.status == 1
    assert "nonce other than the one this login sent" in result.err
    assert failed_at(recorder) == ("code_exchange", "authfunnel.IdTokenNonceMismatch")
    assert not (home / "config" / "profile.json").exists()


def log_in_across_a_restart(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder, home: Path, kids: tuple[str, str]
) -> Result:
    """Alice logs in; the provider restarts on its port with a new key (id ``kids[1]``), whose
    JWKS the CLI has not fetched; then Bob logs in. Bob's result, with his events alone."""
    with OidcProvider(kid=kids[0]) as first:
        browse(monkeypatch)
        assert run_cli(variables(home, first.issuer), "login").status == 0
        port = first.port
    recorder.clear()
    with OidcProvider(port, kid=kids[1]) as second:
        browse(monkeypatch, login="bob")
        return run_cli(variables(home, second.issuer), "login")


def test_a_provider_restarted_with_a_new_key_id_is_verified_after_one_jwks_refetch(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder, home: Path
) -> None:
    result = log_in_across_a_restart(monkeypatch, recorder, home, ("first", "second"))

    assert result.status == 0, result.err
    assert "Logged in as bob@example.com" in result.out
    cached = json.loads(next((home / "state" / "providers").glob("*.json")).read_text())
    assert [key["kid"] for key in cached["jwks"]["keys"]["keys"]] == ["second"]


def test_an_id_token_signed_by_another_key_under_a_known_key_id_fails_at_code_exchange(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder, home: Path
) -> None:
    # Same key id, another key: the CLI holds the first key under that id.
    result = log_in_across_a_restart(monkeypatch, recorder, home, ("same", "same"))

    assert result.status == 1
    assert "signature does not match the provider's key 'same'" in result.err
    assert failed_at(recorder) == ("code_exchange", "authfunnel.IdTokenSignatureInvalid")
    profile = json.loads((home / "config" / "profile.json").read_text())
    assert profile["user_id"] == "alice"  # the earlier login stays as it was


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_issuer_fails_in_seconds_before_any_browser_opens(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder, home: Path
) -> None:
    browser = browse(monkeypatch)
    issuer = f"http://127.0.0.1:{free_port()}"

    result = run_cli(variables(home, issuer), "login")

    assert result.status == 1
    assert f"cannot reach the provider at {issuer}/.well-known/openid-configuration" in result.err
    assert "connection failed" in result.err
    assert browser.urls == []
    # Like a provider missing from the config, a wrong one is found before the funnel starts:
    # the command reports it, and no login attempt is counted.
    assert recorder.funnel_names() == []
    completed = recorder.events[-1]
    assert completed.name == fsm.COMMAND_COMPLETED
    assert completed.properties["error_class"] == "authfunnel.ProviderUnreachable"


def expire_saved_token(home: Path) -> dict[str, object]:
    token_file = home / "config" / "token.json"
    token: dict[str, object] = json.loads(token_file.read_text())
    token_file.write_text(json.dumps({**token, "expires_at": time.time() - 60}))
    return token


def renewed_login(settings: dict[str, str], telemetry: Recorder) -> tuple[str, str]:
    """What a command that needs a login gets (``require_login``), run in this process as a
    command would: the access token, and what it said on stderr. (The provider has no apps
    API, so ``apps list``, the one such command, cannot run against it.)"""
    err = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=err, variables=settings)
    ctx = AuthContext.create(env, telemetry, on_stderr=True)
    _, token = require_login(ctx)
    return token.access_token, err.getvalue()


def refresh(oidc: OidcProvider, refresh_token: object) -> httpx.Response:
    """The provider's answer to ``refresh_token``, presented as the CLI would."""
    return httpx.post(
        f"{oidc.issuer}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": str(refresh_token),
            "client_id": "authfunnel-cli",
        },
    )


def test_an_expired_token_is_refreshed_and_the_refresh_token_rotates(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    browser = browse(monkeypatch)
    assert run_cli(variables(home, oidc.issuer), "login").status == 0
    before = expire_saved_token(home)
    recorder.clear()

    access_token, said = renewed_login(variables(home, oidc.issuer), recorder)

    assert said == ""
    assert len(browser.urls) == 1  # renewed silently: no second browser login
    assert recorder.funnel_names() == []
    after = json.loads((home / "config" / "token.json").read_text())
    assert after["access_token"] == access_token != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated on use
    assert refresh(oidc, before["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_refresh_sends_no_scope_so_a_scope_strict_provider_accepts_it(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    # Scopes as configured for the dev provider, 'apps' among them: this provider grants only
    # those it knows, and refuses a refresh that asks for more (invalid_scope).
    settings = {
        **variables(home, oidc.issuer),
        "AUTHFUNNEL_SCOPES": "openid profile email offline_access apps",
    }
    browser = browse(monkeypatch)
    assert run_cli(settings, "login").status == 0, "login"
    before = expire_saved_token(home)
    recorder.clear()

    access_token, said = renewed_login(settings, recorder)

    assert said == ""  # refreshed: nothing to tell, no browser
    assert len(browser.urls) == 1
    assert access_token != before["access_token"]
    assert recorder.funnel_names() == []


def test_a_refused_refresh_says_why_before_the_browser_opens_and_counts_no_login(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    said_when_opened: list[str] = []
    err = io.StringIO()
    browser = Browser(person())

    def open_and_note(url: str) -> bool:
        said_when_opened.append(err.getvalue())  # what the person had read by then
        return browser.open(url)

    monkeypatch.setattr(webbrowser, "open", browser.open)
    assert run_cli(variables(home, oidc.issuer), "login").status == 0
    stale = expire_saved_token(home)
    # The refresh token is used up elsewhere (rotation): the one saved here is now refused.
    assert refresh(oidc, stale["refresh_token"]).status_code == 200
    recorder.clear()
    monkeypatch.setattr(webbrowser, "open", open_and_note)
    env = Environment(stdout=io.StringIO(), stderr=err, variables=variables(home, oidc.issuer))

    _, token = require_login(AuthContext.create(env, recorder, on_stderr=True))

    browser.join()
    assert len(browser.urls) == 2  # the second login, in the browser
    said = " ".join(said_when_opened[0].split())
    assert "Your session has expired, and the provider refused to renew it" in said
    assert "invalid_grant" in said
    assert token.access_token != stale["access_token"]
    # The re-login belongs to the command that needed it: no login funnel is recorded.
    assert recorder.funnel_names() == []


def test_logout_revokes_the_login_at_the_provider(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    browse(monkeypatch)
    assert run_cli(variables(home, oidc.issuer), "login").status == 0
    token = json.loads((home / "config" / "token.json").read_text())
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{oidc.issuer}/me", headers=bearer).status_code == 200

    result = run_cli(variables(home, oidc.issuer), "logout")

    assert result.status == 0, result.err
    assert "provider was not told" not in result.err
    assert refresh(oidc, token["refresh_token"]).json()["error"] == "invalid_grant"
    assert httpx.get(f"{oidc.issuer}/me", headers=bearer).status_code == 401


def test_an_openid_issuer_given_as_a_dev_layout_url_fails_before_the_browser(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    # The measured mistake: the issuer set as url, so the dev provider's paths are derived.
    browser = browse(monkeypatch)
    settings = {**variables(home, oidc.issuer), "AUTHFUNNEL_PROVIDER_URL": oidc.issuer}
    del settings["AUTHFUNNEL_ISSUER"]

    result = run_cli(settings, "login")

    assert result.status == 1
    assert f"authorization endpoint {oidc.issuer}/authorize answered HTTP 404" in result.err
    assert "set issuer instead" in result.err
    assert browser.urls == []
    assert failed_at(recorder) == ("browser_wait", "authfunnel.ProviderNotFound")


def test_a_userinfo_api_describing_another_user_fails_the_login_at_profile_configure(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    browse(monkeypatch)
    elsewhere = FaultyEndpoint(200, json.dumps({"sub": "mallory", "email": "m@example.com"}))
    settings = {**variables(home, oidc.issuer), "AUTHFUNNEL_USERINFO_URL": elsewhere.url}
    try:
        result = run_cli(settings, "login")
    finally:
        elsewhere.close()

    assert result.status == 1
    assert "describes the user 'mallory', but the ID token was issued for 'alice'" in result.err
    # No apps API: the user is read at profile_configure, the app steps skipped.
    assert failed_at(recorder) == ("profile_configure", "authfunnel.UserInfoMismatch")
    assert not (home / "config" / "profile.json").exists()


def test_at_the_loopback_a_wrong_state_is_ignored_and_a_bad_code_with_the_right_one_fails(
    monkeypatch: pytest.MonkeyPatch, oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    ignored: list[int] = []

    def forge_then_spoil(url: str) -> str:
        # First a stray callback (another state, a forged iss): ignored, the login waits on.
        stray = re.sub(r"state=[^&]+", "state=stray", url).replace("iss=", "iss=x")
        ignored.append(httpx.get(stray).status_code)
        # Then the provider's own redirect, its code spoiled on the way.
        return re.sub(r"code=[^&]+", "code=spoiled", url)

    browse(monkeypatch, rewrite_callback=forge_then_spoil)

    result = run_cli(variables(home, oidc.issuer), "login")

    assert ignored == [400]
    assert result.status == 1
    assert "the token exchange was refused: invalid_grant" in result.err
    assert failed_at(recorder) == ("code_exchange", "authfunnel.TokenExchangeError")
