"""The detached sender runs with the settings its command resolved, bounds included."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli.telemetry.harness import (
    authfunnel,
    consent,
    environment,
    outbox,
    pending_ids,
    sender_idle,
    wait_until,
)
from tests.cli.telemetry.servers import collector, stored_ids

pytestmark = pytest.mark.slow


def archived(home: Path) -> int:
    db = outbox(home)
    try:
        return int(db.execute("SELECT COUNT(*) FROM archive").fetchone()[0])
    except sqlite3.OperationalError:  # no archive table yet
        return 0
    finally:
        db.close()


def test_the_detached_sender_keeps_the_archive_within_the_configured_bound(
    tmp_path: Path,
) -> None:
    home, store = tmp_path / "home", tmp_path / "store.jsonl"
    (home / "config").mkdir(parents=True)
    # Room for one run's events pending (the outbox keeps the same bound), not for all of them.
    (home / "config" / "config.toml").write_text("[telemetry]\nmax_events = 4\n")
    with collector(store) as server:
        variables = environment(home, server.url, DEBUG="")
        consent(variables)
        for _ in range(3):  # each run records 2 events; the sender its exit starts sends all
            done = authfunnel(variables, "telemetry", "status")
            assert done.returncode == 0, done.stderr
            wait_until(lambda: sender_idle(home) and not pending_ids(home), what="a sender")
        assert len(stored_ids(store)) == 8
    assert archived(home) <= 4
