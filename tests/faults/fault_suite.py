"""The fault suite: kills x endpoint faults x concurrency, with the event accounting.

    python -m tests.faults.fault_suite            # the whole matrix (~10-20 min on 2 cores)
    python -m tests.faults.fault_suite --quick    # one concurrency level, fewer kills

Not a pytest module (it takes minutes and prints a table): a script run by hand before a
release and for the delivery issues' closing notes. Each scenario gets its own home; real
authfunnel subprocesses record events against an endpoint that misbehaves in one way, while
processes are SIGKILLed in one way; then the endpoint heals and ``telemetry flush`` runs. The
accounting then holds the collector's store against every messageId the runs said they
recorded (their DEBUG lines):

- ``missing``: recorded, never stored (an event lost). Must be 0.
- ``dup``: stored more than once. Must be 0.
- ``extra``: stored, never seen recorded: a run killed between its insert and its DEBUG line
  (legitimate, counted apart) or a recovered ending (``recovered``), never anything else.
- ``open``: flows with a Started and no terminal event after healing. Must be 0.
- ``2x``: flows with more than one terminal event. Must be 0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from authfunnel import fsm
from authfunnel.cli.devserver import read_messages
from tests.cli.telemetry.harness import (
    DRIVER,
    authfunnel,
    environment,
    pending_ids,
    recorded_ids,
    refused_url,
    sender_idle,
    wait_until,
)
from tests.cli.telemetry.servers import collector

FAULTS = ("ok", "refused", "hang", "5xx", "429", "store-then-close", "partial-200", "drip")
KILLS = ("none", "cli", "sender", "flush")
TERMINALS = (fsm.AUTH_COMPLETED, fsm.AUTH_ABORTED, fsm.AUTH_FAILED)


class FaultyProxy:
    """Sits before a real collector and misbehaves in one way (``mode``) for ``budget`` requests.

    A proxy rather than a collector subclass: the collector's own code stays what it is, and
    "stored, then the reply was lost" is exactly what a proxy that drops the reply produces.
    """

    def __init__(self, mode: str, upstream: tuple[str, int], budget: int) -> None:
        self.mode, self.upstream, self.budget = mode, upstream, budget
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()
        for held in self.held:
            held.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(30)
        try:
            request = _read_request(client)
        except OSError:
            client.close()
            return
        with self.lock:
            faulty = self.budget > 0
            self.budget -= 1
        mode = self.mode if faulty else "ok"
        with suppress(OSError):
            self._answer(client, request, mode)
        if mode == "hang":
            self.held.append(client)
        else:
            client.close()

    def _answer(self, client: socket.socket, request: bytes, mode: str) -> None:
        if mode == "hang":
            return
        if mode == "5xx":
            client.sendall(_reply(503, b'{"code":"unavailable"}'))
            return
        if mode == "429":
            client.sendall(_reply(429, b'{"code":"rate_limited"}', "Retry-After: 1\r\n"))
            return
        reply = self._forward(request)
        if mode == "store-then-close":
            return  # stored upstream; the reply never arrives
        if mode == "partial-200":
            client.sendall(reply[: max(1, len(reply) // 3)])
            return
        if mode == "drip":
            for index in range(len(reply)):
                client.sendall(reply[index : index + 1])
                time.sleep(0.01)
            return
        client.sendall(reply)

    def _forward(self, request: bytes) -> bytes:
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(request)
            upstream.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := upstream.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _read_request(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            raise OSError("closed before the headers")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            break
        body += chunk
    # One request per connection upstream: the proxy does not speak keep-alive.
    head = b"\r\n".join(
        line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")
    )
    return head + b"\r\nConnection: close\r\n\r\n" + body


def _reply(status: int, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Scenario:
    fault: str
    kill: str
    concurrency: int

    def __str__(self) -> str:
        return f"{self.fault:<16} {self.kill:<7} {self.concurrency:>3}"


@dataclass
class Accounting:
    runs: int = 0
    recorded: set[str] = field(default_factory=set)
    killed: int = 0
    killed_helpers: int = 0  # senders or flushes SIGKILLed while they worked
    stored: int = 0
    missing: int = 0
    duplicates: int = 0
    recovered: int = 0
    extra: int = 0
    open_flows: int = 0
    double_terminals: int = 0
    pending: int = 0
    seconds: float = 0.0

    @property
    def held(self) -> bool:
        return not (
            self.missing or self.duplicates or self.open_flows or self.double_terminals
        ) and (self.pending == 0)


@contextmanager
def endpoint(fault: str, store: Path, budget: int) -> Iterator[tuple[str, str]]:
    """(the faulty URL the runs use, the healthy URL the heal uses), over one store."""
    with collector(store) as server:
        if fault == "ok":
            yield server.url, server.url
            return
        if fault == "refused":
            yield refused_url(), server.url
            return
        host, port = server.url.removeprefix("http://").split(":")
        proxy = FaultyProxy(fault, (host, int(port)), budget)
        try:
            yield proxy.url, server.url
        finally:
            proxy.close()


def senders_of(home: Path) -> list[int]:
    """The pids of detached senders working for ``home`` (read from /proc)."""
    found = []
    marker = f"AUTHFUNNEL_HOME={home}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"telemetry._sender" not in cmdline:
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def one_run(variables: dict[str, str], kill: str, rng: random.Random) -> tuple[list[str], bool]:
    """One invocation: a command, a whole login flow, or a login killed half-way."""
    if kill == "cli" and rng.random() < 0.5:
        flow = subprocess.Popen(
            [sys.executable, str(DRIVER), "hang"],
            env=variables,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert flow.stdout is not None
        flow.stdout.readline()
        time.sleep(rng.random() * 0.05)
        flow.kill()
        _, stderr = flow.communicate()
        return recorded_ids(stderr), True
    if rng.random() < 0.5:
        done = subprocess.run(
            [sys.executable, str(DRIVER), "complete"],
            env=variables,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    else:
        done = authfunnel(variables, "telemetry", "status", timeout=120)
    return recorded_ids(done.stderr), False


def run_scenario(scenario: Scenario, root: Path, seed: int) -> Accounting:
    rng = random.Random(seed)
    started = time.monotonic()
    home, store = root / "home", root / "store.jsonl"
    account = Accounting()
    # Faults last for the first requests only (5xx, 429, dropped replies) or for every request
    # until the heal (refused, hang): both shapes of outage.
    budget = 10**6 if scenario.fault in ("hang", "drip") else 4 * scenario.concurrency
    with endpoint(scenario.fault, store, budget) as (faulty, healthy):
        config = home / "config"
        config.mkdir(parents=True)
        (config / "config.toml").write_text("[telemetry]\ntimeout = 2\n")
        variables = environment(home, faulty)
        account.recorded.update(recorded_ids(authfunnel(variables, "telemetry", "enable").stderr))
        stop_killing = threading.Event()
        killer = threading.Thread(
            target=_keep_killing,
            args=(scenario.kill, home, variables, rng, stop_killing, account),
        )
        killer.start()
        lock = threading.Lock()

        def worker(index: int) -> None:
            local = random.Random(seed * 1000 + index)
            for _ in range(3):
                ids, killed = one_run(variables, scenario.kill, local)
                with lock:
                    account.runs += 1
                    account.killed += killed
                    account.recorded.update(ids)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(scenario.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop_killing.set()
        killer.join()
        account.recorded.update(_heal(home, environment(home, healthy)))
    _account(account, store, home)
    account.seconds = time.monotonic() - started
    return account


def _keep_killing(
    kill: str,
    home: Path,
    variables: dict[str, str],
    rng: random.Random,
    stop: threading.Event,
    account: Accounting,
) -> None:
    while not stop.wait(rng.uniform(0.05, 0.4)):
        if kill == "sender":
            for pid in senders_of(home):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    account.killed_helpers += 1
        elif kill == "flush":
            flush = subprocess.Popen(
                [sys.executable, "-m", "authfunnel.cli", "telemetry", "flush", "--timeout", "5"],
                env=variables,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(rng.uniform(0.1, 1.0))
            flush.kill()
            _, stderr = flush.communicate()
            account.killed_helpers += flush.returncode == -signal.SIGKILL
            account.recorded.update(recorded_ids(stderr))  # what it said it recorded before it died


def _heal(home: Path, variables: dict[str, str]) -> set[str]:
    """Flush against the healthy endpoint until nothing is pending; the ids it recorded.

    A flush records its own two events as it ends and leaves them to the sender its exit
    starts: an outbox still holding those right after the flush is not a failure to heal, so
    each flush is given time for that sender before the next one."""
    ids: set[str] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        flush = authfunnel(variables, "telemetry", "flush", "--timeout", "60", timeout=120)
        ids.update(recorded_ids(flush.stderr))
        try:
            wait_until(lambda: not pending_ids(home) and sender_idle(home), timeout=30)
            break
        except AssertionError:
            print(f"  heal: {flush.stdout.strip()}", file=sys.stderr)
    return ids


def _account(account: Accounting, store: Path, home: Path) -> None:
    messages = list(read_messages(store))
    stored = Counter(str(message["messageId"]) for message in messages)
    account.stored = len(stored)
    account.duplicates = sum(count - 1 for count in stored.values())
    account.missing = len(account.recorded - set(stored))
    for message in messages:
        if str(message["messageId"]) in account.recorded:
            continue
        if (message.get("properties") or {}).get("recovered"):
            account.recovered += 1
        else:
            account.extra += 1
    starts: Counter[str] = Counter()
    ends: Counter[str] = Counter()
    for message in messages:
        invocation = str((message.get("properties") or {}).get("invocation_id"))
        if message.get("event") == fsm.AUTH_STARTED:
            starts[invocation] += 1
        elif message.get("event") in TERMINALS:
            ends[invocation] += 1
    account.open_flows = sum(1 for invocation in starts if ends[invocation] == 0)
    account.double_terminals = sum(1 for count in ends.values() if count > 1)
    account.pending = len(pending_ids(home))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--faults", nargs="*", default=list(FAULTS))
    parser.add_argument("--kills", nargs="*", default=list(KILLS))
    args = parser.parse_args()
    levels = (4,) if args.quick else (2, 12)
    scenarios = [
        Scenario(fault, kill, level)
        for fault, kill, level in itertools.product(args.faults, args.kills, levels)
    ]
    if not args.quick:
        scenarios += [Scenario("ok", "none", 40), Scenario("5xx", "sender", 40)]
    print(
        f"{'fault':<16} {'kill':<7} {'c':>3} {'runs':>5} {'killed':>6} {'k.help':>6} "
        f"{'recorded':>8} "
        f"{'stored':>6} {'missing':>7} {'dup':>4} {'recov':>5} {'extra':>5} {'open':>4} "
        f"{'2x':>3} {'pend':>4} {'s':>5}"
    )
    totals = Accounting()
    failed = 0
    for index, scenario in enumerate(scenarios):
        with tempfile.TemporaryDirectory(prefix="authfunnel-faults-") as root:
            account = run_scenario(scenario, Path(root), args.seed + index)
        failed += not account.held
        for name in (
            "runs",
            "killed",
            "killed_helpers",
            "stored",
            "missing",
            "duplicates",
            "recovered",
            "extra",
            "open_flows",
            "double_terminals",
            "pending",
            "seconds",
        ):
            setattr(totals, name, getattr(totals, name) + getattr(account, name))
        totals.recorded |= {f"{index}:{i}" for i in account.recorded}
        print(
            f"{scenario} {account.runs:>5} {account.killed:>6} {account.killed_helpers:>6} "
            f"{len(account.recorded):>8} "
            f"{account.stored:>6} {account.missing:>7} {account.duplicates:>4} "
            f"{account.recovered:>5} {account.extra:>5} {account.open_flows:>4} "
            f"{account.double_terminals:>3} {account.pending:>4} {account.seconds:>5.0f}"
            f"{'' if account.held else '  FAILED'}",
            flush=True,
        )
    print(
        json.dumps(
            {
                "scenarios": len(scenarios),
                "failed": failed,
                "runs": totals.runs,
                "killed_runs": totals.killed,
                "killed_senders_and_flushes": totals.killed_helpers,
                "recorded": len(totals.recorded),
                "stored": totals.stored,
                "missing": totals.missing,
                "duplicates": totals.duplicates,
                "recovered": totals.recovered,
                "extra": totals.extra,
                "open_flows": totals.open_flows,
                "double_terminals": totals.double_terminals,
                "pending": totals.pending,
                "seconds": round(totals.seconds),
            }
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
