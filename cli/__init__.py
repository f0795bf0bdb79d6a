"""authfunnel's command-line application: terminal UI, OAuth flows, delivery, reports.

``authfunnel.cli`` imports ``authfunnel.fsm`` (the engine), never the other way round. Start-up
stays lean: the command table in ``authfunnel.cli.app`` names each command's module, imported
only when it runs.
"""

__all__ = ["__version__", "main"]

# The one place the version is written: pyproject.toml reads it (setuptools dynamic version),
# and --version prints it without importlib.metadata, which costs more than the rest of start-up.
__version__ = "0.1.0"


def main(argv: list[str] | None = None) -> int:
    """Run ``authfunnel`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    from authfunnel.cli.__main__ import main as run

    return run(argv)
