"""What ``pip install authfunnel`` costs, and each extra: distributions and installed MB.

Builds the wheel from a copy of the sources, installs it into a fresh virtual environment per
target (the core, each extra, and ``[all]``, the old default) exactly as a user would (the
environment's own pip, resolving from the index), and counts what landed, the environment's
own pip and setuptools aside: distributions, and the bytes their RECORDs list (bytecode
included, as on disk). Ratios are against the core's goal (<= 15 distributions, <= 30 MB) and
against ``[all]`` measured in the same run.

Run: ``.venv/bin/python tests/benchmarks/bench_install.py [--only core,report]``; exit 1 if the
core misses its goal.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
TARGETS: Final = ("core", "cli", "report", "check", "diagram", "devserver", "demo", "all")
GOAL_DISTRIBUTIONS: Final = 15
GOAL_MB: Final = 30.0
OWN: Final = {"pip", "setuptools"}  # what `python -m venv` puts there before we install

MEASURE: Final = """
import importlib.metadata as m, json
sizes = {}
for d in m.distributions():
    files = [f.locate() for f in d.files or []]
    sizes[d.metadata["Name"]] = sum(p.stat().st_size for p in files if p.is_file())
print(json.dumps(sizes))
"""


def build_wheel(work: Path) -> Path:
    """The authfunnel wheel, built out of tree (an in-tree build reuses a stale build/lib)."""
    sources = work / "sources"
    sources.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, sources / name)
    for name in ("fsm", "cli"):
        shutil.copytree(ROOT / name, sources / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist")]
    subprocess.run([*pip, str(sources)], check=True)
    (wheel,) = (work / "dist").glob("authfunnel-*.whl")
    return wheel


def measure(wheel: Path, target: str, work: Path) -> tuple[dict[str, int], float]:
    """The distributions a fresh environment holds after installing ``target``, by size; and
    how long the install took."""
    venv = work / f"venv-{target}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    requirement = str(wheel) if target == "core" else f"authfunnel[{target}] @ {wheel.as_uri()}"
    start = time.perf_counter()
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement],
        check=True,
    )
    seconds = time.perf_counter() - start
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", MEASURE], check=True, capture_output=True, text=True
    )
    sizes: dict[str, int] = json.loads(done.stdout)
    return {name: size for name, size in sizes.items() if name.lower() not in OWN}, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated targets (default: all of them)")
    parser.add_argument("--list", action="store_true", help="also list each distribution")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.only or t in args.only.split(",")]
    if "all" not in targets:
        targets.append("all")  # the baseline of the ratios
    with tempfile.TemporaryDirectory(prefix="bench-install-") as temporary:
        work = Path(temporary)
        wheel = build_wheel(work)
        results = {target: measure(wheel, target, work) for target in targets}
    everything, _ = results["all"]
    all_count, all_mb = len(everything), sum(everything.values()) / 1e6
    print(f"{'install':<22} {'dists':>5} {'MB':>7}  {'vs goal':>17}  {'vs [all]':>13}  {'pip':>6}")
    for target in targets:
        sizes, seconds = results[target]
        count, mb = len(sizes), sum(sizes.values()) / 1e6
        label = "authfunnel" if target == "core" else f"authfunnel[{target}]"
        print(
            f"{label:<22} {count:>5} {mb:>7.1f}  "
            f"{count / GOAL_DISTRIBUTIONS:>7.2f}x {mb / GOAL_MB:>7.2f}x  "
            f"{count / all_count:>5.2f}x {mb / all_mb:>5.2f}x  {seconds:>5.1f}s"
        )
        if args.list:
            for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
                print(f"    {name:<30} {size / 1e6:7.2f} MB")
    print(f"goal for the core: <= {GOAL_DISTRIBUTIONS} distributions, <= {GOAL_MB:.0f} MB")
    if "core" not in results:
        return 0
    core, _ = results["core"]
    return 0 if len(core) <= GOAL_DISTRIBUTIONS and sum(core.values()) <= GOAL_MB * 1e6 else 1


if __name__ == "__main__":
    sys.exit(main())
