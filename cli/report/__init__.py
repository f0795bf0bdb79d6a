"""Funnel reports from recorded events, on DuckDB.

The pipeline, in the order its modules run: ``_source`` names the files of a source (a file,
a directory, a glob) and tells their format; ``_events`` loads them (JSON lines, checked and
bounded by ``_lines``, by ``_json_lines``; Parquet, by ``_parquet_source``; an outbox store,
by ``_store_source``) into DuckDB;
``_invocation_check`` finds the invocations that counting alone would get wrong;
``_fast_query`` counts the rest and ``_funnel_query`` pairs the few (or all, exactly);
``_funnel_run`` chooses and runs them, reading typed rows (``_rows``) that ``_tally`` folds;
``_figures`` makes per-stage ``Figures``; ``_model`` is the ``Report``, ``_json`` its plain
data; ``_view`` renders it;
``_conversion_time`` holds the conversion window (``--window``) and the time-to-convert bins,
``_periods`` the periods of conversion over time (``--over``, ``--tz``: a breakdown by the
day or week a flow started);
``_export`` writes it to share: an HTML page (``_html``, charts by ``_html_charts``) or SVG.
``_stages`` reads the step order from each flow's declaration. ``_messages`` reads a source's
messages one at a time, through the same files and lines, for ``authfunnel events``.

A warehouse (``--source postgresql://...``: ``_warehouse_connect``; ``spark:///...``:
``_warehouse_spark``) computes the same
``QueryResult`` where the events are: ``_warehouse_query`` reads Segment's warehouse schema
(its tables and columns named as each engine stores a name: ``_warehouse_names``),
``_warehouse_figures`` pairs and counts, ``_warehouse_periods`` places flows in periods, as
ibis expressions; ``_warehouse`` runs them.

``_reference`` computes the same figures in plain Python, pairing each start with its ending
per invocation by sequence: it states what both SQL paths compute, and property tests hold
them equal to it (tests/cli/report/test_report_reference.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app import lazy_face

if TYPE_CHECKING:
    from authfunnel.cli.report._conversion_time import parse_window
    from authfunnel.cli.report._events import (
        SQLITE_HEADER,
        approximate_note,
        duckdb_errors,
        malformed_reasons,
    )
    from authfunnel.cli.report._export import export
    from authfunnel.cli.report._figures import Figures
    from authfunnel.cli.report._json import as_json
    from authfunnel.cli.report._messages import Messages, read_messages
    from authfunnel.cli.report._model import Report, build_report
    from authfunnel.cli.report._periods import parse_zone
    from authfunnel.cli.report._segments import TOP_VALUES
    from authfunnel.cli.report._source import not_read_warning, report_source, source_path
    from authfunnel.cli.report._stages import stage_of, stages
    from authfunnel.cli.report._view import print_report, render
    from authfunnel.cli.report._warehouse_connect import AnyWarehouse, Warehouse
    from authfunnel.cli.report._when import parse_when

# Each public name and the module it lives in, loaded on first use (see app.lazy_face).
_HOMES = {
    "SQLITE_HEADER": "_events",
    "TOP_VALUES": "_segments",
    "Figures": "_figures",
    "Messages": "_messages",
    "Report": "_model",
    "AnyWarehouse": "_warehouse_connect",
    "Warehouse": "_warehouse_connect",
    "approximate_note": "_events",
    "as_json": "_json",
    "build_report": "_model",
    "duckdb_errors": "_events",
    "export": "_export",
    "malformed_reasons": "_events",
    "not_read_warning": "_source",
    "parse_when": "_when",
    "parse_window": "_conversion_time",
    "parse_zone": "_periods",
    "print_report": "_view",
    "read_messages": "_messages",
    "render": "_view",
    "report_source": "_source",
    "source_path": "_source",
    "stage_of": "_stages",
    "stages": "_stages",
}

__all__ = [
    "SQLITE_HEADER",
    "TOP_VALUES",
    "AnyWarehouse",
    "Figures",
    "Messages",
    "Report",
    "Warehouse",
    "approximate_note",
    "as_json",
    "build_report",
    "duckdb_errors",
    "export",
    "malformed_reasons",
    "not_read_warning",
    "parse_when",
    "parse_window",
    "parse_zone",
    "print_report",
    "read_messages",
    "render",
    "report_source",
    "source_path",
    "stage_of",
    "stages",
]

__getattr__, __dir__ = lazy_face(__name__, _HOMES)
