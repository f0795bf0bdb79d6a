"""deployctl as a Typer application: Typer builds a click command, which the library wraps."""

from __future__ import annotations

import typer

from authfunnel.cli.telemetry import Telemetry

TELEMETRY = Telemetry("deployctl", "2.3.4")
app = typer.Typer()


@app.command()
def deploy(fail: bool = False) -> None:
    if fail:
        raise typer.Exit(4)
    typer.echo("deployed")


@app.command()
def rollback() -> None:
    if not typer.confirm("Roll back?"):
        raise typer.Abort()


command = TELEMETRY.instrument(typer.main.get_command(app))
command.add_command(TELEMETRY.click_group())  # a click group mounts in Typer's too

if __name__ == "__main__":
    command()
