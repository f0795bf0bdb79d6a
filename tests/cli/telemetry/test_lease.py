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
