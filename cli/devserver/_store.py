"""The dev provider's SQLite store: users, apps, authorization codes and tokens.

One connection shared by the server's threads behind a lock: the dev server handles a person
and a test suite, not traffic, and a single writer keeps SQLite simple. The file holds password
hashes and live tokens, so it is its owner's alone: created 0600 (SQLite gives its -wal and
-shm the same mode) in folders created 0700, whatever the umask.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authfunnel.cli.app import FILE_MODE, open_private

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    salt BLOB NOT NULL, password_hash BLOB NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS apps (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
    created_at REAL NOT NULL, UNIQUE (user_id, name));
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, code_challenge TEXT,
    code_challenge_method TEXT, issued_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    access_token TEXT PRIMARY KEY, refresh_token TEXT UNIQUE, client_id TEXT NOT NULL,
    user_id TEXT NOT NULL, scope TEXT NOT NULL, issued_at REAL NOT NULL,
    expires_in INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, family TEXT);
"""
# A token's family: every pair rotated from one authorization code shares the first pair's
# access token as its family. Rows from before the column read NULL: each its own family.
_FAMILY = "COALESCE(family, access_token)"

CODE_TTL_SECONDS = 120
FOLDER_MODE = 0o700
_NO_SALT = bytes(16)
_CODE_FIELDS = (
    "code",
    "client_id",
    "user_id",
    "redirect_uri",
    "scope",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str


@dataclass(frozen=True)
class App:
    id: str
    name: str
    created_at: float

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": self.created_at}


class EmailTaken(ValueError):
    """Sign-up with an email that already has an account."""


class AppNameTaken(ValueError):
    """The user already has an app of that name."""


class Store:
    """Users, apps, codes and tokens in one SQLite file (``:memory:`` for throwaway use)."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        file = None if str(path) == ":memory:" else Path(path)
        if file is not None:
            _create_private(file)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            with self._lock:
                self._db.executescript(_SCHEMA)
                columns = {row["name"] for row in self._db.execute("PRAGMA table_info(tokens)")}
                if "family" not in columns:  # a database from before refresh-token families
                    self._db.execute("ALTER TABLE tokens ADD COLUMN family TEXT")
                self._db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error:
            self._db.close()
            raise
        if file is not None:
            # Only now, the file known to be ours: one an earlier version left readable is
            # tightened, and a --db that is not a database is left as it was.
            for each in (file, *(file.with_name(file.name + s) for s in ("-wal", "-shm"))):
                if each.exists():
                    os.chmod(each, FILE_MODE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    def _write(self, sql: str, *params: Any) -> int:
        with self._lock:
            return self._db.execute(sql, params).rowcount

    # Users

    def create_user(self, email: str, name: str, password: str) -> User:
        salt = secrets.token_bytes(16)
        user = User(id=f"usr_{secrets.token_hex(8)}", email=email.strip().lower(), name=name)
        try:
            self._write(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                user.id,
                user.email,
                user.name,
                salt,
                _hash(password, salt),
                time.time(),
            )
        except sqlite3.IntegrityError as exc:
            raise EmailTaken(email) from exc
        return user

    def authenticate(self, email: str, password: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE email = ?", email.strip().lower())
        if row is None:
            _hash(password, _NO_SALT)  # as slow as a wrong password: timing names no email
            return None
        if not hmac.compare_digest(row["password_hash"], _hash(password, row["salt"])):
            return None
        return User(row["id"], row["email"], row["name"])

    def user(self, user_id: str) -> User | None:
        row = self._one("SELECT id, email, name FROM users WHERE id = ?", user_id)
        return None if row is None else User(row["id"], row["email"], row["name"])

    def user_by_email(self, email: str) -> User | None:
        row = self._one("SELECT id FROM users WHERE email = ?", email.strip().lower())
        return None if row is None else self.user(row["id"])

    # Apps

    def apps(self, user_id: str) -> list[App]:
        rows = self._all(
            "SELECT id, name, created_at FROM apps WHERE user_id = ? ORDER BY created_at, name",
            user_id,
        )
        return [App(row["id"], row["name"], row["created_at"]) for row in rows]

    def create_app(self, user_id: str, name: str) -> App:
        app = App(id=f"app_{secrets.token_hex(8)}", name=name, created_at=time.time())
        try:
            self._write(
                "INSERT INTO apps VALUES (?, ?, ?, ?)", app.id, user_id, app.name, app.created_at
            )
        except sqlite3.IntegrityError as exc:
            raise AppNameTaken(name) from exc
        return app

    # Authorization codes (single use)

    def save_code(self, fields: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            *(fields[key] for key in _CODE_FIELDS),
            time.time(),
        )

    def take_code(self, code: str, client_id: str) -> sqlite3.Row | None:
        """The unexpired ``code``, removed in the same step: two racing exchanges get it once."""
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(
                "SELECT * FROM codes WHERE code = ? AND client_id = ? AND issued_at > ?",
                (code, client_id, time.time() - CODE_TTL_SECONDS),
            ).fetchone()
            if row is not None:
                self._db.execute("DELETE FROM codes WHERE code = ?", (code,))
            return row

    def delete_code(self, code: str) -> None:
        self._write("DELETE FROM codes WHERE code = ?", code)

    # Tokens

    def save_token(
        self, token: dict[str, Any], client_id: str, user_id: str, family: str | None = None
    ) -> None:
        """Save a new pair: rotated from one of ``family``, or (None) the first of its own."""
        self._write(
            "INSERT INTO tokens (access_token, refresh_token, client_id, user_id, scope,"
            " issued_at, expires_in, revoked, family) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            token["access_token"],
            token.get("refresh_token"),
            client_id,
            user_id,
            token.get("scope", ""),
            time.time(),
            int(token.get("expires_in", 3600)),
            family or token["access_token"],
        )

    def token(
        self, *, access_token: str | None = None, refresh_token: str | None = None
    ) -> sqlite3.Row | None:
        if access_token is not None:
            return self._one("SELECT * FROM tokens WHERE access_token = ?", access_token)
        return self._one("SELECT * FROM tokens WHERE refresh_token = ?", refresh_token)

    def take_refresh_token(self, refresh_token: str) -> sqlite3.Row | None:
        """The live pair of ``refresh_token``, retired in the same step: usable once.

        A refresh token used again after it was rotated (or revoked) means two parties hold
        it, one of them not its owner: the whole family is revoked, the newest pair too, as
        RFC 6819 5.2.2.3 and the OAuth 2.0 Security BCP (refresh token rotation) ask.
        """
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(
                f"SELECT *, {_FAMILY} AS family FROM tokens WHERE refresh_token = ?",
                (refresh_token,),
            ).fetchone()
            if row is None:
                return None
            if row["revoked"]:
                self._db.execute(
                    f"UPDATE tokens SET revoked = 1 WHERE {_FAMILY} = ?", (row["family"],)
                )
                return None
            self._db.execute(
                "UPDATE tokens SET revoked = 1 WHERE access_token = ?", (row["access_token"],)
            )
            return row

    def expire(self, access_token: str) -> None:
        """End the access token now, keeping its refresh token (to show refresh at work)."""
        self._write("UPDATE tokens SET expires_in = 0 WHERE access_token = ?", access_token)

    def revoke(self, access_token: str) -> None:
        self._write("UPDATE tokens SET revoked = 1 WHERE access_token = ?", access_token)


def _create_private(file: Path) -> None:
    """Create the missing folders of ``file`` 0700 and ``file`` itself 0600, if missing."""
    missing = [folder for folder in (file.parent, *file.parent.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(folder, FOLDER_MODE)
    with contextlib.suppress(FileExistsError):  # an existing one is tightened once opened
        os.close(open_private(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL))


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 50_000)
