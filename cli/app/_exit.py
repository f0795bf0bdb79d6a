"""Exit statuses and the errors that carry them: the one vocabulary for how a command ends."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What ``authfunnel`` exits with."""

    OK = 0
    ERROR = 1
    USAGE = 2
    LOGIN_REQUIRED = 4
    INTERRUPTED = 130


class CliError(Exception):
    """A failure the user can act on: shown as one line plus a hint, never a traceback.

    ``exit_code`` is read by the engine's command lifecycle too, so Command Completed reports
    the status the process really exits with.
    """

    exit_code: int = ExitStatus.ERROR

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CliError):
    """The command line itself is wrong (exit 2)."""

    exit_code = ExitStatus.USAGE


class LoginRequired(CliError):
    """The command needs a login and there is none (exit 4)."""

    exit_code = ExitStatus.LOGIN_REQUIRED
