"""What the warehouse report's figures query reads, pinned where the benchmark
(``tests/benchmarks/bench_warehouse.py``) found time going: ``tracks``, every message of the
source, is scanned once per report (its bookkeeping), not again by the figures."""

from __future__ import annotations

from datetime import UTC, datetime

import ibis

from authfunnel.cli.report._warehouse_figures import cutoff, figures, instances, paired
from authfunnel.cli.report._warehouse_query import read_events
from authfunnel.fsm import BUILTIN_FUNNELS
from tests.cli.report.warehouse.test_other_dialects import SCHEMA, TABLES

NEWEST = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_figures_read_the_abandonment_cutoff_from_the_bookkeeping_not_from_tracks() -> None:
    events = read_events(TABLES, SCHEMA, BUILTIN_FUNNELS, None)
    assert events is not None
    sql = ibis.to_sql(
        figures(instances(paired(events), cutoff(NEWEST), None, None, 3_600_000)), "postgres"
    )
    assert '"tracks"' not in sql
    assert "2026-02-28T00:00:00" in sql  # a day before the newest message
