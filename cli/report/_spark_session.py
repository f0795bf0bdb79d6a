"""The Spark session a report runs in (``_warehouse_spark``): the process's, else one of its
own, whose JVM writes to a file rather than to the terminal.

In a process that already has a session (a notebook, an app, the tests; started by this
thread or another) the report runs in that one and leaves it running; else it starts its
own on the warehouse's ``master``, with two shuffle partitions per core in local mode, and
stops it after. Times are read in UTC (``spark.sql.session.timeZone``) while it runs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from authfunnel.cli.app import CliError
from authfunnel.cli.report._warehouse_connect import first_line

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from authfunnel.cli.report._warehouse_spark import SparkWarehouse


@contextmanager
def spark_session(warehouse: SparkWarehouse) -> Iterator[SparkSession]:
    """The process's session, else one of our own, stopped after the block; in UTC."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    owned, log = False, None  # log: where our own session's JVM writes, if it started one
    if session is None and SparkContext._active_spark_context is not None:
        # The process's session, started by another thread (an app's worker, a notebook's
        # kernel): the active session is the thread's, the context the process's.
        session = SparkSession.builder.getOrCreate()
    elif session is None:
        java_home = os.environ.get("JAVA_HOME")
        if not (java_home and Path(java_home, "bin", "java").exists()) and not shutil.which("java"):
            raise CliError(
                "a report from a Spark warehouse needs Java (17 or later): none found",
                hint="install a Java runtime (apt-get install openjdk-17-jre-headless) or set "
                "JAVA_HOME",
            )
        (session, log), owned = _own_session(warehouse), True
    zone = session.conf.get("spark.sql.session.timeZone")
    session.conf.set("spark.sql.session.timeZone", "UTC")
    try:
        yield session
    finally:
        if owned:
            session.stop()
            if log is not None:
                log.unlink(missing_ok=True)
        elif zone is not None:
            session.conf.set("spark.sql.session.timeZone", zone)


def _own_session(warehouse: SparkWarehouse) -> tuple[SparkSession, Path | None]:
    """A session of the report's own on ``warehouse.master``, and the file its JVM writes
    to instead of the terminal: a report printed 8 lines of Spark's start-up and warnings
    before its own. The gateway is launched here as pyspark launches it, its output
    redirected; the file is kept (and named) only when the session cannot start. A JVM an
    earlier report of this process started (pyspark keeps it when a session stops) is used
    again, writing where it did (``None``): a second one would be left running."""
    import tempfile

    from py4j.protocol import Py4JError
    from pyspark import SparkConf, SparkContext
    from pyspark.errors import PySparkException
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    conf = SparkConf().setMaster(warehouse.master).setAppName("authfunnel report")
    partitions = local_shuffle_partitions(warehouse.master)
    if partitions is not None:
        conf.set("spark.sql.shuffle.partitions", str(partitions))
    conf.set("spark.sql.warehouse.dir", str(warehouse.directory))
    conf.set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false")
    if SparkContext._gateway is not None:
        SparkContext(conf=conf)
        return SparkSession.builder.getOrCreate(), None
    with tempfile.NamedTemporaryFile(
        prefix="authfunnel-spark-", suffix=".log", delete=False
    ) as output:
        log = Path(output.name)
        try:
            gateway = launch_gateway(  # type: ignore[no-untyped-call]
                conf, popen_kwargs={"stdout": output, "stderr": output}
            )
            SparkContext(conf=conf, gateway=gateway)
        except (PySparkException, Py4JError) as exc:
            raise CliError(
                f"cannot start Spark for {warehouse}: {first_line(exc)}",
                hint=f"Spark's own output is in {log}",
            ) from exc
    return SparkSession.builder.getOrCreate(), log


def local_shuffle_partitions(master: str) -> int | None:
    """Shuffle partitions for a local session: two per core. Spark's default (200) suits a
    cluster; on one machine each query's every shuffle ran 200 tasks, and the report took ten
    times as long (tests/benchmarks/bench_warehouse_spark.py). A cluster keeps its own."""
    import re

    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master.strip())
    if found is None:
        return None
    cores = found.group(1)  # none: "local", one thread
    if cores == "*":
        return 2 * (os.cpu_count() or 1)
    return 2 * int(cores or 1)
