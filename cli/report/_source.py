"""Which events a report reads: the path given (a file, a directory, a glob of shards), or
this install's local store.

``--source`` names one file, a directory, or a glob. The rule, also in ``--help``: a path that
exists is read as it is named, so a file literally called ``c[1].parquet`` is that file and
never the pattern matching ``c1.parquet``; only a name that does not exist and holds glob
characters (``*``, ``?``, ``[``) is expanded, as Python's ``glob`` does (``**`` spans folders).
A directory is read with every regular file under it, recursively, hidden ones (a name
starting with ``.``) left out: Segment's S3 export keeps one folder per day.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from authfunnel.cli.app import CliError, Environment, open_regular
from authfunnel.cli.report._events import SQLITE_HEADER
from authfunnel.cli.report._lines import GZIP_MAGIC
from authfunnel.cli.report._warehouse_connect import is_warehouse

if TYPE_CHECKING:
    from authfunnel.cli.report._warehouse_connect import AnyWarehouse

_GLOB_CHARACTERS: Final = frozenset("*?[")
PARQUET_MAGIC: Final = b"PAR1"
_JSON_SUFFIXES: Final = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")
FORMATS: Final = "Segment messages as JSON lines (.jsonl, plain or gzip), .parquet, or a store"
SHOWN_FILES: Final = 5  # files named when a directory's or glob's are not read


@dataclass(frozen=True)
class SourceFiles:
    """The files a ``--source`` names, and whether the user named them one by one (a file)
    or as a set (a directory or a glob), in which files that hold no events are left out."""

    files: tuple[Path, ...]
    named_as_set: bool


def report_source(given: str | None, env: Environment) -> Path | AnyWarehouse:
    """``--source`` of ``report``: a warehouse's URL (``postgresql://``, ``spark:``:
    ``_warehouse``), else as ``source_path``."""
    if given and is_warehouse(given):
        from authfunnel.cli.report._warehouse_connect import warehouse_source

        return warehouse_source(given, env)
    return source_path(given, env)


def source_path(given: str | None, env: Environment) -> Path:
    """``--source`` as a path; the local store when not given (a clear error if it is absent)."""
    if given:
        return Path(given)
    from authfunnel.cli.telemetry import local_store

    store = local_store(env)
    if not store.exists():
        raise CliError(
            f"no events recorded yet: no local store at {store}",
            hint="run commands with telemetry on, or 'authfunnel simulate'; "
            "or pass --source PATH (.jsonl, .parquet, a store, a directory or a glob)",
        )
    return store


def source_files(source: Path) -> SourceFiles:
    """The files ``source`` names (see the module's rule), sorted; a clear error if none."""
    if os.path.lexists(source):
        if source.is_dir():
            files = [
                path
                for path in sorted(source.rglob("*"))
                if path.is_file() and not _hidden(path.relative_to(source))
            ]
            if not files:
                raise CliError(
                    f"no files in the directory {source}",
                    hint="pass a directory of exported events, a file or a glob",
                )
            return SourceFiles(tuple(files), named_as_set=True)
        return SourceFiles((source,), named_as_set=False)  # a file, or what it is refused as
    if not _GLOB_CHARACTERS.intersection(str(source)):
        raise CliError(
            f"no events file at {source}",
            hint="pass --source PATH, or create one with 'authfunnel simulate --out PATH'",
        )
    import glob

    matched = [Path(name) for name in sorted(glob.glob(str(source), recursive=True))]
    files = [path for path in matched if path.is_file()]
    if not files:
        raise CliError(
            f"no file matches {source}",
            hint="quote the pattern so the shell leaves it to authfunnel ('exports/*.gz'); "
            "a name that exists is read as it is, never as a pattern",
        )
    return SourceFiles(tuple(files), named_as_set=True)


@dataclass(frozen=True)
class Readable:
    """The files of a source that hold events, each with its format (``file_format``), and
    those of a directory or glob that hold none, left out (not read, but said)."""

    formats: dict[Path, str]
    ignored: tuple[str, ...]


def readable_files(source: Path) -> Readable:
    """The files ``source`` names (``source_files``) and what each holds, the one rule the
    report and ``events`` share: a file named alone whose format cannot be told is refused; in
    a set such files are left out; a source with no file that holds events is refused."""
    named = source_files(source)
    formats = {path: file_format(path) for path in named.files}
    ignored = tuple(str(path) for path, kind in formats.items() if kind is None)
    if ignored and not named.named_as_set:
        raise CliError(f"cannot tell the format of {source.name}", hint=FORMATS)
    readable = {path: kind for path, kind in formats.items() if kind is not None}
    if not readable:
        raise CliError(
            f"no events in {source}: none of its files is JSON lines, Parquet or a store",
            hint=FORMATS,
        )
    return Readable(readable, ignored)


def not_read_warning(ignored: Sequence[str]) -> str:
    """The warning naming the files of a set that were left out (the first few of them)."""
    from authfunnel.cli.app import plural, printable

    listed = ", ".join(ignored[:SHOWN_FILES]) + (", ..." if len(ignored) > SHOWN_FILES else "")
    return printable(
        f"authfunnel: warning: {plural(len(ignored), 'file')} not read "
        f"(neither JSON lines, Parquet nor a store): {listed}"
    )


def literal_paths(con: object, paths: Sequence[Path]) -> list[Path]:
    """``paths`` as DuckDB reads them literally. DuckDB expands glob characters in every path
    it reads whenever the pattern matches (a file named ``c[1].parquet`` would read
    ``c1.parquet`` instead), so a path holding one is read through a symbolic link with a
    plain name. A view reads its files lazily, so the links last as long as ``con``, the
    connection that reads them: they are removed when it is collected (or at exit)."""
    if not any(_GLOB_CHARACTERS.intersection(str(path)) for path in paths):
        return list(paths)
    import shutil
    import tempfile
    import weakref

    links = Path(tempfile.mkdtemp(prefix="authfunnel-report-"))
    weakref.finalize(con, shutil.rmtree, links, ignore_errors=True)
    safe = []
    for number, path in enumerate(paths):
        if _GLOB_CHARACTERS.intersection(str(path)):
            link = links / f"{number}.source"
            link.symlink_to(path.resolve())
            path = link
        safe.append(path)
    return safe


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


STORE: Final = "store"
PARQUET: Final = "parquet"
JSON_LINES: Final = "json lines"


def file_format(source: Path) -> str | None:
    """What ``source`` holds, by its content first (a store, Parquet, gzip of JSON lines, JSON
    lines), by its name when the content says nothing; ``None`` when neither tells."""
    head = _head(source)
    if head.startswith(SQLITE_HEADER):
        return STORE
    if head.startswith(PARQUET_MAGIC):
        return PARQUET
    if head.startswith(GZIP_MAGIC):
        inner = _gzip_head(source)
        # Unreadable gzip (None) is read as JSON lines, to fail with the reader's clear words.
        if inner is None or not inner.strip() or inner.lstrip().startswith(b"{"):
            return JSON_LINES
        return JSON_LINES if source.name.endswith(_JSON_SUFFIXES) else None
    if head.lstrip().startswith(b"{"):
        return JSON_LINES
    if source.name.endswith(".parquet"):
        return PARQUET  # DuckDB then says what is wrong with it
    if source.name.endswith(_JSON_SUFFIXES):
        return JSON_LINES
    return None


def _gzip_head(source: Path) -> bytes | None:
    """The first decompressed bytes of a gzip ``source``; ``None`` if they cannot be read."""
    import gzip
    import zlib

    try:
        with open_regular(source) as file, gzip.GzipFile(fileobj=file, mode="rb") as unzipped:
            return unzipped.read(64)
    except (OSError, EOFError, zlib.error):
        return None


def _head(source: Path) -> bytes:
    """The first bytes of ``source``: enough to tell a store, Parquet or JSON lines apart.
    A source that is not a regular file (a named pipe, ``/dev/zero``) is refused here."""
    try:
        with open_regular(source) as file:
            return file.read(64)
    except FileNotFoundError as exc:
        raise CliError(
            f"no events file at {source}",
            hint="pass --source PATH, or create one with 'authfunnel simulate --out PATH'",
        ) from exc
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror}") from exc
