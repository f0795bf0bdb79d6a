"""The missing-extra message: one place, one line, and a map of extras true to pyproject.toml."""

from __future__ import annotations

import io
import re
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import COMMANDS, EXTRAS, CommandSpec, Environment, _registry
from tests.install.installs import ROOT

ABSENT = "authfunnel_tests_absent_module"  # imported by the probes, installed by nothing

AT_IMPORT = f"import {ABSENT}\n"
AT_RUN = f"""
def add_arguments(parser):
    pass

def run(args, env):
    import {ABSENT}.sub
"""


def run(home: Path, *argv: str) -> tuple[int, str]:
    env = Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        variables={"AUTHFUNNEL_HOME": str(home), "DO_NOT_TRACK": "1"},
    )
    status = main(list(argv), env)
    return status, env.stderr.getvalue()  # type: ignore[attr-defined]


@pytest.fixture
def probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands whose module misses a module of the ``probe`` extra, at import or at run."""
    for name, source in (("probe_at_import", AT_IMPORT), ("probe_at_run", AT_RUN)):
        (tmp_path / f"{name}.py").write_text(source)
        # Optional extras: nothing is checked up front, so the import (or the run) fails first.
        spec = CommandSpec(name, "probe", ("cli", "probe"), extras_optional=True)
        monkeypatch.setitem(COMMANDS, name, spec)
    elsewhere = CommandSpec("probe_at_run", "probe", ("cli",), extras_optional=True)
    monkeypatch.setitem(COMMANDS, "probe_elsewhere", elsewhere)
    # A command that needs its extra from the start is refused before its module is imported.
    monkeypatch.setitem(
        COMMANDS, "probe_needs", CommandSpec("probe_at_import", "probe", ("probe",))
    )
    monkeypatch.setitem(EXTRAS, "probe", frozenset({ABSENT}))
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.usefixtures("probes")
@pytest.mark.parametrize("command", ["probe_at_import", "probe_at_run"])
def test_a_missing_module_of_the_commands_extra_names_it_in_one_line(
    tmp_path: Path, command: str
) -> None:
    status, err = run(tmp_path, command)
    assert status == 1
    assert err == f"authfunnel: error: {command!r} needs the probe extra: " + (
        "pip install 'authfunnel[probe]'\n"
    )


@pytest.mark.usefixtures("probes")
def test_a_command_that_needs_its_missing_extra_is_refused_before_it_is_imported(
    tmp_path: Path,
) -> None:
    import sys

    status, err = run(tmp_path, "probe_needs")
    assert status == 1
    assert err == "authfunnel: error: 'probe_needs' needs the probe extra: " + (
        "pip install 'authfunnel[probe]'\n"
    )
    assert "probe_at_import" not in sys.modules


@pytest.mark.usefixtures("probes")
def test_a_missing_module_of_no_extra_of_the_command_stays_an_internal_error(
    tmp_path: Path,
) -> None:
    status, err = run(tmp_path, "probe_elsewhere")
    assert status == 1
    assert "internal error" in err
    assert "extra" not in err


def _optional_dependencies() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    return extras


def _distributions(extra: str, table: dict[str, list[str]]) -> set[str]:
    """The distributions ``extra`` installs, following ``authfunnel[...]`` into other extras."""
    found: set[str] = set()
    for requirement in table[extra]:
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower()
        if name == "authfunnel":
            for inner in re.findall(r"\[(.*?)\]", requirement)[0].split(","):
                found |= _distributions(inner.strip(), table)
        else:
            found.add(name)
    return found


def test_every_command_names_extras_that_exist() -> None:
    declared = set(_optional_dependencies())
    for name, spec in COMMANDS.items():
        assert set(spec.extras) <= set(EXTRAS), name
    assert set(EXTRAS) <= declared


def _with_dependencies(names: set[str]) -> set[str]:
    """``names`` and everything they require (unconditionally), as installed here."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [
            re.split(r"[\s<>=!~;\[(]", need, maxsplit=1)[0].lower().replace("_", "-")
            for need in needs
            if "extra ==" not in need
        ]
    return found


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_the_modules_of_each_extra_are_what_pyproject_installs_for_it(extra: str) -> None:
    """Each module the map names is installed by that extra (werkzeug comes with flask), and
    each of the extra's distributions provides one of them (or the map would miss its message)."""
    installs = _distributions(extra, _optional_dependencies())
    providers = {
        module: {name.lower() for name in names}
        for module, names in packages_distributions().items()
    }
    for module in EXTRAS[extra]:
        assert providers.get(module, set()) & _with_dependencies(installs), f"{extra}: {module}"
    named = {name for module in EXTRAS[extra] for name in providers.get(module, set())}
    assert installs <= named, f"{extra}: {sorted(installs - named)} provide no module in the map"


def test_the_map_is_the_one_the_dispatcher_reads() -> None:
    assert _registry.extra_providing(COMMANDS["report"], "duckdb.experimental") == "report"
    assert _registry.extra_providing(COMMANDS["diagram"], "duckdb") == "report"
    assert _registry.extra_providing(COMMANDS["diagram"], "rich.tree") == "diagram"
    assert _registry.extra_providing(COMMANDS["telemetry"], "rich") is None
    assert _registry.extra_providing(COMMANDS["login"], None) is None
