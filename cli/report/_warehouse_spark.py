"""Spark as the warehouse: ``--source 'spark:///path/to/spark-warehouse?schema=cli_prod'``.

The path is a Spark SQL warehouse directory (``spark.sql.warehouse.dir``) and ``schema`` the
database Segment's layout is in: its tables are the session catalog's, and a table folder
``<path>/<schema>.db/<table>`` that no catalog lists (Spark's default, in-memory catalog
forgets the tables ``saveAsTable`` wrote when its session ends) is read as the Parquet
table Spark wrote there. The report starts a session of its own on ``master`` (``local[*]``
unless the URL's ``master`` says otherwise: ``local[4]``, ``spark://host:7077``, ``yarn``),
runs the same ibis expressions as on PostgreSQL compiled to Spark SQL, and stops it; in a
process that already has a session (a notebook, the tests) it runs in that one and leaves
it running (``_spark_session``). Times are read in UTC (``spark.sql.session.timeZone``), as
the queries assume.
A query running past ``timeout`` seconds (as on PostgreSQL: ``_warehouse_connect``'s
``query_timeout``) has its jobs cancelled by Spark (``_Spark.cancelled_past_timeout``).

This module is the one place where Spark's errors (``PySparkException``, py4j's) become a
``CliError`` (``spark_engine``; a session that cannot start: ``_spark_session``). It imports
neither ibis nor pyspark until a session starts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.app import CliError, Environment
from authfunnel.cli.report._spark_session import spark_session
from authfunnel.cli.report._warehouse_connect import (
    DEFAULT_TIMEOUT_S,
    first_line,
    query_timeout,
    ran_past_timeout,
    warehouse_settings,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from pyspark.sql import SparkSession

    from authfunnel.cli.report._warehouse_connect import Tables

DEFAULT_MASTER: Final = "local[*]"
_INTERRUPT_ON_CANCEL: Final = "spark.job.interruptOnCancel"  # the thread's, SparkContext's
_PARAMETERS: Final = ("schema", "master", "timeout")
# Past the timeout, the query's jobs are cancelled again at this interval until it ends: a
# cancellation reaches only the jobs running then, and a query starts several in turn.
_CANCEL_AGAIN_S: Final = 0.5
_FORM: Final = "spark:///PATH/TO/SPARK-WAREHOUSE?schema=SOURCE_SCHEMA"


@dataclass(frozen=True)
class SparkWarehouse:
    """A Spark SQL warehouse directory holding a Segment source in ``schema``."""

    url: str
    directory: Path
    schema: str
    master: str
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __str__(self) -> str:
        return self.url


def spark_source(given: str, env: Environment) -> SparkWarehouse:
    """``--source``'s ``spark:`` URL, checked: an existing directory, known parameters, a
    timeout in seconds (the URL's, else the config file's: ``query_timeout``)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    parts = urlsplit(given)
    if parts.netloc:
        raise CliError(
            f"the Spark source {given!r} names a host ({parts.netloc}): it takes the "
            "warehouse directory's path",
            hint=f"write it as {_FORM}, a cluster as ?master=spark://HOST:PORT",
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - set(_PARAMETERS))
    if unknown:
        raise CliError(
            f"the Spark source does not take {', '.join(unknown)}",
            hint=f"it takes {', '.join(_PARAMETERS)}: {_FORM}&master=local[4]&timeout=600",
        )
    directory = Path(unquote(parts.path)).expanduser()
    if not parts.path or not directory.is_dir():
        named = str(directory) if parts.path else "(none given)"
        raise CliError(
            f"no Spark warehouse directory at {named}",
            hint=f"name the folder Spark writes tables to (spark.sql.warehouse.dir): {_FORM}",
        )
    timeout = query_timeout(query.get("timeout"), warehouse_settings(env))
    schema = query.get("schema") or "default"
    master = query.get("master") or DEFAULT_MASTER
    return SparkWarehouse(given, directory.resolve(), schema, master, timeout)


@contextmanager
def spark_engine(warehouse: SparkWarehouse) -> Iterator[_Spark]:
    """A session on ``warehouse`` (see the module) for the block; Spark's errors, Java's
    absence and the extra's become one-line ``CliError``s."""
    try:
        import ibis  # noqa: F401  (the query's compiler: checked before a session starts)
        import pyspark  # noqa: F401
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
    except ImportError as exc:
        raise CliError(
            "a report from a Spark warehouse needs the spark extra",
            hint="pip install 'authfunnel[spark]'",
        ) from exc
    try:
        with spark_session(warehouse) as session:
            engine = _Spark(session, warehouse)
            try:
                yield engine
            finally:
                engine.drop_staged()
    except (PySparkException, Py4JError) as exc:
        raise CliError(f"cannot compute the report in {warehouse}: {first_line(exc)}") from exc


class _Spark:
    """The report's engine on a Spark session (``_warehouse_connect.Engine``)."""

    def __init__(self, session: SparkSession, warehouse: SparkWarehouse) -> None:
        import ibis

        from authfunnel.cli.report._warehouse_names import WHOLE

        self.session, self.warehouse = session, warehouse
        # Names whole: the catalog, Parquet folders and columns keep 241 characters as given.
        self.identifiers = WHOLE
        # ibis's backend on the session: it compiles the queries to Spark SQL (and sets the
        # session's time zone to UTC, as ``_session`` does).
        self.backend = ibis.pyspark.connect(session)
        self.staged_views: list[str] = []

    def tables(self, schema: str) -> Tables:
        from ibis.backends.sql.datatypes import PySparkType

        self._register_folders(schema)
        catalog = self.session.catalog
        if not catalog.databaseExists(schema):
            return {}
        found: Tables = {}
        for table in catalog.listTables(schema):
            if table.isTemporary:
                continue
            found[table.name] = {
                name: PySparkType.from_string(kind)
                for name, kind in self._columns(f"`{schema}`.`{table.name}`")
            }
        return found

    def _columns(self, table: str) -> list[tuple[str, str]]:
        """``table``'s columns and their types: as the analyser reads its schema (no job;
        the catalog's listColumns took 80 ms a table, most of a 1 M-event report's
        listing), else, for a table the analyser cannot resolve (a view whose table was
        dropped, a format the session lacks), as the catalog lists them."""
        from pyspark.errors import PySparkException

        try:
            fields = self.session.table(table).schema.fields
        except PySparkException:
            return [(c.name, c.dataType) for c in self.session.catalog.listColumns(table)]
        return [(f.name, f.dataType.simpleString()) for f in fields]

    def _register_folders(self, schema: str) -> None:
        """Each table folder under the warehouse directory's ``<schema>.db`` that the catalog
        does not list, added to it as the Parquet table Spark wrote there."""
        folder = self.warehouse.directory / f"{schema}.db"
        if not folder.is_dir():
            return
        catalog = self.session.catalog
        if not catalog.databaseExists(schema):
            self.session.sql(f"CREATE DATABASE `{schema}` LOCATION '{_quoted(folder)}'")
        for table in sorted(folder.iterdir()):
            if table.name.startswith((".", "_")) or not table.is_dir():
                continue
            if catalog.tableExists(f"`{schema}`.`{table.name}`"):
                continue
            if (table / "_delta_log").is_dir():
                raise CliError(
                    f"{table} is a Delta table: the report reads Spark's Parquet tables",
                    hint="register it in the session's catalog (with delta-spark), or write the "
                    "source's tables as Parquet",
                )
            catalog.createTable(f"`{schema}`.`{table.name}`", path=str(table), source="parquet")

    def rows(self, query: ir.Table) -> list[dict[str, Any]]:
        """``query`` compiled to Spark SQL; its rows through Arrow, times aware (UTC)."""
        import warnings

        with self.cancelled_past_timeout(), warnings.catch_warnings():
            # pyspark leaves the socket it reads the result from to the garbage collector.
            warnings.simplefilter("ignore", ResourceWarning)
            result = self.session.sql(self.backend.compile(query)).toArrow()
        rows: list[dict[str, Any]] = result.to_pylist()
        return rows

    def staged(self, query: ir.Table) -> ir.Table:
        """``query`` cached as a temporary view of the session, computed now, once: Spark
        inlines a relation each time a query uses it (the figures use the instances five
        times, each a window over every event), and reuses no more than its shuffles."""
        import uuid

        import ibis

        name = f"authfunnel_staged_{uuid.uuid4().hex}"
        with self.cancelled_past_timeout():
            self.session.sql(f"CACHE TABLE `{name}` AS {self.backend.compile(query)}")
        self.staged_views.append(name)
        return ibis.table(query.schema(), name=name)

    @contextmanager
    def cancelled_past_timeout(self) -> Iterator[None]:
        """The block's Spark jobs, cancelled (their tasks interrupted) once they run past the
        warehouse's timeout, which ends the block in ``ran_past_timeout``'s ``CliError``.

        The jobs carry a tag of their own (a tag, not a job group, which would replace a
        notebook's own), which a timer's thread cancels. Tags and the interrupt setting are
        the thread's (pyspark pins each Python thread to a JVM thread): restored after."""
        import uuid

        context = self.session.sparkContext
        tag = f"authfunnel-query-{uuid.uuid4().hex}"
        interrupt = context.getLocalProperty(_INTERRUPT_ON_CANCEL)
        context.addJobTag(tag)
        context.setInterruptOnCancel(True)
        expired, ended = threading.Event(), threading.Event()

        def cancel() -> None:
            expired.set()
            while True:
                context.cancelJobsWithTag(tag)
                if ended.wait(_CANCEL_AGAIN_S):
                    return

        timer = threading.Timer(self.warehouse.timeout_s, cancel)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as exc:
            if expired.is_set():  # a cancelled job fails the query with a Py4JJavaError
                raise ran_past_timeout(self.warehouse) from exc
            raise
        finally:
            ended.set()
            timer.cancel()
            timer.join()
            context.removeJobTag(tag)
            # None removes the property, as it was before.
            context.setLocalProperty(_INTERRUPT_ON_CANCEL, interrupt)  # type: ignore[arg-type]

    def drop_staged(self) -> None:
        """The staged views dropped, and their cached rows with them."""
        while self.staged_views:
            self.session.catalog.dropTempView(self.staged_views.pop())


def _quoted(path: Path) -> str:
    """``path`` inside a Spark SQL string literal."""
    return str(path).replace("\\", "\\\\").replace("'", "\\'")
