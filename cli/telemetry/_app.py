"""``Telemetry``: durable funnel telemetry for any command-line application, named once.

An application names itself (name, version, write key, host, variable prefix, state dir,
first-run notice) and gets what authfunnel's own commands run on: every event persisted to a
SQLite outbox before ``track`` returns, a detached sender that posts it to Segment off the
critical path, consent (``DO_NOT_TRACK``, ``<PREFIX>_TELEMETRY=0``, ``enable``/``disable``),
bounds, crash recovery and ``<PREFIX>_DEBUG=1`` output. Its name, not authfunnel's, is what its
users see: in its directories, its variables, its warnings, its notice and the events'
``context.app``::

    from authfunnel.cli.telemetry import Telemetry
    from authfunnel.fsm import Funnel

    TELEMETRY = Telemetry("deployctl", "1.4.0", write_key="...")
    DEPLOY = Funnel(flow="deploy", steps={"build": ["upload"], "upload": []})

    def main() -> None:
        with TELEMETRY.command("deploy") as client, DEPLOY.run(client) as tracker:
            tracker.advance("upload")
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from authfunnel.cli.app import AppIdentity, Environment

if TYPE_CHECKING:
    import click

    from authfunnel.cli.telemetry._batches import DeliveryReport
    from authfunnel.cli.telemetry._lease import Discarded
    from authfunnel.cli.telemetry._lifecycle import CommandRun
    from authfunnel.cli.telemetry._settings import Settings
    from authfunnel.fsm import TelemetryClient

Command = TypeVar("Command")


class Telemetry:
    """An application's telemetry: make one at import time, use it in every command.

    ``name``: 1-64 letters, digits, ``.``, ``_`` or ``-`` (``deployctl``): the directory
    under the platform's config and state dirs, the prefix of warnings, ``context.app.name``.
    ``version``: ``context.app.version`` and every event's ``cli_version``.
    ``write_key``/``host``: the Segment source events go to (host: Segment's API unless
    given); the person may override them
    with ``<PREFIX>_SEGMENT_WRITE_KEY``/``<PREFIX>_SEGMENT_HOST`` or ``[telemetry]`` in the
    config file. No write key anywhere: events are recorded and stay on the machine.
    ``env_prefix``: default, the name in capitals with ``-`` and ``.`` as ``_``.
    ``state_dir``: where the outbox lives, instead of the platform's state dir (a set
    ``<PREFIX>_HOME`` moves it, with the config, below it).
    ``notice``: the first-run notice (stderr, once, nothing sent in that run); say how to
    opt out. Default: a sentence naming the application and its opt-out variable.

    Raises ``ValueError`` for a name or prefix that cannot be a directory or variable name.
    ``command`` and ``client`` never raise for telemetry's own failures: a broken outbox or
    config file becomes one warning line and a run that records nothing. The methods a
    person calls on purpose (``settings``, ``status``, ``enable``, ``disable``, ``flush``)
    raise ``authfunnel.cli.app.CliError`` for a malformed config file and ``OutboxError``
    for an outbox that cannot be used; both carry a one-line message to show.
    """

    def __init__(
        self,
        name: str,
        version: str,
        *,
        write_key: str | None = None,
        host: str | None = None,
        env_prefix: str = "",
        state_dir: str | os.PathLike[str] | None = None,
        notice: str = "",
    ) -> None:
        self.identity = AppIdentity(
            name=name,
            version=version,
            env_prefix=env_prefix,
            write_key=write_key,
            state_dir=Path(state_dir) if state_dir is not None else None,
            notice=notice,
            **({"host": host.rstrip("/")} if host else {}),
        )
        # The environments of the commands running now, innermost last: ``client()`` called
        # in one borrows its client, so a funnel's events share the command's outbox session.
        self._running: list[Environment] = []

    @contextmanager
    def command(self, name: str) -> Iterator[TelemetryClient]:
        """Run the body as command ``name``: ``Command Invoked``, then ``Command Completed``
        with its outcome, duration and ``error_class``; yields the client to run funnels with.

        At the end the outbox is closed and, when something is due, the detached sender
        started: the body's exit never waits on the network. ``sys.exit(0)`` in the body is a
        success, ``sys.exit(n)`` a failure with exit code ``n``; an exception is a failure and
        propagates, Ctrl-C an abort. SIGTERM and SIGHUP end the command as aborted and exit
        ``128 + signal``.
        """
        from authfunnel.cli.telemetry._signals import Signalled

        try:
            with self._lifecycle(name) as lifecycle:
                yield lifecycle.client
        except Signalled as stopped:
            raise SystemExit(stopped.exit_code) from None

    @contextmanager
    def _lifecycle(self, name: str) -> Iterator[CommandRun]:
        """``command_lifecycle`` for command ``name``, known to ``client()`` while it runs
        (``command`` and ``instrument``'s commands both run in it)."""
        from authfunnel.cli.telemetry._lifecycle import command_lifecycle

        env = self._recording()
        self._running.append(env)
        try:
            with command_lifecycle(name, env) as lifecycle:
                yield lifecycle
        finally:
            self._running.remove(env)

    def client(self) -> TelemetryClient:
        """Inside a command (``command``, or one ``instrument`` wraps): that command's client,
        which the command closes. Outside any (a long-running process, a hook): a client of
        its own, whose events go to the outbox at once; ``close(0)`` when done, which starts
        the sender. Never raises."""
        from authfunnel.cli.telemetry._wiring import open_client

        return open_client(self._running[-1] if self._running else self._recording())

    def settings(self) -> Settings:
        """What telemetry does now (on or off and why, destination, bounds); raises
        ``CliError``, whose message says what to fix, for a malformed config file."""
        from authfunnel.cli.telemetry._settings import load_settings

        return load_settings(self.environment())

    def status(self) -> dict[str, Any]:
        """Consent, destination, pending and dropped events, the last delivery: JSON-ready."""
        from authfunnel.cli.telemetry._outbox import open_outbox
        from authfunnel.cli.telemetry._status import status_facts

        settings = self.settings()
        if not settings.outbox_path.exists():
            return status_facts(settings, None)
        outbox = open_outbox(settings.outbox_path)
        try:
            return status_facts(settings, outbox)
        finally:
            outbox.close()

    def enable(self) -> Settings:
        """Record the person's consent (no notice after it); returns the settings, which say
        whether something else still keeps telemetry off."""
        from authfunnel.cli.telemetry._consent import enable

        return enable(self.environment())

    def disable(self) -> Discarded:
        """Record the opt-out and discard every unsent event; returns how many."""
        from authfunnel.cli.telemetry._consent import disable

        return disable(self.environment())

    def flush(self, timeout: float = 30.0) -> DeliveryReport:
        """Send what is pending now, within ``timeout`` seconds; outcome ``"disabled"`` when
        telemetry is off, ``"local-only"`` without a write key (nothing sent either way)."""
        from authfunnel.cli.telemetry._batches import DeliveryReport
        from authfunnel.cli.telemetry._outbox import open_outbox
        from authfunnel.cli.telemetry._sender import flush
        from authfunnel.cli.telemetry._wiring import DISABLED, NOTICE_SHOWN

        settings = self.settings()
        if not settings.enabled:
            return DeliveryReport("disabled", detail=settings.reason)
        outbox = open_outbox(settings.outbox_path)
        try:
            if outbox.get(DISABLED):
                return DeliveryReport("disabled", remaining=outbox.count())
            if not settings.write_key:
                return DeliveryReport("local-only", remaining=outbox.count())
            outbox.put(NOTICE_SHOWN, "1")  # asking to send is consent
            return flush(outbox, settings, timeout=timeout)
        finally:
            outbox.close()

    def pending(self) -> list[dict[str, Any]]:
        """The messages waiting to be sent, exactly as they will be (oldest first)."""
        import json

        from authfunnel.cli.telemetry._outbox import open_outbox

        path = self.settings().outbox_path
        if not path.exists():
            return []
        outbox = open_outbox(path)
        try:
            return [json.loads(body) for _, body in outbox.pending()]
        finally:
            outbox.close()

    def instrument(self, command: Command) -> Command:
        """Run every command of a click application (a ``click.Group``, or one
        ``click.Command``; for Typer, ``typer.main.get_command(app)``) in the command lifecycle,
        each named as typed (``db migrate``); returns ``command``. ``--help``, ``--version`` and
        usage errors record nothing; ``ctx.exit(0)`` is a success, ``click.Abort`` an abort
        with its reason. Neither click nor Typer is imported for it."""
        from authfunnel.cli.telemetry._click import instrument

        return instrument(command, self)

    def click_group(self) -> click.Group:
        """The ``telemetry`` command group (status, enable, disable, show, flush) for this
        application, to mount in one line: ``cli.add_command(TELEMETRY.click_group())``."""
        from authfunnel.cli.telemetry._click import telemetry_group

        return telemetry_group(self)

    def _recording(self) -> Environment:
        """``environment()``, for recording: from now on the events' ``cli_version`` is this
        application's. Not when made: a process that only imports the application (``authfunnel
        report app:FUNNELS``) must keep its own version on its own events."""
        from authfunnel.fsm import set_cli_version

        set_cli_version(self.identity.version)
        return self.environment()

    def environment(self) -> Environment:
        """The environment this application's telemetry reads now: its identity, the process's
        variables and stderr, debug output when ``<PREFIX>_DEBUG`` is set."""
        variables = dict(os.environ)
        env = Environment(stderr=sys.stderr, variables=variables, identity=self.identity)
        env.debug = env.flag(self.identity.variable("DEBUG"))
        return env
