"""One module per command, imported only when it runs (see ``authfunnel.cli.app.COMMANDS``)."""
