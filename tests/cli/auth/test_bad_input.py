"""Bad input during a login: one clear line, the right exit code, no traceback, nothing saved."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from authfunnel import fsm
from tests.cli.auth.conftest import Recorder
from tests.cli.auth.support import Browser, FaultyEndpoint, Result, autopilot, run_cli

pytestmark = pytest.mark.slow


Params = Callable[[str], dict[str, str]] | dict[str, str]


def callback_with(params: Params) -> Callable[[str], str]:
    """A 'browser' that goes straight to the CLI's redirect URI with ``params``."""

    def act(url: str) -> str:
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        sent = params(query["state"]) if callable(params) else params
        return httpx.get(query["redirect_uri"], params=sent).text

    return act


@pytest.fixture
def login(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder
) -> Callable[..., tuple[Result, Browser]]:
    def run(act: Callable[[str], object], *argv: str, **variables: str) -> tuple[Result, Browser]:
        browser = Browser(act)
        monkeypatch.setattr(webbrowser, "open", browser.open)
        result = run_cli({**env_vars, **variables}, "login", *argv)
        for thread in browser.threads:
            thread.join(timeout=60)
        return result, browser

    return run


@pytest.fixture
def faulty() -> Iterator[Callable[..., FaultyEndpoint]]:
    servers: list[FaultyEndpoint] = []

    def start(status: int, body: str, content_type: str = "application/json") -> FaultyEndpoint:
        servers.append(FaultyEndpoint(status, body, content_type))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def assert_failed_cleanly(
    result: Result, recorder: Recorder, home: Path, *, step: str, error_class: str
) -> None:
    assert result.status == 1
    assert "Traceback" not in result.err
    assert result.err.startswith("authfunnel: error: ")
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]
    failed = recorder.funnel_events()[-1].properties
    assert (failed["step"], failed["error_class"]) == (step, error_class)
    assert not (home / "config" / "profile.json").exists()
    assert not (home / "config" / "token.json").exists()


def test_a_callback_without_a_code_fails_at_browser_wait(
    login: Callable[..., tuple[Result, Browser]], recorder: Recorder, home: Path
) -> None:
    result, _ = login(callback_with(lambda state: {"state": state}))

    assert_failed_cleanly(
        result, recorder, home, step="browser_wait", error_class="authfunnel.CallbackError"
    )
    assert "without an authorization code" in result.err


@pytest.mark.parametrize(
    "forged",
    [{"code": "abc"}, {"code": "abc", "state": "forged"}, {"error": "access_denied"}],
    ids=["no-state", "another-state", "stateless-denial"],
)
def test_a_callback_without_this_attempts_state_is_ignored_and_the_login_completes(
    login: Callable[..., tuple[Result, Browser]],
    recorder: Recorder,
    home: Path,
    forged: dict[str, str],
) -> None:
    pages: list[str] = []

    def neighbour_then_person(url: str) -> None:
        pages.append(callback_with(forged)(url))  # any local process can send this
        autopilot()(url)

    result, browser = login(neighbour_then_person)

    assert browser.errors == []
    assert result.status == 0, result.err
    assert "Request ignored" in pages[0]
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert (home / "config" / "profile.json").exists()


def test_a_login_that_only_got_forged_callbacks_times_out_and_says_they_were_ignored(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str], recorder: Recorder, home: Path
) -> None:
    # The forged callback is sent before the wait starts (from the opener itself), so the
    # count is known however slow the machine: only the timeout's length is left to wait.
    monkeypatch.setattr(webbrowser, "open", callback_with({"code": "abc", "state": "forged"}))

    result = run_cli({**env_vars, "AUTHFUNNEL_LOGIN_TIMEOUT": "1"}, "login")

    assert_failed_cleanly(
        result, recorder, home, step="browser_wait", error_class="authfunnel.LoginTimeout"
    )
    assert "1 request to the login callback without this attempt's state ignored" in result.err


def test_an_error_description_with_html_is_escaped_in_page_and_terminal(
    login: Callable[..., tuple[Result, Browser]], recorder: Recorder, home: Path
) -> None:
    pages: list[str] = []
    hostile = "<script>alert(1)</script>\x1b[31mred"

    def act(url: str) -> None:
        def sent(state: str) -> dict[str, str]:
            return {"state": state, "error": "server_error", "error_description": hostile}

        pages.append(callback_with(sent)(url))

    result, _ = login(act)

    assert_failed_cleanly(
        result, recorder, home, step="browser_wait", error_class="authfunnel.AuthorizationError"
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "<script>" not in pages[0]
    assert "\x1b" not in result.err
    assert "server_error: <script>alert(1)</script> [31mred" in result.err


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (
            400,
            '{"error": "invalid_grant", "error_description": "code used"}',
            "application/json",
            "the token exchange was refused: invalid_grant: code used",
        ),
        (500, "<h1>oops</h1>", "text/html", "the token exchange failed with HTTP 500"),
        (200, "this is not json", "text/plain", "not a JSON object"),
    ],
)
def test_a_broken_token_endpoint_fails_at_code_exchange(
    login: Callable[..., tuple[Result, Browser]],
    faulty: Callable[..., FaultyEndpoint],
    recorder: Recorder,
    home: Path,
    status: int,
    body: str,
    content_type: str,
    message: str,
) -> None:
    endpoint = faulty(status, body, content_type)

    result, _ = login(autopilot(), AUTHFUNNEL_TOKEN_URL=endpoint.url)

    assert_failed_cleanly(
        result, recorder, home, step="code_exchange", error_class="authfunnel.TokenExchangeError"
    )
    assert message in result.err


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, '{"access_token": "a", "expires_in": 1e400}', "unusable expiry"),
        (200, '{"access_token": "a", "expires_in": 1e300}', "unusable expiry"),
        (400, '{"error": 5, "error_description": ["x"]}', "the token exchange was refused: 5"),
    ],
)
def test_an_absurd_token_response_fails_at_code_exchange(
    login: Callable[..., tuple[Result, Browser]],
    faulty: Callable[..., FaultyEndpoint],
    recorder: Recorder,
    home: Path,
    status: int,
    body: str,
    message: str,
) -> None:
    endpoint = faulty(status, body)

    result, _ = login(autopilot(), AUTHFUNNEL_TOKEN_URL=endpoint.url)

    assert_failed_cleanly(
        result, recorder, home, step="code_exchange", error_class="authfunnel.TokenExchangeError"
    )
    assert message in result.err


@pytest.mark.parametrize(
    ("status", "error_class", "message"),
    [
        (401, "authfunnel.ApiUnauthorized", "the apps API refused the token (401)"),
        (500, "authfunnel.ApiError", "the apps API failed with HTTP 500"),
    ],
)
def test_a_failing_apps_api_fails_at_apps_fetch(
    login: Callable[..., tuple[Result, Browser]],
    faulty: Callable[..., FaultyEndpoint],
    recorder: Recorder,
    home: Path,
    status: int,
    error_class: str,
    message: str,
) -> None:
    endpoint = faulty(status, '{"error": "nope"}')

    result, _ = login(autopilot(), AUTHFUNNEL_APPS_URL=endpoint.url)

    assert_failed_cleanly(result, recorder, home, step="apps_fetch", error_class=error_class)
    assert message in result.err


def test_an_unwritable_config_dir_fails_at_profile_configure_and_saves_nothing(
    login: Callable[..., tuple[Result, Browser]], recorder: Recorder
) -> None:
    # /proc refuses new directories even to root, where permission bits would not.
    unwritable = Path("/proc/authfunnel-test-home")

    result, _ = login(autopilot(), AUTHFUNNEL_HOME=str(unwritable))

    assert_failed_cleanly(
        result,
        recorder,
        unwritable,
        step="profile_configure",
        error_class="authfunnel.CredentialsError",
    )
    assert "cannot save the login in /proc/authfunnel-test-home/config" in result.err
    assert "hint: make the directory writable" in result.err


def test_a_failed_login_leaves_the_previous_login_untouched(
    login: Callable[..., tuple[Result, Browser]],
    faulty: Callable[..., FaultyEndpoint],
    recorder: Recorder,
    home: Path,
) -> None:
    first, _ = login(autopilot())
    assert first.status == 0
    before = {path.name: path.read_bytes() for path in (home / "config").iterdir()}
    endpoint = faulty(500, "{}")

    second, _ = login(autopilot(), AUTHFUNNEL_APPS_URL=endpoint.url)

    assert second.status == 1
    assert {path.name: path.read_bytes() for path in (home / "config").iterdir()} == before


@pytest.mark.parametrize("corrupt", ["profile.json", "token.json"])
@pytest.mark.parametrize("command", [["status"], ["apps", "list"]])
def test_a_corrupt_saved_login_is_a_clear_error_with_a_way_out(
    login: Callable[..., tuple[Result, Browser]],
    env_vars: dict[str, str],
    home: Path,
    corrupt: str,
    command: list[str],
) -> None:
    assert login(autopilot())[0].status == 0
    (home / "config" / corrupt).write_text("{not json")

    result = run_cli(env_vars, *command)

    assert result.status == 1
    assert "Traceback" not in result.err
    assert "the saved login is unreadable" in result.err
    assert "hint: run 'authfunnel logout' to clear it" in result.err


def test_logout_clears_a_corrupt_login(
    login: Callable[..., tuple[Result, Browser]], env_vars: dict[str, str], home: Path
) -> None:
    assert login(autopilot())[0].status == 0
    (home / "config" / "profile.json").write_text("[]")

    assert run_cli(env_vars, "logout").status == 0
    assert run_cli(env_vars, "status").status == 4


def test_an_unreachable_token_endpoint_fails_as_provider_unreachable(
    login: Callable[..., tuple[Result, Browser]], recorder: Recorder, home: Path
) -> None:
    closed = FaultyEndpoint(200, "{}")
    closed.close()  # the port is now closed: connection refused

    result, _ = login(autopilot(), AUTHFUNNEL_TOKEN_URL=closed.url)

    assert_failed_cleanly(
        result, recorder, home, step="code_exchange", error_class="authfunnel.ProviderUnreachable"
    )
    assert "cannot reach the token endpoint" in result.err


def test_a_non_positive_timeout_is_a_usage_error(
    env_vars: dict[str, str], recorder: Recorder
) -> None:
    result = run_cli(env_vars, "login", "--timeout", "0")

    assert result.status == 2
    assert "--timeout must be a positive number" in result.err
    assert recorder.funnel_events() == []


@pytest.mark.parametrize("timeout", ["nan", "inf"])
def test_a_timeout_that_is_not_a_finite_number_is_a_usage_error(
    env_vars: dict[str, str], recorder: Recorder, timeout: str
) -> None:
    flag = run_cli(env_vars, "login", "--timeout", timeout)
    variable = run_cli({**env_vars, "AUTHFUNNEL_LOGIN_TIMEOUT": timeout}, "login")

    assert (flag.status, variable.status) == (2, 2)
    assert "--timeout must be a positive number" in flag.err
    assert "is not a positive number of seconds" in variable.err
    assert recorder.funnel_events() == []


def test_logout_with_the_provider_down_still_logs_out_here(
    login: Callable[..., tuple[Result, Browser]],
    env_vars: dict[str, str],
    recorder: Recorder,
    home: Path,
) -> None:
    assert login(autopilot())[0].status == 0
    closed = FaultyEndpoint(200, "{}")
    closed.close()

    result = run_cli({**env_vars, "AUTHFUNNEL_REVOCATION_URL": closed.url}, "logout")

    assert result.status == 0
    assert "warning: logged out here, but the provider was not told" in result.err
    assert not (home / "config" / "profile.json").exists()
    assert recorder.funnel_names()[-1] == fsm.AUTH_LOGOUT


def test_a_login_is_never_sent_to_a_provider_it_was_not_made_at(
    login: Callable[..., tuple[Result, Browser]],
    faulty: Callable[..., FaultyEndpoint],
    env_vars: dict[str, str],
) -> None:
    assert login(autopilot())[0].status == 0
    other = faulty(200, '{"apps": []}')

    result = run_cli({**env_vars, "AUTHFUNNEL_PROVIDER_URL": other.url}, "apps", "list")

    assert result.status == 4
    assert "you are logged in at http://127.0.0.1:" in result.err
    assert other.received == []


def test_logout_does_not_send_the_token_to_another_provider(
    login: Callable[..., tuple[Result, Browser]],
    faulty: Callable[..., FaultyEndpoint],
    env_vars: dict[str, str],
    home: Path,
) -> None:
    assert login(autopilot())[0].status == 0
    other = faulty(200, "{}")

    result = run_cli({**env_vars, "AUTHFUNNEL_PROVIDER_URL": other.url}, "logout")

    assert result.status == 0
    assert other.received == []
    assert "the provider was not told" in result.err
    assert not (home / "config" / "profile.json").exists()


def test_a_login_that_fails_after_the_user_is_known_identifies_nobody(
    login: Callable[..., tuple[Result, Browser]],
    faulty: Callable[..., FaultyEndpoint],
    recorder: Recorder,
) -> None:
    # identify stores the user id for every later event: a failed login must not leave it.
    endpoint = faulty(500, "{}")

    result, _ = login(autopilot(), AUTHFUNNEL_APPS_URL=endpoint.url)

    assert result.status == 1
    assert recorder.identities == []
