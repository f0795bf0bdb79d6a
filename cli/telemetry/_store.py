"""The outbox's SQLite file: its schema, how it is opened, and how its errors are named.

``sqlite3.Error`` becomes ``OutboxError`` here and nowhere else, named by what the caller
must do about it: ``corrupt`` (the file may be damaged: confirm with ``damaged`` and move it
aside), ``full`` (the disk is full: keep what could not be written), ``read_only`` (nothing
can be written here: read what is there, say so plainly).

The file and its ``-wal``/``-shm`` companions are refused when they are symbolic links: the
state dir is private, and a link in it would have us chmod, write or move another file.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from authfunnel.cli.app import FILE_MODE, private_dir, private_file

# 2: the archive table. 3: open flows carry their owner's PID namespace and boot; the
# quarantine table keeps rows that could not be read. 4: the sender's refused, refusals and
# in_flight tables. 5: the undeclared table (properties left out, counted: _undeclared). 6: an
# open flow says how it is recovered (its funnel's Failed or ended event: _flows.Recovery). The
# migration is idempotent (it checks what exists), so the number only says whether to run it.
SCHEMA_VERSION: Final = 6
BUSY_TIMEOUT_MS: Final = 15_000
COMPANIONS: Final = ("-wal", "-shm")

_TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        created REAL NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS archive (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        created REAL NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # The sender's (see _refused and _lease): messages the endpoint refused again and again,
    # kept for reports; how often each pending one was refused alone; the batch being posted.
    """CREATE TABLE IF NOT EXISTS refused (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        created REAL NOT NULL,
        body TEXT NOT NULL,
        status INTEGER NOT NULL,
        code TEXT NOT NULL,
        refused_at REAL NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS refusals (message_id TEXT PRIMARY KEY, count INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS in_flight (id INTEGER PRIMARY KEY, holder TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL)",
    """CREATE TABLE IF NOT EXISTS open_flows (
        invocation_id TEXT NOT NULL,
        flow TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pid_start TEXT,
        step TEXT,
        started REAL NOT NULL,
        seen REAL NOT NULL,
        started_body TEXT NOT NULL,
        pid_ns TEXT,
        boot_id TEXT,
        recovery TEXT,
        PRIMARY KEY (invocation_id, flow)
    )""",
    # How often each event left out each property its declaration does not name (no values).
    """CREATE TABLE IF NOT EXISTS undeclared (
        event TEXT NOT NULL,
        property TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (event, property)
    )""",
    # Rows that could not be read (a body that is not a Segment message, an open flow that
    # cannot be parsed): kept for inspection, out of the way of delivery and recovery.
    """CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        moved REAL NOT NULL,
        reason TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
)
_ADDED_COLUMNS: Final = {"open_flows": ("pid_ns TEXT", "boot_id TEXT", "recovery TEXT")}

_CORRUPT: Final = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_FULL: Final = ("SQLITE_FULL",)
_READ_ONLY: Final = ("SQLITE_READONLY",)


class OutboxError(Exception):
    """The outbox cannot be used.

    ``corrupt``: the error hints at a damaged file (confirm with ``damaged`` before acting);
    ``full``: the disk is full; ``read_only``: nothing can be written where the outbox is.
    """

    def __init__(
        self,
        message: str,
        *,
        corrupt: bool = False,
        full: bool = False,
        read_only: bool = False,
    ) -> None:
        super().__init__(message)
        self.corrupt = corrupt
        self.full = full
        self.read_only = read_only


def translate(exc: sqlite3.Error, what: str = "outbox") -> OutboxError:
    """``exc`` as the ``OutboxError`` that names what to do about it."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    text = str(exc)
    if name.startswith(_READ_ONLY):
        return OutboxError(f"{what}: read-only ({text})", read_only=True)
    if name.startswith(_FULL) or "disk is full" in text:
        return OutboxError(f"{what}: the disk is full ({text})", full=True)
    corrupt = name.startswith(_CORRUPT) or "malformed" in text or "not a database" in text
    return OutboxError(f"{what}: {text}", corrupt=corrupt)


@contextmanager
def translated() -> Iterator[None]:
    """A scope in which ``sqlite3.Error`` is raised as ``OutboxError`` (the one boundary)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc) from exc


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock up front, so no upgrade deadlock.

    A nested use joins the transaction already open.
    """
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def damaged(db: sqlite3.Connection) -> bool:
    """Whether the database behind ``db`` is really damaged (``PRAGMA quick_check``).

    Only asked when an error hints at it: the check reads every page, which no start-up
    should pay for.
    """
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError:
        return True
    except sqlite3.Error:
        return False
    return rows != [("ok",)]


def refuse_links(path: Path) -> None:
    """Raise ``OutboxError`` when ``path`` or a companion of it is a symbolic link."""
    for each in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        try:
            mode = os.lstat(each).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise OutboxError(f"cannot use {each}: {exc.strerror}") from exc
        if stat.S_ISLNK(mode):
            raise OutboxError(f"{each} is a symbolic link; refusing to follow it")


def writable(path: Path) -> bool:
    """Whether an outbox could be written at ``path`` (its dir, and the file if it exists)."""
    directory = path.parent
    if not directory.exists():
        return True  # created on open; a failure there is reported as such
    if not os.access(directory, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating, migrating) the outbox at ``path`` for writing; raises ``OutboxError``."""
    refuse_links(path)
    try:
        private_dir(path.parent)
    except OSError as exc:
        raise OutboxError(f"cannot create {path.parent}: {exc.strerror}") from exc
    try:
        # SQLite gives the -wal and -shm files the database file's mode: made 0600 first, all
        # three are. Ones an earlier version left readable are tightened too.
        private_file(path)
        for suffix in COMPANIONS:
            companion = path.with_name(path.name + suffix)
            if companion.exists():
                os.chmod(companion, FILE_MODE)
    except OSError as exc:
        raise OutboxError(f"cannot create {path}: {exc.strerror}") from exc
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise OutboxError(f"cannot open {path}: {exc}") from exc
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            _migrate(db)
        db.execute("SELECT 1 FROM messages LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        db.close()
        raise translate(exc, f"cannot use {path}") from exc
    return db


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open the store at ``path`` to read it only, where writing is impossible too.

    A WAL database needs its ``-shm`` to be read; in a directory that cannot be written it
    cannot be made, so there the file is opened ``immutable`` (nobody can write it either).
    """
    refuse_links(path)
    if not path.is_file():
        raise OutboxError(f"{path} is not a file")
    options = "mode=ro" if writable(path) else "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?{options}",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise translate(exc, f"cannot read {path}") from exc
    return db


def _migrate(db: sqlite3.Connection) -> None:
    with transaction(db):
        for table in _TABLES:
            db.execute(table)
        for table, columns in _ADDED_COLUMNS.items():
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column.split()[0] not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
