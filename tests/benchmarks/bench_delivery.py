"""Delivery benchmarks (not collected by pytest): run ``python tests/benchmarks/bench_delivery.py``.

1. Exit delay: ``authfunnel telemetry status`` with the endpoint hanging (accepts, never
   answers; a detached sender started on every run) vs the same command with telemetry off.
   Goal: <= 1.1x and <= 20 ms added.
2. Durable ``track`` per event (OutboxClient, committed to SQLite) vs segment-analytics-python's
   in-memory ``track`` (queue only). Goal: <= 100 us per event.
3. Collector ingest rate with the real segment-analytics-python client.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from authfunnel import fsm  # noqa: E402
from authfunnel.cli.app import Environment  # noqa: E402
from authfunnel.cli.devserver import CollectorServer  # noqa: E402
from authfunnel.cli.telemetry import open_client  # noqa: E402

RUNS = 21


def hanging_endpoint() -> tuple[str, socket.socket, list[socket.socket]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", listener, held


def base_variables(home: Path) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHFUNNEL_", "DEBUG"))}
    variables["AUTHFUNNEL_HOME"] = str(home)
    variables.pop("DO_NOT_TRACK", None)
    return variables


def timed(variables: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "telemetry", "status"],
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


def exit_delay() -> None:
    url, listener, held = hanging_endpoint()
    scratch = Path(tempfile.mkdtemp(prefix="bench-exit-"))
    template = scratch / "template"
    consented = base_variables(template)
    consented.update(AUTHFUNNEL_SEGMENT_WRITE_KEY="wk", AUTHFUNNEL_SEGMENT_HOST=url)
    subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "telemetry", "enable"],
        env={**consented, "AUTHFUNNEL_SEGMENT_WRITE_KEY": ""},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    hanging, off = [], []
    for run in range(RUNS):
        home = scratch / f"run{run}"
        shutil.copytree(template, home)  # a fresh consented install: a sender starts each run
        variables = base_variables(home)
        variables.update(AUTHFUNNEL_SEGMENT_WRITE_KEY="wk", AUTHFUNNEL_SEGMENT_HOST=url)
        hanging.append(timed(variables))
        off.append(timed({**base_variables(home), "DO_NOT_TRACK": "1"}))
    time.sleep(2)  # let the last senders connect, to count them
    listener.close()
    h, o = statistics.median(hanging), statistics.median(off)
    print(f"exit delay: {len(held)} detached senders connected to the hanging endpoint")
    print(
        f"exit delay: endpoint hanging {h * 1000:.1f} ms vs telemetry off {o * 1000:.1f} ms "
        f"(median of {RUNS}): ratio {h / o:.3f}x, added {(h - o) * 1000:+.1f} ms"
    )
    shutil.rmtree(scratch, ignore_errors=True)


def handoff_cost() -> None:
    """In-process: ``close()`` that starts a detached sender vs one that does not."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-handoff-"))
    url = "http://127.0.0.1:9"  # nothing listens: the senders give up on their own
    spawning, local = [], []
    for run in range(RUNS):
        for key, into in (("wk", spawning), ("", local)):
            home = scratch / f"{key or 'local'}{run}"
            variables = {"AUTHFUNNEL_HOME": str(home), "AUTHFUNNEL_SEGMENT_HOST": url}
            variables["AUTHFUNNEL_SEGMENT_WRITE_KEY"] = key
            env = Environment(stderr=io.StringIO(), variables=variables)
            open_client(env).close(0)  # first run: shows the notice, sends nothing
            client = open_client(env)
            fsm.track_event(client, fsm.command_invoked("bench"))
            started = time.perf_counter()
            client.close(0)
            into.append(time.perf_counter() - started)
    s, n = statistics.median(spawning), statistics.median(local)
    print(
        f"hand-off: close() starting a detached sender {s * 1000:.2f} ms vs local-only "
        f"{n * 1000:.2f} ms (median of {RUNS}): {(s - n) * 1000:+.2f} ms"
    )
    shutil.rmtree(scratch, ignore_errors=True)


def track_cost() -> None:
    from segment.analytics import Client

    events = 3000
    home = Path(tempfile.mkdtemp(prefix="bench-track-"))
    env = Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)})
    client = open_client(env)
    event = fsm.track_event  # warm the base properties
    fsm.track_event(client, fsm.command_invoked("warm"))
    merged = [
        fsm.Event(fsm.COMMAND_INVOKED, {"command": "bench", "sequence": n}) for n in range(events)
    ]
    started = time.perf_counter()
    for each in merged:
        client.track(each)
    durable = (time.perf_counter() - started) / events
    started = time.perf_counter()
    for _ in range(events):
        event(client, fsm.command_invoked("bench"))
    with_base = (time.perf_counter() - started) / events
    client.close(0)

    segment = Client("wk", host="http://127.0.0.1:9", upload_interval=3600, max_queue_size=10**6)
    started = time.perf_counter()
    for each in merged:
        segment.track(anonymous_id="a", event=each.name, properties=dict(each.properties))
    in_memory = (time.perf_counter() - started) / events
    print(
        f"track per event: durable {durable * 1e6:.1f} us "
        f"({with_base * 1e6:.1f} us with fsm.track_event's base properties) vs "
        f"segment in-memory {in_memory * 1e6:.1f} us: ratio {durable / in_memory:.2f}x"
    )
    shutil.rmtree(home, ignore_errors=True)


def ingest_rate() -> None:
    from segment.analytics import Client

    events = 5000
    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    server = CollectorServer(scratch / "store.jsonl")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    client = Client("wk", host=server.url, upload_size=100, max_queue_size=10**6)
    started = time.perf_counter()
    for n in range(events):
        client.track(anonymous_id="a", event="Ingest", properties={"n": n})
    client.flush()
    elapsed = time.perf_counter() - started
    stored = server.store.stats()["stored"]
    from segment.analytics.request import post

    batches = [
        [
            {"type": "track", "event": "Ingest", "anonymousId": "a", "messageId": f"b{b}-{n}"}
            for n in range(100)
        ]
        for b in range(50)
    ]
    started = time.perf_counter()
    for batch in batches:
        post("wk", server.url, batch=batch)
    batch_elapsed = time.perf_counter() - started
    server.shutdown()
    server.server_close()
    print(
        f"collector ingest: {stored} events from the real client in {elapsed:.2f} s: "
        f"{stored / elapsed:,.0f} events/s (threaded Client); "
        f"{5000 / batch_elapsed:,.0f} events/s posting 100-message batches (request.post, "
        f"as the sender does)"
    )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    handoff_cost()  # first: fork() needs a single-threaded process
    exit_delay()
    track_cost()
    ingest_rate()
