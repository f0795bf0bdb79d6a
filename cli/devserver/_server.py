"""Run the provider on 127.0.0.1 in a background thread: for the command, the demo and tests."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from authfunnel.cli.devserver._accounts import DEMO_APP, DEMO_EMAIL, DEMO_PASSWORD
from authfunnel.cli.devserver._store import Store

# How often the serving thread checks for shutdown: stopping costs at most this long.
POLL_SECONDS = 0.05


class DevServer:
    """The dev provider listening on ``127.0.0.1:port`` (0: any free port) until ``stop``.

    ``store`` is public so tests and the demo can seed users and apps directly.
    """

    def __init__(
        self, database: Path | str = ":memory:", port: int = 0, *, log_requests: bool = False
    ) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from authfunnel.cli.devserver._app import create_app

        self.store = Store(database)
        seed_demo_user(self.store)
        handler = WSGIRequestHandler if log_requests else _QuietHandler()
        self._server = make_server(
            "127.0.0.1", port, create_app(self.store), threaded=True, request_handler=handler
        )
        self.port: int = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="authfunnel-dev-server",
            daemon=True,
        )

    def start(self) -> DevServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``dev-server`` command)."""
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
        self.store.close()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def seed_demo_user(store: Store) -> None:
    """The demo account (one app), so a first login needs no sign-up."""
    if store.user_by_email(DEMO_EMAIL) is None:
        user = store.create_user(DEMO_EMAIL, "Demo User", DEMO_PASSWORD)
        store.create_app(user.id, DEMO_APP)


def _QuietHandler() -> type:  # noqa: N802 (a class factory, named like the class it returns)
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        """In-process use (demo, tests): the terminal shows the flow, not access logs."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    return QuietHandler
