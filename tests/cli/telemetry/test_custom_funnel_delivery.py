"""An application's own funnel through the outbox: its declaration says what leaves."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import open_client
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
