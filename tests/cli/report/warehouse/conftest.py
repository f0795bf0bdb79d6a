"""A PostgreSQL server per session (see ``postgres_server``) and a database per test; one
local Spark session per run (``spark_session``)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from tests.cli.report.warehouse.postgres_server import (
    URL_VARIABLE,
    NoPostgres,
    add_reporter,
    started_cluster,
)
from tests.cli.report.warehouse.spark_session import NoSpark, started_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A superuser's URL to a running server: ``TEST_POSTGRES_URL``, else our own cluster."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        add_reporter(given)
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="authfunnel-postgres-"))
    try:
        with started_cluster(root) as url:
            add_reporter(url)
            yield url
    except NoPostgres as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(str(exc))
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A fresh database of its own (dropped after the test); its superuser URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
        con.execute(f'GRANT ALL ON DATABASE "{name}" TO reporter')
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def warehouse(database: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser's connection to the test's database, for loading events."""
    with psycopg.connect(database, autocommit=True) as con:
        yield con


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The one local Spark session of the run (``spark_session``); under CI=true a missing
    pyspark or Java fails the tests that need it, elsewhere it skips them."""
    root = tmp_path_factory.mktemp("spark")
    try:
        with started_session(root) as session:
            yield session
    except NoSpark as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Spark is required under CI: {exc}")
        pytest.skip(str(exc))
