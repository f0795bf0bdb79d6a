"""Signal handlers that last for one block: set on entry, the previous ones put back on exit.

The command lifecycle (SIGTERM/SIGHUP end flows at once) and the demo's throwaway home (signals
held off while it is removed) both need exactly this, with different handlers.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType

Handler = Callable[[int, FrameType | None], None]


@contextmanager
def signals_handled(signums: Iterable[int], handler: Handler) -> Iterator[None]:
    """Within the block ``handler`` answers each of ``signums``.

    A signal that is ignored stays ignored (``nohup`` ignores SIGHUP on purpose). Only the main
    thread can set handlers: elsewhere the block runs with the handlers in place.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in signums:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before if before is not None else signal.SIG_DFL)
