"""deployctl as a click application: every command in the lifecycle, a mounted telemetry group.

Public API only. ``deploy --mode M`` ends the way M says (see ``ENDINGS``); ``db migrate`` is
a nested command; ``telemetry ...`` is the group the library provides.
"""

from __future__ import annotations

import sys

import click

from authfunnel.cli.telemetry import Telemetry

TELEMETRY = Telemetry("deployctl", "2.3.4")


@click.group()
@click.version_option("2.3.4")
def cli() -> None:
    """Deploy things."""


@cli.command()
@click.option(
    "--mode",
    type=click.Choice(
        [
            "ok",
            "ctx-exit-0",
            "ctx-exit-3",
            "sys-exit-0",
            "click-error",
            "ctx-fail",
            "crash",
            "prompt",
            "confirm",
        ]
    ),
    default="ok",
)
@click.pass_context
def deploy(ctx: click.Context, mode: str) -> None:
    if mode == "ctx-exit-0":
        ctx.exit(0)
    if mode == "ctx-exit-3":
        ctx.exit(3)
    if mode == "sys-exit-0":
        sys.exit(0)
    if mode == "click-error":
        raise click.ClickException("the registry refused the image")
    if mode == "ctx-fail":
        ctx.fail("--mode ctx-fail needs a target")
    if mode == "crash":
        raise LookupError("no such image")
    if mode == "prompt":
        click.prompt("Target")
    if mode == "confirm":
        click.confirm("Deploy to production?", abort=True)
    click.echo("deployed")


@cli.group()
def db() -> None:
    """The database."""


@db.command()
def migrate() -> None:
    click.echo("migrated")


cli.add_command(TELEMETRY.click_group())
TELEMETRY.instrument(cli)

if __name__ == "__main__":
    cli()
