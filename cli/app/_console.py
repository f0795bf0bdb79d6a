"""The one place a rich ``Console`` is made: every command's output goes through it.

rich loads only when a console is asked for (about 55 ms), so ``--help`` never pays for it.
Whether to draw for a terminal and whether to colour follow the environment (NO_COLOR, a pipe)
unless a caller exporting HTML/SVG or writing a plain-text file says otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from authfunnel.cli.app._env import Environment


def make_console(
    env: Environment,
    file: TextIO | None = None,
    *,
    width: int | None = None,
    record: bool = False,
    terminal: bool | None = None,
    color: bool | None = None,
    soft_wrap: bool = False,
) -> Console:
    """A console writing to ``file`` (default: ``env.stdout``).

    ``terminal``: draw for a terminal (spinners, cursor moves); default: whether ``file`` is
    one. ``color``: default: on a terminal unless NO_COLOR. ``record``: keep what is printed,
    for ``export_html``/``export_svg``.
    """
    from rich.console import Console

    from authfunnel.cli.app._env import isatty

    stream = env.stdout if file is None else file
    drawing = isatty(stream) if terminal is None else terminal
    coloured = (drawing and not env.no_color) if color is None else color
    return Console(
        file=stream,
        width=width,
        record=record,
        no_color=not coloured,
        force_terminal=drawing,
        highlight=False,
        soft_wrap=soft_wrap,
    )
