"""A damaged outbox is moved aside, never deleted, and what can still be read of it is kept.

``replace`` renames the file (with its ``-wal`` and ``-shm``) to ``<name>.corrupt-<time>-<id>``
for inspection, opens a fresh outbox in its place and copies into it every row that can still
be read: pending messages (not yet delivered: the ones that matter most), the archive, the
``meta`` settings (the anonymousId, a ``disabled`` opt-out) and the open flows, with any table
a later version adds. Leases and the batch a sender claimed are not copied: they belonged to
the old file.

The fresh file is in place before the rows are copied, and other processes record into it
meanwhile: rows keyed by a row id are appended after what it holds (the ids are the old
file's, and copied as they were they would overwrite what was recorded since).

Rows are read in rowid order; where a read fails (a damaged page), reading goes on past it by
jumps that double, so a damaged leaf costs its own rows and at most as many again, not the
rest of the table. SQLite's own ``.recover`` would find more, but lives in the ``sqlite3``
shell, not in the library Python ships.

Processes may meet the same damage at once: the move happens under an exclusive lock on the
state dir, and a process that finds the file it had open already replaced just reopens.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.app import plural
from authfunnel.cli.telemetry._outbox import Outbox, OutboxError
from authfunnel.cli.telemetry._store import COMPANIONS, transaction

NOT_COPIED: Final = frozenset({"lease", "in_flight", "sqlite_sequence"})
MAX_JUMPS: Final = 64  # doubling from 1, enough to pass any rowid


def replace(path: Path, damaged: Outbox | None, options: dict[str, Any]) -> tuple[Outbox, str]:
    """Move the damaged outbox at ``path`` aside; return a fresh one and what to tell the user.

    ``damaged``: the open outbox that met the damage (closed here), or ``None`` when the file
    could not even be opened. The text is empty when another process had already done it.
    Raises ``OutboxError`` when the file cannot be moved or the fresh one made.
    """
    with _state_dir_locked(path.parent):
        if damaged is not None:
            identity = damaged.identity
            damaged.close()
            if identity is None or _identity(path) != identity:
                return Outbox(path, **options), ""  # replaced already
        else:
            try:
                return Outbox(path, **options), ""  # replaced while this process waited
            except OutboxError as exc:
                if not exc.corrupt:
                    raise
        try:
            moved = move_aside(path)
        except OSError as exc:
            raise OutboxError(f"cannot move the damaged {path} aside: {exc.strerror}") from exc
        fresh = Outbox(path, **options)
        kept = salvage(moved, fresh)
    return fresh, (
        f"the telemetry store {path} was damaged: moved it to {moved.name} and kept "
        f"{plural(kept, 'record')} that could be read"
    )


def move_aside(path: Path) -> Path:
    """Rename ``path`` (and its WAL files) to ``<name>.corrupt-<time>-<id>`` for inspection."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}-{uuid.uuid4().hex[:6]}")
    path.rename(target)
    for suffix in COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


def salvage(source_path: Path, fresh: Outbox) -> int:
    """Copy every readable row of the outbox file at ``source_path`` into ``fresh``."""
    try:
        source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0
    kept = 0
    try:
        db = fresh.db
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            if table in NOT_COPIED:
                continue
            columns = _shared_columns(source, db, table)
            if not columns:
                continue
            rows = list(readable_rows(source, table, columns))
            names = ", ".join(columns)
            marks = ", ".join("?" for _ in columns)
            with transaction(db):
                db.executemany(f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})", rows)
            kept += len(rows)
    finally:
        source.close()
    return kept


def readable_rows(
    db: sqlite3.Connection, table: str, columns: list[str]
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``table`` that can be read, in rowid order, stepping past damaged pages."""
    query = f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid"
    after = -(2**63)
    while True:
        try:
            for row in db.execute(query, (after,)):
                after = row[0]
                yield tuple(row[1:])
            return
        except sqlite3.DatabaseError:
            past = _past_damage(db, table, after)
            if past is None:
                return
            after = past


def _past_damage(db: sqlite3.Connection, table: str, after: int) -> int | None:
    """A rowid beyond ``after`` from which reading works again, or ``None`` (no more rows)."""
    step = 1
    for _ in range(MAX_JUMPS):
        probe = min(after + step, 2**63 - 1)
        try:
            db.execute(f"SELECT rowid FROM {table} WHERE rowid > ? LIMIT 1", (probe,)).fetchall()
        except sqlite3.DatabaseError:
            step *= 2
            continue
        return probe
    return None


def _shared_columns(source: sqlite3.Connection, fresh: sqlite3.Connection, table: str) -> list[str]:
    """The columns of ``table`` both files have, but a row id (``INTEGER PRIMARY KEY``): the
    fresh file gives the copied rows ids after its own."""
    try:
        old = {row[1] for row in source.execute(f"PRAGMA table_info({table})")}
    except sqlite3.Error:
        return []
    # PRAGMA table_info: (cid, name, type, notnull, default, pk)
    info = fresh.execute(f"PRAGMA table_info({table})").fetchall()
    keys = [row for row in info if row[5]]
    row_id = keys[0][1] if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER" else None
    return [row[1] for row in info if row[1] in old and row[1] != row_id]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


@contextmanager
def _state_dir_locked(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the state dir itself (no lock file to leave behind)."""
    try:
        import fcntl
    except ModuleNotFoundError:  # Windows: no flock; the move is still a single rename
        yield
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def options(outbox: Outbox) -> dict[str, Any]:
    """What ``outbox`` was opened with, to open its replacement the same way."""
    return {
        "max_events": outbox.max_events,
        "max_age_days": outbox.max_age_days,
        "clock": outbox.clock,
        "uptime": outbox.uptime,
    }
