"""``authfunnel`` as a real process: Ctrl-C at each wait, and silent re-authentication.

Each test runs the CLI through ``harness.py``, which records its funnel events to a file, and
plays the person's part from here: the browser step over HTTP, or a SIGINT.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from authfunnel.cli.devserver import DevServer
from tests.cli.auth.support import URL_PATTERN, Process, complete_browser_step

pytestmark = pytest.mark.slow


def log_in(process_env: dict[str, str], tmp_path: Path) -> None:
    """A completed login, as the starting point of the re-authentication tests."""
    process = Process(process_env, tmp_path / "login-events.json", "login")
    url = process.read_until(URL_PATTERN.pattern).group(1)
    complete_browser_step(url, email="demo@example.com", password="demo-password")
    status, _, err = process.finish()
    assert status == 0, err


def test_ctrl_c_while_waiting_for_the_browser_aborts_at_browser_wait(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    process = Process(process_env, tmp_path / "events.json", "login")
    process.read_until(URL_PATTERN.pattern)

    process.interrupt()
    status, _, err = process.finish()

    assert status == 130
    assert "Traceback" not in err
    assert "Warning" not in err  # no library noise in the person's terminal
    assert [e["name"] for e in process.events()] == [
        "Command Invoked",
        "CLI Auth Started",
        "CLI Auth Aborted",
        "Command Completed",
    ]
    aborted = process.funnel_events()[-1]
    assert (aborted["step"], aborted["reason"]) == ("browser_wait", "interrupt")


@pytest.mark.parametrize(("signum", "reason"), [(15, "terminated"), (1, "hangup")])
def test_sigterm_or_sighup_while_waiting_for_the_browser_aborts_with_its_reason(
    process_env: dict[str, str], tmp_path: Path, signum: int, reason: str
) -> None:
    # kill / docker stop / a closed terminal: not a choice the person made in the browser.
    process = Process(process_env, tmp_path / "events.json", "login")
    process.read_until(URL_PATTERN.pattern)

    process.proc.send_signal(signum)
    status, _, err = process.finish()

    assert status == 128 + signum, err
    assert "Traceback" not in err
    assert "declined" not in err
    assert "no choice was made" not in err
    assert [e["name"] for e in process.events()] == [
        "Command Invoked",
        "CLI Auth Started",
        "CLI Auth Aborted",
        "Command Completed",
    ]
    aborted = process.funnel_events()[-1]
    assert (aborted["step"], aborted["reason"]) == ("browser_wait", reason)


def test_ctrl_c_at_the_app_prompt_aborts_at_app_select(
    process_env: dict[str, str], tmp_path: Path, provider: DevServer
) -> None:
    user = provider.store.user_by_email("demo@example.com")
    assert user is not None
    provider.store.create_app(user.id, "second")
    process = Process(process_env, tmp_path / "events.json", "login")
    url = process.read_until(URL_PATTERN.pattern).group(1)
    complete_browser_step(url, email="demo@example.com", password="demo-password")
    process.read_until(r"Choose 1-2: ")

    process.interrupt()
    status, _, err = process.finish()

    assert status == 130
    assert "Traceback" not in err
    aborted = process.funnel_events()[-1]
    assert aborted["name"] == "CLI Auth Aborted"
    assert (aborted["step"], aborted["reason"]) == ("app_select", "interrupt")
    assert not (Path(process_env["AUTHFUNNEL_HOME"]) / "config" / "profile.json").exists()


def test_an_expired_token_is_refreshed_silently_without_funnel_events(
    process_env: dict[str, str], tmp_path: Path, provider: DevServer
) -> None:
    log_in(process_env, tmp_path)
    token_file = Path(process_env["AUTHFUNNEL_HOME"]) / "config" / "token.json"
    token = json.loads(token_file.read_text())
    token_file.write_text(json.dumps({**token, "expires_at": time.time() - 60}))

    process = Process(process_env, tmp_path / "events.json", "apps", "list", "--json")
    status, out, err = process.finish()

    assert status == 0, err
    assert [app["name"] for app in json.loads(out)] == ["demo-app"]
    assert process.funnel_events() == []
    renewed = json.loads(token_file.read_text())
    assert renewed["refresh_token"] != token["refresh_token"]
    old = httpx.get(
        f"{provider.base_url}/api/apps",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert old.status_code == 401  # rotation retired the old pair


def test_commands_renewing_at_once_share_one_refresh_and_stay_logged_in(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    # The dev provider revokes a token family whose refresh token is presented twice (reuse
    # detection): unserialised renewals would log the user out and open a browser for each.
    log_in(process_env, tmp_path)
    token_file = Path(process_env["AUTHFUNNEL_HOME"]) / "config" / "token.json"
    token = json.loads(token_file.read_text())
    token_file.write_text(json.dumps({**token, "expires_at": time.time() - 60}))

    processes = [
        Process(process_env, tmp_path / f"events-{n}.json", "apps", "list", "--json")
        for n in range(4)
    ]
    results = []
    for process in processes:
        try:
            results.append(process.finish(timeout=90))
        except subprocess.TimeoutExpired:
            process.proc.kill()
            raise AssertionError("a renewal fell back to a browser login") from None

    for status, out, err in results:
        assert status == 0, err
        assert "session has expired" not in err
        assert [app["name"] for app in json.loads(out)] == ["demo-app"]
    after = Process(process_env, tmp_path / "after.json", "apps", "list", "--json")
    assert after.finish(timeout=90)[0] == 0  # the family the last renewal left is alive


def test_a_failed_refresh_logs_in_again_without_funnel_events(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    log_in(process_env, tmp_path)
    token_file = Path(process_env["AUTHFUNNEL_HOME"]) / "config" / "token.json"
    token = json.loads(token_file.read_text())
    token_file.write_text(
        json.dumps({**token, "expires_at": time.time() - 60, "refresh_token": "revoked"})
    )

    process = Process(process_env, tmp_path / "events.json", "apps", "list", "--json")
    url = process.read_until(URL_PATTERN.pattern, stderr=True).group(1)
    complete_browser_step(url, email="demo@example.com", password="demo-password")
    status, out, err = process.finish()

    assert status == 0, err
    assert "Your session has expired" in err
    assert [app["name"] for app in json.loads(out)] == ["demo-app"]
    assert process.funnel_events() == []
    assert json.loads(token_file.read_text())["access_token"] != token["access_token"]
