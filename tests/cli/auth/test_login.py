"""``authfunnel login``: a real browser login measured step by step by the LOGIN funnel."""

from __future__ import annotations

import io
import json
import re
import webbrowser
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.devserver import AutopilotError, DevServer
from authfunnel.fsm.testing import assert_valid
from tests.cli.auth.conftest import MemoryKeyring, Recorder, require_chromium
from tests.cli.auth.support import Browser, Result, autopilot, chromium, run_cli

pytestmark = pytest.mark.slow


def use_browser(monkeypatch: pytest.MonkeyPatch, browser: Browser) -> Browser:
    monkeypatch.setattr(webbrowser, "open", browser.open)
    return browser


def test_approved_login_in_chromium_emits_started_then_completed(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> None:
    require_chromium()
    browser = use_browser(monkeypatch, Browser(chromium()))

    result = run_cli(env_vars, "login")

    browser.join()
    assert result.status == 0, result.err
    assert recorder.names() == [
        fsm.COMMAND_INVOKED,
        fsm.AUTH_STARTED,
        fsm.AUTH_COMPLETED,
        fsm.COMMAND_COMPLETED,
    ]
    assert [(str(flow), step) for flow, step in recorder.steps if flow == "login"] == [
        ("login", step)
        for step in (
            "browser_wait",
            "code_exchange",
            "apps_fetch",
            "app_select",
            "profile_configure",
        )
    ]
    started = recorder.funnel_events()[0]
    assert started.properties["flow"] == "login"
    assert started.properties["no_browser"] is False
    for event in recorder.funnel_events():
        assert_valid(event)
    assert "Logged in as demo@example.com, app demo-app." in result.out


def test_login_identifies_the_user_once_known(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    provider: DevServer,
) -> None:
    use_browser(monkeypatch, Browser(autopilot()))

    assert run_cli(env_vars, "login").status == 0

    user = provider.store.user_by_email("demo@example.com")
    assert user is not None
    assert [user_id for user_id, _ in recorder.identities] == [user.id]


def test_login_without_a_keyring_writes_a_0600_token_file_and_warns(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder, home: Path
) -> None:
    use_browser(monkeypatch, Browser(autopilot()))

    result = run_cli(env_vars, "login")

    token_file = home / "config" / "token.json"
    assert result.status == 0
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert "warning: no system keyring" in result.err
    assert json.loads((home / "config" / "profile.json").read_text())["token_store"] == "file"


def test_login_with_a_keyring_keeps_the_token_out_of_files(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    home: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    use_browser(monkeypatch, Browser(autopilot()))

    result = run_cli(env_vars, "login")

    assert result.status == 0
    assert not (home / "config" / "token.json").exists()
    assert "warning" not in result.err
    (stored,) = memory_keyring.secrets.values()
    assert json.loads(stored)["access_token"]


def test_login_with_app_name_creates_that_app_when_missing(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    provider: DevServer,
) -> None:
    use_browser(monkeypatch, Browser(autopilot()))

    result = run_cli(env_vars, "login", "--app", "billing")

    user = provider.store.user_by_email("demo@example.com")
    assert user is not None
    assert result.status == 0
    assert ("login", "app_create") in recorder.steps
    assert [app.name for app in provider.store.apps(user.id)] == ["demo-app", "billing"]


def test_several_apps_are_chosen_at_a_prompt(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    provider: DevServer,
    home: Path,
) -> None:
    user = provider.store.user_by_email("demo@example.com")
    assert user is not None
    provider.store.create_app(user.id, "second")
    use_browser(monkeypatch, Browser(autopilot()))

    result = run_cli(env_vars, "login", stdin="2\n")

    assert result.status == 0, result.err
    assert "Which app do you want to use?" in result.out
    assert json.loads((home / "config" / "profile.json").read_text())["app_name"] == "second"


def test_declining_the_app_prompt_aborts_at_app_select_with_reason_prompt(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    provider: DevServer,
    home: Path,
) -> None:
    user = provider.store.user_by_email("demo@example.com")
    assert user is not None
    provider.store.create_app(user.id, "second")
    use_browser(monkeypatch, Browser(autopilot()))

    result = run_cli(env_vars, "login", stdin="")

    assert result.status == 1
    assert "no choice was made" in result.err
    aborted = recorder.funnel_events()[-1]
    assert aborted.name == fsm.AUTH_ABORTED
    assert (aborted.properties["step"], aborted.properties["reason"]) == ("app_select", "prompt")
    assert not (home / "config" / "profile.json").exists()


def test_no_browser_prints_the_url_and_reports_no_browser(
    env_vars: dict[str, str], recorder: Recorder
) -> None:
    result = run_cli({**env_vars, "AUTHFUNNEL_LOGIN_TIMEOUT": "0.5"}, "login", "--no-browser")

    assert result.status == 1
    assert "/authorize?response_type=code" in result.out
    assert "code_challenge_method=S256" in result.out
    assert recorder.funnel_events()[0].properties["no_browser"] is True
    failed = recorder.funnel_events()[-1]
    assert failed.properties["error_class"] == "authfunnel.LoginTimeout"
    assert failed.properties["step"] == "browser_wait"
    assert "nobody finished the browser step" in result.err


def test_without_a_provider_login_explains_how_to_configure_one(
    tmp_path: Path, recorder: Recorder
) -> None:
    result = run_cli({"AUTHFUNNEL_HOME": str(tmp_path)}, "login")

    assert result.status == 1
    assert "no OAuth provider is configured" in result.err
    assert "AUTHFUNNEL_PROVIDER_URL" in result.err
    assert recorder.funnel_events() == []


class Terminal(io.StringIO):
    """A stdout that says it is a terminal, as a person's would."""

    def isatty(self) -> bool:
        return True


def run_on_terminal(env_vars: dict[str, str], *argv: str) -> str:
    out = Terminal()
    env = Environment(stdout=out, stderr=io.StringIO(), stdin=io.StringIO(), variables=env_vars)
    assert main(list(argv), env) == 0
    return out.getvalue()


def test_on_a_terminal_the_wait_shows_a_spinner_and_success_is_green(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> None:
    use_browser(monkeypatch, Browser(autopilot()))
    variables = {key: value for key, value in env_vars.items() if key != "NO_COLOR"}

    out = run_on_terminal(variables, "login")

    assert "Waiting for the browser" in out
    assert "\x1b[32mLogged in as demo@example.com" in out


def test_no_color_keeps_a_terminal_free_of_colour(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> None:
    use_browser(monkeypatch, Browser(autopilot()))

    out = run_on_terminal({**env_vars, "NO_COLOR": "1"}, "login")

    assert "Logged in as demo@example.com" in out
    assert not re.search(r"\x1b\[(3\d|9\d)m", out)


def test_in_a_pipe_there_is_no_spinner_and_no_escape_code(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> None:
    use_browser(monkeypatch, Browser(autopilot()))
    variables = {key: value for key, value in env_vars.items() if key != "NO_COLOR"}

    result = run_cli(variables, "login")

    assert result.status == 0
    assert "Waiting for the browser" not in result.out
    assert "\x1b" not in result.out


def test_signup_over_http_completes_with_an_existing_email_only_through_its_password(
    monkeypatch: pytest.MonkeyPatch,
    env_vars: dict[str, str],
    recorder: Recorder,
    provider: DevServer,
) -> None:
    # Sign-up says nothing about whether the email was taken; the sign-in after it decides.
    fresh = use_browser(
        monkeypatch,
        Browser(autopilot(signup_name="Grace", email="grace@example.com", password="cobol-1959")),
    )
    signed_up = run_cli(env_vars, "signup", stdin="compiler\n")
    fresh.join()
    taken = use_browser(
        monkeypatch,
        Browser(autopilot(signup_name="Mallory", email="grace@example.com", password="guessed-1")),
    )
    refused = run_cli({**env_vars, "AUTHFUNNEL_LOGIN_TIMEOUT": "1"}, "signup")

    assert signed_up.status == 0, signed_up.err
    assert recorder.funnel_names()[:2] == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert refused.status == 1
    with pytest.raises(AutopilotError, match="signing in answered HTTP 401"):
        taken.join()
    user = provider.store.user_by_email("grace@example.com")
    assert user is not None
    assert user.name == "Grace"


def sign_up(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], name: str, stdin: str
) -> Result:
    """``authfunnel signup`` with ``stdin`` at its prompts; ``name`` signs up in the browser."""
    person = autopilot(
        signup_name=name, email=f"{name}@example.com", password=f"{name}-correct-horse"
    )
    use_browser(monkeypatch, Browser(person))
    return run_cli(env_vars, "signup", stdin=stdin)


def test_an_empty_app_name_at_the_signup_prompt_asks_again(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> None:
    # The account exists once the browser step is done: an empty answer must not lose it.
    result = sign_up(monkeypatch, env_vars, "ada", stdin="\n  \nanalytical-engine\n")

    assert result.status == 0, result.err
    assert result.out.count("Name your first app") == 3
    assert "Logged in as ada@example.com, app analytical-engine." in result.out
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]


def test_signup_with_no_answer_at_all_hints_at_no_flag_it_does_not_take(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> None:
    result = sign_up(monkeypatch, env_vars, "bo", stdin="")  # end of input: no answer comes

    assert result.status == 1
    assert "no choice was made" in result.err
    assert "answer the prompt" in result.err
    assert "--app" not in result.err  # signup takes no --app
