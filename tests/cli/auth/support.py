"""Helpers for the login tests: run the CLI in-process or as a process, drive the browser step.

The browser step is driven for real: ``chromium`` runs Debian's Chromium headless through
Playwright (never a downloaded browser); ``autopilot`` makes the same HTTP requests the demo
makes. Both act on the real dev provider and the CLI's real loopback receiver.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.devserver import DEMO_EMAIL, DEMO_PASSWORD, complete_browser_step
from authfunnel.fsm import TelemetryClient

__all__ = ["complete_browser_step"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
HARNESS = Path(__file__).with_name("harness.py")
URL_PATTERN = re.compile(r"(http://127\.0\.0\.1:\d+/authorize\?\S+)")


@dataclass
class Result:
    status: int
    out: str
    err: str


# The client every in-process command records with (the autouse ``recorder`` fixture sets it).
TELEMETRY: TelemetryClient | None = None


def run_cli(
    env_vars: dict[str, str],
    *argv: str,
    stdin: str = "",
    telemetry: TelemetryClient | None = None,
    stdout: io.StringIO | None = None,
) -> Result:
    """Run ``authfunnel ARGV`` in this process, its telemetry going to ``telemetry`` (default:
    ``TELEMETRY``) through the environment, exactly as the outbox client would. ``stdout``:
    a stream of the test's own that watches what the command prints as it prints it."""
    out, err = stdout if stdout is not None else io.StringIO(), io.StringIO()
    env = Environment(
        stdout=out,
        stderr=err,
        stdin=io.StringIO(stdin),
        variables=env_vars,
        telemetry=telemetry if telemetry is not None else TELEMETRY,
    )
    status = main(list(argv), env)
    return Result(status, out.getvalue(), err.getvalue())


@dataclass
class Browser:
    """Stands in for ``webbrowser.open``: each call runs one browser session in a thread."""

    act: Callable[[str], Any]
    errors: list[BaseException] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def open(self, url: str) -> bool:
        self.urls.append(url)

        def work() -> None:
            try:
                self.act(url)
            except BaseException as exc:  # reported by join(), not lost in the thread
                self.errors.append(exc)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        self.threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)
        if self.errors:
            raise self.errors[0]


def autopilot(**kwargs: Any) -> Callable[[str], Any]:
    kwargs.setdefault("email", DEMO_EMAIL)
    kwargs.setdefault("password", DEMO_PASSWORD)
    return lambda url: complete_browser_step(url, **kwargs)


def chromium(
    *,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
    approve: bool = True,
    signup_name: str | None = None,
    tamper_state: bool = False,
) -> Callable[[str], str]:
    """A person in headless Chromium: sign in (or up), Approve or Deny; returns the last page."""

    def act(url: str) -> str:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page()
                page.goto(url)
                if signup_name is not None:
                    if page.locator("#to-signup").count():
                        page.click("#to-signup")
                    page.fill("input[name=name]", signup_name)
                    page.fill("input[name=email]", email)
                    page.fill("input[name=password]", password)
                    page.click("#signup")
                    # Sign-up signs nobody in (it must not reveal taken emails): sign in next,
                    # the email already filled in.
                    page.wait_for_selector("#signin")
                    assert page.input_value("input[name=email]") == email
                else:
                    page.fill("input[name=email]", email)
                page.fill("input[name=password]", password)
                page.click("#signin")
                page.wait_for_selector("#approve")
                if tamper_state:
                    # A forged request: the consent form carries another state to the provider,
                    # which sends it back to the CLI in the redirect.
                    page.evaluate(
                        "const f = document.querySelector('form');"
                        "f.setAttribute('action',"
                        " f.getAttribute('action').replace(/state=[^&]+/, 'state=forged'));"
                    )
                with page.expect_navigation(url=re.compile(r"127\.0\.0\.1:\d+/callback")):
                    page.click("#approve" if approve else "#deny")
                return page.content()
            finally:
                browser.close()

    return act


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


class Process:
    """``authfunnel`` as a real process (through the recording harness), read as it writes."""

    def __init__(self, env_vars: dict[str, str], events_file: Path, *argv: str) -> None:
        self.events_file = events_file
        self.proc = subprocess.Popen(
            [sys.executable, str(HARNESS), str(events_file), *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env_vars, "PYTHONUNBUFFERED": "1"},
        )
        self.output = ""
        self.errors = ""

    def read_until(
        self, pattern: str, timeout: float = 60, *, stderr: bool = False
    ) -> re.Match[str]:
        """Read stdout (or stderr) as it is written until ``pattern`` appears in it."""
        stream = self.proc.stderr if stderr else self.proc.stdout
        assert stream is not None
        deadline = time.monotonic() + timeout
        os.set_blocking(stream.fileno(), False)
        while time.monotonic() < deadline:
            seen = self.errors if stderr else self.output
            match = re.search(pattern, seen)
            if match:
                return match
            chunk = stream.read()
            if chunk and stderr:
                self.errors += chunk.decode()
            elif chunk:
                self.output += chunk.decode()
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        seen = self.errors if stderr else self.output
        raise AssertionError(f"{pattern!r} never appeared; output so far:\n{seen}")

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        for stream in (self.proc.stdout, self.proc.stderr):
            assert stream is not None
            os.set_blocking(stream.fileno(), True)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, self.output + out.decode(), self.errors + err.decode()

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.events_file.read_text())
        return events

    def funnel_events(self) -> list[dict[str, Any]]:
        """The auth funnel's events, without the command lifecycle around them."""
        return [event for event in self.events() if event["name"].startswith("CLI Auth")]


class FaultyEndpoint:
    """A real HTTP server on 127.0.0.1 that answers every request with one canned response."""

    def __init__(self, status: int, body: str, content_type: str = "application/json") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        # What reached it: (path, body), so a test can show a credential never did.
        self.received: list[tuple[str, str]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append((self.path, self.rfile.read(length).decode(errors="replace")))
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer  # noqa: N815 (http.server's method names)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/endpoint"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# The URL a device login shows, with its user code: oidc-provider's and the dev provider's.
DEVICE_URL = re.compile(r"http://127\.0\.0\.1:\d+/device\?user_code=[A-Z-]+")


class Screen(io.StringIO):
    """The CLI's stdout, read by a person as it is written: the first device URL shown is
    handed to ``act``, on a thread of its own, as someone at another device would take it."""

    def __init__(self, act: Callable[[str], str] | None) -> None:
        super().__init__()
        self.act = act
        self.thread: threading.Thread | None = None
        self.page: list[str] = []
        self.failures: list[BaseException] = []

    def write(self, text: str) -> int:
        written = super().write(text)
        found = DEVICE_URL.search(self.getvalue())
        if found is not None and self.thread is None and self.act is not None:
            self.thread = threading.Thread(target=self._run, args=(found.group(0),), daemon=True)
            self.thread.start()
        return written

    def _run(self, url: str) -> None:
        assert self.act is not None
        try:
            self.page.append(self.act(url))
        except BaseException as exc:  # reported by join(), not lost in the thread
            self.failures.append(exc)

    def join(self) -> str:
        """The provider's closing page the person saw."""
        assert self.thread is not None, "the CLI never showed a device URL"
        self.thread.join(timeout=60)
        if self.failures:
            raise self.failures[0]
        return self.page[0]


def assert_declined_at_browser_wait(result: Result, recorder: Any, home: Path) -> None:
    """The person declined at the provider: exit 1 saying so, Started then Aborted(declined)
    at browser_wait (``recorder``: the tests' Recorder), and no login saved."""
    from authfunnel import fsm
    from authfunnel.fsm.testing import assert_valid

    assert result.status == 1
    assert "you declined access in the browser" in result.err
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_ABORTED]
    aborted = recorder.funnel_events()[-1]
    assert_valid(aborted)
    assert (aborted.properties["step"], aborted.properties["reason"]) == (
        "browser_wait",
        "declined",
    )
    assert not (home / "config" / "profile.json").exists()
