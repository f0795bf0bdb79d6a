"""Every package of the application is used through its face: ``__init__`` and ``__all__``."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import authfunnel.cli

PACKAGES = sorted(info.name for info in pkgutil.iter_modules(authfunnel.cli.__path__) if info.ispkg)
FACES = [name for name in PACKAGES if name != "commands"]


def test_the_application_is_split_into_the_packages_of_the_architecture() -> None:
    assert PACKAGES == [
        "app",
        "auth",
        "commands",
        "devserver",
        "diagram",
        "report",
        "simulate",
        "telemetry",
    ]


@pytest.mark.parametrize("name", FACES)
def test_each_face_lists_each_public_name_once_in_each_place(name: str) -> None:
    """A face loads a name's module on first use (``app.lazy_face``): its type-checking
    imports, its table of homes and ``__all__`` name the same things, each resolving to the
    object in the module it lives in, and nothing private."""
    package = importlib.import_module(f"authfunnel.cli.{name}")
    tree = ast.parse(inspect.getsource(package))
    typed = {
        alias.asname or alias.name: node.module.rpartition(".")[2]
        for block in tree.body
        if isinstance(block, ast.If)
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    eager = {  # imported for real at the top: only app's own lazy_face
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package.__name__)
        for alias in node.names
    }
    homes = package._HOMES
    assert typed == homes
    assert sorted(package.__all__) == sorted({*homes, *eager})
    assert len(set(package.__all__)) == len(package.__all__)
    assert not [item for item in package.__all__ if item.startswith("_")]
    for item, home in homes.items():
        module = importlib.import_module(f"authfunnel.cli.{name}.{home}")
        assert getattr(package, item) is getattr(module, item)


@pytest.mark.parametrize("name", FACES)
def test_importing_a_face_loads_none_of_its_modules(name: str) -> None:
    probe = (
        f"import sys, authfunnel.cli.{name}\n"
        f"print(sorted(m for m in sys.modules if m.startswith('authfunnel.cli.{name}.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    expected = ["authfunnel.cli.app._lazy"] if name == "app" else []
    assert done.stdout.splitlines()[-1] == str(expected)


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_help_and_version_load_only_the_shell_they_need(option: str) -> None:
    probe = (
        "import io, sys\n"
        "from authfunnel.cli.__main__ import main\n"
        "from authfunnel.cli.app import Environment\n"
        f"main([{option!r}], Environment(stdout=io.StringIO()))\n"
        "print(sorted(m for m in sys.modules if m.startswith('authfunnel.cli.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == str(
        [
            "authfunnel.cli.__main__",
            "authfunnel.cli.app",
            "authfunnel.cli.app._console",
            "authfunnel.cli.app._env",
            "authfunnel.cli.app._exit",
            "authfunnel.cli.app._identity",
            "authfunnel.cli.app._lazy",
            "authfunnel.cli.app._registry",
        ]
    )
