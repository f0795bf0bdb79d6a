"""Where a warehouse is and how to reach it: ``--source postgresql://user@host:port/db?schema=s``
(or ``spark:///path/to/spark-warehouse?schema=s``: ``_warehouse_spark``).

The URL names the database and, in ``schema``, the schema of the Segment source (Segment
names it after the source). A password never goes in the URL (the process list and the
shell's history show it to others): it comes from ``PGPASSWORD``, a ``.pgpass`` line
(``PGPASSFILE``, else ``~/.pgpass``), or ``password`` under ``[warehouse]`` in the config
file. A runaway query is cancelled by the server after ``timeout`` seconds (the URL's
``timeout``, else ``timeout_seconds`` under ``[warehouse]``, else ``DEFAULT_TIMEOUT_S``;
``query_timeout``, for Spark too).
Other URL parameters are libpq's (``sslmode``, ``application_name``...) and reach it as given.

An ``Engine`` is what a report needs of any warehouse: its tables' columns, and the rows of
an ibis query run there (``open_engine`` opens the one a ``--source`` names).
This module is the one place where ``psycopg.Error`` becomes a ``CliError``
(``psycopg_errors``). It imports neither ibis nor psycopg until a connection is opened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

from authfunnel.cli.app import CliError, Environment, Paths, load_config, section

if TYPE_CHECKING:
    import ibis.expr.datatypes as dt
    import ibis.expr.types as ir
    import psycopg

    from authfunnel.cli.report._warehouse_names import Identifiers
    from authfunnel.cli.report._warehouse_spark import SparkWarehouse

# What a warehouse --source names (a string at run time: Spark is imported only to use it).
AnyWarehouse: TypeAlias = "Warehouse | SparkWarehouse"

SCHEMES: Final = ("postgresql://", "postgres://")
SPARK_SCHEME: Final = "spark:"
DEFAULT_TIMEOUT_S: Final = 300.0
# PostgreSQL's statement_timeout is a 32-bit count of milliseconds (below a timer thread's
# limit too): about 24.8 days.
MAX_TIMEOUT_S: Final = 2_147_483.0
CONNECT_TIMEOUT_S: Final = 10
# URL parameters that are authfunnel's, not libpq's.
_OWN_PARAMETERS: Final = ("schema", "timeout")
_PASSWORD_HINT: Final = (
    "set PGPASSWORD, add a ~/.pgpass line, or put password under [warehouse] in the config file"
)


def is_warehouse(given: str) -> bool:
    """Whether ``--source`` names a warehouse rather than a path."""
    return given.lower().startswith((*SCHEMES, SPARK_SCHEME))


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


def warehouse_source(given: str, env: Environment) -> AnyWarehouse:
    """``--source``'s URL, checked: Spark's (``_warehouse_spark``), or PostgreSQL's: no
    password in it, a schema, a timeout in seconds."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    if given.lower().startswith(SPARK_SCHEME):
        from authfunnel.cli.report._warehouse_spark import spark_source

        return spark_source(given, env)

    parts = urlsplit(given)
    if parts.password is not None:
        raise CliError(
            "the warehouse URL holds a password: other users can read it in the process list",
            hint=f"remove it from the URL and {_PASSWORD_HINT}",
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {key: value for key, value in query if key in _OWN_PARAMETERS}
    libpq = [(key, value) for key, value in query if key not in _OWN_PARAMETERS]
    settings = warehouse_settings(env)
    schema = own.get("schema") or "public"
    timeout = query_timeout(own.get("timeout"), settings)
    password = env.variables.get("PGPASSWORD") or settings.get("password")
    if password is not None and not isinstance(password, str):
        raise CliError("password under [warehouse] in the config file must be a string")
    passfile = env.variables.get("PGPASSFILE")
    if passfile is None and env.variables.get("HOME"):
        passfile = str(Path(env.variables["HOME"]) / ".pgpass")
    conninfo = urlunsplit(parts._replace(query=urlencode(libpq)))
    return Warehouse(given, conninfo, schema, timeout, password, passfile)


def warehouse_settings(env: Environment) -> dict[str, Any]:
    """``[warehouse]`` of the config file (``{}`` without one)."""
    return section(load_config(Paths.from_env(env)), "warehouse")


def query_timeout(given: str | None, settings: dict[str, Any]) -> float:
    """Seconds a query may run: the URL's ``timeout`` (``given``), else ``timeout_seconds``
    under ``[warehouse]``, else ``DEFAULT_TIMEOUT_S``; anything but a number above 0 refused."""
    if given is None:
        return _timeout(settings.get("timeout_seconds", DEFAULT_TIMEOUT_S))
    return _timeout(given)


def _timeout(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = 0.0
    if not 0 < seconds <= MAX_TIMEOUT_S:  # NaN and infinity too
        raise CliError(
            f"the warehouse query timeout {value!r} is not a number of seconds above 0 and "
            f"at most {MAX_TIMEOUT_S:,.0f}",
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
        raise ran_past_timeout(warehouse) from exc
    except psycopg.OperationalError as exc:
        message = first_line(exc)
        hint = _PASSWORD_HINT if "password" in message else "check the host, port and database"
        raise CliError(f"cannot connect to {warehouse}: {message}", hint=hint) from exc
    except psycopg.Error as exc:
        raise CliError(f"cannot compute the report in {warehouse}: {first_line(exc)}") from exc


def ran_past_timeout(warehouse: AnyWarehouse) -> CliError:
    """What a user reads when a query was cancelled at the warehouse's timeout."""
    return CliError(
        f"the report's query in {warehouse} ran past {warehouse.timeout_s:g} s and was cancelled",
        hint="raise it with ?timeout=SECONDS in the URL, or timeout_seconds under "
        "[warehouse] in the config file",
    )


def first_line(exc: Exception) -> str:
    """``exc``'s message, its first line (else its class's name), for a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def connect_warehouse(warehouse: Warehouse) -> psycopg.Connection[Any]:
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
    # The report's queries cost enough to pass jit_above_cost, and compiling their many
    # expressions, again in each parallel worker, took longer than it saved (0.3-0.7 s of
    # a 1-3 s query at 1 M events): this session only, as the timeout.
    con.execute("SELECT set_config('jit', 'off', false)")
    return con


# A table's columns and their types: an engine's type names (PostgreSQL's spelling, as
# ``_warehouse_query.segment_table`` reads them) or ibis types.
Tables = dict[str, dict[str, "str | dt.DataType"]]


class Engine(Protocol):
    """What a report needs of a warehouse."""

    @property
    def identifiers(self) -> Identifiers:
        """How the engine stores a table's or column's name (``_warehouse_names``)."""
        ...

    def tables(self, schema: str) -> Tables:
        """Every table of ``schema`` with its columns' types."""
        ...

    def rows(self, query: ir.Table) -> list[dict[str, Any]]:
        """``query`` run in the warehouse: its rows, each column by name."""
        ...

    def staged(self, query: ir.Table) -> ir.Table:
        """``query``, computed once for the queries built on it where the engine would
        compute it again for each use (Spark inlines a relation used twice; PostgreSQL
        computes such a CTE once itself, and returns ``query`` as it is)."""
        ...


@contextmanager
def open_engine(warehouse: AnyWarehouse) -> Iterator[Engine]:
    """The engine of ``warehouse``, closed after the block; its errors, in and out of the
    block, become one-line ``CliError``s."""
    if isinstance(warehouse, Warehouse):
        with psycopg_errors(warehouse):
            con = connect_warehouse(warehouse)
            try:
                yield _Postgres(con)
            finally:
                con.close()
        return
    from authfunnel.cli.report._warehouse_spark import spark_engine

    with spark_engine(warehouse) as engine:
        yield engine


class _Postgres:
    def __init__(self, con: psycopg.Connection[Any]) -> None:
        from authfunnel.cli.report._warehouse_names import POSTGRES

        self.con = con
        # Identifiers of 63 bytes: a longer event's table holds its name's first 63.
        self.identifiers = POSTGRES

    def tables(self, schema: str) -> Tables:
        tables: Tables = defaultdict(dict)
        for table, column, kind in self.con.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
            "FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid "
            "JOIN pg_namespace n ON c.relnamespace = n.oid "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
            (schema,),
        ).fetchall():
            tables[table][column] = kind
        return dict(tables)

    def rows(self, query: ir.Table) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with self.con.cursor(row_factory=dict_row) as cursor:
            return cursor.execute(postgres_sql(query)).fetchall()

    def staged(self, query: ir.Table) -> ir.Table:
        return query


def postgres_sql(query: ir.Table) -> str:
    """``query`` in PostgreSQL's SQL, every string typed ``text``. ibis spells its string
    type ``VARCHAR``: a ``UNION ALL`` of a table's ``text`` columns and ``VARCHAR`` NULLs
    then needs a conversion in each branch, which keeps the branches from being read as one
    parallel scan: the window's sort ran in one process, and the casts hid the columns'
    statistics (10 M events: the figures query 10.1 s as VARCHAR, 6.3 s as text)."""
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.postgres import compiler

    def as_text(node: sge.Expression) -> sge.Expression:
        if isinstance(node, sge.DataType) and node.this == sge.DataType.Type.VARCHAR:
            return sge.DataType.build("text")
        return node

    tree = compiler.to_sqlglot(query.unbind()).transform(as_text)
    return str(tree.sql(dialect=compiler.dialect))
