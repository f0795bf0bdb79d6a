"""The report as a file to share: ``--format html`` (``_html``) or ``--format svg``.

The SVG is the terminal drawing (``_view``) exported by rich, with rich's web font left out:
rich's template loads Fira Code from a CDN, so opening the file went to the network. It names
a system monospace font stack instead and fetches nothing.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from authfunnel.cli.app import Environment, printable
from authfunnel.cli.report._html import render_html
from authfunnel.cli.report._model import Report
from authfunnel.cli.report._view import print_report

EXPORT_WIDTH: Final = 120
MONOSPACE_STACK: Final = (
    'ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", '
    '"Liberation Mono", monospace'
)
# An @font-face rule in rich's template (braces doubled: it is a str.format template).
_FONT_FACE: Final = re.compile(r"@font-face\s*\{\{.*?\}\}\s*", re.DOTALL)


def export(report: Report, fmt: Literal["html", "svg"], env: Environment) -> str:
    """``report`` as a self-contained ``html`` page or ``svg`` image; neither fetches anything
    when opened."""
    if fmt == "html":
        return render_html(report)
    return render_svg(report, env)


def render_svg(report: Report, env: Environment) -> str:
    """The terminal drawing of ``report`` at 120 columns as SVG, in a system monospace font."""
    import io

    console = env.console(
        io.StringIO(), width=EXPORT_WIDTH, record=True, terminal=False, color=True
    )
    print_report(console, report)
    return console.export_svg(
        title=printable(f"authfunnel report: {report.source}"), code_format=offline_svg_format()
    )


def offline_svg_format() -> str:
    """rich's SVG template without its web fonts, in the system's monospace font."""
    # The template export_svg uses by default (there since rich 12; a test fails on any url()).
    from rich._export_format import CONSOLE_SVG_FORMAT

    template = _FONT_FACE.sub("", CONSOLE_SVG_FORMAT)
    return template.replace(
        "font-family: Fira Code, monospace;", f"font-family: {MONOSPACE_STACK};"
    )
