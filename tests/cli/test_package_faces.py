"""Every package of the application is used through its face: ``__init__`` and ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import authfunnel.cli

PACKAGES = sorted(info.name for info in pkgutil.iter_modules(authfunnel.cli.__path__) if info.ispkg)


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


@pytest.mark.parametrize("name", [p for p in PACKAGES if p != "commands"])
def test_each_face_exports_exactly_what_it_lists(name: str) -> None:
    package = importlib.import_module(f"authfunnel.cli.{name}")
    exported = package.__all__
    assert exported, f"authfunnel.cli.{name} lists no public names"
    assert len(set(exported)) == len(exported)
    missing = [item for item in exported if not hasattr(package, item)]
    assert missing == []
    assert not [item for item in exported if item.startswith("_")]


def test_the_lazy_app_face_lists_each_name_once_in_each_place() -> None:
    """``app`` loads a name's module on first use; its type-checking imports, its table of
    homes and ``__all__`` must name the same things, each from the module it lives in."""
    import ast
    import inspect

    from authfunnel.cli import app

    tree = ast.parse(inspect.getsource(app))
    typed = {
        alias.asname or alias.name: node.module.rpartition(".")[2]
        for block in tree.body
        if isinstance(block, ast.If)
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    homes = app._HOMES
    assert typed == homes
    assert sorted(app.__all__) == sorted(homes)
    for name, home in homes.items():
        module = importlib.import_module(f"authfunnel.cli.app.{home}")
        assert getattr(app, name) is getattr(module, name)


def test_help_and_version_load_only_the_shell_they_need() -> None:
    import subprocess
    import sys

    probe = (
        "import io, sys\n"
        "from authfunnel.cli.__main__ import main\n"
        "main(['--version'], None)\n"
        "print(sorted(m for m in sys.modules if m.startswith('authfunnel.cli.app.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == str(
        [
            "authfunnel.cli.app._console",
            "authfunnel.cli.app._env",
            "authfunnel.cli.app._exit",
            "authfunnel.cli.app._registry",
        ]
    )
