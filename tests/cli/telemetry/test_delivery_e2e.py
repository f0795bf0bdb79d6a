"""End to end: the CLI as a subprocess, real HTTP on 127.0.0.1, the real Segment client.

Every test ends by asserting the exact set of messageIds the collector holds: each recorded
event once, none missing, none twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from authfunnel.cli.devserver import read_messages
from tests.cli.telemetry.harness import (
    DRIVER,
    authfunnel,
    consent,
    drive,
    environment,
    hanging_server,
    killed_when_ready,
    meta,
    pending_ids,
    recorded,
    recorded_ids,
    refused_url,
    sender_idle,
    wait_for_attempt,
    wait_until,
)
from tests.cli.telemetry.servers import collector, failing, stats, stored_ids

pytestmark = pytest.mark.slow


def short_timeout(home: Path) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text("[telemetry]\ntimeout = 1\n")


def delivered(store: Path, expected: list[str]) -> None:
    wait_until(lambda: len(stored_ids(store)) >= len(expected), what="delivery")
    assert sorted(stored_ids(store)) == sorted(expected)


def test_the_first_run_shows_the_notice_and_sends_nothing_until_the_next(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        variables = environment(tmp_path / "home", server.url)
        first = authfunnel(variables, "telemetry", "status")
        assert first.returncode == 0
        assert "authfunnel collects anonymous usage data" in first.stderr
        assert sender_idle(tmp_path / "home")
        assert stored_ids(store) == []
        second = authfunnel(variables, "telemetry", "status")
        assert "collects anonymous usage data" not in second.stderr
        delivered(store, recorded_ids(first.stderr) + recorded_ids(second.stderr))
        assert stats(server.url)["duplicates"] == 0


def test_commands_and_flows_reach_the_collector_exactly_once(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    home = tmp_path / "home"
    with collector(store, write_key="wk") as server:
        variables = environment(home, server.url)
        expected = consent(variables)
        flow = drive(variables, "complete")
        assert flow.returncode == 0, flow.stderr
        expected += recorded_ids(flow.stderr)
        status = authfunnel(variables, "telemetry", "status")
        expected += recorded_ids(status.stderr)
        delivered(store, expected)
        wait_until(lambda: sender_idle(home) and not pending_ids(home), what="an empty outbox")
        assert stats(server.url)["duplicates"] == 0
    # DEBUG=1: the detached sender logged its results (to a file: stderr was a pipe).
    log = (home / "state" / "sender.log").read_text()
    assert "telemetry: delivery accepted" in log
    assert "write key ****" in log
    names = [message.get("event") for message in read_messages(store)]
    assert names.count("CLI Auth Started") == names.count("CLI Auth Completed") == 1


def assert_flushed_exactly(
    home: Path, store: Path, expected: list[str], *, flush_ids: list[str]
) -> None:
    """The flush delivered ``expected`` once each; flush's own command events, recorded at its
    end, are pending or already delivered by the sender its exit started (a race either way),
    never lost. Pending is read first: an event moving meanwhile is then seen at least once."""
    pending = pending_ids(home)
    stored = stored_ids(store)
    assert sorted(i for i in stored if i not in flush_ids) == sorted(expected)
    assert set(flush_ids) <= set(pending) | set(stored)
    assert len(flush_ids) == 2  # Command Invoked and Completed of `telemetry flush`


def test_a_refusing_endpoint_loses_nothing_and_flush_delivers_it_later(tmp_path: Path) -> None:
    home = tmp_path / "home"
    short_timeout(home)
    variables = environment(home, refused_url())
    expected = consent(variables)
    run = authfunnel(variables, "telemetry", "status")
    assert run.returncode == 0
    expected += recorded_ids(run.stderr)
    wait_for_attempt(home)
    assert json.loads(meta(home, "last_result") or "{}")["outcome"] == "retry-later"
    assert sorted(pending_ids(home)) == sorted(expected)
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        flush = authfunnel(environment(home, server.url), "telemetry", "flush")
        assert flush.returncode == 0, flush.stderr
        assert f"Sent {len(expected)} events; 0 left" in flush.stdout
        assert_flushed_exactly(home, store, expected, flush_ids=recorded_ids(flush.stderr))


def test_a_hanging_endpoint_never_delays_exit_and_loses_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with hanging_server() as (url, connections):
        variables = environment(home, url)  # the default 10 s request timeout
        expected = consent(variables)
        run = authfunnel(variables, "telemetry", "status")
        assert run.returncode == 0
        expected += recorded_ids(run.stderr)
        # The command is done, yet its sender has not even finished one attempt: exit did
        # not wait for the endpoint.
        assert meta(home, "last_result") is None
        wait_until(lambda: bool(connections), what="the sender to connect")
        assert not sender_idle(home)
    # The endpoint goes away (resets, then refuses): the sender gives up for now.
    wait_for_attempt(home)
    assert sorted(pending_ids(home)) == sorted(expected)
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        flush = authfunnel(environment(home, server.url), "telemetry", "flush")
        assert flush.returncode == 0
        assert_flushed_exactly(home, store, expected, flush_ids=recorded_ids(flush.stderr))


def test_server_errors_are_retried_until_accepted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    with collector(store, handler=failing(500, failures=2)) as server:
        variables = environment(home, server.url)
        expected = consent(variables)
        run = authfunnel(variables, "telemetry", "status")
        assert run.returncode == 0, run.stderr
        expected += recorded_ids(run.stderr)
        delivered(store, expected)
        assert stats(server.url)["requests"] == 1  # the two 500s stored nothing


def test_429_with_retry_after_waits_as_asked_then_delivers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    handler = failing(429, failures=1, retry_after="2")
    with collector(store, handler=handler) as server:
        variables = environment(home, server.url)
        expected = consent(variables)
        refused_at = time.time()
        run = authfunnel(variables, "telemetry", "status")
        assert run.returncode == 0, run.stderr
        expected += recorded_ids(run.stderr)
        delivered(store, expected)
        accepted_at = time.time()
    assert handler.seen == 2
    assert accepted_at - refused_at >= 2  # a lower bound: a slow machine only makes it larger


def test_a_long_retry_after_defers_delivery_to_a_later_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    with collector(store, handler=failing(429, failures=1, retry_after="3600")) as server:
        variables = environment(home, server.url)
        expected = consent(variables)
        expected += recorded_ids(authfunnel(variables, "telemetry", "status").stderr)
        wait_for_attempt(home)
        # segment-analytics-python caps Retry-After at 300 s; the sender keeps that.
        assert float(meta(home, "retry_at") or 0) > time.time() + 200
        again = authfunnel(variables, "telemetry", "status")  # must not start a sender
        expected += recorded_ids(again.stderr)
        assert sender_idle(home)
        assert sorted(pending_ids(home)) == sorted(expected)
        assert stored_ids(store) == []


def test_a_flow_killed_mid_way_gets_exactly_one_recovered_failure(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        variables = environment(home, server.url)
        expected = consent(variables)
        stderr = killed_when_ready([sys.executable, str(DRIVER), "hang"], variables)
        expected += recorded_ids(stderr)
        for _ in range(2):  # the second invocation must not recover it again
            expected += recorded_ids(authfunnel(variables, "telemetry", "status").stderr)
        wait_until(lambda: len(stored_ids(store)) == len(expected) + 1, what="the recovery")
    failures = [m for m in read_messages(store) if m.get("event") == "CLI Auth Failed"]
    (failure,) = failures
    started = next(m for m in read_messages(store) if m.get("event") == "CLI Auth Started")
    properties = failure["properties"]
    assert properties["step"] == "code_exchange"
    assert properties["error_class"] == "ProcessTerminated"
    assert properties["recovered"] is True
    assert properties["invocation_id"] == started["properties"]["invocation_id"]
    assert sorted(stored_ids(store)) == sorted([*expected, failure["messageId"]])


def test_twenty_concurrent_invocations_deliver_each_event_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        variables = environment(home, server.url)
        expected = consent(variables)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "authfunnel.cli", "telemetry", "status"],
                env=variables,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(20)
        ]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
            expected += recorded_ids(stderr)
        assert len(expected) == len(set(expected)) == 2 + 40
        delivered(store, expected)
        wait_until(lambda: sender_idle(home), what="the last sender")
        assert pending_ids(home) == []
        assert stats(server.url)["duplicates"] == 0


def test_a_corrupt_outbox_warns_once_and_the_command_still_succeeds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "state").mkdir(parents=True)
    garbage = b"not sqlite" * 500
    (home / "state" / "outbox.sqlite3").write_bytes(garbage)
    variables = environment(home, None)
    run = authfunnel(variables, "telemetry", "status")
    assert run.returncode == 0
    warnings = [line for line in run.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "moved it to" in warnings[0]
    (moved,) = (home / "state").glob("outbox.sqlite3.corrupt-*")
    assert moved.read_bytes() == garbage
    again = authfunnel(variables, "telemetry", "status")
    assert "warning" not in again.stderr
    assert len(recorded(again.stderr)) == 2


def test_after_a_corrupt_outbox_the_next_runs_deliver_exactly_their_events(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    (home / "state").mkdir(parents=True)
    (home / "state" / "outbox.sqlite3").write_bytes(b"not sqlite" * 500)
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        variables = environment(home, server.url)
        broken = authfunnel(variables, "telemetry", "status")
        assert broken.returncode == 0
        assert "was damaged: moved it to" in broken.stderr  # and recording went on
        expected = recorded_ids(broken.stderr) + consent(variables)
        run = authfunnel(variables, "telemetry", "status")
        assert run.returncode == 0, run.stderr
        expected += recorded_ids(run.stderr)
        delivered(store, expected)
        assert stats(server.url)["duplicates"] == 0
    (moved,) = (home / "state").glob("outbox.sqlite3.corrupt-*")
    assert moved.read_bytes() == b"not sqlite" * 500


@pytest.mark.parametrize("switch", [{"DO_NOT_TRACK": "1"}, {"AUTHFUNNEL_TELEMETRY": "0"}])
def test_telemetry_off_records_and_sends_nothing(tmp_path: Path, switch: dict[str, str]) -> None:
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        variables = environment(home, server.url, **switch)
        for _ in range(2):
            run = authfunnel(variables, "telemetry", "status")
            assert run.returncode == 0
            assert recorded(run.stderr) == []
            assert "collects anonymous usage data" not in run.stderr
        assert not (home / "state" / "outbox.sqlite3").exists()
        assert stats(server.url)["requests"] == 0


def test_disable_discards_unsent_events_and_stops_recording(tmp_path: Path) -> None:
    home = tmp_path / "home"
    variables = environment(home, refused_url())
    consent(variables)
    disabled = authfunnel(variables, "telemetry", "disable")
    assert disabled.returncode == 0
    assert "Telemetry disabled" in disabled.stdout
    after = authfunnel(variables, "telemetry", "status", "--json")
    assert recorded(after.stderr) == []
    assert json.loads(after.stdout)["enabled"] is False
    assert pending_ids(home) == []


def test_the_sender_holds_no_descriptor_the_command_inherited(tmp_path: Path) -> None:
    # A caller reading a pipe it gave the command (beyond stdin/out/err) waits for EOF: a
    # sender holding the pipe open would keep it waiting for the whole delivery.
    home = tmp_path / "home"
    with hanging_server() as (url, connections):
        variables = environment(home, url)
        consent(variables)
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        try:
            run = subprocess.run(
                [sys.executable, "-m", "authfunnel.cli", "telemetry", "status"],
                env=variables,
                capture_output=True,
                pass_fds=(write_end,),
                timeout=60,
                check=False,
            )
            os.close(write_end)
            assert run.returncode == 0, run.stderr
            wait_until(lambda: bool(connections), what="the sender to connect")
            assert os.read(read_end, 1) == b""  # EOF: no process holds the write end
            assert not sender_idle(home)  # while the sender was still running
        finally:
            os.close(read_end)


def test_flush_takes_over_from_a_sender_stuck_on_a_hanging_endpoint(tmp_path: Path) -> None:
    # The detached sender waits on the old endpoint (the default 10 s per request, retried):
    # it holds the lease for over 30 s. Fixed endpoint, explicit flush: before, "busy", exit 1
    # and nothing sent; now the flush takes over a holder that has had no answer for its
    # request timeout and a grace, and delivers within its --timeout.
    home = tmp_path / "home"
    with hanging_server() as (url, connections):
        variables = environment(home, url)
        expected = consent(variables)
        run = authfunnel(variables, "telemetry", "status")
        assert run.returncode == 0
        expected += recorded_ids(run.stderr)
        wait_until(lambda: bool(connections), what="the sender to connect")
        store = tmp_path / "store.jsonl"
        with collector(store) as server:
            flush = authfunnel(
                environment(home, server.url), "telemetry", "flush", "--timeout", "25"
            )
            assert flush.returncode == 0, flush.stdout + flush.stderr
            assert_flushed_exactly(home, store, expected, flush_ids=recorded_ids(flush.stderr))


def test_flush_after_the_background_sender_delivered_says_so(tmp_path: Path) -> None:
    # Before: "Sent 0 events; 0 left", as if the flush had found nothing ever recorded.
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        variables = environment(home, server.url)
        expected = consent(variables)
        show = authfunnel(variables, "telemetry", "show")
        assert show.returncode == 0
        expected += recorded_ids(show.stderr)
        delivered(store, expected)
        wait_until(lambda: sender_idle(home) and not pending_ids(home), what="an empty outbox")
        flush = authfunnel(variables, "telemetry", "flush")
    assert flush.returncode == 0, flush.stderr
    assert flush.stdout.startswith("Nothing to send: the background sender already delivered")
    assert "Sent 0" not in flush.stdout
