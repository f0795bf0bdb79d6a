"""Shared fixtures: a recording client and a fake clock for every engine test."""

from __future__ import annotations

import pytest

from fsm.testing import FakeClock, RecordingClient


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
