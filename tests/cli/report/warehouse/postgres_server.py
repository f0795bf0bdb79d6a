"""A real PostgreSQL server for the warehouse tests: the one ``.ci/run`` started, or our own.

``.ci/run`` starts one cluster (as the ``postgres`` user: ``initdb`` refuses root) and exports
``TEST_POSTGRES_URL``, a superuser's URL. Without it the session starts its own from the
machine's PostgreSQL binaries in a temporary directory on 127.0.0.1 and a free port, and
stops it at the end. Where there are none, the tests skip, except under ``CI=true``, where
they fail: CI must not pass a suite that never reached PostgreSQL.

The cluster trusts the superuser on 127.0.0.1 and asks ``reporter`` (password ``REPORTER_PASSWORD``)
for a password, so the tests can log in both ways.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

BIN_DIRS: Final = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
URL_VARIABLE: Final = "TEST_POSTGRES_URL"
BIN_VARIABLE: Final = "TEST_POSTGRES_BIN"
REPORTER: Final = "reporter"
REPORTER_PASSWORD: Final = "reporter-secret"
HBA: Final = f"""\
host all {REPORTER} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
local all all trust
"""


class NoPostgres(Exception):
    """No PostgreSQL binaries on this machine."""


def _bin_dir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: ``BIN_VARIABLE`` alone when set (a test sets a
    folder without them to see the suite fail under CI), else the usual places."""
    given = os.environ.get(BIN_VARIABLE)
    folders = [given] if given is not None else list(BIN_DIRS)
    for folder in folders:
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    found = None if given is not None else shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise NoPostgres("no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(argv: list[str]) -> list[str]:
    """``argv`` run as ``postgres`` when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def start_cluster(root: Path) -> str:
    """Start a cluster in ``root`` on 127.0.0.1 and a free port; its superuser's URL."""
    binaries = _bin_dir()
    data = root / "data"
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    superuser = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", superuser, "-A", "trust"]
    # The C collation: text orders by code point, as DuckDB and the reference order it.
    initdb += ["--locale=C", "-E", "UTF8"]
    subprocess.run(_as_owner(initdb), check=True, capture_output=True)
    hba = data / "pg_hba.conf"
    subprocess.run(_as_owner(["sh", "-c", f"cat > {hba}"]), input=HBA.encode(), check=True)
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner([*_pg_ctl(root), "-o", options, "start"]), check=True, capture_output=True
    )
    return f"postgresql://{superuser}@127.0.0.1:{port}/postgres"


def stop_cluster(root: Path) -> None:
    subprocess.run(_as_owner([*_pg_ctl(root), "-m", "immediate", "stop"]), capture_output=True)


def _pg_ctl(root: Path) -> list[str]:
    return [str(_bin_dir() / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w"]


@contextmanager
def started_cluster(root: Path) -> Iterator[str]:
    """A cluster in ``root`` for the block; yields its superuser's URL; stops it."""
    url = start_cluster(root)
    try:
        yield url
    finally:
        stop_cluster(root)


def add_reporter(url: str) -> None:
    """The role that logs in with a password, if the cluster has none yet."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPORTER,)).fetchall():
            con.execute(f"CREATE ROLE {REPORTER} LOGIN PASSWORD '{REPORTER_PASSWORD}'")


if __name__ == "__main__":
    # .ci/run: ``start ROOT`` prints the URL to export as TEST_POSTGRES_URL; ``stop ROOT``.
    import sys

    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "start":
        print(start_cluster(folder))
    else:
        stop_cluster(folder)
