"""The application shell: environment, exit statuses, parser, command table, paths, config,
terminal and console, and how a user names a funnel.

Everything here is cheap to import (rich loads only when a console is made): ``authfunnel
--help`` imports this package and nothing heavier.
"""

from authfunnel.cli.app._config import load_config, section
from authfunnel.cli.app._console import make_console
from authfunnel.cli.app._env import Environment, isatty
from authfunnel.cli.app._exit import CliError, ExitStatus, LoginRequired, UsageError
from authfunnel.cli.app._funnels import flow_names, funnel_named
from authfunnel.cli.app._parser import Parser, ParserExit
from authfunnel.cli.app._paths import Paths
from authfunnel.cli.app._private_files import FILE_MODE, open_private, private_dir, private_file
from authfunnel.cli.app._registry import COMMANDS, CommandSpec
from authfunnel.cli.app._targets import binding, resolve
from authfunnel.cli.app._terminal import Terminal, printable

__all__ = [
    "COMMANDS",
    "FILE_MODE",
    "CliError",
    "CommandSpec",
    "Environment",
    "ExitStatus",
    "LoginRequired",
    "Parser",
    "ParserExit",
    "Paths",
    "Terminal",
    "UsageError",
    "binding",
    "flow_names",
    "funnel_named",
    "isatty",
    "load_config",
    "make_console",
    "open_private",
    "printable",
    "private_dir",
    "private_file",
    "resolve",
    "section",
]
