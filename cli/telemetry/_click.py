"""click (and Typer, which builds on it) in the command lifecycle, and a ``telemetry`` group.

Nothing here imports click or Typer: the commands are recognised by what they do (a group
resolves subcommands) and click's exceptions by their class names, so the same code serves
click and Typer, whose recent releases carry their own copy of click (``typer._click``).
Only ``telemetry_group`` imports click, to build the group, when an application asks for it.

``instrument`` wraps each command's own invocation, reached once click has parsed its command
line: ``--help``, ``--version`` and a command line click refuses end before it, so they record
nothing (no orphan ``Command Completed``). Inside, the outcome is what the person saw:

- returning, ``ctx.exit(0)``, ``sys.exit(0)`` (or ``None``): success;
- ``ctx.exit(n)``, ``typer.Exit(n)``, ``sys.exit(n)``, a ``ClickException`` (exit code
  ``n``): failure with it;
- ``click.Abort`` (``typer.Abort``): aborted: ``interrupt`` when Ctrl-C at a prompt raised
  it, ``prompt`` when the input ended (EOF), ``declined`` otherwise (``confirm(abort=True)``
  answered no);
- Ctrl-C elsewhere: aborted (``interrupt``); SIGTERM/SIGHUP: aborted, exit ``128 + signal``;
- a ``click.UsageError`` raised by the command itself (``ctx.fail``, a ``BadParameter``
  from a callback): nothing recorded, as for one click raised while parsing;
- any other exception: failure, with its ``error_class``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from authfunnel.fsm import abort_reason

if TYPE_CHECKING:
    import click

    from authfunnel.cli.telemetry._app import Telemetry

Command = TypeVar("Command")
_WRAPPED = "_telemetry_lifecycle"


def instrument(command: Command, telemetry: Telemetry) -> Command:
    """Run every command below ``command`` (a group's subcommands, found as click resolves
    them, so lazily loaded and later added ones too; or ``command`` itself, if it is one
    command) inside ``telemetry``'s command lifecycle; returns ``command``."""
    if hasattr(command, "resolve_command"):  # a group: click's, or Typer's copy of it
        _resolving(command, telemetry)
    else:
        _wrap(command, telemetry)
    return command


def _is(error: BaseException, name: str) -> bool:
    """Whether ``error`` is click's (or Typer's) exception class ``name``, or derives from it."""
    return any(
        kind.__name__ == name and kind.__module__.split(".")[0] in ("click", "typer")
        for kind in type(error).__mro__
    )


def _resolving(group: Any, telemetry: Telemetry) -> None:
    if getattr(group, _WRAPPED, False):
        return
    resolve = group.resolve_command

    def resolve_command(ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = resolve(ctx, args)
        if command is not None:
            instrument(command, telemetry)
        return name, command, rest

    setattr(group, "resolve_command", resolve_command)  # noqa: B010 (an instance's override)
    setattr(group, _WRAPPED, True)


def _wrap(command: Any, telemetry: Telemetry) -> None:
    if getattr(command, _WRAPPED, False):
        return
    invoke: Callable[[Any], Any] = command.invoke

    def invoke_in_lifecycle(ctx: Any) -> Any:
        with _lifecycle(_name_of(ctx), telemetry) as outcome:
            return outcome(lambda: invoke(ctx))

    setattr(command, "invoke", invoke_in_lifecycle)  # noqa: B010 (an instance's override)
    setattr(command, _WRAPPED, True)


@contextmanager
def _lifecycle(name: str, telemetry: Telemetry) -> Iterator[Callable[[Callable[[], Any]], Any]]:
    """Yields ``outcome(body)``: runs ``body`` in the lifecycle of command ``name``, recording
    click's ways of ending as the module's docstring says."""
    from authfunnel.cli.telemetry._signals import Signalled

    leaving: list[Exception] = []
    try:
        with telemetry._lifecycle(name) as run:

            def outcome(body: Callable[[], Any]) -> Any:
                try:
                    return body()
                except Exception as error:
                    if _is(error, "Exit"):  # ctx.exit(code), typer.Exit: raised again below
                        run.exit_status(int(getattr(error, "exit_code", 0) or 0))
                        leaving.append(error)
                        return None
                    if (reason := abort_reason(error)) is not None:  # click.Abort
                        run.abort(reason)
                    elif _is(error, "UsageError"):
                        run.usage_error()
                    raise

            yield outcome
        if leaving:
            raise leaving[0]
    except Signalled as stopped:
        raise SystemExit(stopped.exit_code) from None


def _name_of(ctx: Any) -> str:
    """The command as typed after the program's name (``db migrate``); a program that is one
    command is named after it."""
    names: list[str] = []
    while ctx.parent is not None:
        names.append(ctx.info_name or ctx.command.name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)) or ctx.command.name or ctx.info_name or "main"


def telemetry_group(telemetry: Telemetry) -> click.Group:
    """``telemetry status | enable | disable | show | flush`` for ``telemetry``'s application,
    to mount in one line: ``cli.add_command(TELEMETRY.click_group())``."""
    import click

    app = telemetry.identity.name

    @click.group("telemetry", help=f"What {app} records about its use, and whether it may.")
    def group() -> None:
        pass

    @group.command(help="Whether telemetry is on (and why), where it goes, what waits.")
    @click.option("--json", "as_json", is_flag=True, help="machine-readable output")
    def status(as_json: bool) -> None:
        from authfunnel.cli.telemetry._status import undeclared_summary

        with _errors():
            facts = telemetry.status()
        if as_json:
            click.echo(json.dumps(facts, sort_keys=True))
            return
        click.echo(f"Telemetry: {facts['reason']}")
        destination = facts["destination"] or "nowhere (no write key: events stay here)"
        click.echo(f"Sending to: {destination}")
        click.echo(f"Pending events: {facts['pending']} in {facts['outbox']}")
        undeclared = undeclared_summary(facts)
        if undeclared:
            click.echo(undeclared)

    @group.command(help="Allow telemetry (the first-run notice is not shown again).")
    def enable() -> None:
        with _errors():
            settings = telemetry.enable()
        click.echo("Telemetry enabled.")
        if not settings.enabled:
            click.echo(f"  but still off for now: {settings.reason}")

    @group.command(help="Turn telemetry off here and discard what was not sent.")
    def disable() -> None:
        with _errors():
            left = telemetry.disable()
        click.echo(f"Telemetry disabled; discarded {left.discarded} unsent events.")

    @group.command(help="The pending events, exactly as they will be sent (JSON lines).")
    def show() -> None:
        with _errors():
            pending = telemetry.pending()
        for message in pending:
            click.echo(json.dumps(message, sort_keys=True))

    @group.command(help="Send the pending events now.")
    @click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
    def flush(timeout: float) -> None:
        with _errors():
            report = telemetry.flush(timeout)
        click.echo(f"Sent {report.sent}; {report.remaining} left ({report.outcome}).")
        if report.remaining and report.outcome not in ("disabled", "local-only"):
            raise click.exceptions.Exit(1)

    return group


@contextmanager
def _errors() -> Iterator[None]:
    """A config file or outbox that cannot be used: click's one-line error, exit 1."""
    import click

    from authfunnel.cli.app import CliError
    from authfunnel.cli.telemetry._outbox import OutboxError

    try:
        yield
    except CliError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise click.ClickException(f"{exc.message}{hint}") from exc
    except OutboxError as exc:
        raise click.ClickException(f"cannot use the telemetry outbox: {exc}") from exc
