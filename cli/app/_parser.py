"""An ``argparse`` parser that reports usage errors as ``UsageError`` instead of exiting."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn, TextIO

from authfunnel.cli.app._exit import UsageError


class Parser(argparse.ArgumentParser):
    """Raises ``UsageError`` (exit 2) on a bad command line; prints help to ``out``."""

    def __init__(self, *args: object, out: TextIO, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._out = out

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"run '{self.prog} --help' for usage")

    def print_help(self, file: Any = None) -> None:
        super().print_help(file or self._out)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._out.write(message)
        raise _ParserExit(status)


class _ParserExit(Exception):
    """``--help`` of a command was printed: end with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


ParserExit = _ParserExit
