"""One local Spark session for the tests (``started_session``), and generated events loaded
into it in Segment's layout (``load_segment_spark``).

Everything the JVM writes (the warehouse, scratch space, a Derby metastore were Hive ever
enabled, its ``user.home``) goes under the session's own folder: never the repository, the
current directory or the real home.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tests.cli.report.warehouse.segment_layout import segment_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# segment_layout's PostgreSQL type names as Arrow's (``pyarrow``'s factories), which Spark
# reads back as its own (string, timestamp, bigint, double, boolean).
_ARROW_TYPES: Final = {
    "text": ("string", ()),
    "timestamptz": ("timestamp", ("us", "UTC")),
    "bigint": ("int64", ()),
    "double precision": ("float64", ()),
    "boolean": ("bool_", ()),
}


class NoSpark(Exception):
    """pyspark or a Java runtime is missing."""


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return str(Path(home, "bin", "java"))
    return shutil.which("java")


@contextmanager
def started_session(root: Path) -> Iterator[SparkSession]:
    """A ``local[2]`` session, its warehouse ``root/warehouse``, stopped after the block."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise NoSpark(f"pyspark is not installed ({exc}): pip install -e '.[test]'") from exc
    if java() is None:
        raise NoSpark("no Java runtime: install openjdk-17-jre-headless or set JAVA_HOME")
    for folder in ("warehouse", "local", "home", "tmp"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    java_options = " ".join(
        [
            f"-Dderby.system.home={root / 'home'}",
            f"-Duser.home={root / 'home'}",
            f"-Djava.io.tmpdir={root / 'tmp'}",
        ]
    )
    session = (
        SparkSession.builder.master("local[2]")
        .appName("authfunnel tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(root / "warehouse"))
        .config("spark.local.dir", str(root / "local"))
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        # Stopping leaves py4j's gateway and the JVM running (pyspark reuses them): both
        # ended here, the JVM waited for, so that no process or socket outlives the run.
        gateway = SparkContext._gateway
        if gateway is not None:
            jvm = gateway.proc
            gateway.shutdown()
            SparkContext._gateway = SparkContext._jvm = None
            jvm.stdin.close()
            jvm.terminate()
            jvm.wait()


def warehouse_directory(session: SparkSession) -> Path:
    return Path(session.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    factory, arguments = _ARROW_TYPES[kind]
    return getattr(pa, factory)(*arguments)


def load_segment_spark(
    session: SparkSession,
    schema: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    types: Mapping[str, str] | None = None,
    catalog: bool = False,
) -> str:
    """``messages`` (``segment_messages``) into ``schema`` of the session's warehouse,
    created anew; the ``--source`` that reads them. As Parquet folders no catalog lists (as
    a new process finds a warehouse directory), or with ``catalog`` as tables the session's
    catalog lists (as ``saveAsTable`` leaves them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    session.sql(f"DROP DATABASE IF EXISTS `{schema}` CASCADE")
    directory = warehouse_directory(session)
    shutil.rmtree(directory / f"{schema}.db", ignore_errors=True)
    if catalog:
        session.sql(f"CREATE DATABASE `{schema}`")
    for table, (columns, rows) in segment_tables(messages, types).items():
        arrow_schema = pa.schema([(name, _arrow_type(kind)) for name, kind in columns.items()])
        data = pa.Table.from_pylist(
            [dict(zip(columns, row, strict=True)) for row in rows], schema=arrow_schema
        )
        if catalog:
            session.createDataFrame(data).write.saveAsTable(f"`{schema}`.`{table}`")
        else:
            folder = directory / f"{schema}.db" / table
            folder.mkdir(parents=True)
            pq.write_table(data, folder / "part-00000.parquet")
    return f"spark://{directory}?schema={schema}"
