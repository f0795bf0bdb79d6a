"""Shared fixtures: a home of its own for every test, a recording client and a fake clock."""

from __future__ import annotations

import signal

import pytest

from authfunnel.fsm.testing import FakeClock, RecordingClient

# Every test gets its own HOME, XDG dirs and AUTHFUNNEL_HOME, and the run fails if the real
# state or config dirs changed (see tests/home_isolation.py).
pytest_plugins = ["tests.home_isolation"]

# A shell without job control starts background jobs with SIGINT ignored, and an ignored signal
# survives exec: the Ctrl-C tests' children would never see KeyboardInterrupt. A handler (unlike
# SIG_IGN) is reset to the default on exec, so restoring one here fixes every child at once.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
