"""The sender's hold on the outbox lease: taken, renewed while it works, kept for a late post.

Only the holder of the outbox lease (``_lease``) posts, so no batch is ever posted by two
senders at once. requests' ``timeout`` bounds each read, not a request: a server answering a
byte at a time could hold a post for ever. So each post runs in a worker thread that the
sender waits for at most its deadline, renewing the lease meanwhile (a heartbeat). A post
that outlives its deadline cannot be cancelled: the sender stops there (``LateAnswer``), and
``hold_until_done`` keeps the lease, renewed from a daemon thread, until that post ends, then
settles it (its batch is archived if it was accepted after all) and releases. A process that
exits ends that thread with it, and the lease lapses after its ttl.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from authfunnel.cli.telemetry import _lease
from authfunnel.cli.telemetry._outbox import Outbox, OutboxError

Settle = Callable[[Outbox, Any], None]
"""What to do with a late post's result, given an outbox connection of the keeper's thread."""


class LeaseKeeper:
    """One sender's lease on ``outbox``, for ``ttl`` seconds at a time."""

    def __init__(self, outbox: Outbox, ttl: float, *, patience: float | None = None) -> None:
        self.outbox = outbox
        self.ttl = ttl
        self.patience = ttl if patience is None else patience  # without an answer: stalled
        self.holder = str(uuid.uuid4())

    def acquire(self, *, take_over_stalled: bool = False) -> bool:
        """Take the lease unless another live sender holds it (and, with
        ``take_over_stalled``, gets answers: see ``_lease``)."""
        return _lease.acquire(
            self.outbox,
            self.holder,
            self.ttl,
            patience=self.patience,
            take_over_stalled=take_over_stalled,
        )

    def progressed(self, extra: float = 0.0) -> None:
        """The endpoint answered: the next answer is due within ``patience`` (and ``extra``,
        a pause the endpoint asked for)."""
        _lease.progressed(self.outbox, self.holder, self.patience + extra)

    def renew(self, extra: float = 0.0) -> bool:
        """Hold it ``extra`` seconds beyond a ttl from now; ``False`` if it was lost."""
        return _lease.renew(self.outbox, self.holder, self.ttl + extra)

    def release(self) -> None:
        _lease.release(self.outbox, self.holder)

    def claim(self, row_ids: Iterable[int]) -> set[int]:
        """Claim the batch about to be posted; the ids still pending (see ``_lease.claim``)."""
        return _lease.claim(self.outbox, self.holder, row_ids)

    def run_within(self, call: Callable[[], Any], seconds: float, settle: Settle) -> Any:
        """``call()``'s result within ``seconds``, renewing the lease meanwhile.

        Raises what ``call`` raised, or ``LateAnswer`` (carrying ``settle`` for the result
        that may yet come) when it is still running at the deadline.
        """
        worker = _Worker(call)
        worker.start()
        end = time.monotonic() + seconds
        while True:
            worker.join(max(0.0, min(self.ttl / 4, end - time.monotonic())))
            if not worker.is_alive():
                break
            if time.monotonic() >= end:
                raise LateAnswer(worker, settle)
            self.renew()
        if worker.error is not None:
            raise worker.error
        return worker.response

    def hold_until_done(self, late: LateAnswer) -> None:
        """Keep the lease until ``late``'s post ends, settle it, then release, in a daemon
        thread: this returns at once."""
        thread = threading.Thread(
            target=self._hold, args=(late,), name="authfunnel-lease", daemon=True
        )
        thread.start()

    def _hold(self, late: LateAnswer) -> None:
        # Its own connection: a SQLite connection stays in the thread that made it.
        made_by = self.outbox
        try:
            outbox = Outbox(made_by.path, clock=made_by.clock, uptime=made_by.uptime)
        except OutboxError:
            return
        try:
            while late.worker.is_alive():
                _lease.renew(outbox, self.holder, self.ttl)
                late.worker.join(self.ttl / 4)
            if late.worker.error is None:
                late.settle(outbox, late.worker.response)
            _lease.release(outbox, self.holder)
        except OutboxError:
            pass  # the lease lapses on its own
        finally:
            outbox.close()


class _Worker(threading.Thread):
    """One call, in a thread of its own so the sender can stop waiting for it."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(name="authfunnel-post", daemon=True)
        self._call = call
        self.response: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.response = self._call()
        except BaseException as error:  # handed to the waiting thread, which re-raises it
            self.error = error


class LateAnswer(Exception):
    """A post outlived its deadline and may still be running."""

    def __init__(self, worker: _Worker, settle: Settle) -> None:
        super().__init__("post still in flight")
        self.worker = worker
        self.settle = settle
