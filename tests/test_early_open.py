"""A file that arrives at a followed path is opened on the inotify thread, at once.

A generation renamed over or deleted a few milliseconds after it appeared is gone by the
time a busy IOLoop looks; only a descriptor opened as its event arrived still reaches it.
These tests make the IOLoop late on purpose (a blocking sleep on the loop's own thread)
while generations come and go, and check that every line arrives, in order, and that no
descriptor is left open.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace

import pytest

from tailsse.following import inotify
from tailsse.following.early import Early, merge
from tailsse.following.follower import Follower
from tailsse.following.missed import GONE, Fates
from tailsse.following.segment import open_segment
from tests.conftest import TEST_CONFIG, CaptureTransport, append

pytestmark = pytest.mark.skipif(not inotify.available(), reason="needs watchdog's inotify callbacks")


def _block_the_loop(seconds: float) -> None:
    """Keep the IOLoop's thread busy, as a loaded machine does: events wait for it."""
    time.sleep(seconds)


async def _wait_for(capture: CaptureTransport, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in capture.text:
        assert time.monotonic() < deadline, f"{text!r} did not arrive: {capture.text[-500:]!r}"
        await asyncio.sleep(0.01)


def _lines(capture: CaptureTransport) -> list[str]:
    return [
        ln[6:] for ln in capture.text.split("\n") if ln.startswith("data: ") and not ln[6:].startswith("{")
    ]


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


class _Served:
    """One log served in-process, a capture subscribed to its stream."""

    def __init__(self, path, config=TEST_CONFIG) -> None:
        from tailsse.webapp.app import make_app

        self.app = make_app(replace(config, paths=(str(path),)))
        self.app.catalog.start()
        self.capture = CaptureTransport()
        self.app.catalog.channels[path.name].subscribe(self.capture, None, 0)

    def close(self) -> None:
        self.app.catalog.close()


async def _ready(served: _Served, log) -> None:
    """Wait until the watch is live: a line written now arrives."""
    append(log, b"ready\n")
    await _wait_for(served.capture, "data: ready\n")


async def test_a_generation_renamed_over_while_the_ioloop_is_late_is_read(io_loop, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    served = _Served(log)
    try:
        await _ready(served, log)
        fresh = tmp_path / "next"
        fresh.write_bytes(b"short-lived 1\nshort-lived 2\n")
        os.rename(fresh, log)
        _block_the_loop(0.005)  # it lives 5 ms, while the IOLoop is held up
        fresh.write_bytes(b"after\n")
        os.rename(fresh, log)  # the first one is unlinked now: only an open descriptor has it
        _block_the_loop(0.05)
        await _wait_for(served.capture, "data: after\n")
        assert _lines(served.capture) == ["ready", "short-lived 1", "short-lived 2", "after"]
        assert "event: lost" not in served.capture.text
    finally:
        served.close()


async def test_a_generation_deleted_while_the_ioloop_is_late_is_read(io_loop, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    served = _Served(log)
    try:
        await _ready(served, log)
        for i in range(3):
            os.remove(log)
            log.write_bytes(b"generation %d\n" % i)
            _block_the_loop(0.005)  # each one lives 5 ms, all while the IOLoop is held up
        _block_the_loop(0.05)
        append(log, b"last\n")
        await _wait_for(served.capture, "data: last\n")
        assert _lines(served.capture) == ["ready", "generation 0", "generation 1", "generation 2", "last"]
    finally:
        served.close()


def _lost_count(capture: CaptureTransport) -> int:
    return capture.text.count("event: lost\n")


@pytest.mark.parametrize("style", ["deleted", "renamed over"])
async def test_a_file_gone_before_it_could_be_opened_is_told_lost(io_loop, tmp_path, style):
    """A file created, written and deleted (or renamed over) within microseconds, before
    its event could be read: no descriptor ever reaches it, so its line is either read
    (the open was quick enough) or the stream says ``lost`` — never skipped in silence."""
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    served = _Served(log)
    try:
        await _ready(served, log)
        rounds = 20
        for i in range(rounds):
            before = _lost_count(served.capture)
            if style == "deleted":
                os.remove(log)
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.write(fd, b"brief %d\n" % i)
                os.close(fd)
                os.remove(log)
                log.write_bytes(b"after %d\n" % i)
            else:
                brief, after = tmp_path / "brief", tmp_path / "after"
                brief.write_bytes(b"brief %d\n" % i)
                after.write_bytes(b"after %d\n" % i)
                os.rename(brief, log)
                os.rename(after, log)  # at once: "brief" was at the path for microseconds
            await _wait_for(served.capture, f"data: after {i}\n")
            got = _lines(served.capture)
            assert (f"brief {i}" in got) != (_lost_count(served.capture) > before), (
                i,
                served.capture.text[-600:],
            )
        # The lines that did arrive came in order, each once.
        got = _lines(served.capture)
        assert len(got) == len(set(got))
        assert [x for x in got if x.startswith("after")] == [f"after {i}" for i in range(rounds)]
        if _lost_count(served.capture):
            how = "deleted" if style == "deleted" else "replaced"
            assert f"a file that arrived at {log} was {how} before it could be opened" in served.capture.text
    finally:
        served.close()


async def test_generations_renamed_away_and_over_keep_their_order(io_loop, tmp_path):
    """Renamed away (still on disk, found by name) and renamed over (only opened early),
    one after the other while the IOLoop is late: read in the order they were at the path."""
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    served = _Served(log)
    fresh = tmp_path / "next"
    try:
        await _ready(served, log)
        append(log, b"a\n")
        os.rename(log, tmp_path / "app.log.1")  # a: renamed away
        fresh.write_bytes(b"b\n")
        os.rename(fresh, log)  # b: renamed over by c below
        _block_the_loop(0.005)
        fresh.write_bytes(b"c\n")
        os.rename(fresh, log)
        _block_the_loop(0.005)
        os.rename(log, tmp_path / "app.log.2")  # c: renamed away
        log.write_bytes(b"d\n")
        _block_the_loop(0.05)
        append(log, b"e\n")
        await _wait_for(served.capture, "data: e\n")
        assert _lines(served.capture) == ["ready", "a", "b", "c", "d", "e"]
    finally:
        served.close()


async def test_no_descriptor_is_left_open_after_rapid_rotations_and_a_close(io_loop, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    warm = _Served(log)  # watchdog's inotify instance lives on: open it before counting
    await _ready(warm, log)
    warm.close()
    before = _open_fds()
    served = _Served(log)
    fresh = tmp_path / "next"
    try:
        await _ready(served, log)
        for i in range(200):
            style = i % 3
            if style == 0:
                fresh.write_bytes(b"")
                os.rename(fresh, log)
            elif style == 1:
                os.rename(log, tmp_path / f"app.log.{i % 5}")
                log.write_bytes(b"")
            else:
                os.remove(log)
                log.write_bytes(b"")
            append(log, b"line %d\n" % i)
            if i % 20 == 0:
                _block_the_loop(0.03)  # descriptors pile up meanwhile
            await asyncio.sleep(0.001)
        await _wait_for(served.capture, "data: line 199\n", timeout=10)
        # The last generations are still arriving, with descriptors opened for them, when it closes.
        for _ in range(5):
            fresh.write_bytes(b"")
            os.rename(fresh, log)
    finally:
        served.close()
    deadline = time.monotonic() + 5
    while (_open_fds() - before) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)  # the inotify thread may be finishing an open: it closes it
    assert _open_fds() - before == set()


# -- the follower's side, without threads ---------------------------------------------------


def test_what_the_events_tell_of_files_never_opened():
    fates = Fates()
    paths = {"/l/app.log"}
    name = "/l/app.log"
    # Created and deleted before the open: possibly lost (its writes are not in the record).
    fates.arrived(name, GONE, paths)
    fates.left(name, "deleted", paths)
    assert len(fates.take("/l/app.log")) == 1
    # Renamed away unopened: still on disk, nothing to say here.
    fates.arrived(name, GONE, paths)
    fates.left(name, "renamed", paths)
    assert fates.take("/l/app.log") == []
    # Its open got the next file (it was gone by then): lost once the next one arrives.
    fates.arrived(name, (1, 7), paths)
    fates.left(name, "deleted", paths)
    assert fates.take("/l/app.log") == []
    fates.arrived(name, (1, 7), paths)
    assert len(fates.take("/l/app.log")) == 1
    # Replaced by the next one before the open: lost; opened in time: nothing.
    fates.arrived(name, (1, 8), paths)
    fates.arrived(name, (1, 8), paths)
    assert len(fates.take("/l/app.log")) == 1
    fates.arrived(name, (1, 9), paths)
    assert fates.take("/l/app.log") == []
    # Not opened for another reason (refused): nothing can be said.
    fates.arrived(name, None, paths)
    fates.arrived(name, (1, 10), paths)
    assert fates.take("/l/app.log") == []


def _early(path, arrived: int) -> Early:
    seg = open_segment(str(path))
    seg.arrived, seg.opened_at = arrived, time.monotonic()
    return Early(seg, str(path), 0, seg.opened_at)


def test_the_follower_reads_files_handed_over_in_order_and_closes_the_rest(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    fol = Follower(str(log), 4096)
    fol.start()
    fresh = tmp_path / "next"
    handed = []
    for i in range(3):
        fresh.write_bytes(b"g%d\n" % i)
        os.rename(fresh, log)
        handed.append(_early(log, i + 1))
    handed.append(_early(log, 4))  # the same file again (two events): read once
    fol.early.adopt(handed)
    items, _ = fol.poll(1 << 20)
    got = [d.decode() for item in items if hasattr(item, "lines") for d in item.lines.data]
    assert got == ["g0", "g1", "g2"]
    assert sum(1 for item in handed if item.seg.closed) == 1  # the twin
    fol.close()
    later = _early(log, 5)
    fol.early.adopt([later])  # handed over after the follower closed: closed at once
    assert later.seg.closed
    assert all(s.closed for s in fol.history)


def test_files_opened_but_not_handed_over_yet_are_collected_before_moving_on(tmp_path):
    """A poll started by a timer can run before the watcher's wake-up: the follower asks
    for what was opened meanwhile instead of going past it."""
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    fol = Follower(str(log), 4096)
    waiting: list[Early] = []
    fol.early.collect = lambda: [waiting.pop() for _ in list(waiting)]
    fol.start()
    fresh = tmp_path / "next"
    fresh.write_bytes(b"b\n")
    os.rename(fresh, log)
    waiting.append(_early(log, 1))  # opened on the watcher's thread, not handed over
    fresh.write_bytes(b"c\n")
    os.rename(fresh, log)
    items, _ = fol.poll(1 << 20)
    assert [d.decode() for item in items if hasattr(item, "lines") for d in item.lines.data] == ["b", "c"]
    fol.close()


def test_a_file_that_arrives_between_the_stat_and_the_hand_over_is_read_once(tmp_path):
    """The poll's stat found the path empty (deleted); the file created just after comes
    with the hand-over: it is followed, not read, reported missing and read again."""
    log = tmp_path / "app.log"
    log.write_bytes(b"a\n")
    fol = Follower(str(log), 4096)
    fol.start()
    os.remove(log)

    def arrives_now() -> list[Early]:
        if log.exists():
            return []
        log.write_bytes(b"b\n")
        return [_early(log, 1)]

    fol.early.collect = arrives_now
    items = fol.poll(1 << 20)[0] + fol.poll(1 << 20)[0]
    assert [d.decode() for item in items if hasattr(item, "lines") for d in item.lines.data] == ["b"]
    assert [item.kind for item in items if hasattr(item, "kind")] == ["rotated"]
    fol.close()


def test_a_file_opened_before_the_current_one_is_closed_and_named_lost(tmp_path):
    log = tmp_path / "app.log"
    fresh = tmp_path / "next"
    fresh.write_bytes(b"old\n")
    os.rename(fresh, log)
    stale = _early(log, 1)
    fresh.write_bytes(b"new\n")
    os.rename(fresh, log)
    fol = Follower(str(log), 4096)
    fol.start()  # opens "new": "old" was at the path before it
    fresh.write_bytes(b"newer\n")
    os.rename(fresh, log)
    fol.early.adopt([stale])
    items, _ = fol.poll(1 << 20)
    kinds = [getattr(item, "kind", None) for item in items]
    assert stale.seg.closed
    assert "lost" not in kinds  # written before the follower began: not one of its lines
    fol.close()


def test_a_file_found_only_after_a_newer_one_was_opened_is_named_lost(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"a\n")
    fol = Follower(str(log), 4096)
    fol.start()
    fresh = tmp_path / "next"
    fresh.write_bytes(b"b\n")
    os.rename(fresh, log)
    late = _early(log, 1)  # opened on its event, handed over only after ...
    fresh.write_bytes(b"c\n")
    os.rename(fresh, log)
    first, _ = fol.poll(1 << 20)  # ... the follower opened "c" at the path itself
    fol.early.adopt([late])
    fresh.write_bytes(b"d\n")
    os.rename(fresh, log)
    second, _ = fol.poll(1 << 20)
    kinds = [getattr(item, "kind", None) for item in [*first, *second]]
    got = [d.decode() for item in [*first, *second] if hasattr(item, "lines") for d in item.lines.data]
    assert got == ["c", "d"] and kinds.count("lost") == 1 and late.seg.closed
    fol.close()


def test_merge_puts_files_in_the_order_they_were_at_the_path(tmp_path):
    """f0, f2, f4 were renamed away (f2 also opened early), f1 and f3 only opened early."""
    paths = [tmp_path / f"f{i}" for i in range(5)]
    for p in paths:
        p.write_bytes(b"")

    def found(i: int, left: int):
        seg = open_segment(str(paths[i]))
        seg.left = left
        return seg

    early = [_early(paths[1], 2), _early(paths[2], 4), _early(paths[3], 6)]
    renamed = [found(0, 1), found(2, 5), found(4, 9)]
    order = merge(early, renamed)
    assert [os.fstat(s.fd).st_ino for s in order] == [os.stat(p).st_ino for p in paths]
    assert renamed[1].closed and not early[1].seg.closed  # f2 is read through the early one
    for s in order:
        s.close()
