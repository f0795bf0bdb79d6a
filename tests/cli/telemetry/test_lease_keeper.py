"""The lease keeper: one sender at a time, renewed while a post runs, held for a late one.

Real threads and a real outbox; a short ttl, so a call that outlasts it several times over
shows the heartbeat at work. Nothing asserts a duration.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.telemetry import Outbox, _lease
from authfunnel.cli.telemetry._lease_keeper import LateAnswer, LeaseKeeper

TTL = 0.3


def another_sender_gets_in(path: Path) -> bool:
    """Whether a second sender, with its own connection, can take the lease now."""
    outbox = Outbox(path)
    try:
        return LeaseKeeper(outbox, TTL).acquire()
    finally:
        outbox.close()


def never_settled(outbox: Outbox, response: Any) -> None:
    raise AssertionError("a call answered in time is not settled later")


def test_a_held_lease_keeps_a_second_sender_out_until_released(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    keeper = LeaseKeeper(Outbox(path), ttl=60)
    assert keeper.acquire()
    assert not another_sender_gets_in(path)
    keeper.release()
    assert another_sender_gets_in(path)


def test_a_call_within_its_deadline_returns_its_result_or_raises_its_error(
    tmp_path: Path,
) -> None:
    keeper = LeaseKeeper(Outbox(tmp_path / "o.sqlite3"), TTL)
    assert keeper.acquire()
    assert keeper.run_within(lambda: "answer", 5, never_settled) == "answer"

    def fails() -> None:
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError, match="refused"):
        keeper.run_within(fails, 5, never_settled)


def test_the_lease_is_renewed_while_a_call_outlasts_it(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    keeper = LeaseKeeper(Outbox(path), TTL)
    assert keeper.acquire()

    def slow() -> bool:
        time.sleep(TTL * 4)  # the lease would have lapsed three times over
        return another_sender_gets_in(path)

    assert keeper.run_within(slow, 30, never_settled) is False


def test_a_late_call_keeps_the_lease_until_it_ends_then_is_settled(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    keeper = LeaseKeeper(Outbox(path), TTL)
    assert keeper.acquire()
    finish = threading.Event()
    settled: list[Any] = []
    done = threading.Event()

    def settle(outbox: Outbox, response: Any) -> None:
        settled.append((outbox.path, response))
        done.set()

    def late() -> str:
        finish.wait(30)
        return "accepted after all"

    with pytest.raises(LateAnswer) as raised:
        keeper.run_within(late, 0.05, settle)
    keeper.hold_until_done(raised.value)
    time.sleep(TTL * 4)
    assert not another_sender_gets_in(path)  # held for the post still in flight
    assert settled == []
    finish.set()
    assert done.wait(30)
    assert settled == [(path, "accepted after all")]
    deadline = time.monotonic() + 30  # against a hang only
    while _lease.held(Outbox(path)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert another_sender_gets_in(path)


def test_a_late_call_that_fails_is_not_settled_and_the_lease_is_released(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite3"
    keeper = LeaseKeeper(Outbox(path), TTL)
    assert keeper.acquire()
    finish = threading.Event()

    def late() -> None:
        finish.wait(30)
        raise ConnectionError("reset")

    with pytest.raises(LateAnswer) as raised:
        keeper.run_within(late, 0.05, never_settled)
    keeper.hold_until_done(raised.value)
    finish.set()
    raised.value.worker.join(30)
    deadline = time.monotonic() + 30  # against a hang only
    while _lease.held(Outbox(path)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert another_sender_gets_in(path)
