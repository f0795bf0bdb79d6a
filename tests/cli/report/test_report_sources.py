"""``authfunnel report`` sources: the local store, a collector's store, and bad stores.

Every store here is written by the real parts: the outbox by the real ``OutboxClient``, the
archive by the real sender after a real collector on 127.0.0.1 accepted the batch, the
collector's store by the collector fed by segment-analytics-python or by the sender.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.commands.simulate import write_simulation
from authfunnel.cli.simulate import simulate
from authfunnel.cli.telemetry import Outbox, deliver, load_settings, open_client, open_outbox
from authfunnel.cli.telemetry._archive import archived
from authfunnel.fsm import LOGIN, Step, TelemetryClient
from tests.cli.devserver.test_collector import start, stop
from tests.cli.telemetry.servers import collector


def env_for(home: Path, **extra: str) -> Environment:
    variables = {"AUTHFUNNEL_HOME": str(home), "COLUMNS": "160", **extra}
    return Environment(stdout=io.StringIO(), stderr=io.StringIO(), variables=variables)


def run_cli(home: Path, *argv: str, **extra: str) -> tuple[int, str, str]:
    env = env_for(home, **extra)
    status = main(list(argv), env)
    assert isinstance(env.stdout, io.StringIO)
    assert isinstance(env.stderr, io.StringIO)
    return status, env.stdout.getvalue(), env.stderr.getvalue()


def report_json(home: Path, *argv: str, **extra: str) -> dict[str, Any]:
    status, out, err = run_cli(home, "report", "--format", "json", *argv, **extra)
    assert status == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def record_logins(client: TelemetryClient) -> None:
    """Two login flows: one completes, one fails at code_exchange."""
    with LOGIN.run(client, no_browser=True) as run:
        for step in (Step.CODE_EXCHANGE, Step.APPS_FETCH, Step.APP_SELECT):
            run.advance(step)
        run.advance(Step.PROFILE_CONFIGURE)
    try:
        with LOGIN.run(client) as run:
            run.advance(Step.CODE_EXCHANGE)
            raise ConnectionError
    except ConnectionError:
        pass


def assert_two_logins(login: dict[str, Any]) -> None:
    assert (login["started"], login["completed"], login["failed"]) == (2, 1, 1)
    assert login["failed_by_error_class"] == {"ConnectionError": 1}
    assert login["no_browser"] == 1


def record_and_deliver(tmp_path: Path, host: str) -> tuple[int, int]:
    """Record two logins through the real outbox client and deliver them to ``host``; the
    outbox's pending and archived counts afterwards."""
    env = env_for(tmp_path, AUTHFUNNEL_SEGMENT_WRITE_KEY="wk", AUTHFUNNEL_SEGMENT_HOST=host)
    client = open_client(env)
    record_logins(client)
    client.close(0)
    settings = load_settings(env)
    outbox = open_outbox(settings.outbox_path)
    try:
        assert deliver(outbox, settings, budget=30).outcome == "delivered"
        return outbox.count(), archived(outbox)
    finally:
        outbox.close()


def test_report_reads_the_local_outbox_by_default(tmp_path: Path) -> None:
    client = open_client(env_for(tmp_path))  # no write key: local-only, nothing ever sent
    record_logins(client)
    client.close(0)

    assert_two_logins(report_json(tmp_path, "--flow", "login")["flows"]["login"])


def test_delivered_events_stay_in_the_local_store_for_reports(tmp_path: Path) -> None:
    with collector(tmp_path / "collector.jsonl") as server:
        assert record_and_deliver(tmp_path, server.url) == (0, 4)  # sent, and kept locally

    local = report_json(tmp_path, "--flow", "login")
    assert_two_logins(local["flows"]["login"])
    collected = report_json(tmp_path, "--flow", "login", "--source", str(server.store.path))
    assert collected["flows"] == local["flows"]


@pytest.mark.slow
def test_the_collector_commands_store_is_a_source_whatever_its_name(tmp_path: Path) -> None:
    store = tmp_path / "messages.log"
    server, url = start(tmp_path, store)
    try:
        record_and_deliver(tmp_path, url.strip())
    finally:
        stop(server)

    assert_two_logins(report_json(tmp_path, "--source", str(store))["flows"]["login"])


def test_a_collector_store_fed_by_the_segment_client_reports_like_the_messages(
    tmp_path: Path,
) -> None:
    from segment.analytics import Client

    messages = list(simulate(60, 3))
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        client = Client("wk", host=server.url, upload_interval=0.05)
        for m in messages:
            client.track(
                anonymous_id=m["anonymousId"],
                event=m["event"],
                properties=m["properties"],
                timestamp=datetime.fromisoformat(m["timestamp"]),
                message_id=m["messageId"],
            )
        client.flush()
        client.join()
    exported = tmp_path / "simulated.jsonl"
    write_simulation(exported, flows=60, seed=3)

    from_store = report_json(tmp_path, "--source", str(store), "--by", "os")
    assert from_store["lines"] == len(messages)
    assert (
        from_store["flows"]
        == report_json(tmp_path, "--source", str(exported), "--by", "os")["flows"]
    )


def test_a_corrupt_store_is_a_clear_error_and_left_as_it_was(tmp_path: Path) -> None:
    store = tmp_path / "outbox.sqlite3"
    data = b"SQLite format 3\x00" + b"\x07" * 4000
    store.write_bytes(data)

    status, _, err = run_cli(tmp_path, "report", "--source", str(store))

    assert status == 1
    assert f"cannot read the event store {store}" in err
    assert "Traceback" not in err
    assert store.read_bytes() == data


def test_an_sqlite_file_that_is_no_outbox_is_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.close()

    status, _, err = run_cli(tmp_path, "report", "--source", str(other))

    assert status == 1
    assert "not an authfunnel outbox" in err


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    store = tmp_path / "empty.sqlite3"
    Outbox(store).close()

    status, out, _ = run_cli(tmp_path, "report", "--source", str(store))

    assert status == 0
    assert "it is empty" in out


def test_simulate_stores_into_the_local_store_where_nothing_is_sent(tmp_path: Path) -> None:
    status, out, err = run_cli(tmp_path, "simulate", "--flows", "80", "--seed", "5")
    assert status == 0, err
    assert "stored" in out
    exported = tmp_path / "simulated.jsonl"
    write_simulation(exported, flows=80, seed=5)

    local = report_json(tmp_path)["flows"]
    expected = report_json(tmp_path, "--source", str(exported))["flows"]
    for flow in ("login", "signup", "logout"):
        assert local[flow] == expected[flow]
    outbox = open_outbox(tmp_path / "state" / "outbox.sqlite3")
    try:
        pending = [json.loads(body)["event"] for _, body in outbox.pending()]
    finally:
        outbox.close()
    # Only the commands' own lifecycle events are pending: no simulated event can be sent.
    assert set(pending) <= {"Command Invoked", "Command Completed"}


def test_simulate_into_a_small_store_says_what_its_bound_dropped(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text("[telemetry]\nmax_events = 100\n")

    store = tmp_path / "s.sqlite3"
    status, out, _ = run_cli(tmp_path, "simulate", "--flows", "50", "--out", str(store))

    assert status == 0
    assert "the store keeps the newest 100 events" in out
    outbox = open_outbox(store)
    try:
        assert (outbox.count(), archived(outbox)) == (0, 100)
    finally:
        outbox.close()


def test_simulate_never_writes_into_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "app.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = other.read_bytes()

    status, _, err = run_cli(tmp_path, "simulate", "--flows", "5", "--out", str(other))

    assert status == 1
    assert "is not an event store" in err
    assert other.read_bytes() == before


def test_diagram_counts_with_no_source_reads_the_local_store(tmp_path: Path) -> None:
    run_cli(tmp_path, "simulate", "--flows", "40", "--seed", "2")
    store = tmp_path / "state" / "outbox.sqlite3"

    status, from_default, err = run_cli(tmp_path, "diagram", "login", "--counts")
    assert status == 0, err
    _, from_path, _ = run_cli(tmp_path, "diagram", "login", "--counts", str(store))
    assert from_default == from_path
    assert "browser_wait" in from_default


def test_the_report_engine_runs_where_the_os_has_no_cpu_affinity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """macOS has no ``os.sched_getaffinity``: the thread count comes from the core count."""
    import os

    from authfunnel.cli.report._events import MIN_THREADS, connect

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    con = connect()
    try:
        threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    finally:
        con.close()
    assert int(threads) >= MIN_THREADS
