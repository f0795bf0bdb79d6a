"""``diagram --counts --source postgresql://...``: the diagram's counts computed in the
warehouse, the same drawing as from the same events in a local file, and the report's
handling of passwords and refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from authfunnel.cli.commands.simulate import write_simulation
from tests.cli.report.warehouse.postgres_server import REPORTER, REPORTER_PASSWORD
from tests.cli.report.warehouse.segment_layout import load_segment, segment_messages
from tests.cli.report.warehouse.test_messy_warehouses import authfunnel

SCHEMA = "cli_prod"


def diagram(home: Path, *args: str, **variables: str) -> tuple[int, str, str]:
    """``authfunnel diagram ARGS`` in ``home``: exit status, stdout, stderr."""
    return authfunnel(home, "diagram", *args, **variables)


@pytest.fixture
def simulated(warehouse: psycopg.Connection[Any], tmp_path: Path) -> Path:
    """Simulated traffic, in a local file and loaded into the warehouse's ``SCHEMA``, which
    the password role may read."""
    events = tmp_path / "events.jsonl"
    write_simulation(events, flows=1500, seed=4)
    stored = segment_messages([json.loads(line) for line in events.read_text().splitlines()])
    load_segment(warehouse, SCHEMA, stored)
    events.write_text("".join(json.dumps(message) + "\n" for message in stored))
    warehouse.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {REPORTER}")
    warehouse.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {REPORTER}")
    return events


@pytest.mark.parametrize("flow", ["login", "signup"])
def test_counts_from_a_warehouse_draw_the_same_diagram_as_from_the_same_events_in_a_file(
    tmp_path: Path, database: str, simulated: Path, flow: str
) -> None:
    """Signup's alternatives (``app_create`` / ``app_select``) too, whose counts are bounds."""
    local = diagram(tmp_path, flow, "--counts", str(simulated), "--format", "text")
    remote = diagram(
        tmp_path, flow, "--counts", "--source", f"{database}?schema={SCHEMA}", "--format", "text"
    )
    assert local[0] == 0, local[2]
    assert remote == local
    assert remote[1] != diagram(tmp_path, flow, "--format", "text")[1]  # counts are drawn


def test_counts_take_the_warehouse_as_their_own_value_too(
    tmp_path: Path, database: str, simulated: Path
) -> None:
    local = diagram(tmp_path, "login", "--counts", str(simulated))
    remote = diagram(tmp_path, "login", "--counts", f"{database}?schema={SCHEMA}")
    assert remote == local
    assert local[0] == 0


def test_the_warehouse_password_comes_from_pgpassword_never_the_url(
    tmp_path: Path, database: str, simulated: Path
) -> None:
    host_and_name = database.split("@", 1)[1]
    as_reporter = f"postgresql://{REPORTER}@{host_and_name}?schema={SCHEMA}"
    local = diagram(tmp_path, "login", "--counts", str(simulated))
    remote = diagram(
        tmp_path, "login", "--counts", "--source", as_reporter, PGPASSWORD=REPORTER_PASSWORD
    )
    assert remote == local

    status, _, err = diagram(tmp_path, "login", "--counts", "--source", as_reporter)
    assert status == 1
    assert err.startswith("authfunnel: error: cannot connect to")
    assert "PGPASSWORD" in err
    assert "Traceback" not in err


def test_a_warehouse_url_with_a_password_is_refused_without_echoing_it(tmp_path: Path) -> None:
    given = "postgresql://reporter:hunter2@127.0.0.1:1/db"
    status, out, err = diagram(tmp_path, "login", "--counts", "--source", given)
    assert (status, out) == (1, "")
    assert err.startswith("authfunnel: error: the warehouse URL holds a password")
    assert "hunter2" not in err
    assert "Traceback" not in err


def test_a_schema_that_holds_no_segment_source_is_one_line(tmp_path: Path, database: str) -> None:
    status, _, err = diagram(tmp_path, "login", "--counts", "--source", f"{database}?schema=nope")
    assert status == 1
    assert err.startswith("authfunnel: error: no table tracks in the schema 'nope'")
    assert "Traceback" not in err


def test_source_without_counts_or_beside_a_counts_source_is_a_usage_error(tmp_path: Path) -> None:
    alone = diagram(tmp_path, "login", "--source", "postgresql://reporter@127.0.0.1:1/db")
    both = diagram(tmp_path, "login", "--counts", "a.jsonl", "--source", "b.jsonl")
    for status, out, err in (alone, both):
        assert (status, out) == (2, "")
        assert err.startswith("authfunnel: error: ")
        assert "--source" in err.splitlines()[0]
