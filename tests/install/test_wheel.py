"""The wheel as installed: only ``authfunnel`` at the top, every module in it, a lean core."""

from __future__ import annotations

import re
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.install.installs import ROOT, Wheelhouse

pytestmark = pytest.mark.slow

# The goal of issue 11 for `pip install authfunnel`, the environment's own pip aside.
MAX_DISTRIBUTIONS = 15
MAX_MEGABYTES = 30
CORE_REQUIREMENTS = {"transitions", "segment-analytics-python", "platformdirs"}


def python(interpreter: Path, code: str, cwd: Path) -> str:
    done = subprocess.run(
        [str(interpreter), "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_wheel_puts_only_authfunnel_at_the_top_of_site_packages(wheelhouse: Wheelhouse) -> None:
    with zipfile.ZipFile(wheelhouse.wheel) as wheel:
        tops = {name.split("/")[0] for name in wheel.namelist()}
    name, version = wheelhouse.wheel.name.split("-")[:2]
    assert tops == {"authfunnel", f"{name}-{version}.dist-info"}


def test_every_module_of_fsm_and_cli_is_in_the_wheel(wheelhouse: Wheelhouse) -> None:
    with zipfile.ZipFile(wheelhouse.wheel) as wheel:
        names = set(wheel.namelist())
    expected = {
        f"authfunnel/{path.relative_to(ROOT).as_posix()}"
        for folder in ("fsm", "cli")
        for path in (ROOT / folder).rglob("*")
        if path.suffix == ".py" or path.name == "py.typed"
    }
    # A package missing from [tool.setuptools] packages silently leaves its modules out.
    assert sorted(expected - names) == []
    assert "authfunnel/__init__.py" not in names  # a namespace package: adopters may share it


def test_the_core_requires_only_the_engine_and_delivery(wheelhouse: Wheelhouse) -> None:
    with zipfile.ZipFile(wheelhouse.wheel) as wheel:
        (metadata,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        fields = Parser().parsestr(wheel.read(metadata).decode())
    unconditional = {
        re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower()
        for requirement in fields.get_all("Requires-Dist") or []
        if "extra ==" not in requirement
    }
    assert unconditional == CORE_REQUIREMENTS
    assert {"cli", "report", "check", "diagram", "devserver", "demo", "all", "test"} <= set(
        fields.get_all("Provides-Extra") or []
    )


def test_installed_only_the_namespaced_packages_import(core_python: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util as u\n"
        "import authfunnel.cli, authfunnel.fsm\n"
        "print(u.find_spec('cli'), u.find_spec('fsm'))\n"
    )
    assert python(core_python, probe, tmp_path).split() == ["None", "None"]
    # Nothing the distribution installed sits beside site-packages' authfunnel/ but its
    # dist-info (the console script lives in bin/).
    tops = python(
        core_python,
        "import importlib.metadata as m\n"
        "files = m.distribution('authfunnel').files or []\n"
        "print('\\n'.join(sorted({f.parts[0] for f in files if f.parts[0] != '..'})))\n",
        tmp_path,
    ).split()
    assert len(tops) == 2, tops
    assert tops[0] == "authfunnel"
    assert re.fullmatch(r"authfunnel-[^-]+\.dist-info", tops[1])


def test_the_console_script_and_the_pytest_plugin_entry_point_resolve(
    core_python: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(core_python.parent / "authfunnel"), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("authfunnel ")
    loaded = python(
        core_python,
        "from importlib.metadata import entry_points\n"
        "(script,) = entry_points(group='console_scripts', name='authfunnel')\n"
        "(plugin,) = entry_points(group='pytest11', name='authfunnel')\n"
        # pytest itself is not in the core install: the plugin's module must be there to load.
        "import importlib.util\n"
        "assert importlib.util.find_spec(plugin.module) is not None\n"
        "print(script.load().__module__, plugin.value)\n",
        tmp_path,
    )
    assert loaded.split() == ["authfunnel.cli.__main__", "authfunnel.fsm.check.pytest_plugin"]


def test_the_core_install_meets_its_size_goal(core_python: Path, tmp_path: Path) -> None:
    """<= 15 distributions and <= 30 MB (tests/benchmarks/bench_install.py prints each extra)."""
    sizes = python(
        core_python,
        "import importlib.metadata as m\n"
        "for d in m.distributions():\n"
        "    size = sum(f.locate().stat().st_size for f in d.files or [] if f.locate().exists())\n"
        "    print(d.metadata['Name'], size)\n",
        tmp_path,
    )
    installed = {name: int(size) for name, size in (line.split() for line in sizes.splitlines())}
    installed = {n: s for n, s in installed.items() if n.lower() not in {"pip", "setuptools"}}
    assert len(installed) <= MAX_DISTRIBUTIONS, sorted(installed)
    assert sum(installed.values()) <= MAX_MEGABYTES * 1_000_000, installed
    assert not {"rich", "duckdb", "httpx", "hypothesis", "flask"} & {n.lower() for n in installed}
