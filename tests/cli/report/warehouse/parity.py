"""What every warehouse's parity test shares: the same events reported by DuckDB (from a
file) and by the warehouse (loaded by the engine's own loader), compared figure by figure.

Every figure of the JSON report must be identical, except the bookkeeping of messages the
funnels do not read: a warehouse counts malformed (unplaced) and approximate messages among
the events the funnels read only (it never opens other events' tables).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from authfunnel.cli.app import CliError, Environment
from authfunnel.cli.report import as_json, build_report, report_source
from authfunnel.fsm import Funnel
from tests.cli.report.test_report_reference import FUNNEL_SETS, WHEN, WINDOWS, population
from tests.cli.report.warehouse.segment_layout import segment_messages

SCHEMA = "cli_prod"
# What a warehouse counts only among the events it reads (see the module).
READ_ONLY_BOOKKEEPING = ("malformed", "malformed_by_reason", "approximate", "placed_by_time")

# Loads the stored messages into a warehouse; the ``--source`` that reads them there.
Loader = Callable[[list[dict[str, Any]]], str]


def env() -> Environment:
    return Environment(variables=dict(os.environ))


def duckdb_and_warehouse(
    load: Loader,
    folder: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    **query: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON report of ``messages`` by DuckDB (from a file) and by the warehouse."""
    stored = segment_messages(messages)
    warehouse = report_source(load(stored), env())
    source = folder / "events.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in stored))
    return report_or_refusal(source, funnels, query), report_or_refusal(warehouse, funnels, query)


def report_or_refusal(source: Any, funnels: list[Funnel], query: dict[str, Any]) -> dict[str, Any]:
    """The JSON report less its source and the read-only bookkeeping; or, when the report is
    refused (``--by`` a property no event carries), the refusal."""
    try:
        found = as_json(build_report(source, funnels, **query))
    except CliError as refused:
        return {"refused": refused.message}
    found.pop("source")
    for key in READ_ONLY_BOOKKEEPING:
        found.pop(key)
    return found


def parity_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


# Releases and values that are not versions (ordered by when each was first seen), on any
# message, the ones no funnel reads too; or none.
VERSIONS = st.sampled_from([None, "1.0", "1.9", "1.10", "dev", "nightly"])


@st.composite
def versioned(draw: st.DrawFn, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages``, each carrying a ``cli_version`` or not."""
    stamped = []
    for message in messages:
        value = draw(VERSIONS)
        if value is not None and isinstance(message.get("properties"), dict):
            message = {**message, "properties": {**message["properties"], "cli_version": value}}
        stamped.append(message)
    return stamped


# The generated reports the parity tests draw: a population with versions, funnels, a
# breakdown, a range and a conversion window.
GENERATED = {
    "messages": population().flatmap(versioned),
    "funnels": st.sampled_from(FUNNEL_SETS),
    "by": st.sampled_from([None, "os", "no_browser", "cli_version"]),
    "since": WHEN,
    "until": WHEN,
    "window": WINDOWS,
}


def assert_same_report(remote: dict[str, Any], local: dict[str, Any]) -> None:
    """Equal figures, and in the same order (a breakdown's rows are ordered: releases by
    PEP 440, then the other values by when each was first seen)."""
    assert remote == local

    def rows(report: dict[str, Any]) -> dict[str, list[str]]:
        return {name: list(flow.get("breakdown", ())) for name, flow in report["flows"].items()}

    if "flows" in local:
        assert rows(remote) == rows(local)


def simulated_messages(folder: Path, invocations: int = 3000) -> list[dict[str, Any]]:
    """What ``authfunnel simulate`` records for ``invocations`` flows (seed 7)."""
    import io

    from authfunnel.cli.__main__ import main

    simulated = folder / "simulated.jsonl"
    variables = {"AUTHFUNNEL_HOME": str(folder / "home"), "DO_NOT_TRACK": "1"}
    quiet = Environment(stdout=io.StringIO(), stderr=io.StringIO(), variables=variables)
    argv = ["simulate", "--flows", str(invocations), "--seed", "7", "--out", str(simulated)]
    assert main(argv, quiet) == 0
    return [json.loads(line) for line in simulated.read_text().splitlines()]


def run_alone(test: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One test (``path::name``) in a pytest of its own, from the repository's root, with
    exactly ``variables`` as its environment (as on a machine lacking what they leave out)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=Path(__file__).resolve().parents[4],
        env=variables,
        capture_output=True,
        text=True,
        check=False,
    )
