"""The wake-up path: a write reaches the IOLoop with no thread in between."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tailsse.following import inotify
from tailsse.following.follower import NEAR_END, Follower
from tailsse.following.segment import Segment
from tailsse.following.watch import Watcher

pytestmark = pytest.mark.skipif(not inotify.available(), reason="inotify (Linux) only")


async def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_a_write_wakes_the_ioloop_while_watchdogs_thread_is_stuck(io_loop, tmp_path, monkeypatch):
    """Writes do not go through watchdog's reader thread: with that thread held up, a
    write is still reported, on the IOLoop's own thread."""
    stuck = threading.Event()
    release = threading.Event()
    real_event = inotify.DirectWatches.event

    def held(self, directory, event):
        stuck.set()
        release.wait(10)
        real_event(self, directory, event)

    monkeypatch.setattr(inotify.DirectWatches, "event", held)
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    changes: list[str] = []
    writes: list[tuple[str, int]] = []
    watcher = Watcher(
        lambda path, early: changes.append(path),
        False,
        60.0,
        lambda path: writes.append((path, threading.get_ident())),
    )
    watcher.watch(str(log))
    watcher.start(io_loop)
    try:
        (tmp_path / "other").write_bytes(b"")  # a creation: the reader thread is held in it
        assert await asyncio.to_thread(stuck.wait, 5)
        with open(log, "ab") as f:
            f.write(b"a line\n")
        await _until(lambda: writes)
        assert writes[0] == (str(log), threading.get_ident())
    finally:
        release.set()
        watcher.stop()


def test_at_the_end_of_the_file_a_follower_reads_a_little(tmp_path, monkeypatch):
    """Once a read found the end of the file, the next one asks for NEAR_END bytes, not a
    whole chunk (a large read buffer costs a fresh allocation each time, for a few lines)."""
    log = tmp_path / "app.log"
    log.write_bytes(b"old\n")
    fol = Follower(str(log), 65536, chunk=256 * 1024)
    fol.start()
    asked: list[int] = []
    real = Segment.read

    def spy(self, offset, stop, max_bytes, max_line):
        asked.append(max_bytes)
        return real(self, offset, stop, max_bytes, max_line)

    monkeypatch.setattr(Segment, "read", spy)
    with open(log, "ab") as f:
        f.write(b"x" * 300_000 + b"\n")
    fol.poll(1 << 30)
    assert asked[0] == 256 * 1024 and len(asked) >= 2  # a big write: whole chunks
    asked.clear()
    for i in range(3):
        with open(log, "ab") as f:
            f.write(b"line %d\n" % i)
        items, more = fol.poll(1 << 30)
        assert not more and [b.lines.data for b in items] == [[b"line %d" % i]]
    assert asked == [NEAR_END] * 3  # one small read each: the end is seen without a second
    fol.close()
