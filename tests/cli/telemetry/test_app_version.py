"""An application's version is its events' ``cli_version`` once it records, and never
before: importing an application (``authfunnel report app:FUNNELS``) leaves the importing
process's own version on its own events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authfunnel.cli.telemetry import Telemetry
from authfunnel.fsm import Event, set_cli_version
from authfunnel.fsm._base import cli_version


@pytest.fixture(autouse=True)
def restore_version() -> Iterator[None]:
    before = cli_version()
    yield
    set_cli_version(before)


def test_making_a_telemetry_leaves_the_process_version_alone() -> None:
    before = cli_version()
    Telemetry("someapp", "9.9.9")
    assert cli_version() == before


def test_a_command_of_the_application_records_its_version() -> None:
    telemetry = Telemetry("someapp", "9.9.9")
    with telemetry.command("deploy"):
        assert cli_version() == "9.9.9"


def test_a_client_of_the_application_records_its_version() -> None:
    telemetry = Telemetry("someapp", "9.9.8")
    client = telemetry.client()
    client.track(Event("Something Happened"))
    client.close(0)
    assert cli_version() == "9.9.8"
