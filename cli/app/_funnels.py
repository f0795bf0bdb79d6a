"""Which funnels a command works on: those named on its command line, else the default set.

The default set is the application's configured funnels followed by authfunnel's built-in
ones (unless the configuration turns those off)::

    [funnels]
    include = ["deployctl.funnels:FUNNELS"]   # module:ATTR, a Funnel or a tuple/list of them
    builtin = false                            # leave out authfunnel's own login funnels

``<PREFIX>_FUNNELS`` (``AUTHFUNNEL_FUNNELS``: comma-separated ``module:ATTR``) replaces
``include``. A name on the command line is a flow of the default set (``deploy``), a
built-in flow (``login``, even with ``builtin = false``) or ``module:ATTR``. Every command
resolves names here, so each says the same thing about the same mistake; two different
funnels of one flow among those selected are an error naming both, for every command keys
its output (report rows, diagram files, check results, events) by flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.app._config import load_config, section
from authfunnel.cli.app._exit import CliError, UsageError
from authfunnel.cli.app._paths import Paths
from authfunnel.cli.app._targets import Target, builtin_target, import_target

if TYPE_CHECKING:
    from authfunnel.cli.app._env import Environment


# What --help says of the default set, in every command that has one.
DEFAULT_FUNNELS_HELP: Final = (
    'the funnels that [funnels] include = ["module:ATTR", ...] in the config file or '
    "AUTHFUNNEL_FUNNELS=module:ATTR,... name, then the built-in ones unless builtin = false"
)


def targets_help() -> str:
    """How a command line names funnels, for ``--help``."""
    return (
        f"a flow name ({', '.join(flow_names())}, or a configured funnel's), or module:ATTR "
        "naming a Funnel or a tuple/list of them"
    )


def flow_names() -> list[str]:
    """Every built-in flow name, in declaration order."""
    from authfunnel.fsm import BUILTIN_FUNNELS

    return [str(funnel.flow) for funnel in BUILTIN_FUNNELS]


def select_funnels(env: Environment, names: Sequence[str]) -> list[Target]:
    """The funnels ``names`` select, in order (a funnel named twice counts once); with no
    names, the default set. Raises ``UsageError`` for an unknown flow or a malformed target,
    ``CliError`` for a target that does not import or is not a funnel, or for two funnels of
    one flow."""
    if not names:
        return default_funnels(env)
    known: list[Target] | None = None  # the default set, read once and only if a flow is named
    selected: list[Target] = []
    for name in names:
        if ":" in name:
            selected.extend(import_target(name))
            continue
        known = default_funnels(env) if known is None else known
        selected.append(_by_flow(known, name))
    return _without_clashes(selected)


def default_funnels(env: Environment) -> list[Target]:
    """The configured funnels, then the built-in ones unless ``builtin = false``."""
    from authfunnel.fsm import BUILTIN_FUNNELS

    configured, builtin, origin = _configured(env)
    targets = configured + ([builtin_target(f) for f in BUILTIN_FUNNELS] if builtin else [])
    if not targets:
        raise CliError(
            f"{origin}: no funnels: [funnels] has builtin = false and includes none",
            hint='name your own: include = ["myapp.flows:FUNNELS"]',
        )
    try:
        return _without_clashes(targets)
    except UsageError as clash:
        raise CliError(
            f"{origin}: {clash.message}",
            hint="rename one flow, or set builtin = false under [funnels] in the config "
            "file to leave authfunnel's own funnels out",
        ) from clash


def _by_flow(known: list[Target], name: str) -> Target:
    """The funnel of flow ``name``: the default set's first, then the built-in ones (a
    built-in flow can be named even where the configuration leaves them out)."""
    from authfunnel.fsm import BUILTIN_FUNNELS

    candidates = [*known, *(builtin_target(f) for f in BUILTIN_FUNNELS)]
    for target in candidates:
        if target.flow == name:
            return target
    import difflib

    names = list(dict.fromkeys(t.flow for t in candidates))
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(
        f"unknown flow {name!r}",
        hint=f"{hint}choose one of: {', '.join(names)}; or module:ATTR for your own",
    )


def _without_clashes(targets: list[Target]) -> list[Target]:
    kept: dict[str, Target] = {}
    for target in targets:
        first = kept.setdefault(target.flow, target)
        if first.funnel is not target.funnel:
            raise UsageError(
                f"two funnels of flow {target.flow!r}: {first.name} and {target.name}",
                hint="select one of them: each command shows one funnel per flow",
            )
    return list(kept.values())


def _configured(env: Environment) -> tuple[list[Target], bool, str]:
    """The configured funnels, whether the built-in ones join them, and where that is said."""
    paths = Paths.from_env(env)
    origin = f"the config file {paths.config_file}"
    table = _table(load_config(paths), origin)
    builtin = table.get("builtin", True)
    if not isinstance(builtin, bool):
        raise CliError(
            f"{origin}: [funnels] builtin must be true or false, not {builtin!r}",
            hint="write builtin = false to leave authfunnel's own funnels out",
        )
    variable = env.identity.variable("FUNNELS")
    where = f"{origin}: [funnels] include"
    if env.variables.get(variable):
        origin = where = variable
        entries: Any = [e.strip() for e in env.variables[variable].split(",") if e.strip()]
    else:
        entries = table.get("include", [])
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise CliError(
            f"{origin}: [funnels] include must be a list of module:ATTR strings",
            hint='write include = ["myapp.funnels:FUNNELS"]',
        )
    targets: list[Target] = []
    for entry in entries:
        try:
            if ":" not in entry:
                raise UsageError(f"{entry!r} is not module:ATTR", hint="like myapp.flows:FUNNELS")
            targets.extend(import_target(entry))
        except CliError as exc:
            raise CliError(f"{where}: {exc.message}", hint=exc.hint) from exc
    return targets, builtin, origin


def _table(config: dict[str, Any], origin: str) -> dict[str, Any]:
    try:
        return section(config, "funnels")
    except CliError as exc:
        raise CliError(
            f"{origin}: [funnels] must be a table",
            hint='[funnels] include = ["myapp.flows:FUNNELS"]',
        ) from exc
