"""The collector acknowledges only what is on disk, and a torn last line swallows nothing."""

from __future__ import annotations

import errno
import http.client
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from authfunnel.cli.devserver import read_messages
from authfunnel.cli.devserver._collector_store import AppendFile
from tests.cli.devserver.collector_support import post_batch, track
from tests.cli.telemetry.servers import collector, stats, stored_ids


class FillingDisk(AppendFile):
    """A real store file on a disk that is full while ``full`` is set: an append writes part
    of its data, then fails with ENOSPC, as a write to a filling disk does."""

    full = False
    truncate_fails = False
    sync_fails = False

    def append(self, data: bytes) -> None:
        if type(self).full:
            super().append(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super().append(data)

    def sync(self) -> None:
        if type(self).sync_fails:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        super().sync()

    def truncate(self, size: int) -> None:
        if type(self).truncate_fails:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        super().truncate(size)


def filling_disk(**state: bool) -> type[FillingDisk]:
    """A fresh ``FillingDisk`` class: its switches are per class, as the opener makes files."""
    return type("FillingDiskNow", (FillingDisk,), dict(state))


def whole_lines(store: Path) -> list[dict[str, object]]:
    """Every line of ``store`` as JSON: fails on a partial line."""
    data = store.read_bytes()
    assert not data or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


def test_a_batch_that_cannot_be_written_is_503_and_stored_when_sent_again(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    disk = filling_disk(full=True)
    batch = [track(n) for n in range(3)]
    with collector(store, opener=disk.open) as server:
        status, payload = post_batch(server.url, batch)
        assert (status, payload["code"]) == (503, "store_failed")
        assert stats(server.url)["stored"] == 0
        assert whole_lines(store) == []  # the half-written lines were cut back off
        disk.full = False
        assert post_batch(server.url, batch)[0] == 200
        counts = stats(server.url)
    assert stored_ids(store) == [message["messageId"] for message in batch]
    assert (counts["stored"], counts["duplicates"], counts["failed_writes"]) == (3, 0, 1)


def test_a_batch_whose_sync_fails_is_not_acknowledged(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    disk = filling_disk(sync_fails=True)
    batch = [track()]
    with collector(store, opener=disk.open) as server:
        assert post_batch(server.url, batch)[0] == 503
        disk.sync_fails = False
        assert post_batch(server.url, batch)[0] == 200
        assert stats(server.url)["duplicates"] == 0
    assert stored_ids(store) == [batch[0]["messageId"]]


def test_a_failed_write_that_could_not_be_cut_off_is_cut_before_the_next(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    disk = filling_disk(full=True, truncate_fails=True)
    first, second = track(1), track(2)
    with collector(store, opener=disk.open) as server:
        assert post_batch(server.url, [first])[0] == 503
        disk.full = disk.truncate_fails = False
        assert post_batch(server.url, [second])[0] == 200
        assert post_batch(server.url, [first])[0] == 200
    assert [line["messageId"] for line in whole_lines(store)] == [
        second["messageId"],
        first["messageId"],
    ]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KB filesystem (tmpfs), grown later with ``grow``; needs root, as CI has."""
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command here to make a 64 KB filesystem")
    disk = tmp_path / "disk"
    disk.mkdir()
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a 64 KB tmpfs (needs root): {made.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def grow(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=1m", str(disk)], check=True)


def posted(url: str, message: dict[str, object]) -> bool:
    """Whether the collector acknowledged ``message`` (no answer at all is no)."""
    try:
        return post_batch(url, [message])[0] == 200
    except (http.client.HTTPException, ConnectionError):
        return False


def test_on_a_disk_that_fills_up_every_acknowledged_message_is_stored(small_disk: Path) -> None:
    store = small_disk / "store.jsonl"
    messages = [track(n, properties={"pad": "x" * 1500}) for n in range(100)]
    with collector(store) as server:
        refused = [message for message in messages if not posted(server.url, message)]
        counted = stats(server.url)["stored"]
        assert 0 < len(refused) < len(messages)  # the disk did fill up half way
        assert counted == len(stored_ids(store)) == len(messages) - len(refused)
        grow(small_disk)
        for message in refused:
            assert posted(server.url, message)
        counts = stats(server.url)
    assert sorted(stored_ids(store)) == sorted(str(m["messageId"]) for m in messages)
    assert (counts["stored"], counts["duplicates"]) == (100, 0)
    assert len(whole_lines(store)) == 100


TORN = b'{"type":"track","event":"Half","messageId":"torn-1","anonym'


def test_a_torn_last_line_does_not_swallow_the_next_message(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    kept = track(0)
    store.write_bytes(json.dumps(kept).encode() + b"\n" + TORN)
    later = track(1)
    with collector(store) as server:
        assert post_batch(server.url, [later])[0] == 200
        assert stats(server.url)["torn"] == 1
    assert [line["messageId"] for line in whole_lines(store)] == [
        kept["messageId"],
        later["messageId"],
    ]
    assert (tmp_path / "store.jsonl.torn").read_bytes() == TORN + b"\n"


def test_a_whole_last_message_without_its_newline_is_kept_and_ended(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    kept = track(0)
    store.write_bytes(json.dumps(kept).encode())
    later = track(1)
    with collector(store) as server:
        post_batch(server.url, [kept, later])
        counts = stats(server.url)
    assert [line["messageId"] for line in whole_lines(store)] == [
        kept["messageId"],
        later["messageId"],
    ]
    assert (counts["stored"], counts["duplicates"], counts["torn"]) == (2, 1, 0)


def test_reading_a_store_skips_a_torn_line_cut_inside_a_character(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    kept = track(0)
    store.write_bytes(json.dumps(kept).encode() + b'\n{"event":"caf\xc3')
    assert [message["messageId"] for message in read_messages(store)] == [kept["messageId"]]
    with collector(store) as server:
        assert stats(server.url)["torn"] == 1
    assert whole_lines(store) == [kept]
