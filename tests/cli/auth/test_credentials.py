"""Saved credentials: all or nothing, 0600 without a keyring, the keyring when there is one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authfunnel.cli.app import Paths
from authfunnel.cli.auth import Credentials, CredentialsError, Profile
from authfunnel.cli.auth._token import Token
from tests.cli.auth.conftest import MemoryKeyring

PROFILE = Profile("usr_1", "a@example.com", "A", "app_1", "one", "http://127.0.0.1:1", "file")


def credentials(tmp_path: Path) -> Credentials:
    return Credentials(Paths(config_dir=tmp_path / "config", state_dir=tmp_path / "state"))


def token(value: str) -> Token:
    return Token(access_token=value, refresh_token=f"r-{value}", expires_at=2e9)


def test_a_saved_login_loads_back(tmp_path: Path) -> None:
    store = credentials(tmp_path)
    store.save(PROFILE, token("t1"))

    assert store.load() == (PROFILE, token("t1"))
    assert store.token_file.stat().st_mode & 0o777 == 0o600


def test_a_failed_profile_write_puts_the_previous_token_back(tmp_path: Path) -> None:
    store = credentials(tmp_path)
    store.save(PROFILE, token("old"))
    before = store.token_file.read_bytes()
    store.profile_file.unlink()
    store.profile_file.mkdir()  # replacing a directory with a file fails, even for root
    (store.profile_file / "keep").touch()

    with pytest.raises(CredentialsError, match="cannot save the login"):
        store.save(PROFILE, token("new"))

    assert store.token_file.read_bytes() == before
    assert sorted(p.name for p in store.paths.config_dir.iterdir()) == [
        "profile.json",
        "token.json",
    ]


def test_with_a_keyring_the_token_leaves_the_file(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    store = credentials(tmp_path)

    saved = store.save(PROFILE, token("t1"))

    assert saved.token_store == "keyring"
    assert not store.token_file.exists()
    assert store.load() == (saved, token("t1"))
    assert store.clear() is True
    assert memory_keyring.secrets == {}


def test_a_token_file_that_is_not_a_token_is_corrupt(tmp_path: Path) -> None:
    store = credentials(tmp_path)
    store.save(PROFILE, token("t1"))
    store.token_file.write_text(json.dumps({"access_token": 42}))

    with pytest.raises(CredentialsError, match="is corrupt"):
        store.load()


@pytest.mark.parametrize("expires_at", ["1e300", "Infinity", "NaN", "1" + "0" * 400])
def test_a_token_file_with_an_impossible_expiry_is_corrupt(tmp_path: Path, expires_at: str) -> None:
    store = credentials(tmp_path)
    store.save(PROFILE, token("t1"))
    store.token_file.write_text(f'{{"access_token": "t1", "expires_at": {expires_at}}}')

    with pytest.raises(CredentialsError, match="is corrupt"):
        store.load()


def test_an_expired_token_is_expired_a_little_early() -> None:
    assert Token("a", None, expires_at=1000.0).expired(now=980.0)
    assert not Token("a", None, expires_at=1000.0).expired(now=900.0)
    assert not Token("a", None, expires_at=None).expired()
