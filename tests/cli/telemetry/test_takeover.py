"""A flush that takes over from a stalled sender, and the stalled sender's post that answers
late after all: what each then does to the outbox.

A real stalled sender (its post answered a byte at a time on 127.0.0.1), a real flush to a
real collector, in one home.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from authfunnel.cli.telemetry import Outbox, _sender, deliver
from tests.cli.telemetry.servers import collector, drip, stored_ids
from tests.cli.telemetry.test_sender import filled, settings


def lease_holders_done(timeout: float = 60) -> None:
    """Until every thread that holds a lease for a late post has settled it and let go."""
    for thread in threading.enumerate():
        if thread.name == "authfunnel-lease":
            thread.join(timeout)
            assert not thread.is_alive()


def pending_message_ids(outbox: Outbox) -> list[str]:
    import json

    return [str(json.loads(body)["messageId"]) for _, body in outbox.pending()]


def test_a_late_acceptance_after_a_takeover_never_archives_messages_recorded_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stalled sender's promise of an answer lapses as its post outlives its deadline.
    monkeypatch.setattr(_sender, "STALL_GRACE", 0.0)
    path = tmp_path / "o.sqlite3"
    stalled_box, first_ids = filled(path, 3)
    store = tmp_path / "store.jsonl"
    with drip() as hanging, collector(store) as working:
        stalled = deliver(stalled_box, settings(tmp_path, hanging.url, timeout=0.3), budget=60)
        assert stalled.outcome == "retry-later"  # it holds the lease until its post ends
        assert hanging.posted.is_set()
        flush_box = Outbox(path)
        guard = time.monotonic() + 60  # against a hang only
        while True:
            flushed = deliver(
                flush_box, settings(tmp_path, working.url), budget=60, take_over_stalled=True
            )
            if flushed.outcome != "busy" or time.monotonic() > guard:
                break
            time.sleep(0.05)
        assert (flushed.outcome, flushed.sent) == ("delivered", 3)
        assert stored_ids(store) == first_ids
        # The outbox is empty: the next messages reuse the row ids of the batch still posted.
        later_box, later_ids = filled(path, 3)
        hanging.hurry.set()  # the stalled post is accepted now, long after the takeover
        assert hanging.done.wait(30)
        lease_holders_done()
    assert pending_message_ids(later_box) == later_ids  # still to be sent, none archived
