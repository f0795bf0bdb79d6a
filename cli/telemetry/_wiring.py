"""The telemetry client a command records its events with, and the identity it carries.

``open_client`` returns an ``OutboxClient`` (every event persisted before ``track`` returns,
delivered by a detached sender at ``close``) or, when telemetry is off or its outbox unusable,
the engine's no-op client with one warning line. It never raises: telemetry must not break a
command. Callers only ever see an ``fsm.TelemetryClient``.

A damaged outbox met while starting (reading the identity, recovering open flows) is replaced
as the client would replace it (``_salvage``), and the one warning says what was kept; so is
the notice a read-only command (``telemetry status``) left when it replaced one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from authfunnel.cli.app import Environment
from authfunnel.fsm import Event, NoopClient, PropertyValue, TelemetryClient

if TYPE_CHECKING:
    from authfunnel.cli.telemetry._client import OutboxClient
    from authfunnel.cli.telemetry._outbox import Outbox
    from authfunnel.cli.telemetry._settings import Settings

NOTICE_SHOWN: Final = "notice_shown"
DISABLED: Final = "disabled"


def open_client(env: Environment) -> TelemetryClient:
    """The client for this invocation (never raises: telemetry must not break a command).

    When ``env`` carries one (inside a command: the command lifecycle's; in a test: a
    recorder), that one, which closing leaves to its owner (the lifecycle hands delivery off
    after the command), so all events share one outbox session.
    """
    if env.telemetry is not None:
        return _Borrowed(env.telemetry)
    try:
        return _open(env)
    except Exception as exc:  # the one place any telemetry failure becomes a warning
        _warn(env, f"telemetry is off for this run ({type(exc).__name__}: {exc})")
        return NoopClient()


def forget_user(env: Environment) -> None:
    """After logout (once ``CLI Auth Logout`` is tracked): later events are anonymous again."""
    forget = getattr(env.telemetry, "forget_user", None)
    if forget is not None:
        forget()
    try:
        from authfunnel.cli.app import Paths
        from authfunnel.cli.telemetry._outbox import open_outbox
        from authfunnel.cli.telemetry._settings import OUTBOX_FILE

        # Whatever telemetry's state (off now, disabled, a bad config): a stored user id must
        # go, or events would carry it once telemetry is on again. No outbox: nothing stored.
        path = Paths.from_env(env).state_dir / OUTBOX_FILE
        if not path.exists():
            return
        outbox = open_outbox(path)
        try:
            outbox.put("user_id", None)
        finally:
            outbox.close()
    except Exception as exc:
        _warn(env, f"could not clear the telemetry user id ({type(exc).__name__}: {exc})")


class _Borrowed:
    """The environment's client as a command sees it: everything but ``close`` reaches it."""

    def __init__(self, client: TelemetryClient) -> None:
        self._client = client

    def track(self, event: Event) -> None:
        self._client.track(event)

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        self._client.identify(user_id, traits)

    def record_step(self, flow: str, step: str) -> None:
        record = getattr(self._client, "record_step", None)
        if record is not None:
            record(flow, step)

    def close(self, timeout: float) -> None:
        pass


def _open(env: Environment) -> TelemetryClient:
    from authfunnel.cli.telemetry._settings import load_settings

    settings = load_settings(env)
    if not settings.enabled:
        return NoopClient()
    outbox = _open_outbox(env, settings)
    if outbox is None:
        return NoopClient()
    from authfunnel.cli.telemetry import _flows, _salvage
    from authfunnel.cli.telemetry._client import OutboxClient
    from authfunnel.cli.telemetry._outbox import REPAIRED, OutboxError
    from authfunnel.cli.telemetry._store import damaged

    may_send = settings.sends and _consented(outbox, env)

    def hand_off(client: OutboxClient) -> Callable[[], None] | None:
        from authfunnel.cli.telemetry import _lease, _sender, _spawn

        outbox = client.outbox
        if outbox is None:
            return None
        if outbox.get(DISABLED):  # disabled while this command ran: nothing leaves
            _lease.discard_unsent(outbox)  # a batch in flight ends as its post does
        elif may_send and _sender.due(outbox):
            return lambda: _spawn.start_detached(settings)
        return None

    def start(outbox: Outbox) -> OutboxClient:
        client = OutboxClient(
            outbox,
            stderr=env.stderr,
            debug=settings.debug,
            on_close=hand_off,
            identity=env.identity,
        )
        notice = outbox.get(REPAIRED)
        if notice:
            outbox.put(REPAIRED, None)
            _warn(env, notice)
        for message in _flows.recover(outbox):
            if settings.debug:
                env.stderr.write(f"telemetry: recovered {message['event']} for a killed process\n")
        return client

    try:
        return start(outbox)
    except OutboxError as exc:
        if not exc.corrupt or not damaged(outbox.db):
            raise
        fresh, notice = _salvage.replace(outbox.path, outbox, _salvage.options(outbox))
        if notice:
            _warn(env, notice)
        return start(fresh)


def _open_outbox(env: Environment, settings: Settings | None = None) -> Outbox | None:
    from authfunnel.cli.telemetry._outbox import OutboxError, open_outbox
    from authfunnel.cli.telemetry._settings import load_settings

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
    if outbox.read_only:
        outbox.close()
        _warn(env, f"telemetry is off for this run: {settings.state_dir} is read-only")
        return None
    if outbox.get(DISABLED):
        outbox.close()
        return None
    return outbox


def _consented(outbox: Outbox, env: Environment) -> bool:
    """Show the application's first-run notice once; nothing is sent in the run that showed it."""
    if outbox.get(NOTICE_SHOWN):
        return True
    env.stderr.write(env.identity.notice)
    outbox.put(NOTICE_SHOWN, "1")
    return False


def _warn(env: Environment, text: str) -> None:
    env.stderr.write(f"{env.identity.name}: warning: {text}\n")
