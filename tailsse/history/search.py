"""Searching a log's timeline backwards, a bounded amount per request.

The scan reads blocks backwards from a line boundary (whole lines only) and finds matches
with :class:`~tailsse.history.query.Query`. It runs on a worker thread: reading
(``preadv``) and matching (RE2) run without the GIL, so the IOLoop goes on serving live
streams on the other core while a search runs, instead of taking turns with it. The
block size adapts so one block takes about BLOCK_SECONDS. A request ends at
``limit`` matches, SEARCH_BYTES scanned or SEARCH_SECONDS spent, and says where the next
one continues.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, TypeVar

from tailsse.history.query import Query
from tailsse.history.timeline import Part, Place, Timeline, history_line
from tailsse.sources.base import HistoryLine

BLOCK_SECONDS = 0.004  # what one block should take to scan
BLOCK_MIN, BLOCK_MAX = 64 * 1024, 4 * 1024 * 1024
SEARCH_BYTES = 64 * 1024 * 1024  # bytes one search request scans at most
SEARCH_SECONDS = 0.5  # and for at most this long
WORKERS = 2  # threads scanning blocks, shared by all searches

_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="tailsse-search")
T = TypeVar("T")


async def search(
    timeline: Timeline, query: Query, place: Place, limit: int
) -> tuple[list[HistoryLine], Place | None, int]:
    """Lines matching ``query`` at or before ``place``, newest first.

    The scan runs on a worker thread, for at most SEARCH_BYTES or SEARCH_SECONDS;
    returns the matches, where to continue (None: the beginning was reached) and how
    many bytes were scanned.
    """
    loop = asyncio.get_running_loop()
    return await _finished(loop.run_in_executor(_pool, scan, timeline, query, place, limit))


def scan(
    timeline: Timeline, query: Query, place: Place, limit: int
) -> tuple[list[HistoryLine], Place | None, int]:
    """:func:`search`'s work, blocking: backwards block by block from ``place``."""
    matches: list[HistoryLine] = []
    scanned = 0
    block = BLOCK_MIN * 4
    began = time.monotonic()
    buffer = _Buffer()
    try:
        at = timeline.older(place)
        while at.offset > 0:
            part = timeline.parts[at.index]
            tick = time.monotonic()
            size = max(BLOCK_MIN, min(block, SEARCH_BYTES - scanned))
            need = limit - len(matches)
            start, found = _search_block(query, part, at.offset, size, timeline.max_line, buffer, need)
            matches += [line for _, line in found]
            if len(matches) == limit:
                line_start = found[-1][0]
                scanned += at.offset - line_start
                more = Place(at.index, line_start)
                return matches, more if timeline.has_before(more) else None, scanned
            scanned += at.offset - start
            at = timeline.older(Place(at.index, start))
            now = time.monotonic()
            block = _next_block(block, now - tick)
            if scanned >= SEARCH_BYTES or now - began >= SEARCH_SECONDS:
                return matches, at if timeline.has_before(at) else None, scanned
        return matches, None, scanned
    finally:
        buffer.done()


async def _finished(job: Awaitable[T]) -> T:
    """The scan's result; when the request is cancelled, still waits for the scan.

    The scan reads the timeline's open files, which are closed once the request ends: a
    read must not outlive them (the descriptor could be another file's by then).
    """
    task = asyncio.ensure_future(job)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


class _Buffer:
    """A reusable read buffer: reading into it spares a fresh allocation per block.

    Buffers are kept for the next search (one per search running at the same time, up
    to WORKERS + 2).
    """

    spare: ClassVar[list[bytearray]] = []

    def __init__(self) -> None:
        try:  # list.pop is atomic: scans on several threads never share a buffer
            self.store = self.spare.pop()
        except IndexError:
            self.store = bytearray(BLOCK_MAX)

    def done(self) -> None:
        if len(self.store) == BLOCK_MAX and len(self.spare) < WORKERS + 2:
            self.spare.append(self.store)

    def read(self, fd: int, start: int, stop: int) -> memoryview:
        if stop - start > len(self.store):
            self.store = bytearray(stop - start)
        got = os.preadv(fd, [memoryview(self.store)[: stop - start]], start)
        return memoryview(self.store)[:got]


def _search_block(
    query: Query, part: Part, stop: int, block: int, max_line: int, buffer: _Buffer, need: int
) -> tuple[int, list[tuple[int, HistoryLine]]]:
    """The newest ``need`` matching lines among the whole lines just before ``stop``, newest first, with their starts."""
    seg = part.seg
    start = max(0, stop - block)
    view = buffer.read(seg.fd, start, stop)
    store = buffer.store
    size = len(view)
    first = 0
    if start > 0:
        cut = store.find(b"\n", 0, size)
        while cut < 0 and start > 0:  # one line longer than the block: take all of it
            start = max(0, start - block)
            view = buffer.read(seg.fd, start, stop)
            store, size = buffer.store, len(view)
            cut = store.find(b"\n", 0, size) if start > 0 else -1
        first = cut + 1
    hits: list[tuple[int, int]] = []
    at = first
    while at < size:
        hit = query.find(view, at, size)
        if hit < 0:
            break
        line_start = store.rfind(b"\n", first, hit) + 1 or first
        line_end = store.find(b"\n", hit, size)
        if line_end < 0:
            line_end = size
        hits.append((line_start, line_end))
        at = line_end + 1
    found = []
    prefix = f"{seg.ino:x}-"
    complete = size > 0 and store[size - 1] == 0x0A
    for line_start, line_end in reversed(hits[-need:]):
        end = start + line_end + (1 if line_end < size else 0)
        piece = line_end == size and not complete
        data = bytes(view[line_start:line_end])
        found.append(
            (start + line_start, history_line(prefix, end, seg.fingerprint(end), data, piece, max_line))
        )
    return start + first, found


def _next_block(block: int, took: float) -> int:
    """The next block size, aiming at BLOCK_SECONDS per block."""
    if took <= 0:
        return min(BLOCK_MAX, block * 2)
    return max(BLOCK_MIN, min(BLOCK_MAX, int(block * BLOCK_SECONDS / took)))
