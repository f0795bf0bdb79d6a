"""The README's "Instrument your own CLI" example, read from README.md (never copied).

The section shows ``app.py``, then ``test_app.py``, then a shell session; the install test runs
them from the wheel, and tests/benchmarks/bench_adopter_exit.py times ``app.py``'s exit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
SECTION: Final = "## Instrument your own CLI\n"
FILES: Final = ("app.py", "test_app.py")


def section_blocks() -> list[tuple[str, str]]:
    """The (language, code) of each fenced block of the section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(SECTION) == 1, f"README.md has no single {SECTION.strip()!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL)


def write_example(folder: Path) -> list[Path]:
    """``app.py`` and ``test_app.py``, written into ``folder`` as the section shows them."""
    blocks = [code for language, code in section_blocks() if language == "python"]
    assert len(blocks) == len(FILES), f"the section shows {' then '.join(FILES)}"
    written = [folder / name for name in FILES]
    for path, code in zip(written, blocks, strict=True):
        path.write_text(code, encoding="utf-8")
    return written


def shell_lines() -> list[str]:
    """The non-blank lines of the section's shell session."""
    (session,) = [code for language, code in section_blocks() if language == "sh"]
    return [line for line in session.splitlines() if line.strip()]
