"""The profile (who, which app, which provider) and the token, saved all-or-nothing.

The profile is a JSON file in the config dir. The token goes to the system keyring; where
there is none (a server, a container, CI) it goes to a file only the user can read, with a
one-line warning. Both files are replaced atomically (write a temp file, fsync, rename), and a
save that fails half way puts the previous token back, so a failed login never leaves a
profile pointing at a token it does not own.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from authfunnel.cli.app import Paths, private_dir
from authfunnel.cli.auth._errors import CredentialsError
from authfunnel.cli.auth._token import Token

KEYRING_SERVICE = "authfunnel"
TokenStore = Literal["keyring", "file"]


@dataclass(frozen=True)
class Profile:
    user_id: str
    email: str
    name: str
    app_id: str
    app_name: str
    provider: str
    token_store: TokenStore

    @classmethod
    def from_json(cls, data: Any) -> Profile:
        if not isinstance(data, dict):
            raise ValueError("not an object")
        fields = {key: data.get(key) for key in cls.__dataclass_fields__}
        if not all(isinstance(value, str) for value in fields.values()):
            raise ValueError("missing fields")
        if fields["token_store"] not in ("keyring", "file"):
            raise ValueError("unknown token store")
        return cls(**fields)  # type: ignore[arg-type]


class Credentials:
    """Reads and writes the profile and token under ``paths``."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.profile_file = paths.config_dir / "profile.json"
        self.token_file = paths.config_dir / "token.json"
        # One keyring entry per config dir, so AUTHFUNNEL_HOME isolates the keyring too.
        self.keyring_user = str(paths.config_dir.resolve())

    def load(self) -> tuple[Profile, Token] | None:
        """The saved login, ``None`` without one; ``CredentialsError`` when it is corrupt."""
        raw = _read(self.profile_file)
        if raw is None:
            return None
        try:
            profile = Profile.from_json(json.loads(raw))
        except ValueError as exc:
            raise _corrupt(self.profile_file) from exc
        raw_token = self._read_keyring() if profile.token_store == "keyring" else None
        if profile.token_store == "file":
            raw_token = _read(self.token_file)
        if raw_token is None:
            raise CredentialsError(
                f"the profile {self.profile_file} has no token in the {profile.token_store}",
                hint="run 'authfunnel login' again",
            )
        try:
            token = Token.from_json(json.loads(raw_token))
        except ValueError as exc:
            raise _corrupt(self.token_file if profile.token_store == "file" else None) from exc
        return profile, token

    def save(self, profile: Profile, token: Token) -> Profile:
        """Save both or neither; returns the profile as saved (with its token store)."""
        payload = json.dumps(token.as_json())
        previous_keyring = self._read_keyring_quietly()
        previous_file = _read_quietly(self.token_file)
        store: TokenStore = "keyring" if self._write_keyring(payload) else "file"
        profile = Profile(**{**asdict(profile), "token_store": store})
        try:
            if store == "file":
                _atomic_write(self.token_file, payload)
            _atomic_write(self.profile_file, json.dumps(asdict(profile), indent=2))
        except OSError as exc:
            self._restore(store, previous_keyring, previous_file)
            raise CredentialsError(
                f"cannot save the login in {self.paths.config_dir}: {exc.strerror or exc}",
                hint="make the directory writable, or set AUTHFUNNEL_HOME to one that is",
            ) from exc
        if store == "keyring":
            self.token_file.unlink(missing_ok=True)
        return profile

    def _restore(
        self, store: TokenStore, keyring_value: str | None, file_value: str | None
    ) -> None:
        """Put back what a failed save replaced (best effort: the save already failed)."""
        if store == "keyring":
            if keyring_value is None:
                self._delete_keyring()
            else:
                self._write_keyring(keyring_value)
            return
        with contextlib.suppress(OSError):
            if file_value is None:
                self.token_file.unlink(missing_ok=True)
            else:
                _atomic_write(self.token_file, file_value)

    def clear(self) -> bool:
        """Forget the login; whether there was one."""
        existed = self.profile_file.exists() or self.token_file.exists()
        try:
            self.profile_file.unlink(missing_ok=True)
            self.token_file.unlink(missing_ok=True)
        except PermissionError as exc:
            raise _not_yours(self.paths.config_dir, "cannot remove the login from") from exc
        except OSError as exc:
            raise CredentialsError(
                f"cannot remove the login from {self.paths.config_dir}: {exc.strerror or exc}",
                hint="check the directory's permissions",
            ) from exc
        self._delete_keyring()
        return existed

    def _write_keyring(self, payload: str) -> bool:
        import keyring
        from keyring.errors import KeyringError

        try:
            keyring.set_password(KEYRING_SERVICE, self.keyring_user, payload)
        except (KeyringError, RuntimeError):
            return False
        return True

    def _read_keyring(self) -> str | None:
        import keyring
        from keyring.errors import KeyringError

        try:
            value: str | None = keyring.get_password(KEYRING_SERVICE, self.keyring_user)
        except (KeyringError, RuntimeError) as exc:
            raise CredentialsError(
                "the token is in the system keyring, which cannot be read now",
                hint="unlock the keyring, or run 'authfunnel login' again",
            ) from exc
        return value

    def _read_keyring_quietly(self) -> str | None:
        try:
            return self._read_keyring()
        except CredentialsError:
            return None

    def _delete_keyring(self) -> None:
        import keyring
        from keyring.errors import KeyringError

        # No keyring, or nothing stored there: either way nothing is left behind.
        with contextlib.suppress(KeyringError, RuntimeError):
            keyring.delete_password(KEYRING_SERVICE, self.keyring_user)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        # Not corrupt: someone else's (left root-owned by a 'sudo authfunnel login').
        raise _not_yours(path, "cannot read") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _corrupt(path) from exc


def _read_quietly(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _not_yours(path: Path, doing: str) -> CredentialsError:
    return CredentialsError(
        f"{doing} {path}: permission denied",
        hint=f'fix ownership (was it made with sudo?): sudo chown -R "$USER" {path.parent}',
    )


def _corrupt(path: Path | None) -> CredentialsError:
    where = f"the file {path}" if path else "the keyring entry"
    return CredentialsError(
        f"the saved login is unreadable ({where} is corrupt)",
        hint="run 'authfunnel logout' to clear it, then 'authfunnel login'",
    )


def _atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by the user only; never a partial file."""
    private_dir(path.parent)  # 0700 whatever the umask: it says which provider to trust
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
