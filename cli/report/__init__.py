"""Funnel reports from recorded events, on DuckDB.

The pipeline, in the order its modules run: ``_events`` loads a source (JSON lines, Parquet,
an outbox store) into DuckDB; ``_invocation_check`` finds the invocations that counting alone
would get wrong; ``_fast_query`` counts the rest and ``_funnel_query`` pairs the few (or all,
exactly); ``_funnel_run`` chooses and runs them; ``_figures`` folds rows into per-stage
``Figures``; ``_model`` is the ``Report``; ``_view`` renders it. ``_stages`` reads the step
order from each flow's declaration.
"""

from authfunnel.cli.report._events import SQLITE_HEADER
from authfunnel.cli.report._figures import Figures
from authfunnel.cli.report._model import Report, as_json, build_report
from authfunnel.cli.report._source import source_path
from authfunnel.cli.report._stages import stage_of, stages
from authfunnel.cli.report._view import print_report, render
from authfunnel.cli.report._when import parse_when

__all__ = [
    "SQLITE_HEADER",
    "Figures",
    "Report",
    "as_json",
    "build_report",
    "parse_when",
    "print_report",
    "render",
    "source_path",
    "stage_of",
    "stages",
]
