"""The command lifecycle: ``Command Invoked`` then ``Command Completed`` around each command.

``command_lifecycle`` runs its body inside ``fsm.COMMAND.run`` with the invocation's
telemetry client (the environment's, if it carries one), which the environment carries while
the command runs (``open_client`` returns it), then hands delivery off. authfunnel's shell
enters it through ``run_command``, an adopting CLI through ``Telemetry.command``: one road.
Duration is measured when the command's own work ends, before any delivery. A command that
fails its login precondition (``LoginRequired`` before it recorded anything) or rejects its
command line (``UsageError``: a check argparse could not make) emits neither event:
``Command Invoked`` is held in memory until the command records something or ends, so there
is never an orphan ``Completed``. Once written, ``Command Invoked`` opens a flow record
(``_flows``): a command killed before its ``Completed`` is ended by a later invocation.
SIGTERM and SIGHUP stop the command as Aborted with their reason, and it exits 128 + the
signal's number (``_signals``).

A bad value in the config file's ``[telemetry]`` table turns telemetry off for the run, said
once: as the command's own error when it reads the settings and fails on them (``telemetry
status``), else as a warning when the command ends.

A command declared with ``lifecycle_events=False`` (the demo, whose telemetry all goes to its
throwaway home) runs outside the lifecycle: no events, and this invocation's outbox is never
opened, so nothing of it lands in the person's state. SIGTERM and SIGHUP raise there too, so
its own cleanup (the demo's throwaway home) runs before it exits 128 + the signal's number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Final

from authfunnel.cli.app import CliError, Environment, ExitStatus, LoginRequired, UsageError
from authfunnel.fsm import (
    COMMAND,
    COMMAND_COMPLETED,
    COMMAND_INVOKED,
    AbortReason,
    Event,
    FlowTracker,
    NoopClient,
    PropertyValue,
    TelemetryClient,
)

NONZERO_EXIT: Final = "NonZeroExit"  # after the application's name: authfunnel.NonZeroExit


def run_command(
    name: str, command: Callable[[], int], env: Environment, *, lifecycle_events: bool = True
) -> int:
    """Run ``command`` as command ``name``: its events, its exit status, then the hand-off."""
    from authfunnel.cli.telemetry._signals import Signalled, ending_flows

    try:
        if not lifecycle_events:
            with ending_flows():  # SIGTERM/SIGHUP raise here too: the command's cleanup runs
                return _outside_the_lifecycle(command, env)
        with command_lifecycle(name, env) as lifecycle:
            status = int(command())
            lifecycle.exit_status(status)
        return status
    except Signalled as stopped:
        return stopped.exit_code


class CommandRun:
    """The command running inside ``command_lifecycle``: its client, and how it ends."""

    def __init__(self, run: FlowTracker, client: _Lifecycle, app: str) -> None:
        self._run = run
        self._app = app
        self._lifecycle = client
        self.client: TelemetryClient = client

    def exit_status(self, status: int) -> None:
        """The command exits with ``status``: other than 0, ``Command Completed`` says it
        failed with that exit code (``error_class`` ``<app>.NonZeroExit``)."""
        if status != ExitStatus.OK and not self._run.is_terminal:
            self._run.fail(f"{self._app}.{NONZERO_EXIT}", exit_code=status)

    def abort(self, reason: AbortReason) -> None:
        """The person stopped the command (a prompt interrupted, say): Aborted with ``reason``."""
        if not self._run.is_terminal:
            self._run.abort(reason)

    def usage_error(self) -> None:
        """The command rejected its command line before doing anything: no event at all (an
        exception that follows ends it), as for an argument the parser refused."""
        self._lifecycle.precondition_failed()


@contextmanager
def command_lifecycle(name: str, env: Environment) -> Iterator[CommandRun]:
    """Run the body as command ``name``: ``Command Invoked`` / ``Completed`` and the hand-off.

    The invocation's client (the environment's, if it carries one, else the durable one)
    is ``env.telemetry`` and the yielded run's ``client`` while the body runs; at the end,
    one the lifecycle opened is closed, which starts the detached sender. ``SystemExit``
    leaving the body ends the command with its code (0 or ``None``: success); SIGTERM and
    SIGHUP raise ``_signals.Signalled`` (see the module's docstring).
    """
    from authfunnel.cli.telemetry._signals import ending_flows
    from authfunnel.cli.telemetry._wiring import open_client

    given = env.telemetry
    opened, unsaid = (given, None) if given is not None else _client_for(env, open_client)
    client = _Lifecycle(opened)
    env.telemetry = client
    leaving: SystemExit | None = None
    try:
        with ending_flows(), COMMAND.run(client, properties={"command": name}) as run:
            lifecycle = CommandRun(run, client, env.identity.name)
            try:
                yield lifecycle
            except (LoginRequired, UsageError):
                client.precondition_failed()
                raise
            except SystemExit as exiting:  # sys.exit(status) ends the command, not as a crash
                leaving = exiting
                lifecycle.exit_status(_status_of(exiting))
        if leaving is not None:
            raise leaving
    except CliError as failed:
        if unsaid is not None and failed.message == unsaid.message:
            unsaid = None  # the command's own error says it: not a second time
        raise
    finally:
        env.telemetry = given
        if given is None:
            client.close(0.0)  # starts the detached sender; never waits on the network
        else:
            client.release()  # the environment's client is its owner's to close
        if unsaid is not None:
            hint = f"\n  hint: {unsaid.hint}" if unsaid.hint else ""
            env.stderr.write(
                f"{env.identity.name}: warning: telemetry is off for this run: {unsaid}{hint}\n"
            )


def _status_of(exiting: SystemExit) -> int:
    """The exit status ``exiting`` gives the process (``sys.exit("message")`` exits 1)."""
    code = exiting.code
    if code is None:
        return ExitStatus.OK
    return code if isinstance(code, int) else ExitStatus.ERROR


def _client_for(
    env: Environment, open_client: Callable[[Environment], TelemetryClient]
) -> tuple[TelemetryClient, CliError | None]:
    """The invocation's client, or none and the bad ``[telemetry]`` setting that stopped it.

    That error is held back, not warned at once: a command that reads the settings itself
    (``telemetry status``) ends with the same error, and one message is enough.
    """
    from authfunnel.cli.telemetry._settings import load_settings

    try:
        load_settings(env)
    except CliError as bad:
        return NoopClient(), bad
    return open_client(env), None


def _outside_the_lifecycle(command: Callable[[], int], env: Environment) -> int:
    """Run ``command`` recording nothing for this invocation.

    No outbox is opened and no sequence number spent (the demo's own events number from 1);
    anything that asks for the invocation's client gets a no-op one.
    """
    given = env.telemetry
    env.telemetry = given if given is not None else NoopClient()
    try:
        return int(command())
    finally:
        env.telemetry = given


class _Lifecycle:
    """Forwards to the invocation's client, holding ``Command Invoked`` back (see above)."""

    def __init__(self, client: TelemetryClient) -> None:
        self._client = client
        self._held: tuple[Event, datetime] | None = None
        self._silent = False

    def track(self, event: Event) -> None:
        if event.name == COMMAND_INVOKED:
            self._held = (event, datetime.now(UTC))
            return
        if event.name == COMMAND_COMPLETED and self._silent and self._held is not None:
            self._held = None  # login precondition failed before anything happened
            return
        self.release()
        self._client.track(event)

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        self.release()
        self._client.identify(user_id, traits)

    def record_step(self, flow: str, step: str) -> None:
        record = getattr(self._client, "record_step", None)
        if record is not None:
            record(flow, step)

    def forget_user(self) -> None:
        forget = getattr(self._client, "forget_user", None)
        if forget is not None:
            forget()

    def precondition_failed(self) -> None:
        self._silent = True

    def close(self, timeout: float) -> None:
        self.release()
        self._client.close(timeout)

    def release(self) -> None:
        """Send ``Command Invoked`` if it is still held (the command ended recording nothing)."""
        held, self._held = self._held, None
        if held is None:
            return
        event, when = held
        track_at = getattr(self._client, "track_at", None)
        if track_at is not None:
            track_at(event, when)  # keeps the time the command really started
        else:
            self._client.track(event)
