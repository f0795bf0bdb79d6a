"""The terminal UI of interactive commands, on rich: messages, a waiting spinner, prompts.

A spinner with a countdown is drawn only when stdout is a terminal; in a pipe the same wait is
silent, so logs stay clean. Text from the network is printed with markup off. Prompts read
lines from the environment's stdin: end of input or an empty answer declines the prompt.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TextIO

from authfunnel.cli.app._env import Environment, isatty

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

MAX_ATTEMPTS = 3
# Where no terminal says otherwise (a pipe, a file): the width every terminal opens at.
PIPE_WIDTH: Final = 80
NARROWEST: Final = 40


class Terminal:
    """Where a command talks to the person running it."""

    def __init__(self, env: Environment, *, on_stderr: bool = False) -> None:
        """``on_stderr``: for commands whose stdout is data (``--json``), talk on stderr."""
        self.env = env
        self.stream = env.stderr if on_stderr else env.stdout
        self.interactive = isatty(self.stream)
        self.console: Console = env.console(self.stream, terminal=self.interactive, soft_wrap=True)

    def say(self, text: str, *, style: str | None = None) -> None:
        """Print ``text`` verbatim (no markup, no control characters: it may come from the
        network, and an escape sequence in an app name must not drive the terminal)."""
        self.console.print(printable(text), style=style, markup=False)

    def warn(self, text: str) -> None:
        """One line on stderr, so it never mixes with data on stdout."""
        self.env.stderr.write(f"warning: {printable(text)}\n")
        self.env.stderr.flush()

    def wait(self, done: threading.Event, timeout: float, label: str) -> bool:
        """Wait until ``done`` is set or ``timeout`` seconds pass; whether it was set.

        Short waits keep Ctrl-C prompt: the main thread is never stuck in an uninterruptible
        call.
        """
        deadline = time.monotonic() + timeout
        if not self.interactive:
            while not done.is_set() and time.monotonic() < deadline:
                done.wait(0.1)
            return done.is_set()
        with self.console.status(label, spinner="dots") as status:
            while not done.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                minutes, seconds = divmod(int(remaining), 60)
                status.update(f"{label} [dim]({minutes}:{seconds:02d} left, Ctrl-C to cancel)")
                done.wait(0.1)
        return done.is_set()

    def choose(self, question: str, options: Sequence[str]) -> int:
        """The index of the option chosen by number or name; ``PromptDeclined`` if none."""
        self.say(question)
        for number, option in enumerate(options, start=1):
            self.say(f"  {number}) {option}")
        for _ in range(MAX_ATTEMPTS):
            answer = self._read(f"Choose 1-{len(options)}: ")
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return int(answer) - 1
            if answer in options:
                return options.index(answer)
            self.say(f"'{answer}' is not one of the choices.")
        from authfunnel.fsm import PromptDeclined

        raise PromptDeclined("no valid choice")

    def ask(self, question: str, *, again_if_empty: bool = False) -> str:
        """A non-empty answer to ``question``; ``PromptDeclined`` on an empty one, or with
        ``again_if_empty`` only at the end of input (an empty line asks again)."""
        while True:
            try:
                return self._read(f"{question}: ", at_end=again_if_empty)
            except _EmptyAnswer:
                continue

    def _read(self, prompt: str, *, at_end: bool = False) -> str:
        self.console.print(prompt, end="", markup=False)
        self.stream.flush()
        line = self.env.stdin.readline()
        answer = line.strip()
        if not answer and at_end and line:
            raise _EmptyAnswer
        if not answer:
            from authfunnel.fsm import PromptDeclined

            raise PromptDeclined("no answer")
        return answer


class _EmptyAnswer(Exception):
    """An empty line where an answer must be given: the question is asked again."""


def printable(text: str) -> str:
    """``text`` without control characters (tabs and newlines kept), safe for a terminal.

    The one filter every terminal writer puts data through (event properties, paths, names
    from the network): an ``ESC[2J`` in an ``os`` property must not clear the screen."""
    # Markup off is not enough: rich passes ESC through, so every control character goes.
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)


def literal(text: str) -> Text:
    """``text`` for a rich table cell or ``print``: control characters gone (``printable``) and
    any ``[markup]`` in it shown as written, never interpreted."""
    from rich.text import Text

    return Text(printable(text))


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and ``noun``, agreeing: "1 funnel", "2 funnels", "1,234 lines" (``nouns`` for
    a plural that is not ``noun`` + "s")."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def terminal_width(env: Environment, stream: TextIO | None = None) -> int:
    """Columns to draw ``stream`` (default: stdout) in, as ``shutil.get_terminal_size`` finds
    them but from ``env``: ``$COLUMNS`` when set, else the terminal's own size when ``stream``
    is one, else ``PIPE_WIDTH``; never under ``NARROWEST``.

    bash does not export ``$COLUMNS``, so in a terminal the width is usually the terminal's:
    asked of the stream's descriptor, which is the window's width as it is now."""
    stream = env.stdout if stream is None else stream
    columns = env.variables.get("COLUMNS", "")
    width = int(columns) if columns.strip().isdigit() else 0
    if not width and isatty(stream):
        try:
            width = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            width = 0  # a terminal that cannot say (a serial line): as in a pipe
    return max(NARROWEST, width or PIPE_WIDTH)
