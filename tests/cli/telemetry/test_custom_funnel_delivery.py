"""An application's own funnel through the outbox: its declaration says what leaves."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import (
    Outbox,
    Telemetry,
    _undeclared,
    load_settings,
    open_client,
    status_facts,
)
from authfunnel.fsm.testing import assert_valid
from tests.cli.telemetry.deploy_app import Target, deploy_funnel

DEPLOY = deploy_funnel()
RUN_PROPERTIES: dict[str, fsm.PropertyValue] = {"environment": Target.STAGING, "dry_run": False}


def environment(home: Path, **variables: str) -> Environment:
    return Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home), **variables})


def stored(home: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(home / "state" / "outbox.sqlite3")
    try:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM messages ORDER BY id")]
    finally:
        db.close()


def test_a_custom_funnels_run_properties_leave_with_each_of_its_events(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    with DEPLOY.run(client, properties=RUN_PROPERTIES) as run:
        run.advance("upload")
    client.close(0)
    messages = stored(tmp_path)
    assert [m["event"] for m in messages] == ["Deploy Started", "Deploy Completed"]
    for message in messages:
        properties = message["properties"]
        assert (properties["environment"], properties["dry_run"]) == ("staging", False)
        assert_valid(fsm.Event(message["event"], properties), funnels=[DEPLOY])


def test_a_property_the_funnel_does_not_declare_never_reaches_the_outbox(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    started = fsm.Event(
        "Deploy Started", {"flow": "deploy", **RUN_PROPERTIES, "path": "/home/alice/.netrc"}, DEPLOY
    )
    fsm.track_event(client, started)
    client.close(0)
    (message,) = stored(tmp_path)
    assert set(message["properties"]) == {"flow", "environment", "dry_run", *fsm.BASE_PROPERTY_KEYS}
    assert "/home/alice" not in json.dumps(message)


SECRET = "alice-4f1e9c@example.com"


def track_undeclared(home: Path) -> str:
    """Two Deploy Started and a login start, each with a property nothing declares (the same
    secret value); what the debug output said."""
    env = environment(home)
    env.debug = True
    client = open_client(env)
    for _ in range(2):
        fsm.track_event(
            client,
            fsm.Event(
                "Deploy Started", {"flow": "deploy", "path": SECRET, **RUN_PROPERTIES}, DEPLOY
            ),
        )
    fsm.track_event(client, fsm.auth_started("login", no_browser=False, email=SECRET))
    client.close(0)
    assert isinstance(env.stderr, io.StringIO)
    return env.stderr.getvalue()


def state_bytes(home: Path) -> bytes:
    """Every byte telemetry keeps below ``home`` (the outbox, its WAL, any ending file)."""
    return b"".join(path.read_bytes() for path in sorted(home.rglob("*")) if path.is_file())


def test_undeclared_properties_are_counted_by_name_and_their_values_kept_nowhere(
    tmp_path: Path,
) -> None:
    debug = track_undeclared(tmp_path)
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")  # a later invocation reads it
    facts = status_facts(load_settings(environment(tmp_path)), outbox)
    outbox.close()
    assert facts["undeclared"] == {"CLI Auth Started": {"email": 1}, "Deploy Started": {"path": 2}}
    assert "left out properties 'Deploy Started' does not declare" in debug
    assert "['path']" in debug
    assert "['email']" in debug
    assert SECRET not in debug
    assert SECRET not in json.dumps(facts)
    assert SECRET.encode() not in state_bytes(tmp_path)


def test_telemetry_status_says_which_undeclared_properties_were_left_out(tmp_path: Path) -> None:
    from authfunnel.cli.__main__ import main

    track_undeclared(tmp_path)
    env = Environment(
        stdout=io.StringIO(), stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(tmp_path)}
    )
    assert main(["telemetry", "status"], env) == 0
    assert isinstance(env.stdout, io.StringIO)
    shown = env.stdout.getvalue()
    assert (
        "Undeclared properties left out (never stored): 3: path on Deploy Started (2); "
        "email on CLI Auth Started (1)\n"
    ) in shown
    assert SECRET not in shown


def test_an_applications_status_and_its_click_group_count_undeclared_properties(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    telemetry = Telemetry("deployctl", "1.0.0", state_dir=tmp_path / "state", notice="n\n")
    client = telemetry.client()
    started = {"flow": "deploy", "token": SECRET, **RUN_PROPERTIES}
    fsm.track_event(client, fsm.Event("Deploy Started", started, DEPLOY))
    client.close(0)
    assert telemetry.status()["undeclared"] == {"Deploy Started": {"token": 1}}
    shown = CliRunner().invoke(telemetry.click_group(), ["status"])
    assert shown.exit_code == 0, shown.output
    assert "Undeclared properties left out (never stored): 1: token on Deploy Started (1)" in (
        shown.output
    )
    assert SECRET not in shown.output


def test_the_undeclared_count_is_bounded_however_many_names_a_call_site_invents(
    tmp_path: Path,
) -> None:
    client = open_client(environment(tmp_path))
    for number in range(_undeclared.MAX_PAIRS + 50):
        fsm.track_event(client, fsm.Event("Deploy Started", {f"key_{number}": 1}, DEPLOY))
    client.close(0)
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    found = _undeclared.counts(outbox)
    outbox.close()
    assert sum(len(names) for names in found.values()) == _undeclared.MAX_PAIRS + 1
    assert found[_undeclared.OTHERS] == {_undeclared.OTHERS: 50}
    assert sum(n for names in found.values() for n in names.values()) == _undeclared.MAX_PAIRS + 50
