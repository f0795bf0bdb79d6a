"""A report computed inside a warehouse: ``--source postgresql://user@host:port/db?schema=s``.

The URL names the database and, in ``schema``, the schema of the Segment source (Segment
names it after the source). A password never goes in the URL (the process list and the
shell's history show it to others): it comes from ``PGPASSWORD``, a ``.pgpass`` line
(``PGPASSFILE``, else ``~/.pgpass``), or ``password`` under ``[warehouse]`` in the config
file. A runaway query is cancelled by the server after ``timeout`` seconds (the URL's
``timeout``, else ``timeout_seconds`` under ``[warehouse]``, else ``DEFAULT_TIMEOUT_S``).

The query is ``cli.report._warehouse_query``'s ibis expression, compiled for the engine and
run there; only aggregated rows come back, folded to the same ``QueryResult`` the DuckDB
paths return, and rendered by the same code. This module is the one place where
``psycopg.Error`` becomes a ``CliError``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.app import CliError, Environment, Paths, load_config, section

if TYPE_CHECKING:
    import psycopg

    from authfunnel.cli.report._funnel_query import Durations, OutcomeCount
    from authfunnel.cli.report._model import Report
    from authfunnel.fsm import Funnel

SCHEMES: Final = ("postgresql://", "postgres://")
DEFAULT_TIMEOUT_S: Final = 300.0
CONNECT_TIMEOUT_S: Final = 10
# URL parameters that are authfunnel's, not libpq's.
_OWN_PARAMETERS: Final = ("schema", "timeout")
_PASSWORD_HINT: Final = (
    "set PGPASSWORD, add a ~/.pgpass line, or put password under [warehouse] in the config file"
)


def is_warehouse(given: str) -> bool:
    """Whether ``--source`` names a warehouse rather than a path."""
    return given.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class Warehouse:
    """A PostgreSQL database holding a Segment source: where, and how to log in (no secret
    is printed: ``str`` is the URL as given, which holds none)."""

    url: str
    conninfo: str  # the URL without authfunnel's own parameters, for libpq
    schema: str
    timeout_s: float
    password: str | None
    passfile: str | None

    def __str__(self) -> str:
        return self.url


def warehouse_source(given: str, env: Environment) -> Warehouse:
    """``--source``'s URL, checked: no password in it, a schema, a timeout in seconds."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(given)
    if parts.password is not None:
        raise CliError(
            "the warehouse URL holds a password: other users can read it in the process list",
            hint=f"remove it from the URL and {_PASSWORD_HINT}",
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {key: value for key, value in query if key in _OWN_PARAMETERS}
    libpq = [(key, value) for key, value in query if key not in _OWN_PARAMETERS]
    settings = section(load_config(Paths.from_env(env)), "warehouse")
    schema = own.get("schema") or "public"
    timeout = _timeout(own.get("timeout", settings.get("timeout_seconds", DEFAULT_TIMEOUT_S)))
    password = env.variables.get("PGPASSWORD") or settings.get("password")
    if password is not None and not isinstance(password, str):
        raise CliError("password under [warehouse] in the config file must be a string")
    passfile = env.variables.get("PGPASSFILE")
    if passfile is None and env.variables.get("HOME"):
        passfile = str(Path(env.variables["HOME"]) / ".pgpass")
    conninfo = urlunsplit(parts._replace(query=urlencode(libpq)))
    return Warehouse(given, conninfo, schema, timeout, password, passfile)


def _timeout(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = 0.0
    if not seconds > 0:
        raise CliError(
            f"the warehouse query timeout {value!r} is not a number of seconds above 0",
            hint="for example ?timeout=600 in the URL, or timeout_seconds = 600 under [warehouse]",
        )
    return seconds


@contextmanager
def psycopg_errors(warehouse: Warehouse) -> Iterator[None]:
    """Run the block; a ``psycopg.Error`` in it becomes a one-line ``CliError`` from it."""
    import psycopg

    try:
        yield
    except psycopg.errors.QueryCanceled as exc:
        raise CliError(
            f"the report's query in {warehouse} ran past {warehouse.timeout_s:g} s and was "
            "cancelled",
            hint="raise it with ?timeout=SECONDS in the URL, or timeout_seconds under "
            "[warehouse] in the config file",
        ) from exc
    except psycopg.OperationalError as exc:
        message = _first_line(exc)
        hint = _PASSWORD_HINT if "password" in message else "check the host, port and database"
        raise CliError(f"cannot connect to {warehouse}: {message}", hint=hint) from exc
    except psycopg.Error as exc:
        raise CliError(f"cannot compute the report in {warehouse}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _connect(warehouse: Warehouse) -> psycopg.Connection[Any]:
    try:
        import ibis  # noqa: F401  (the query's compiler: checked before any connection)
        import psycopg
    except ImportError as exc:
        raise CliError(
            "a report from a PostgreSQL warehouse needs the postgres extra",
            hint="pip install 'authfunnel[postgres]'",
        ) from exc
    options: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "autocommit": True}
    if warehouse.password is not None:
        options["password"] = warehouse.password
    if warehouse.passfile is not None:
        options["passfile"] = warehouse.passfile
    con = psycopg.connect(warehouse.conninfo, **options)
    # Times compare in UTC; the server cancels a query past the timeout (in milliseconds).
    con.execute("SELECT set_config('TimeZone', 'UTC', false)")
    con.execute(
        "SELECT set_config('statement_timeout', %s, false)",
        (str(round(warehouse.timeout_s * 1000)),),
    )
    return con


def warehouse_report(
    warehouse: Warehouse,
    funnels: Sequence[Funnel],
    *,
    by: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Report:
    """The report of ``funnels`` computed in ``warehouse`` (see the module)."""
    from authfunnel.cli.report._events import UNPLACED, Loaded, reasons
    from authfunnel.cli.report._funnel_query import QueryResult
    from authfunnel.cli.report._model import assemble_report

    with psycopg_errors(warehouse):
        con = _connect(warehouse)
        try:
            tables = _tables(con, warehouse.schema)
            if by is not None:
                _check_by(tables, by)
            found = _query(con, tables, warehouse.schema, funnels, by, since, until)
        finally:
            con.close()
    counts, sums, bookkeeping = found
    loaded = Loaded(
        rows=bookkeeping["rows"],
        malformed=bookkeeping["unplaced"],
        malformed_reasons=reasons({UNPLACED: bookkeeping["unplaced"]}),
        approximate=bookkeeping["approximate"],
    )
    result = QueryResult(counts, sums, bookkeeping["unknown_events"], bookkeeping["orphans"])
    report = assemble_report(str(warehouse), funnels, by, loaded, result)
    report.since, report.until = since, until
    report.first_event, report.last_event = bookkeeping["first_event"], bookkeeping["last_event"]
    return report


def _check_by(tables: Mapping[str, Mapping[str, str]], by: str) -> None:
    """Refuse a ``--by`` property no event carries: Segment adds a property's column to an
    event's table when a message first carries it, so no table has its column."""
    from authfunnel.cli.report._model import _no_such_property
    from authfunnel.cli.report._warehouse_query import COMMON, TRACKS, snake_case

    properties = {c for name, cols in tables.items() if name != TRACKS for c in cols}
    properties -= set(COMMON) | _SEGMENT_COLUMNS
    if snake_case(by) not in properties and len(tables) > 1:
        raise _no_such_property(by, tuple(sorted(properties)))


# Segment's own columns on every table, not properties (``--by`` lists the others).
_SEGMENT_COLUMNS: Final = frozenset(
    {"id", "event", "event_text", "original_timestamp", "sent_at", "received_at", "uuid_ts"}
    | {"context_library_name", "context_library_version"}
)


def _tables(con: psycopg.Connection[Any], schema: str) -> dict[str, dict[str, str]]:
    """Every table of ``schema`` with its columns' types; a clear error without ``tracks``."""
    from authfunnel.cli.report._warehouse_query import TRACKS

    tables: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, kind in con.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid "
        "JOIN pg_namespace n ON c.relnamespace = n.oid "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        (schema,),
    ).fetchall():
        tables[table][column] = kind
    if TRACKS not in tables:
        raise CliError(
            f"no table {TRACKS} in the schema {schema!r}: it holds no Segment source",
            hint="name the schema Segment writes the source to: ?schema=NAME in the URL",
        )
    return dict(tables)


def _query(
    con: psycopg.Connection[Any],
    tables: Mapping[str, Mapping[str, str]],
    schema: str,
    funnels: Sequence[Funnel],
    by: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[OutcomeCount], list[Durations], dict[str, Any]]:
    """Run the histogram and the bookkeeping in the warehouse; fold them here."""
    import ibis
    from psycopg.rows import dict_row

    from authfunnel.cli.report._warehouse_query import (
        TRACKS,
        _table,
        bookkeeping,
        cutoff,
        histogram,
        paired,
        read_events,
    )

    tracks = _table(schema, TRACKS, tables[TRACKS])
    events = read_events(tables, schema, funnels, by)
    book = ibis.to_sql(bookkeeping(tracks, events), dialect="postgres")
    with con.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(book).fetchall()[0]
        if events is None:
            return [], [], row
        sql = ibis.to_sql(histogram(paired(events), cutoff(tracks), since, until), "postgres")
        rows = cursor.execute(sql).fetchall()
    counts, sums = fold(rows)
    return counts, sums, row


def fold(rows: Sequence[Mapping[str, Any]]) -> tuple[list[OutcomeCount], list[Durations]]:
    """Histogram rows to outcome counts and to each flow's median and p90 (overall and per
    breakdown value), read exactly from how many completed flows took each duration."""
    from authfunnel.cli.report._funnel_query import Durations, OutcomeCount

    keys = ("flow", "by_value", "outcome", "step", "reason", "error_class", "abandoned")
    flows: Counter[tuple[Any, ...]] = Counter()
    no_browser: Counter[tuple[Any, ...]] = Counter()
    taken: dict[tuple[str, str | None, bool], Counter[int]] = defaultdict(Counter)
    for row in rows:
        key = tuple(row[k] for k in keys)
        flows[key] += int(row["flows"])
        no_browser[key] += int(row["no_browser"])
        if row["duration"] is not None:
            taken[row["flow"], row["by_value"], False][int(row["duration"])] += int(row["flows"])
            taken[row["flow"], None, True][int(row["duration"])] += int(row["flows"])
    counts = [
        OutcomeCount(
            flow=flow,
            by_value=by_value,
            outcome=outcome,
            step=step,
            reason=reason,
            error_class=error_class,
            abandoned=bool(abandoned),
            flows=n,
            no_browser=no_browser[flow, by_value, outcome, step, reason, error_class, abandoned],
        )
        for (flow, by_value, outcome, step, reason, error_class, abandoned), n in flows.items()
    ]
    durations = [
        Durations(flow, by_value, _quantile(h, 0.5), _quantile(h, 0.9), overall)
        for (flow, by_value, overall), h in taken.items()
    ]
    return counts, durations


def _quantile(histogram: Counter[int], q: float) -> float:
    """The value at rank (n - 1) * q, interpolated between its neighbours (``quantile_cont``)."""
    import math

    ordered = sorted(histogram.items())
    at = (sum(histogram.values()) - 1) * q

    def value_at(rank: int) -> float:
        seen = 0
        for value, times in ordered:
            seen += times
            if seen > rank:
                return float(value)
        raise RuntimeError("internal error: a rank past the histogram")

    low, high = value_at(math.floor(at)), value_at(math.ceil(at))
    return low if low == high else low + (high - low) * (at - math.floor(at))
