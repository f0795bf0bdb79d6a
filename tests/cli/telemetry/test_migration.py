"""An outbox written by the previous release (schema 2, main at 72cf3dc) opened by this one:
nothing pending is lost, each open flow is ended exactly once."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import Outbox, deliver, open_client
from authfunnel.cli.telemetry._store import SCHEMA_VERSION
from tests.cli.telemetry.servers import collector, stored_ids
from tests.cli.telemetry.test_sender import settings

NOT_A_PID_HERE = 2**22 + 12345

# The previous release's schema, as it created it (cli/telemetry/_outbox.py at 72cf3dc).
SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS open_flows (
    invocation_id TEXT NOT NULL,
    flow TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT,
    step TEXT,
    started REAL NOT NULL,
    seen REAL NOT NULL,
    started_body TEXT NOT NULL,
    PRIMARY KEY (invocation_id, flow)
);
"""


def env_for(home: Path) -> Environment:
    return Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)})


def login_left_open(scratch: Path) -> tuple[list[str], tuple[object, ...]]:
    """Real messages of a login that was left open (bodies, and its open-flow row)."""
    client = open_client(env_for(scratch))
    fsm.track_event(client, fsm.auth_started(fsm.LOGIN.flow, no_browser=False))
    client.close(0)
    db = sqlite3.connect(scratch / "state" / "outbox.sqlite3")
    try:
        bodies = [str(b) for (b,) in db.execute("SELECT body FROM messages ORDER BY id")]
        row = db.execute(
            "SELECT invocation_id, flow, step, started, seen, started_body FROM open_flows"
        ).fetchone()
    finally:
        db.close()
    return bodies, tuple(row)


def previous_release_outbox(path: Path, scratch: Path, *, quiet_for: float) -> list[str]:
    """A schema-2 outbox holding a killed login (pid gone, last seen ``quiet_for`` s ago) and
    its pending messages, as the previous release left it; their messageIds."""
    bodies, (invocation, flow, step, started, _, started_body) = login_left_open(scratch)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(f"BEGIN IMMEDIATE; {SCHEMA_2} PRAGMA user_version = 2; COMMIT;")
    for body in bodies:
        message_id = json.loads(body)["messageId"]
        db.execute(
            "INSERT INTO messages (message_id, created, body) VALUES (?, ?, ?)",
            (message_id, time.time(), body),
        )
    db.execute("INSERT INTO meta VALUES ('anonymous_id', 'anon-of-the-previous-release')")
    db.execute("INSERT INTO meta VALUES ('notice_shown', '1')")
    db.execute(
        "INSERT INTO open_flows VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
        (invocation, flow, NOT_A_PID_HERE, step, started, time.time() - quiet_for, started_body),
    )
    db.close()
    return [str(json.loads(body)["messageId"]) for body in bodies]


def failed(path: Path) -> list[dict[str, object]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT body FROM messages UNION ALL SELECT body FROM archive")
        messages = [json.loads(body) for (body,) in rows]
    finally:
        db.close()
    return [m for m in messages if m.get("event") == fsm.AUTH_FAILED]


def test_an_outbox_of_the_previous_release_is_migrated_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "home" / "state" / "outbox.sqlite3"
    pending = previous_release_outbox(path, tmp_path / "scratch", quiet_for=60)
    open_client(env_for(tmp_path / "home")).close(0)  # the first command of this release
    outbox = Outbox(path)
    assert outbox.db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert outbox.anonymous_id == "anon-of-the-previous-release"
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert (report.outcome, report.remaining) == ("delivered", 0)
    assert stored_ids(store) == pending  # each once, oldest first


def test_a_login_the_previous_release_left_open_is_ended_once_after_the_flow_bound(
    tmp_path: Path,
) -> None:
    # A row of the previous release has no PID namespace: its pid may be another container's,
    # so it is not probed here; it is ended once quiet beyond any login (see _owner).
    home = tmp_path / "home"
    path = home / "state" / "outbox.sqlite3"
    previous_release_outbox(path, tmp_path / "scratch", quiet_for=2 * 86_400)
    for _ in range(3):
        open_client(env_for(home)).close(0)
    (ended,) = failed(path)
    assert ended["properties"]["error_class"] == "ProcessTerminated"  # type: ignore[index]
    assert Outbox(path).db.execute("SELECT COUNT(*) FROM open_flows").fetchone() == (0,)


def test_a_login_the_previous_release_left_open_recently_is_not_ended_yet(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    path = home / "state" / "outbox.sqlite3"
    previous_release_outbox(path, tmp_path / "scratch", quiet_for=60)
    open_client(env_for(home)).close(0)
    assert failed(path) == []
    assert Outbox(path).db.execute("SELECT COUNT(*) FROM open_flows").fetchone() == (1,)
