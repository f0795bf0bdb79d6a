"""What the CLI remembers of a provider between runs: its discovery document and its JWKS.

One JSON file per issuer under ``<state dir>/providers/``, each part stamped with its fetch time
(``fetched_at``, Unix seconds). Commands that only need an endpoint (refresh, revoke, the APIs)
use a document younger than ``METADATA_LIFETIME_SECONDS``; a login always fetches it afresh, which
is also how it checks the provider before a browser opens. The JWKS is kept until an ID token
names a key it lacks (then fetched once more) or ``JWKS_LIFETIME_SECONDS`` pass.

The cache only saves round trips: a file that is missing, corrupt or unwritable is treated as
empty, never as an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.app import private_dir

METADATA_LIFETIME_SECONDS: Final = 24 * 3600
JWKS_LIFETIME_SECONDS: Final = 24 * 3600


class ProviderCache:
    """The cached discovery document and JWKS of the provider at ``issuer``."""

    def __init__(self, state_dir: Path, issuer: str) -> None:
        digest = hashlib.sha256(issuer.encode()).hexdigest()[:32]
        self.issuer = issuer
        self.file = state_dir / "providers" / f"{digest}.json"

    def metadata(self, max_age: float, *, now: float | None = None) -> dict[str, Any] | None:
        """The cached discovery record (``document``, ``openid``), if younger than ``max_age``."""
        return self._part("discovery", max_age, now)

    def jwks(self, uri: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The cached key set fetched from ``uri``, if it is still fresh."""
        part = self._part("jwks", JWKS_LIFETIME_SECONDS, now)
        if part is None or part.get("uri") != uri or not isinstance(part.get("keys"), dict):
            return None
        keys: dict[str, Any] = part["keys"]
        return keys

    def save_metadata(self, document: dict[str, Any], *, openid: bool) -> None:
        self._save("discovery", {"document": document, "openid": openid})

    def save_jwks(self, uri: str, keys: dict[str, Any]) -> None:
        self._save("jwks", {"uri": uri, "keys": keys})

    def _part(self, name: str, max_age: float, now: float | None) -> dict[str, Any] | None:
        part = self._read().get(name)
        if not isinstance(part, dict):
            return None
        fetched_at = part.get("fetched_at")
        if not isinstance(fetched_at, int | float) or isinstance(fetched_at, bool):
            return None
        age = (time.time() if now is None else now) - fetched_at
        return part if 0 <= age < max_age else None

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("issuer") != self.issuer:
            return {}
        return data

    def _save(self, name: str, part: dict[str, Any]) -> None:
        data = self._read() or {"issuer": self.issuer}
        data[name] = {**part, "fetched_at": time.time()}
        # Best effort, replaced atomically so a concurrent reader never sees half a file.
        with contextlib.suppress(OSError):
            private_dir(self.file.parent)
            fd, temp = tempfile.mkstemp(dir=self.file.parent, prefix=".provider-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out)
                os.replace(temp, self.file)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
