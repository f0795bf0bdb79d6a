"""``status`` and ``apps list``: what is saved, what the provider has; exit 4 without a login."""

from __future__ import annotations

import json
import webbrowser
from pathlib import Path

import pytest

from authfunnel.cli.devserver import DevServer
from tests.cli.auth.conftest import Recorder
from tests.cli.auth.support import Browser, autopilot, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def logged_in(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> dict[str, str]:
    monkeypatch.setattr(webbrowser, "open", Browser(autopilot()).open)
    assert run_cli(env_vars, "login").status == 0
    recorder.clear()
    return env_vars


@pytest.mark.parametrize("command", [["status"], ["apps", "list"]])
def test_without_a_login_read_commands_exit_4_with_a_hint(
    env_vars: dict[str, str], command: list[str]
) -> None:
    result = run_cli(env_vars, *command)

    assert result.status == 4
    assert "you are not logged in" in result.err
    assert "hint: run 'authfunnel login'" in result.err


def test_status_json_says_not_logged_in(env_vars: dict[str, str]) -> None:
    result = run_cli(env_vars, "status", "--json")

    assert result.status == 4
    assert json.loads(result.out) == {"logged_in": False}


def test_status_shows_user_app_token_store_and_expiry(logged_in: dict[str, str]) -> None:
    result = run_cli(logged_in, "status")

    assert result.status == 0
    assert "Logged in as demo@example.com (Demo User)" in result.out
    assert "app:      demo-app" in result.out
    assert "token.json, valid, expires 20" in result.out


def test_status_json_is_machine_readable(logged_in: dict[str, str]) -> None:
    report = json.loads(run_cli(logged_in, "status", "--json").out)

    assert report["logged_in"] is True
    assert report["email"] == "demo@example.com"
    assert report["app"]["name"] == "demo-app"
    assert report["token_store"] == "file"
    assert report["expired"] is False


def test_apps_list_marks_the_current_app(logged_in: dict[str, str], provider: DevServer) -> None:
    user = provider.store.user_by_email("demo@example.com")
    assert user is not None
    provider.store.create_app(user.id, "zeta")

    result = run_cli(logged_in, "apps", "list")

    assert result.status == 0
    lines = [line.split() for line in result.out.splitlines() if "app_" in line]
    assert [(line[0], line[1]) for line in lines] == [("*", "demo-app"), ("zeta", lines[1][1])]


@pytest.mark.parametrize("name", ["[/]", "[bold red]loud[/bold red]", "clear\x1b[2J"])
def test_apps_list_shows_app_names_as_text_not_markup_or_escapes(
    logged_in: dict[str, str], provider: DevServer, name: str
) -> None:
    user = provider.store.user_by_email("demo@example.com")
    assert user is not None
    provider.store.create_app(user.id, name)

    result = run_cli(logged_in, "apps", "list")

    assert result.status == 0, result.err
    assert name.replace("\x1b", " ") in result.out
    assert "\x1b" not in result.out


def test_apps_list_json_with_no_color_and_no_spinner(logged_in: dict[str, str]) -> None:
    result = run_cli(logged_in, "apps", "list", "--json")

    assert result.status == 0
    (app,) = json.loads(result.out)
    assert (app["name"], app["current"]) == ("demo-app", True)
    assert "\x1b" not in result.out + result.err


def test_apps_list_renews_a_token_the_provider_ended_early(
    logged_in: dict[str, str], recorder: Recorder, provider: DevServer, home: Path
) -> None:
    token = json.loads((home / "config" / "token.json").read_text())
    provider.store.expire(token["access_token"])

    result = run_cli(logged_in, "apps", "list", "--json")

    assert result.status == 0, result.err
    assert recorder.funnel_events() == []
    assert (
        json.loads((home / "config" / "token.json").read_text())["access_token"]
        != (token["access_token"])
    )


def test_declining_consent_at_a_silent_re_login_is_a_clear_error_not_a_crash(
    logged_in: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    recorder: Recorder,
    provider: DevServer,
    home: Path,
) -> None:
    token = json.loads((home / "config" / "token.json").read_text())
    provider.store.revoke(token["access_token"])  # neither the token nor its refresh works
    browser = Browser(autopilot(approve=False))
    monkeypatch.setattr(webbrowser, "open", browser.open)

    result = run_cli(logged_in, "apps", "list", "--json")
    browser.join()

    assert result.status == 1
    assert "you declined access in the browser" in result.err
    assert "internal error" not in result.err
    assert result.out == ""
    assert recorder.funnel_events() == []
