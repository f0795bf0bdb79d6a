"""The application shell: environment, exit statuses, parser, command table, paths, config,
terminal and console, how a user names a funnel, and which application this is
(``AppIdentity``: authfunnel's, or an adopting CLI's).

``authfunnel --help`` and ``--version`` import this package before anything else, so each
public name loads its module on first use: they pay for the environment, the exit statuses
and the command table, nothing more (tests/cli/test_package_faces.py holds the three lists
below equal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app._lazy import lazy_face

if TYPE_CHECKING:
    from authfunnel.cli.app._config import config_error, load_config, section
    from authfunnel.cli.app._console import make_console
    from authfunnel.cli.app._env import Environment, isatty
    from authfunnel.cli.app._exit import CliError, ExitStatus, LoginRequired, UsageError
    from authfunnel.cli.app._funnels import (
        DEFAULT_FUNNELS_HELP,
        default_funnels,
        flow_names,
        select_funnels,
        targets_help,
    )
    from authfunnel.cli.app._identity import AUTHFUNNEL, AppIdentity
    from authfunnel.cli.app._parser import Parser, ParserExit
    from authfunnel.cli.app._paths import Paths
    from authfunnel.cli.app._private_files import FILE_MODE, open_private, private_dir, private_file
    from authfunnel.cli.app._registry import (
        COMMANDS,
        EXTRAS,
        CommandSpec,
        extra_providing,
        missing_extra,
    )
    from authfunnel.cli.app._signal_scope import signals_handled
    from authfunnel.cli.app._source_files import MAX_LINE_BYTES, bounded_lines, open_regular
    from authfunnel.cli.app._targets import Target
    from authfunnel.cli.app._terminal import (
        Terminal,
        literal,
        plural,
        printable,
        terminal_width,
    )
    from authfunnel.cli.app._throwaway import throwaway_dir

# Each public name and the module it lives in, loaded on first use (see app.lazy_face).
_HOMES = {
    "AUTHFUNNEL": "_identity",
    "COMMANDS": "_registry",
    "DEFAULT_FUNNELS_HELP": "_funnels",
    "EXTRAS": "_registry",
    "FILE_MODE": "_private_files",
    "MAX_LINE_BYTES": "_source_files",
    "AppIdentity": "_identity",
    "CliError": "_exit",
    "CommandSpec": "_registry",
    "Environment": "_env",
    "ExitStatus": "_exit",
    "LoginRequired": "_exit",
    "Parser": "_parser",
    "ParserExit": "_parser",
    "Paths": "_paths",
    "Target": "_targets",
    "Terminal": "_terminal",
    "UsageError": "_exit",
    "bounded_lines": "_source_files",
    "config_error": "_config",
    "default_funnels": "_funnels",
    "extra_providing": "_registry",
    "flow_names": "_funnels",
    "select_funnels": "_funnels",
    "isatty": "_env",
    "literal": "_terminal",
    "load_config": "_config",
    "make_console": "_console",
    "missing_extra": "_registry",
    "open_private": "_private_files",
    "open_regular": "_source_files",
    "plural": "_terminal",
    "printable": "_terminal",
    "targets_help": "_funnels",
    "terminal_width": "_terminal",
    "private_dir": "_private_files",
    "private_file": "_private_files",
    "section": "_config",
    "signals_handled": "_signal_scope",
    "throwaway_dir": "_throwaway",
}

__all__ = [
    "AUTHFUNNEL",
    "COMMANDS",
    "DEFAULT_FUNNELS_HELP",
    "EXTRAS",
    "FILE_MODE",
    "MAX_LINE_BYTES",
    "AppIdentity",
    "CliError",
    "CommandSpec",
    "Environment",
    "ExitStatus",
    "LoginRequired",
    "Parser",
    "ParserExit",
    "Paths",
    "Target",
    "Terminal",
    "UsageError",
    "bounded_lines",
    "config_error",
    "default_funnels",
    "extra_providing",
    "flow_names",
    "isatty",
    "lazy_face",
    "literal",
    "load_config",
    "make_console",
    "missing_extra",
    "open_private",
    "open_regular",
    "plural",
    "printable",
    "private_dir",
    "private_file",
    "section",
    "select_funnels",
    "signals_handled",
    "targets_help",
    "terminal_width",
    "throwaway_dir",
]

__getattr__, __dir__ = lazy_face(__name__, _HOMES)
