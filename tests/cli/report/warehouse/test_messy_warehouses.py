"""Real warehouses are messy: passwords kept off the command line, tables that do not exist
yet, ``sequence`` stored as a double or as text, runaway queries, servers that refuse.

Each bad case ends in one line on stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from tests.cli.report.warehouse.postgres_server import REPORTER, REPORTER_PASSWORD
from tests.cli.report.warehouse.segment_layout import load_segment, segment_messages

SCHEMA = "cli_prod"
STAMP = "2026-01-10T00:00:{:02d}.000Z"


def login(
    invocation: str, first: int, *, ending: str = "CLI Auth Completed"
) -> list[dict[str, Any]]:
    """One login: a start numbered ``first``, its ending the next number."""
    common = {"invocation_id": invocation, "flow": "login"}
    return [
        {
            "type": "track",
            "event": "CLI Auth Started",
            "properties": {**common, "sequence": first},
            "timestamp": STAMP.format(first % 60),
        },
        {
            "type": "track",
            "event": ending,
            "properties": {
                **common,
                "sequence": first + 1,
                "step": "profile_configure",
                "duration_ms": 1200,
            },
            "timestamp": STAMP.format((first + 1) % 60),
        },
    ]


def report(home: Path, source: str, *args: str, **variables: str) -> tuple[int, str, str]:
    """``authfunnel report --source SOURCE --format json ARGS`` in ``home``."""
    return authfunnel(home, "report", "--source", source, "--format", "json", *args, **variables)


def authfunnel(home: Path, *argv: str, **variables: str) -> tuple[int, str, str]:
    """``authfunnel ARGV`` in ``home``, telemetry off: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=out,
        stderr=err,
        variables={
            "HOME": str(home),
            "AUTHFUNNEL_HOME": str(home / "authfunnel"),
            "DO_NOT_TRACK": "1",
            **variables,
        },
    )
    return main(list(argv), env), out.getvalue(), err.getvalue()


def as_reporter(database: str, **parameters: str) -> str:
    """``database``'s URL for the role that logs in with a password (none in the URL)."""
    host_and_name = database.split("@", 1)[1]
    query = "&".join(f"{k}={v}" for k, v in {"schema": SCHEMA, **parameters}.items())
    return f"postgresql://{REPORTER}@{host_and_name}?{query}"


def one_line_error(status: int, err: str) -> str:
    assert status == 1
    assert err.startswith("authfunnel: error: ")
    assert "Traceback" not in err
    return err.splitlines()[0]


@pytest.fixture
def loaded(warehouse: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    load_segment(warehouse, SCHEMA, segment_messages(login("a", 1) + login("b", 1)))
    warehouse.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {REPORTER}")
    warehouse.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {REPORTER}")
    return warehouse


def completed(out: str) -> int:
    return int(json.loads(out)["flows"]["login"]["completed"])


def test_a_url_with_a_password_is_refused_without_echoing_it(tmp_path: Path) -> None:
    status, _, err = report(tmp_path, "postgresql://reporter:hunter2@127.0.0.1:1/db")
    line = one_line_error(status, err)
    assert "password" in line
    assert "hunter2" not in err
    assert "PGPASSWORD" in err


@pytest.mark.usefixtures("loaded")
def test_the_password_comes_from_pgpassword(tmp_path: Path, database: str) -> None:
    status, out, err = report(tmp_path, as_reporter(database), PGPASSWORD=REPORTER_PASSWORD)
    assert (status, err) == (0, "")
    assert completed(out) == 2


@pytest.mark.usefixtures("loaded")
def test_the_password_comes_from_a_pgpass_file(tmp_path: Path, database: str) -> None:
    pgpass = tmp_path / ".pgpass"
    pgpass.write_text(f"*:*:*:{REPORTER}:{REPORTER_PASSWORD}\n")
    pgpass.chmod(0o600)
    status, out, err = report(tmp_path, as_reporter(database))
    assert (status, err) == (0, "")
    assert completed(out) == 2


@pytest.mark.usefixtures("loaded")
def test_the_password_comes_from_the_config_file(tmp_path: Path, database: str) -> None:
    config = tmp_path / "authfunnel" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[warehouse]\npassword = "{REPORTER_PASSWORD}"\n')
    status, out, err = report(tmp_path, as_reporter(database))
    assert (status, err) == (0, "")
    assert completed(out) == 2


@pytest.mark.usefixtures("loaded")
def test_a_wrong_password_is_one_line_naming_where_passwords_come_from(
    tmp_path: Path, database: str
) -> None:
    status, _, err = report(tmp_path, as_reporter(database), PGPASSWORD="wrong")
    line = one_line_error(status, err)
    assert "cannot connect" in line
    assert "password authentication failed" in line
    assert "PGPASSWORD" in err


@pytest.mark.usefixtures("loaded")
def test_no_password_at_all_is_one_line_naming_where_passwords_come_from(
    tmp_path: Path, database: str
) -> None:
    status, _, err = report(tmp_path, as_reporter(database))
    line = one_line_error(status, err)
    assert "cannot connect" in line
    assert "PGPASSWORD" in err


def test_a_refused_connection_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as unused:  # a port nothing listens on: bound, never listening
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        status, _, err = report(tmp_path, f"postgresql://nobody@127.0.0.1:{port}/db")
    line = one_line_error(status, err)
    assert f"cannot connect to postgresql://nobody@127.0.0.1:{port}/db" in line


def test_a_schema_without_tracks_is_one_line_naming_the_schema_parameter(
    tmp_path: Path, database: str
) -> None:
    status, _, err = report(tmp_path, f"{database}?schema=nowhere")
    line = one_line_error(status, err)
    assert "no table tracks in the schema 'nowhere'" in line
    assert "?schema=" in err


def test_event_tables_that_do_not_exist_yet_mean_no_such_events(
    tmp_path: Path, warehouse: psycopg.Connection[Any], database: str
) -> None:
    """Only starts recorded so far: no table for any ending, none for the command's events."""
    starts = [m for m in login("a", 1) + login("b", 3) if m["event"] == "CLI Auth Started"]
    load_segment(warehouse, SCHEMA, segment_messages(starts))
    status, out, err = report(tmp_path, f"{database}?schema={SCHEMA}")
    assert (status, err) == (0, "")
    found = json.loads(out)
    assert found["flows"]["login"]["started"] == 2
    assert found["flows"]["login"]["in_flight"] == 2
    assert found["flows"]["command"]["started"] == 0


@pytest.mark.parametrize("stored_as", ["double precision", "text"])
def test_a_sequence_stored_as_a_double_or_text_orders_as_a_number(
    tmp_path: Path, warehouse: psycopg.Connection[Any], database: str, stored_as: str
) -> None:
    """9 before 10: as text '10' < '9', which would make the ending an orphan before its
    start, and the start a flow still open."""
    messages = segment_messages(login("a", 9) + login("b", 99, ending="CLI Auth Failed"))
    load_segment(warehouse, SCHEMA, messages, types={"sequence": stored_as})
    status, out, err = report(tmp_path, f"{database}?schema={SCHEMA}")
    assert (status, err) == (0, "")
    found = json.loads(out)
    assert found["terminal_events_without_start"] == 0
    assert (found["flows"]["login"]["completed"], found["flows"]["login"]["failed"]) == (1, 1)
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    status, local, _ = report(tmp_path, str(source))
    assert {**found, "source": None} == {**json.loads(local), "source": None}


@pytest.mark.parametrize("where", ["url", "config"])
def test_a_runaway_query_is_cancelled_at_the_timeout_with_a_clear_message(
    tmp_path: Path, warehouse: psycopg.Connection[Any], database: str, where: str
) -> None:
    """A table of starts that is a view taking a minute to read: cancelled after a second."""
    load_segment(warehouse, SCHEMA, segment_messages(login("a", 1)))
    warehouse.execute(f"ALTER TABLE {SCHEMA}.cli_auth_started RENAME TO started_rows")
    warehouse.execute(
        f"CREATE VIEW {SCHEMA}.cli_auth_started AS SELECT s.* FROM {SCHEMA}.started_rows s, "
        "LATERAL (SELECT pg_sleep(60)) AS slow"
    )
    source = f"{database}?schema={SCHEMA}"
    if where == "url":
        source += "&timeout=1"
    else:
        config = tmp_path / "authfunnel" / "config" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text("[warehouse]\ntimeout_seconds = 1\n")
    status, _, err = report(tmp_path, source)
    line = one_line_error(status, err)
    assert "ran past 1 s and was cancelled" in line
    assert "timeout" in err


def test_a_timeout_that_is_not_a_positive_number_is_refused(tmp_path: Path) -> None:
    status, _, err = report(tmp_path, "postgresql://u@127.0.0.1:1/db?timeout=soon")
    assert "not a number of seconds" in one_line_error(status, err)


@pytest.mark.parametrize("timeout", ["inf", "nan", "1e10", "2147484"])
def test_a_timeout_past_what_postgresql_takes_is_refused_in_one_line(
    tmp_path: Path, timeout: str
) -> None:
    """statement_timeout is a 32-bit count of milliseconds: infinity was an internal error,
    1e10 the server's refusal with no hint of the limit."""
    status, _, err = report(tmp_path, f"postgresql://u@127.0.0.1:1/db?timeout={timeout}")
    assert "above 0 and at most 2,147,483" in one_line_error(status, err)


def test_without_the_postgres_extra_the_report_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ibis", None)  # what an install without the extra has
    status, _, err = report(tmp_path, "postgresql://u@127.0.0.1:1/db")
    line = one_line_error(status, err)
    assert "postgres extra" in line
    assert "pip install 'authfunnel[postgres]'" in err


def test_libpq_parameters_in_the_url_reach_the_server(tmp_path: Path, database: str) -> None:
    """authfunnel takes its own parameters (schema, timeout) out and leaves libpq's."""
    status, _, err = report(
        tmp_path, f"{database}?schema=nowhere&application_name=x&sslmode=disable"
    )
    assert "no table tracks" in one_line_error(status, err)
