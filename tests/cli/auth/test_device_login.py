"""``authfunnel login --device``: the device authorization grant (RFC 8628), its own funnel.

Against the real third-party provider (oidc-provider 8 with its ``deviceFlow`` feature): the
CLI runs in this process and prints the URL and the code; a person reads them off its screen
(``Screen``) and acts at the provider's own device pages over real HTTP, elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from authfunnel import fsm
from tests.cli.auth.conftest import Recorder
from tests.cli.auth.oidc_provider import OidcProvider, device_person
from tests.cli.auth.support import Result, Screen, assert_declined_at_browser_wait, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def oidc() -> Iterator[OidcProvider]:
    with OidcProvider() as provider:
        yield provider


def variables(home: Path, issuer: str, **extra: str) -> dict[str, str]:
    """No display: a machine where the device login is what works."""
    return {
        "AUTHFUNNEL_HOME": str(home),
        "AUTHFUNNEL_ISSUER": issuer,
        "NO_COLOR": "1",
        "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
        **extra,
    }


def device_login(
    home: Path, issuer: str, act: Callable[[str], str] | None, *argv: str, **extra: str
) -> tuple[Result, Screen]:
    screen = Screen(act)
    result = run_cli(variables(home, issuer, **extra), "login", *argv, stdout=screen)
    return result, screen


def test_device_login_approved_at_the_provider_pages_logs_in_as_its_own_funnel(
    oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    result, screen = device_login(home, oidc.issuer, device_person(), "--device")

    assert screen.thread is not None, (result.out, result.err)
    assert "Sign-in Success" in screen.join()
    assert result.status == 0, result.err
    code = re.search(r"user_code=([A-Z-]+)", result.out)
    assert code is not None
    # The URL with the code in it, and the code itself to check against the page.
    assert result.out.splitlines().count(code.group(1)) == 1
    assert "Logged in as alice@example.com." in result.out
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    started = recorder.funnel_events()[0]
    assert (started.properties["flow"], started.properties["no_browser"]) == ("device_login", True)
    steps = [step for flow, step in recorder.steps if flow == "device_login"]
    assert steps[:4] == [
        "device_code_request",
        "user_code_display",
        "browser_wait",
        "code_exchange",
    ]
    # No apps API at this provider: the optional app steps are skipped, as in a browser login.
    assert steps[4:] == ["profile_configure"]
    assert recorder.funnel_events()[-1].properties["skipped"] is True
    assert (home / "config" / "token.json").exists()


def test_device_login_denied_at_the_provider_aborts_at_browser_wait_declined(
    oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    result, screen = device_login(home, oidc.issuer, device_person(approve=False), "--device")

    screen.join()
    assert_declined_at_browser_wait(result, recorder, home)


def test_a_device_code_nobody_enters_expires_and_fails_the_login_at_browser_wait(
    recorder: Recorder, home: Path
) -> None:
    with OidcProvider(device_ttl=1) as short_lived:
        result, _ = device_login(home, short_lived.issuer, None, "--device")

    assert result.status == 1
    assert "the code expired before anyone entered it" in result.err
    assert "Traceback" not in result.err
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]
    failed = recorder.funnel_events()[-1]
    assert (failed.properties["step"], failed.properties["error_class"]) == (
        "browser_wait",
        "authfunnel.DeviceCodeExpired",
    )


def test_an_ssh_session_without_a_display_logs_in_by_device_code_by_itself(
    oidc: OidcProvider, recorder: Recorder, home: Path
) -> None:
    ssh = {"SSH_CONNECTION": "192.0.2.1 50000 192.0.2.2 22"}
    result, screen = device_login(home, oidc.issuer, device_person(), **ssh)

    screen.join()
    assert result.status == 0, result.err
    assert "No browser can open here" in result.out
    assert recorder.funnel_events()[0].properties["flow"] == "device_login"


def test_a_provider_without_a_device_endpoint_refuses_login_device_before_any_funnel(
    recorder: Recorder, home: Path, provider_without_device: dict[str, str]
) -> None:
    result = run_cli({"AUTHFUNNEL_HOME": str(home), **provider_without_device}, "login", "--device")

    assert result.status == 1
    assert "offers no device login" in result.err
    assert "Traceback" not in result.err
    assert recorder.funnel_names() == []


@pytest.fixture
def provider_without_device(oidc: OidcProvider) -> dict[str, str]:
    """oidc-provider configured by its endpoints alone, as a plain OAuth 2.0 provider is."""
    return {
        "AUTHFUNNEL_AUTHORIZE_URL": f"{oidc.issuer}/auth",
        "AUTHFUNNEL_TOKEN_URL": f"{oidc.issuer}/token",
        "AUTHFUNNEL_USERINFO_URL": f"{oidc.issuer}/me",
    }
