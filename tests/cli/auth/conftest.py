"""Fixtures for the login tests: a real dev provider, an isolated home, a recording client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from authfunnel.cli.devserver import DevServer
from authfunnel.fsm import Event
from authfunnel.fsm.testing import RecordingClient
from tests.cli.auth import support


class MemoryKeyring(KeyringBackend):
    """A keyring that works, for the machines where the system has none (like CI)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def no_system_keyring() -> Iterator[None]:
    """Tests never touch a real keyring: by default there is none, as on a server."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def provider() -> Iterator[DevServer]:
    with DevServer() as server:
        yield server


class Recorder(RecordingClient):
    """A recording client that also keeps the steps entered (the engine's StepRecorder hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[str, str]] = []

    def record_step(self, flow: str, step: str) -> None:
        self.steps.append((flow, step))

    def funnel_events(self) -> list[Event]:
        """The auth funnel's events, without the command lifecycle around them."""
        return [event for event in self.events if event.name.startswith("CLI Auth")]

    def funnel_names(self) -> list[str]:
        return [event.name for event in self.funnel_events()]


@pytest.fixture(autouse=True)
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The invocation's client in place of the outbox, so tests read the events in memory.

    It reaches commands through their ``Environment`` (``run_cli`` passes it), and the command
    lifecycle wraps it as it wraps the outbox client in production.
    """
    client = Recorder()
    monkeypatch.setattr(support, "TELEMETRY", client)
    return client


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env_vars(provider: DevServer, home: Path) -> dict[str, str]:
    """Variables for a command: isolated home, the dev provider, a display (see ``browser``)."""
    return {
        "AUTHFUNNEL_HOME": str(home),
        "AUTHFUNNEL_PROVIDER_URL": provider.base_url,
        "DISPLAY": ":99",
        "NO_COLOR": "1",
        # A broken test fails in a minute rather than the real five.
        "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
    }


@pytest.fixture
def process_env(provider: DevServer, home: Path) -> dict[str, str]:
    """Variables for a CLI process: no browser to open, no keyring, the dev provider."""
    return {
        "AUTHFUNNEL_HOME": str(home),
        "AUTHFUNNEL_PROVIDER_URL": provider.base_url,
        "CI": "1",
        "NO_COLOR": "1",
        "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[3]), os.environ.get("PYTHONPATH", "")]
        ),
    }


def require_chromium() -> None:
    """Chromium is installed by .ci/run; in CI its absence fails, elsewhere it skips."""
    if Path("/usr/bin/chromium").exists():
        return
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip("needs Debian's chromium (apt-get install chromium)")
