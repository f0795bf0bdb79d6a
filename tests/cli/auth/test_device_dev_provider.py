"""The device login against our own dev provider: the endpoint the demo shows, and slow_down.

The dev provider serves RFC 8628 with Authlib's device endpoint and grant; a person approves at
its ``/device`` page over real HTTP (``complete_device_step``), never through a stand-in.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest

from authfunnel import fsm
from authfunnel.cli.auth._device import DeviceGrant, _Poller
from authfunnel.cli.auth._provider import Provider
from authfunnel.cli.devserver import (
    CLIENT_ID,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DevServer,
    complete_device_step,
)
from tests.cli.auth.conftest import Recorder
from tests.cli.auth.support import DEVICE_URL, Process, Screen, run_cli

pytestmark = pytest.mark.slow


def person(*, approve: bool = True) -> object:
    return lambda url: complete_device_step(
        url, email=DEMO_EMAIL, password=DEMO_PASSWORD, approve=approve
    )


def test_the_dev_provider_advertises_its_device_endpoint(provider: DevServer) -> None:
    document = httpx.get(f"{provider.base_url}/.well-known/oauth-authorization-server").json()

    assert document["device_authorization_endpoint"] == f"{provider.base_url}/device/code"
    assert "urn:ietf:params:oauth:grant-type:device_code" in document["grant_types_supported"]


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "denied"])
def test_login_device_at_the_dev_provider_ends_as_the_person_answered(
    provider: DevServer, recorder: Recorder, home: Path, approve: bool
) -> None:
    screen = Screen(person(approve=approve))  # type: ignore[arg-type]
    variables = {
        "AUTHFUNNEL_HOME": str(home),
        "AUTHFUNNEL_PROVIDER_URL": provider.base_url,
        "NO_COLOR": "1",
        "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
    }

    result = run_cli(variables, "login", "--device", stdout=screen)

    assert screen.join() == ("Device connected" if approve else "Access denied")
    if approve:
        assert result.status == 0, result.err
        assert f"Logged in as {DEMO_EMAIL}" in result.out
        assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    else:
        assert result.status == 1
        assert "you declined access in the browser" in result.err
        assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_ABORTED]
        assert recorder.funnel_events()[-1].properties["reason"] == "declined"
    assert recorder.funnel_events()[0].properties["flow"] == "device_login"


def test_a_poller_told_to_slow_down_adds_five_seconds_and_still_gets_its_token(
    provider: DevServer,
) -> None:
    answer = httpx.post(
        f"{provider.base_url}/device/code", data={"client_id": CLIENT_ID, "scope": "profile"}
    ).json()
    assert answer["interval"] == 5
    # A client polling ten times faster than the provider asked: it is told to slow down.
    grant = DeviceGrant.from_response({**answer, "interval": 0.5}, "the dev provider")
    dev = Provider(
        url=provider.base_url,
        authorize_url=f"{provider.base_url}/authorize",
        token_url=f"{provider.base_url}/token",
        revocation_url=None,
        userinfo_url=f"{provider.base_url}/userinfo",
        apps_url=None,
    )
    from authfunnel.cli.auth._oauth import _client

    with _client(dev, None) as client:
        poller = _Poller(client, dev, grant)
        polling = threading.Thread(target=poller.run, daemon=True)
        polling.start()
        try:
            # Approved once slow_down has been answered: the poller's next poll gets the token.
            for _ in range(300):  # a bound, not a timing: the provider answers in seconds
                if poller.interval != 0.5 or poller.done.is_set():
                    break
                poller.done.wait(0.1)
            complete_device_step(
                answer["verification_uri_complete"], email=DEMO_EMAIL, password=DEMO_PASSWORD
            )
            assert poller.done.wait(60)
        finally:
            poller.stop.set()
            polling.join(timeout=30)

    assert poller.error is None, poller.error
    assert poller.interval == 0.5 + 5
    assert poller.data is not None
    assert isinstance(poller.data["access_token"], str)


def test_ctrl_c_while_waiting_for_the_code_aborts_the_device_login_at_browser_wait(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    process = Process(process_env, tmp_path / "events.json", "login", "--device")
    process.read_until(DEVICE_URL.pattern)

    process.interrupt()
    status, _, err = process.finish()

    assert status == 130
    assert "Traceback" not in err
    assert [e["name"] for e in process.events()] == [
        "Command Invoked",
        "CLI Auth Started",
        "CLI Auth Aborted",
        "Command Completed",
    ]
    aborted = process.funnel_events()[-1]
    assert (aborted["flow"], aborted["step"], aborted["reason"]) == (
        "device_login",
        "browser_wait",
        "interrupt",
    )


class TerminalScreen(Screen):
    """The same screen, as a terminal: the wait draws its countdown there."""

    def isatty(self) -> bool:
        return True


def test_a_device_login_in_a_terminal_counts_down_to_the_code_expiry(
    provider: DevServer, home: Path
) -> None:
    screen = TerminalScreen(person())  # type: ignore[arg-type]
    variables = {
        "AUTHFUNNEL_HOME": str(home),
        "AUTHFUNNEL_PROVIDER_URL": provider.base_url,
        "NO_COLOR": "1",
        "AUTHFUNNEL_LOGIN_TIMEOUT": "3600",  # longer than the code: the code's life is shown
    }

    result = run_cli(variables, "login", "--device", stdout=screen)

    screen.join()
    assert result.status == 0, result.err
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.out)  # the terminal's styling off
    shown = re.findall(r"Waiting for the code to be entered \((\d+):(\d\d) left", text)
    assert shown, text
    # The dev provider's codes live 600 s; the countdown runs to that (plus one interval).
    assert all(int(minutes) * 60 + int(seconds) <= 605 for minutes, seconds in shown)
    assert int(shown[0][0]) >= 9
