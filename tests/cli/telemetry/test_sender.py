"""``deliver``: batches through the real Segment request module to a real collector."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from authfunnel.cli.telemetry import (
    Outbox,
    Settings,
    _lease,
    _sender,
    read_recorded,
    refused_messages,
)
from authfunnel.cli.telemetry._sender import MAX_BACKOFF, RETRY_AT, deliver, due
from tests.cli.telemetry.servers import (
    PlainBadRequest,
    Portal,
    collector,
    drip,
    failing,
    stats,
    stored_ids,
)


def settings(home: Path, host: str, key: str = "wk", timeout: float = 5) -> Settings:
    return Settings(
        enabled=True,
        reason="test",
        state_dir=home,
        write_key=key,
        host=host,
        timeout=timeout,
        max_events=10_000,
        max_age_days=30,
        debug=False,
    )


def filled(path: Path, count: int, **properties: object) -> tuple[Outbox, list[str]]:
    outbox = Outbox(path)
    ids = []
    for n in range(count):
        message_id = str(uuid.uuid4())
        outbox.append(
            {
                "type": "track",
                "event": f"E{n}",
                "messageId": message_id,
                "anonymousId": "anon",
                "properties": dict(properties),
            }
        )
        ids.append(message_id)
    return outbox, ids


def test_everything_is_sent_in_batches_of_at_most_100_then_deleted(tmp_path: Path) -> None:
    outbox, ids = filled(tmp_path / "o.sqlite3", 250)
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
        assert stats(server.url)["requests"] == 3
    assert (report.outcome, report.sent, report.remaining) == ("delivered", 250, 0)
    assert stored_ids(store) == ids
    assert outbox.count() == 0


def test_a_message_over_the_size_limit_is_kept_with_the_refused_events_at_once(
    tmp_path: Path,
) -> None:
    # No endpoint takes a message over 32 KB: it leaves the queue at once, never deleted.
    outbox, ids = filled(tmp_path / "o.sqlite3", 2)
    big = str(uuid.uuid4())
    outbox.append(
        {
            "type": "track",
            "event": "Big",
            "messageId": big,
            "anonymousId": "a",
            "properties": {"blob": "x" * 40_000},
        }
    )
    _, more = filled(tmp_path / "o.sqlite3", 2)
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert sorted(stored_ids(store)) == sorted(ids + more)
    assert (report.outcome, report.rejected) == ("delivered", 1)
    assert outbox.count() == 0
    assert [message.body for message in refused_messages(outbox)] == [
        body for body in read_recorded(tmp_path / "o.sqlite3") if big in body
    ]


def test_a_wrong_write_key_keeps_every_message_for_later(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "o.sqlite3", 3)
    with collector(tmp_path / "store.jsonl", write_key="right") as server:
        report = deliver(outbox, settings(tmp_path, server.url, key="wrong"), budget=60)
    assert report.outcome == "retry-later"
    assert outbox.count() == 3
    assert float(outbox.get(RETRY_AT) or 0) >= outbox.clock() + 299


def test_weeks_of_failures_still_back_off_instead_of_raising(tmp_path: Path) -> None:
    # The consecutive failures are counted across runs; past 1024 of them the back-off's
    # 2.0 ** n overflowed, deliver raised, and no retry time held the next senders back.
    outbox, _ = filled(tmp_path / "o.sqlite3", 1)
    outbox.put(_sender.FAILURES, "1100")
    with collector(tmp_path / "store.jsonl", write_key="right") as server:
        report = deliver(outbox, settings(tmp_path, server.url, key="wrong"), budget=60)
    assert report.outcome == "retry-later"
    assert float(outbox.get(RETRY_AT) or 0) >= outbox.clock() + 299
    assert not due(outbox)


def test_nothing_is_sent_while_another_sender_holds_the_lease(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "o.sqlite3", 3)
    assert _lease.acquire(Outbox(tmp_path / "o.sqlite3"), "someone else", ttl=60)
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
        assert stats(server.url)["requests"] == 0
    assert report.outcome == "busy"
    assert outbox.count() == 3


def test_an_expired_lease_is_taken_over(tmp_path: Path) -> None:
    outbox, ids = filled(tmp_path / "o.sqlite3", 3)
    assert _lease.acquire(Outbox(tmp_path / "o.sqlite3"), "a dead sender", ttl=-1)
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert report.outcome == "delivered"
    assert stored_ids(store) == ids


def test_a_sender_whose_lease_was_taken_during_a_back_off_sends_nothing_more(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite3"
    outbox, _ = filled(path, 3)
    handler = failing(500, failures=1)

    def taken_over(delay: float) -> None:
        # While it waits, its lease expires and another sender takes it (and sends).
        other = Outbox(path)
        other.db.execute("UPDATE lease SET expires = 0")
        assert _lease.acquire(other, "another sender", ttl=60)

    with collector(tmp_path / "store.jsonl", handler=handler) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60, sleep=taken_over)
    assert handler.seen == 1  # the 500 only: the batch is the new holder's to send
    assert report.outcome == "busy"
    assert outbox.count() == 3


def test_a_redirect_that_turns_the_post_into_a_get_is_not_an_acceptance(tmp_path: Path) -> None:
    # requests follows a 302 with a GET: its 200 says nothing about the batch, never posted.
    outbox, _ = filled(tmp_path / "o.sqlite3", 3)
    with collector(tmp_path / "store.jsonl", handler=Portal) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert (report.outcome, report.sent) == ("retry-later", 0)
    assert outbox.count() == 3


def test_a_retry_time_within_the_longest_back_off_holds_delivery_back(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "o.sqlite3", 1)
    outbox.put(RETRY_AT, repr(outbox.clock() + 60))
    assert not due(outbox)


def test_a_retry_time_beyond_the_longest_back_off_is_ignored(tmp_path: Path) -> None:
    # Written while the clock was far ahead: honouring it would hold delivery back until the
    # age bound drops the events.
    outbox, _ = filled(tmp_path / "o.sqlite3", 1)
    outbox.put(RETRY_AT, repr(outbox.clock() + MAX_BACKOFF + 3600))
    assert due(outbox)


def test_an_unreadable_retry_time_is_ignored(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "o.sqlite3", 1)
    outbox.put(RETRY_AT, "soon")
    assert due(outbox)


def test_a_400_that_is_not_a_segment_error_drops_nothing(tmp_path: Path) -> None:
    # Only an endpoint that says why (Segment's JSON error) rejects a message; an HTML 400
    # for every request is a wrong host, and dropping "rejected" messages would lose them all.
    outbox, _ = filled(tmp_path / "o.sqlite3", 3)
    with collector(tmp_path / "store.jsonl", handler=PlainBadRequest) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert (report.outcome, report.rejected) == ("retry-later", 0)
    assert outbox.count() == 3
    assert float(outbox.get(RETRY_AT) or 0) >= outbox.clock() + 299


def test_delivery_results_mask_credentials_in_the_host_url(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "o.sqlite3", 1)
    said: list[str] = []
    with collector(tmp_path / "store.jsonl") as server:
        host = server.url.replace("http://", "http://user:s3cret-token@")
        report = deliver(outbox, settings(tmp_path, host), budget=60, log=said.append)
    assert report.outcome == "delivered"
    assert said
    assert not [line for line in said if "s3cret-token" in line]


def test_a_run_that_delivers_everything_after_a_retry_reports_delivered(tmp_path: Path) -> None:
    # "retry-later" would stop the sender looking again for events recorded meanwhile, and
    # 'telemetry status' would report a failure with nothing left.
    outbox, ids = filled(tmp_path / "o.sqlite3", 3)
    store = tmp_path / "store.jsonl"
    with collector(store, handler=failing(500, failures=1)) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60, sleep=lambda _: None)
    assert (report.outcome, report.sent, report.remaining) == ("delivered", 3, 0)
    assert stored_ids(store) == ids


def test_a_post_answered_a_byte_at_a_time_ends_at_its_deadline(tmp_path: Path) -> None:
    # requests' timeout bounds each read, not the request: every byte arriving in time, one
    # post would otherwise last as long as the server likes, and outlast the sender's lease.
    outbox, _ = filled(tmp_path / "o.sqlite3", 3)
    with drip() as server:
        report = deliver(outbox, settings(tmp_path, server.url, timeout=0.5), budget=60)
        answered = server.done.is_set()
    assert not answered
    assert (report.outcome, report.sent, report.remaining) == ("retry-later", 0, 3)


@pytest.mark.slow
def test_no_batch_is_posted_by_two_senders_while_a_post_drips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short lease, so the first post outlasts it many times over: only the first sender's
    # heartbeat keeps the second out until its post ends.
    monkeypatch.setattr(_sender, "LEASE_TTL", 0.5)
    path = tmp_path / "o.sqlite3"
    _, ids = filled(path, 3)
    firsts: list[str] = []
    outcomes: list[str] = []

    def first(url: str) -> None:
        outbox = Outbox(path)
        firsts.append(deliver(outbox, settings(tmp_path, url, timeout=0.3), budget=60).outcome)
        outbox.close()

    def second(url: str, stop: threading.Event) -> None:
        outbox = Outbox(path)
        while not stop.is_set():  # a sender started again and again, as invocations do
            outcomes.append(
                deliver(outbox, settings(tmp_path, url, timeout=0.3), budget=60).outcome
            )
            time.sleep(0.05)
        outbox.close()

    guard = time.monotonic() + 60  # against a hang only: nothing here asserts a duration
    with drip() as server:
        one = threading.Thread(target=first, args=(server.url,), daemon=True)
        one.start()
        assert server.posted.wait(30)
        stop = threading.Event()
        two = threading.Thread(target=second, args=(server.url, stop), daemon=True)
        two.start()
        one.join(60)
        while len(outcomes) < 20 and time.monotonic() < guard:  # past many lease lengths
            time.sleep(0.05)
        assert server.posts == [ids]
        server.hurry.set()
        assert server.done.wait(30)
        while _lease.held(Outbox(path)) and time.monotonic() < guard:
            time.sleep(0.05)
        stop.set()
        two.join(60)
    assert server.posts == [ids]  # once: the dripped post was accepted, and its batch removed
    assert Outbox(path).count() == 0
    assert firsts == ["retry-later"]
    assert set(outcomes) <= {"busy", "delivered"}  # "delivered": nothing left to send


def test_an_unreadable_failure_count_still_backs_off(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "o.sqlite3", 1)
    outbox.put(_sender.FAILURES, "lots")
    with collector(tmp_path / "store.jsonl", write_key="right") as server:
        report = deliver(outbox, settings(tmp_path, server.url, key="wrong"), budget=60)
    assert report.outcome == "retry-later"
    assert float(outbox.get(RETRY_AT) or 0) >= outbox.clock() + 299
