"""The dev provider's database holds password hashes and tokens: only its owner may read it."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from authfunnel.cli.devserver import DevServer


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 000: what a file gets here is what the code asked for, nothing masked off."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_the_database_its_wal_files_and_new_folders_are_private_under_umask_000(
    tmp_path: Path,
) -> None:
    database = tmp_path / "made" / "here" / "dev-provider.sqlite3"

    with DevServer(database) as server:
        server.store.create_user("ada@example.com", "Ada", "correct-horse")
        files = sorted(database.parent.iterdir())  # while open: the -wal and -shm are there
        modes = {path.name: mode(path) for path in files}

    name = database.name
    assert modes == {name: 0o600, f"{name}-shm": 0o600, f"{name}-wal": 0o600}
    assert mode(tmp_path / "made") == 0o700
    assert mode(tmp_path / "made" / "here") == 0o700


def test_a_database_an_earlier_version_left_readable_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "dev-provider.sqlite3"
    sqlite3.connect(database).close()
    database.touch()
    database.chmod(0o644)
    tmp_path.chmod(0o755)

    with DevServer(database):
        pass

    assert mode(database) == 0o600
    assert mode(tmp_path) == 0o755  # a folder it did not create is not its to change


def test_a_database_from_before_token_families_opens_and_its_refresh_token_still_works(
    tmp_path: Path,
) -> None:
    database = tmp_path / "dev-provider.sqlite3"
    with sqlite3.connect(database) as old:
        old.execute(
            "CREATE TABLE tokens (access_token TEXT PRIMARY KEY, refresh_token TEXT UNIQUE,"
            " client_id TEXT NOT NULL, user_id TEXT NOT NULL, scope TEXT NOT NULL,"
            " issued_at REAL NOT NULL, expires_in INTEGER NOT NULL,"
            " revoked INTEGER NOT NULL DEFAULT 0)"
        )
        old.execute("INSERT INTO tokens VALUES ('a1', 'r1', 'cli', 'u1', 'apps', 0, 3600, 0)")
    old.close()

    with DevServer(database) as server:
        taken = server.store.take_refresh_token("r1")
        replayed = server.store.take_refresh_token("r1")

    assert taken is not None
    assert taken["access_token"] == "a1"
    assert replayed is None


def test_sign_in_with_an_unknown_email_costs_the_same_password_hash_as_a_known_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Timing must not tell which emails exist: both paths derive one key, the slow part.
    derived: list[str] = []
    real = hashlib.pbkdf2_hmac

    def counted(name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        derived.append(name)
        return real(name, password, salt, iterations)

    with DevServer() as server:
        monkeypatch.setattr(hashlib, "pbkdf2_hmac", counted)
        assert server.store.authenticate("demo@example.com", "wrong-password") is None
        known = len(derived)
        assert server.store.authenticate("nobody@example.com", "wrong-password") is None

    assert known == 1
    assert len(derived) - known == 1
