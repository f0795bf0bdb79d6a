"""Telemetry settings: on or off (and why), where to send, the outbox bounds.

Read from the environment first, then the ``[telemetry]`` table of the config file, then the
application's identity (``env.identity``: the write key and host it ships with). Variables
carry the application's prefix (``AUTHFUNNEL_`` for authfunnel, ``DEPLOYCTL_`` for deployctl)::

    [telemetry]
    enabled = true            # false: nothing recorded, nothing sent
    write_key = "..."         # or <PREFIX>_SEGMENT_WRITE_KEY; none: local-only
    host = "https://api.segment.io"   # or <PREFIX>_SEGMENT_HOST
    timeout = 10              # seconds per HTTP request
    max_events = 10000        # outbox bounds; the oldest beyond them are dropped
    max_age_days = 30
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.app import CliError, Environment, Paths
from authfunnel.cli.telemetry._outbox import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_EVENTS

DEFAULT_TIMEOUT: Final = 10.0
OUTBOX_FILE: Final = "outbox.sqlite3"
OFF: Final = frozenset({"0", "false", "no", "off"})
ON: Final = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Settings:
    """What telemetry does for this invocation."""

    enabled: bool
    reason: str  # why it is on or off, for ``telemetry status``
    state_dir: Path
    write_key: str | None
    host: str
    timeout: float
    max_events: int
    max_age_days: float
    debug: bool

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / OUTBOX_FILE

    @property
    def sends(self) -> bool:
        """Whether events leave this machine (a write key is configured)."""
        return self.enabled and bool(self.write_key)


def load_settings(env: Environment) -> Settings:
    """The settings for ``env``; a malformed config raises ``CliError``."""
    from authfunnel.cli.app import load_config, section

    paths = Paths.from_env(env)
    table = section(load_config(paths), "telemetry")
    variables, identity = env.variables, env.identity
    opt_out = identity.variable("TELEMETRY")
    enabled, reason = True, "enabled"
    if env.flag("DO_NOT_TRACK"):
        enabled, reason = False, "disabled by DO_NOT_TRACK"
    elif variables.get(opt_out, "").strip().lower() in OFF:
        enabled, reason = False, f"disabled by {opt_out}"
    elif not _switch(table, "enabled"):
        enabled, reason = False, "disabled in the config file"
    write_key = (
        variables.get(identity.variable("SEGMENT_WRITE_KEY"))
        or _text(table, "write_key")
        or identity.write_key
    )
    host = variables.get(identity.variable("SEGMENT_HOST")) or _text(table, "host") or identity.host
    return Settings(
        enabled=enabled,
        reason=reason,
        state_dir=paths.state_dir,
        write_key=write_key or None,
        host=host.rstrip("/"),
        timeout=_number(table, "timeout", DEFAULT_TIMEOUT),
        max_events=_integer(table, "max_events", DEFAULT_MAX_EVENTS),
        max_age_days=_number(table, "max_age_days", DEFAULT_MAX_AGE_DAYS),
        debug=env.debug,
    )


def mask(secret: str | None) -> str:
    """A secret as it may be printed: its first 4 characters at most."""
    if not secret:
        return "(none)"
    return secret[:4] + "…" if len(secret) > 8 else "****"


def mask_url(url: str) -> str:
    """``url`` as it may be printed: credentials in it (``user:token@``) masked."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return url
    return f"{scheme}://****@{authority.rpartition('@')[2]}{slash}{path}"


def _text(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CliError(f"[telemetry] {key} must be a string", hint="quote it in the config file")
    return value


def _switch(table: dict[str, Any], key: str) -> bool:
    """An on/off setting: a TOML boolean, or the spellings <PREFIX>_TELEMETRY takes (a quoted
    "false", 0, "no", "off"); anything else is an error, never silently "on"."""
    value = table.get(key, True)
    if isinstance(value, bool):
        return value
    spelled = str(value).strip().lower() if isinstance(value, str | int) else None
    if spelled in OFF:
        return False
    if spelled in ON:
        return True
    raise CliError(
        f"[telemetry] {key} must be true or false, not {value!r}",
        hint="write enabled = false (or true) in the config file",
    )


def _number(table: dict[str, Any], key: str, default: float) -> float:
    # Finite too: TOML allows inf and nan, and an infinite timeout makes a dead sender's
    # lease last forever (nothing would be sent again).
    value = table.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise CliError(
            f"[telemetry] {key} must be a positive number", hint="fix it in the config file"
        )
    return float(value)


def _integer(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CliError(
            f"[telemetry] {key} must be a positive integer", hint="fix it in the config file"
        )
    return value


def local_store(env: Environment) -> Path:
    """The local store: where events are recorded, ``simulate`` writes and ``report`` reads
    when no path is given (the outbox, whose archive keeps what was delivered)."""
    return Paths.from_env(env).state_dir / OUTBOX_FILE
