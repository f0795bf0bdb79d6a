"""authfunnel's command-line application: terminal UI, OAuth flows, delivery, reports.

``cli`` imports ``fsm`` (the engine), never the other way round. Start-up stays lean: the
command table in ``cli._registry`` names each command's module, imported only when it runs.
"""

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``authfunnel`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    from cli.__main__ import main as run

    return run(argv)
