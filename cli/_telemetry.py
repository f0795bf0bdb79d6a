"""The telemetry client a command records its events with, and the identity it carries.

``open_client`` returns an ``OutboxClient`` (every event persisted before ``track`` returns,
delivered by a detached sender at ``close``) or, when telemetry is off or its outbox unusable,
the engine's no-op client with one warning line. It never raises: telemetry must not break a
command. Callers only ever see an ``fsm.TelemetryClient``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from cli._env import Environment
from fsm import NoopClient, TelemetryClient

if TYPE_CHECKING:
    from cli.delivery._client import OutboxClient
    from cli.delivery._outbox import Outbox
    from cli.delivery._settings import Settings

NOTICE: Final = (
    "authfunnel collects anonymous usage data (command names, auth funnel steps, outcomes) "
    "to improve the tool; nothing is sent before your next command. "
    "Opt out: 'authfunnel telemetry disable' or DO_NOT_TRACK=1.\n"
)
NOTICE_SHOWN: Final = "notice_shown"
DISABLED: Final = "disabled"


def open_client(env: Environment) -> TelemetryClient:
    """The client for this invocation (never raises: telemetry must not break a command)."""
    try:
        return _open(env)
    except Exception as exc:  # the one place any telemetry failure becomes a warning
        _warn(env, f"telemetry is off for this run ({type(exc).__name__}: {exc})")
        return NoopClient()


def forget_user(env: Environment) -> None:
    """After logout (once ``CLI Auth Logout`` is tracked): later events are anonymous again."""
    try:
        outbox = _open_outbox(env)
        if outbox is None:
            return
        try:
            outbox.put("user_id", None)
        finally:
            outbox.close()
    except Exception as exc:
        _warn(env, f"could not clear the telemetry user id ({type(exc).__name__}: {exc})")


def _open(env: Environment) -> TelemetryClient:
    from cli.delivery._settings import load_settings

    settings = load_settings(env)
    if not settings.enabled:
        return NoopClient()
    outbox = _open_outbox(env, settings)
    if outbox is None:
        return NoopClient()
    from cli.delivery import _flows
    from cli.delivery._client import OutboxClient

    may_send = settings.sends and _consented(outbox, env)

    def hand_off(client: OutboxClient) -> None:
        from cli.delivery import _sender

        if may_send and client.outbox is not None and _sender.due(client.outbox):
            _sender.start_detached(settings)

    client = OutboxClient(outbox, stderr=env.stderr, debug=settings.debug, on_close=hand_off)
    for message in _flows.recover(outbox):
        if settings.debug:
            env.stderr.write(f"telemetry: recovered {message['event']} for a killed process\n")
    return client


def _open_outbox(env: Environment, settings: Settings | None = None) -> Outbox | None:
    from cli.delivery._outbox import OutboxError, open_outbox
    from cli.delivery._settings import load_settings

    settings = settings or load_settings(env)
    try:
        outbox = open_outbox(
            settings.outbox_path,
            max_events=settings.max_events,
            max_age_days=settings.max_age_days,
        )
    except OutboxError as exc:
        _warn(env, f"telemetry is off for this run: {exc}")
        return None
    if outbox.get(DISABLED):
        outbox.close()
        return None
    return outbox


def _consented(outbox: Outbox, env: Environment) -> bool:
    """Show the first-run notice once; nothing is sent in the run that showed it."""
    if outbox.get(NOTICE_SHOWN):
        return True
    env.stderr.write(NOTICE)
    outbox.put(NOTICE_SHOWN, "1")
    return False


def _warn(env: Environment, text: str) -> None:
    env.stderr.write(f"authfunnel: warning: {text}\n")
