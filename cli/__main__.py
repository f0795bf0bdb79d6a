"""``authfunnel``: parse the command line, run one command, turn any error into an exit status.

This is the one place where exceptions become messages: a ``CliError`` prints one line and a
hint, a module of an extra that is not installed names the extra to install, Ctrl-C exits 130,
anything else is an internal error whose traceback only ``--debug`` shows.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TextIO

from authfunnel.cli.app import (
    COMMANDS,
    CliError,
    CommandSpec,
    Environment,
    ExitStatus,
    UsageError,
    extra_providing,
    missing_extra,
)

PROG = "authfunnel"


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run one ``authfunnel`` command line and return its exit status."""
    env = env or Environment()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(args, env)
    except KeyboardInterrupt:
        env.stderr.write("\nInterrupted.\n")
        return ExitStatus.INTERRUPTED
    except CliError as exc:
        _report(env.stderr, exc)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`authfunnel events | head`): end quietly, as Unix tools do.
        _discard_output(env)
        return ExitStatus.OK
    except Exception:
        if env.debug:
            import traceback

            traceback.print_exc(file=env.stderr)
        env.stderr.write(
            f"{PROG}: internal error: this is a bug, please report it.\n"
            f"  hint: run again with --debug and include the traceback\n"
        )
        return ExitStatus.ERROR


def _dispatch(args: list[str], env: Environment) -> int:
    env.debug = env.debug or env.flag("DEBUG")
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option in ("-h", "--help"):
            env.stdout.write(_help())
            return ExitStatus.OK
        if option in ("-V", "--version"):
            env.stdout.write(f"{PROG} {_version()}\n")
            return ExitStatus.OK
        if option == "--debug":
            env.debug = True
            continue
        raise UsageError(f"unknown option {option!r}", hint=f"run '{PROG} --help' for usage")
    if not args:
        env.stdout.write(_help())
        return ExitStatus.USAGE
    name, rest = args[0], args[1:]
    spec = COMMANDS.get(name)
    if spec is None:
        raise UsageError(f"unknown command {name!r}", hint=_suggest(name))
    extra = missing_extra(spec)
    if extra is not None:
        raise _needs(name, extra)
    try:
        return _run(name, spec, rest, env)
    except ModuleNotFoundError as missing:
        extra = extra_providing(spec, missing.name)
        if extra is None:
            raise
        raise _needs(name, extra) from missing


def _needs(name: str, extra: str) -> CliError:
    return CliError(f"{name!r} needs the {extra} extra: pip install 'authfunnel[{extra}]'")


def _run(name: str, spec: CommandSpec, rest: list[str], env: Environment) -> int:
    """Import the command's module, parse its options, run it inside its lifecycle."""
    module = import_module(spec.module)
    from authfunnel.cli.app import Parser, ParserExit

    parser = Parser(prog=f"{PROG} {name}", description=spec.summary, out=env.stdout)
    module.add_arguments(parser)
    try:
        options = parser.parse_args(rest)
    except ParserExit as done:
        return done.status
    from authfunnel.cli.app import Paths, config_error
    from authfunnel.cli.telemetry import run_command

    lifecycle_events = spec.lifecycle_events
    broken = config_error(Paths.from_env(env))
    if broken is not None:
        # Said once, here, rather than as a telemetry warning and again by the command. A
        # command that needs nothing from the file (opting out) runs, with telemetry off:
        # the file may say it is off, and nobody can tell.
        tolerates = getattr(module, "runs_with_a_broken_config", None)
        if tolerates is None or not tolerates(options):
            raise broken
        lifecycle_events = False
    return run_command(
        name, lambda: module.run(options, env), env, lifecycle_events=lifecycle_events
    )


def _help() -> str:
    width = max((len(name) for name in COMMANDS), default=0)
    lines = [
        f"usage: {PROG} [--debug] <command> [options]",
        "",
        "Measure and run CLI auth flows: every step tracked, exactly one outcome per flow.",
        "",
        "commands:",
        *(f"  {name.ljust(width)}  {spec.summary}" for name, spec in COMMANDS.items()),
        "",
        "options:",
        "  -h, --help     show this help and exit",
        "  -V, --version  show the version and exit",
        "  --debug        show tracebacks and each telemetry event (or set DEBUG=1)",
        "",
        "environment:",
        "  AUTHFUNNEL_HOME   keep config and state under this directory, not the user dirs",
        "  DO_NOT_TRACK=1    record and send no telemetry (or 'authfunnel telemetry disable')",
        "",
        f"Run '{PROG} <command> --help' for a command's options.",
    ]
    return "\n".join(lines) + "\n"


def _version() -> str:
    from authfunnel.cli import __version__

    return __version__


def _suggest(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(COMMANDS), n=1)
    if close:
        return f"did you mean '{close[0]}'? (run '{PROG} --help' for all commands)"
    return f"run '{PROG} --help' for all commands"


def _discard_output(env: Environment) -> None:
    """Point stdout at /dev/null, so the interpreter's last flush finds no closed pipe."""
    import os

    try:
        descriptor = env.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's StringIO): nothing will flush into a pipe
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


def _report(stream: TextIO, error: CliError) -> None:
    from authfunnel.cli.app import printable

    # Messages carry data (a path, a property name, a line of a file): shown as text only.
    stream.write(f"{PROG}: error: {printable(error.message)}\n")
    if error.hint:
        stream.write(f"  hint: {printable(error.hint)}\n")


if __name__ == "__main__":
    sys.exit(main())
