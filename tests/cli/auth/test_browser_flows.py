"""The login, signup and logout funnels end to end, with a person in headless Chromium."""

from __future__ import annotations

import json
import webbrowser
from pathlib import Path

import httpx
import pytest

from authfunnel import fsm
from authfunnel.cli.devserver import DevServer
from tests.cli.auth.conftest import Recorder, require_chromium
from tests.cli.auth.support import (
    Browser,
    assert_declined_at_browser_wait,
    autopilot,
    chromium,
    run_cli,
)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


def browse(monkeypatch: pytest.MonkeyPatch, **person: object) -> Browser:
    browser = Browser(chromium(**person))  # type: ignore[arg-type]
    monkeypatch.setattr(webbrowser, "open", browser.open)
    return browser


def test_denying_consent_aborts_at_browser_wait_with_reason_declined(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    home: Path,
) -> None:
    browser = browse(monkeypatch, approve=False)

    result = run_cli(env_vars, "login")

    browser.join()
    assert_declined_at_browser_wait(result, recorder, home)


def test_signup_creates_the_account_and_a_first_app(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    provider: DevServer,
    home: Path,
) -> None:
    browser = browse(
        monkeypatch, signup_name="Ada", email="ada@example.com", password="correct-horse"
    )

    result = run_cli(env_vars, "signup", stdin="analytical-engine\n")

    browser.join()
    assert result.status == 0, result.err
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert {e.properties["flow"] for e in recorder.funnel_events()} == {"signup"}
    user = provider.store.user_by_email("ada@example.com")
    assert user is not None
    assert [app.name for app in provider.store.apps(user.id)] == ["analytical-engine"]
    profile = json.loads((home / "config" / "profile.json").read_text())
    assert (profile["email"], profile["app_name"]) == ("ada@example.com", "analytical-engine")
    assert "prompt=create" in browser.urls[0]


def test_a_tampered_state_is_ignored_and_the_real_login_then_completes(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    home: Path,
) -> None:
    pages: list[str] = []
    tampered = chromium(tamper_state=True)

    def forged_then_real(url: str) -> None:
        pages.append(tampered(url))
        autopilot()(url)  # the person's own attempt, still awaited

    browser = Browser(forged_then_real)
    monkeypatch.setattr(webbrowser, "open", browser.open)

    result = run_cli(env_vars, "login")

    browser.join()
    assert result.status == 0, result.err
    assert "Request ignored" in pages[0]
    assert "was ignored" in pages[0]
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert (home / "config" / "profile.json").exists()


class CredentialWitness(Recorder):
    """Notes, at each event, whether the login was still saved: logout must report first."""

    def __init__(self, profile: Path) -> None:
        super().__init__()
        self.profile = profile
        self.saved_at_event: list[bool] = []

    def track(self, event: fsm.Event) -> None:
        self.saved_at_event.append(self.profile.exists())
        super().track(event)


def test_logout_reports_first_then_clears_then_revokes(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    provider: DevServer,
    home: Path,
) -> None:
    browser = browse(monkeypatch)
    assert run_cli(env_vars, "login").status == 0
    browser.join()
    token = json.loads((home / "config" / "token.json").read_text())
    witness = CredentialWitness(home / "config" / "profile.json")

    result = run_cli(env_vars, "logout", telemetry=witness)

    assert result.status == 0
    assert "Logged out." in result.out
    assert witness.names() == [fsm.COMMAND_INVOKED, fsm.AUTH_LOGOUT, fsm.COMMAND_COMPLETED]
    assert witness.saved_at_event[:2] == [True, True]  # Logout went out before the clearing
    assert not (home / "config" / "profile.json").exists()
    assert not (home / "config" / "token.json").exists()
    apps = httpx.get(
        f"{provider.base_url}/api/apps",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert apps.status_code == 401
    assert run_cli(env_vars, "status").status == 4
