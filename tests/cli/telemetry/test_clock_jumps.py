"""A wall clock that jumps neither drops pending events nor strands or breaks the lease.

Ages and leases are measured on the clock since boot (which no one sets) within a boot; the
wall clock only anchors it. Both clocks are injected.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from authfunnel.cli.telemetry import Outbox, _lease
from authfunnel.cli.telemetry._status import counter

DAY = 86_400.0


class Clocks:
    """A settable wall clock and a clock since boot (with the boot's id)."""

    def __init__(self, boot: str | None = "boot-1") -> None:
        self.wall = 1_700_000_000.0
        self.up = 1_000.0
        self.boot = boot

    def clock(self) -> float:
        return self.wall

    def uptime(self) -> tuple[str | None, float]:
        return self.boot, self.up

    def elapse(self, seconds: float) -> None:
        self.wall += seconds
        self.up += seconds

    def reboot(self) -> None:
        self.boot = f"{self.boot}'"
        self.up = 10.0


def outbox(path: Path, clocks: Clocks) -> Outbox:
    return Outbox(path, max_age_days=30, clock=clocks.clock, uptime=clocks.uptime)


def append(box: Outbox) -> str:
    message_id = str(uuid.uuid4())
    box.append({"type": "track", "event": "E", "messageId": message_id, "properties": {}})
    return message_id


def pending_ids(box: Outbox) -> list[str]:
    import json

    return [json.loads(body)["messageId"] for _, body in box.pending()]


def test_a_forward_wall_clock_jump_drops_no_pending_event(tmp_path: Path) -> None:
    clocks = Clocks()
    kept = append(outbox(tmp_path / "o.sqlite3", clocks))
    clocks.wall += 365 * DAY  # set a year ahead; ten seconds really pass
    clocks.elapse(10)
    later = outbox(tmp_path / "o.sqlite3", clocks)
    fresh = append(later)
    assert pending_ids(later) == [kept, fresh]
    assert dropped(later) == {"age": 0, "count": 0}


def test_events_older_than_the_bound_in_time_since_boot_are_dropped(tmp_path: Path) -> None:
    clocks = Clocks()
    append(outbox(tmp_path / "o.sqlite3", clocks))
    clocks.elapse(31 * DAY)
    later = outbox(tmp_path / "o.sqlite3", clocks)
    fresh = append(later)
    assert pending_ids(later) == [fresh]
    assert dropped(later) == {"age": 1, "count": 0}


def test_across_a_reboot_age_is_measured_by_the_wall_clock(tmp_path: Path) -> None:
    clocks = Clocks()
    append(outbox(tmp_path / "o.sqlite3", clocks))
    clocks.reboot()
    clocks.wall += 31 * DAY
    later = outbox(tmp_path / "o.sqlite3", clocks)
    fresh = append(later)
    assert pending_ids(later) == [fresh]


def test_a_dead_senders_lease_expires_though_the_wall_clock_went_back(tmp_path: Path) -> None:
    clocks = Clocks()
    assert _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "dead sender", ttl=30)
    clocks.wall -= DAY  # set back a day; a minute really passes
    clocks.elapse(60)
    assert _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "next sender", ttl=30)


def test_a_live_lease_holds_though_the_wall_clock_jumped_ahead(tmp_path: Path) -> None:
    clocks = Clocks()
    assert _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "live sender", ttl=30)
    clocks.wall += DAY
    clocks.elapse(1)
    assert not _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "next sender", ttl=30)


def test_a_lease_taken_before_a_reboot_is_stale(tmp_path: Path) -> None:
    clocks = Clocks()
    assert _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "sender", ttl=30)
    clocks.reboot()
    assert not _lease.held(outbox(tmp_path / "o.sqlite3", clocks))


def test_without_a_boot_clock_a_lease_beyond_the_longest_is_stale(tmp_path: Path) -> None:
    # No clock since boot (not Linux): a lease expiring further ahead than any lease lasts
    # was written before the wall clock went back, and its holder is long gone.
    clocks = Clocks(boot=None)
    assert _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "dead sender", ttl=30)
    clocks.wall -= DAY
    assert _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "next sender", ttl=30)


def test_without_a_boot_clock_a_live_lease_still_holds(tmp_path: Path) -> None:
    clocks = Clocks(boot=None)
    assert _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "live sender", ttl=30)
    clocks.elapse(10)
    assert not _lease.acquire(outbox(tmp_path / "o.sqlite3", clocks), "next sender", ttl=30)


def dropped(box: Outbox) -> dict[str, int]:
    """What the bounds dropped, as ``telemetry status`` reports it."""
    return {"age": counter(box, "dropped_age"), "count": counter(box, "dropped_count")}
