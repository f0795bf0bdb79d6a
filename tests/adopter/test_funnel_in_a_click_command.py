"""A funnel run inside a command of an instrumented click application: its events go through
the command's own client (one outbox session, in the order they happened), and a click.Abort
at a prompt ends the run as Aborted with the reason the person gave, not as a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from authfunnel.cli.telemetry import Telemetry
from authfunnel.fsm import Funnel
from tests.adopter.apps import rows

SHIP = Funnel(flow="ship", steps={"pack": ["push"], "push": []})


def shipctl(telemetry: Telemetry) -> click.Group:
    """A click application whose ``ship`` command runs SHIP on ``telemetry.client()``."""

    @click.group()
    def cli() -> None:
        pass

    @cli.command()
    def ship() -> None:
        with SHIP.run(telemetry.client()) as tracker:
            click.confirm("Push?", abort=True)
            tracker.advance("push")

    telemetry.instrument(cli)
    return cli


def ship(home: Path, typed: str) -> list[dict[str, Any]]:
    """Run ``shipctl ship`` with ``typed`` as its input; the messages it recorded, in order."""
    cli = shipctl(Telemetry("shipctl", "0.1.0"))
    CliRunner().invoke(cli, ["ship"], input=typed, env={"SHIPCTL_HOME": str(home)})
    return rows(home / "state" / "outbox.sqlite3")


def test_telemetry_client_inside_a_command_is_the_commands_own(tmp_path: Path) -> None:
    recorded = ship(tmp_path, "y\n")

    assert [message["event"] for message in recorded] == [
        "Command Invoked",
        "CLI Auth Started",
        "CLI Auth Completed",
        "Command Completed",
    ]
    assert len({message["properties"]["invocation_id"] for message in recorded}) == 1


def test_telemetry_client_inside_telemetry_command_is_the_commands_own(tmp_path: Path) -> None:
    telemetry = Telemetry("shipctl", "0.1.0", state_dir=tmp_path)
    with telemetry.command("ship"), SHIP.run(telemetry.client()) as tracker:
        tracker.advance("push")

    recorded = rows(tmp_path / "outbox.sqlite3")
    assert [message["event"] for message in recorded][:2] == ["Command Invoked", "CLI Auth Started"]


@pytest.mark.parametrize(("typed", "reason"), [("n\n", "declined"), ("", "prompt")])
def test_click_abort_at_a_prompt_aborts_the_run_with_its_reason(
    tmp_path: Path, typed: str, reason: str
) -> None:
    recorded = ship(tmp_path, typed)

    events = [message["event"] for message in recorded]
    assert events[1:3] == ["CLI Auth Started", "CLI Auth Aborted"]
    ending = recorded[2]
    assert ending["properties"]["reason"] == reason
    assert ending["properties"]["step"] == "pack"
