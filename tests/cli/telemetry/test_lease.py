"""The outbox lease as stored: whatever a damaged row holds, no command breaks on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from authfunnel.cli.telemetry import Outbox, _lease

MALFORMED = [
    ("garbage", "not a time"),
    ("garbage", None),
    ("garbage", b"\x00\xff"),
    ("sender@", "inf"),
    ("@@@", "nan"),
]


def damaged(path: Path, holder: str, expires: object) -> Outbox:
    outbox = Outbox(path)
    outbox.db.execute("INSERT OR REPLACE INTO lease VALUES ('sender', ?, ?)", (holder, expires))
    return outbox


@pytest.mark.parametrize(("holder", "expires"), MALFORMED)
def test_a_malformed_lease_row_counts_as_no_lease(
    tmp_path: Path, holder: str, expires: object
) -> None:
    outbox = damaged(tmp_path / "o.sqlite3", holder, expires)
    assert not _lease.held(outbox)


@pytest.mark.parametrize(("holder", "expires"), MALFORMED)
def test_a_malformed_lease_row_is_repaired_by_the_next_sender(
    tmp_path: Path, holder: str, expires: object
) -> None:
    outbox = damaged(tmp_path / "o.sqlite3", holder, expires)
    assert _lease.acquire(outbox, "next sender", ttl=60)
    assert _lease.held(outbox)
    assert not _lease.acquire(Outbox(tmp_path / "o.sqlite3"), "a third", ttl=60)


class Clock:
    """A wall clock the test moves (no clock since boot: the lease then runs on this one)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def two_senders(path: Path) -> tuple[Outbox, Outbox, Clock]:
    clock = Clock()
    return (
        Outbox(path, clock=clock, uptime=lambda: (None, 0.0)),
        Outbox(path, clock=clock, uptime=lambda: (None, 0.0)),
        clock,
    )


def test_a_flush_takes_over_a_lease_whose_holder_has_had_no_answer_for_its_patience(
    tmp_path: Path,
) -> None:
    stuck, flush, clock = two_senders(tmp_path / "o.sqlite3")
    assert _lease.acquire(stuck, "stuck sender", ttl=30, patience=15)
    clock.now += 10
    assert _lease.renew(stuck, "stuck sender", ttl=30)  # a heartbeat is no progress
    assert not _lease.acquire(flush, "flush", ttl=30, patience=15, take_over_stalled=True)
    clock.now += 6  # 16 s without an answer
    assert _lease.renew(stuck, "stuck sender", ttl=30)
    assert not _lease.acquire(flush, "another sender", ttl=30, patience=15)  # only a flush
    assert _lease.acquire(flush, "flush", ttl=30, patience=15, take_over_stalled=True)
    assert not _lease.renew(stuck, "stuck sender", ttl=30)  # it learns it lost the lease


def test_a_holder_that_gets_answers_is_never_taken_over(tmp_path: Path) -> None:
    working, flush, clock = two_senders(tmp_path / "o.sqlite3")
    assert _lease.acquire(working, "working sender", ttl=30, patience=15)
    for _ in range(10):
        clock.now += 10
        _lease.progressed(working, "working sender", patience=15)
        assert _lease.renew(working, "working sender", ttl=30)
        assert not _lease.acquire(flush, "flush", ttl=30, patience=15, take_over_stalled=True)
