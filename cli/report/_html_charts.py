"""The HTML report's charts, drawn server-side as inline SVG by pygal.

Why pygal: it writes plain SVG from Python, so the page carries no script and fetches
nothing (its tooltip script is off: ``js=[]``, and ``_without_scripts`` drops the config it
still writes), and it is small: pure Python, and the report extra grows from 20 to 24
distributions and 109.4 to 110.8 MB (tests/benchmarks/bench_install.py; with importlib-metadata,
zipp, lazy-importer), where vl-convert-python (Vega-Lite in a bundled V8) is a 33 MB wheel and
matplotlib 42 MB of wheels with numpy and pillow. Its charts are styled here with the system font
stack (no web font to fetch).

Every label comes from event data: it goes through ``printable`` (XML holds no control
characters) and pygal's XML writer escapes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.app import printable
from authfunnel.cli.report._conversion_time import BINS
from authfunnel.cli.report._figures import Figures
from authfunnel.cli.report._periods import Timeline, label

if TYPE_CHECKING:
    from pygal.graph.graph import Graph

FONT_STACK: Final = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
    '"Liberation Sans", sans-serif'
)
WIDTH: Final = 760
ROW_HEIGHT: Final = 34
TOP_CLASSES: Final = 6  # error classes drawn apart in the failures chart; the rest are "other"
WENT_ON, ABORTED, FAILED, OPEN, COMPLETED = "#3b6fd8", "#e8a33d", "#d64545", "#a3a9b3", "#2e9d6a"
SO_FAR: Final = "#9fd3b9"  # the incomplete period: the conversion colour, paler
MOST_X_LABELS: Final = 16  # period labels drawn under the over-time chart; the table has all
PALETTE: Final = ("#d64545", "#e8a33d", "#8d5bd0", "#2f9fb0", "#c2567e", "#6c8a2e", "#a3a9b3")


def _pygal() -> Any:
    """pygal, without the import hook it appends to ``sys.meta_path`` on import (for its map
    plugins, unused here): the hook has no ``find_spec``, so every later failing import in the
    process warns, and where warnings are errors a ``try: import`` fallback breaks."""
    import sys

    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]
    return pygal


def _chart(kind: str, rows: int, colors: tuple[str, ...], **options: Any) -> Graph:
    from pygal.style import Style

    pygal = _pygal()

    style = Style(
        font_family=FONT_STACK,
        background="transparent",
        plot_background="transparent",
        foreground="#2b2f36",
        foreground_strong="#2b2f36",
        foreground_subtle="#d9dde3",
        colors=colors,
        label_font_size=12,
        major_label_font_size=12,
        value_font_size=12,
        legend_font_size=12,
        title_font_size=14,
        guide_stroke_color="#e3e6eb",
        major_guide_stroke_color="#cfd4db",
        guide_stroke_dasharray="0",
        major_guide_stroke_dasharray="0",
        opacity=".9",
    )
    chart: Graph = getattr(pygal, kind)(
        style=style,
        js=[],  # no tooltip script: the page fetches nothing
        disable_xml_declaration=True,
        explicit_size=True,
        width=WIDTH,
        height=80 + ROW_HEIGHT * max(rows, 1),
        truncate_label=40,
        legend_at_bottom=True,
        legend_box_size=12,
        margin=8,
        **options,
    )
    chart.add_xml_filter(_without_scripts)
    return chart


def _without_scripts(root: Any) -> Any:
    """The chart's XML tree without pygal's config ``<script>`` (written even with ``js=[]``,
    for tooltips we do not load) and its placeholder ``<title>Pygal</title>``: the page runs
    no script, and hovering a chart shows no library's name."""
    for parent in list(root.iter()):
        for child in list(parent):
            tag = str(child.tag).rpartition("}")[2]
            if tag == "script" or (parent is root and tag == "title"):
                parent.remove(child)
    return root


def _render(chart: Graph) -> str:
    return str(chart.render(is_unicode=True))


def funnel_chart(f: Figures) -> str:
    """Horizontal bars per stage, first stage on top: each bar is the flows that reached the
    stage, split into those that went on and those that ended there (aborted, failed, still
    open), so the drop-off between steps is the bar's coloured tail."""
    rows = [(" | ".join(stage.steps), stage) for stage in f.stages]
    # pygal draws a horizontal chart's first label at the bottom.
    rows.reverse()
    chart = _chart(
        "HorizontalStackedBar",
        len(rows) + 1,
        (WENT_ON, ABORTED, FAILED, OPEN, COMPLETED),
        show_legend=True,
    )
    chart.x_labels = ["completed", *(printable(label) for label, _ in rows)]
    chart.add("went on", [None, *(stage.went_on for _, stage in rows)])
    chart.add("aborted here", [None, *(stage.aborted or None for _, stage in rows)])
    chart.add("failed here", [None, *(stage.failed or None for _, stage in rows)])
    chart.add("still open here", [None, *(stage.open or None for _, stage in rows)])
    chart.add("completed", [f.completed, *([None] * len(rows))])
    return _render(chart)


def failures_chart(f: Figures) -> str | None:
    """Failed flows per step, each bar split by error class (the commonest apart)."""
    if not f.failed_by_step:
        return None
    top = [name for name, _ in f.failed_by_class.most_common(TOP_CLASSES)]
    steps = failed_steps(f)
    steps.reverse()
    chart = _chart("HorizontalStackedBar", len(steps), PALETTE, show_legend=True)
    chart.x_labels = [printable(step) for step in steps]
    for name in top:
        chart.add(printable(name), [f.failed_by_step[step][name] or None for step in steps])
    other = [_rest(f.failed_by_step[step], top) for step in steps]
    if any(other):
        chart.add("other classes", [count or None for count in other])
    return _render(chart)


def failed_steps(f: Figures) -> list[str]:
    """The steps where flows failed, in the funnel's order (steps it does not declare last)."""
    order = {step: i for i, stage in enumerate(f.stages) for step in stage.steps}
    return sorted(f.failed_by_step, key=lambda step: (order.get(step, len(order)), step))


def _rest(counts: Counter[str], shown: list[str]) -> int:
    return sum(count for name, count in counts.items() if name not in shown)


def aborts_chart(f: Figures) -> str | None:
    """Aborted flows per reason, the commonest on top."""
    if not f.aborted_by_reason:
        return None
    reasons = f.aborted_by_reason.most_common()
    reasons.reverse()
    chart = _chart("HorizontalBar", len(reasons), (ABORTED,), show_legend=False, print_values=True)
    chart.x_labels = [printable(reason) for reason, _ in reasons]
    chart.add("aborted", [count for _, count in reasons])
    return _render(chart)


def conversion_chart(by: str, rows: Sequence[tuple[str, Figures]]) -> str | None:
    """Conversion per breakdown row (value, figures), top to bottom in the order given."""
    values = [(value, f) for value, f in rows if f.started]
    if not values:
        return None
    values.reverse()  # pygal draws a horizontal bar chart's first value at the bottom
    chart = _chart(
        "HorizontalBar",
        len(values),
        (COMPLETED,),
        show_legend=False,
        print_values=True,
        range=(0, 100),
        value_formatter=lambda pct: f"{pct:.1f}%",
    )
    chart.x_labels = [printable(value) for value, _ in values]
    chart.add(f"conversion by {printable(by)}", [100 * (f.conversion() or 0) for _, f in values])
    return _render(chart)


def time_to_convert_chart(f: Figures) -> str | None:
    """Completed flows per time-to-convert bin (``_conversion_time.BINS``), fastest first."""
    if not any(f.time_to_convert):
        return None
    chart = _chart("Bar", 6, (COMPLETED,), show_legend=False, print_values=True)
    chart.x_labels = [b.label for b in BINS]
    chart.add("completed flows", [n or None for n in f.time_to_convert])
    return _render(chart)


def over_time_chart(over: Timeline) -> str | None:
    """Conversion per period flows started in, oldest first, the incomplete period paler;
    the untimed flows' row is the table's only (it is no period)."""
    buckets = [bucket for bucket in over.buckets if bucket.start is not None]
    if not any(bucket.figures.started for bucket in buckets):
        return None
    chart = _chart(
        "StackedBar",  # one bar per period: its series are never both set
        8,
        (COMPLETED, SO_FAR),
        show_legend=any(bucket.incomplete for bucket in buckets),
        range=(0, 100),
        value_formatter=lambda pct: f"{pct:.1f}%",
        x_label_rotation=30 if len(buckets) > MOST_X_LABELS // 2 else 0,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, -(-len(buckets) // MOST_X_LABELS)),
    )
    chart.x_labels = [label(bucket, over.period) for bucket in buckets]

    def rates(incomplete: bool) -> list[float | None]:
        return [
            100 * (b.figures.conversion() or 0)
            if b.incomplete == incomplete and b.figures.started
            else None
            for b in buckets
        ]

    chart.add("conversion", rates(False))
    chart.add("so far (incomplete period)", rates(True))
    return _render(chart)
