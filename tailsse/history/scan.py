"""The backwards scan of a search, on plain file descriptors: no IOLoop, no followers.

Run in the scanner process (scanner.py), or on a thread when that process cannot run. It
reads blocks backwards from a line boundary (whole lines only) across the files of a
timeline, oldest first, and finds matches with :class:`~tailsse.history.query.Query`.
The block size adapts so one block takes about BLOCK_SECONDS, small enough to stay in
the processor's cache between the read and the match. A scan ends at ``limit`` matches,
``budget_bytes`` scanned or ``budget_seconds`` spent.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from tailsse.following.lines import FINGERPRINT_BYTES, fingerprint
from tailsse.history.query import Query
from tailsse.history.timeline import history_line, older

BLOCK_SECONDS = 0.00025  # what one block should take to scan
BLOCK_MIN, BLOCK_MAX = 64 * 1024, 4 * 1024 * 1024


class Found(NamedTuple):
    """A matching line: in the ``part``-th file, from ``start``; ``end`` is its id's offset."""

    part: int
    start: int
    end: int
    data: bytes  # the line without its newline, cut at max_line + 1 bytes
    piece: bool  # the file's last bytes, with no newline yet


@dataclass(frozen=True)
class Request:
    """A scan, as the scanner process receives it (with the files' descriptors)."""

    ends: tuple[int, ...]  # how far each file is read
    text: str
    regex: bool
    case: bool
    index: int  # where to start: a line boundary in the index-th file
    offset: int
    limit: int
    max_line: int
    budget_bytes: int
    budget_seconds: float
    block_min: int = BLOCK_MIN
    out: bool = False  # the last descriptor is the client's socket: write the matches to it


class Result(NamedTuple):
    found: list[Found]
    more: tuple[int, int] | None  # (index, offset) where the next scan continues; None: the beginning
    scanned: int


class Answer(NamedTuple):
    """A scan's matches as the API's JSON list already (ids as the stream makes them)."""

    matches: bytes
    more: tuple[int, int] | None
    scanned: int


def answer(fds: list[int], req: Request, query: Query | None = None) -> Answer:
    """:func:`scan`, and its matches encoded where the scan ran, not on the IOLoop."""
    found, more, scanned = scan(fds, req, query)
    return Answer(encode(fds, found, req.max_line), more, scanned)


def encode(fds: list[int], found: list[Found], max_line: int) -> bytes:
    """The lines as the JSON list ``[{"id": ID, "text": TEXT}, ...]`` of a search answer,
    in UTF-8: the bytes the server sends, as they are."""
    inodes: dict[int, int] = {}
    heads: dict[int, int] = {}  # the fingerprint of any offset past the first bytes
    out = []
    for f in found:
        fd = fds[f.part]
        ino = inodes.get(f.part)
        if ino is None:
            ino = inodes[f.part] = os.fstat(fd).st_ino
        if f.end < FINGERPRINT_BYTES:
            check = fingerprint(fd, f.end)
        else:
            check = heads.get(f.part, -1)
            if check < 0:
                check = heads[f.part] = fingerprint(fd, f.end)
        line = history_line(f"{ino:x}-", f.end, check, f.data, f.piece, max_line)
        out.append({"id": line.id, "text": line.text})
    return json.dumps(out).encode()


def scan(fds: list[int], req: Request, query: Query | None = None) -> Result:
    """Matching lines at or before the request's place, newest first (blocking)."""
    query = query or Query(req.text, req.regex, req.case)
    found: list[Found] = []
    scanned = 0
    block = req.block_min * 4
    began = time.monotonic()
    buffer = Buffer()
    ends = req.ends
    try:
        index, offset = older(ends, req.index, req.offset)
        while offset > 0:
            tick = time.monotonic()
            size = max(req.block_min, min(block, req.budget_bytes - scanned))
            start, hits = _block(
                query, fds[index], index, offset, size, req.max_line, buffer, req.limit - len(found)
            )
            found += hits
            if len(found) == req.limit:
                scanned += offset - hits[-1].start
                more = (index, hits[-1].start)
                return Result(found, more if older(ends, *more)[1] > 0 else None, scanned)
            scanned += offset - start
            index, offset = older(ends, index, start)
            now = time.monotonic()
            block = _next_block(block, now - tick, req.block_min)
            if scanned >= req.budget_bytes or now - began >= req.budget_seconds:
                return Result(found, (index, offset) if offset > 0 else None, scanned)
        return Result(found, None, scanned)
    finally:
        buffer.done()


class Buffer:
    """A reusable read buffer: reading into it spares a fresh allocation per block.

    Buffers are kept for the next scan (a few, for scans on several threads at once).
    """

    spare: ClassVar[list[bytearray]] = []

    def __init__(self) -> None:
        try:  # list.pop is atomic: scans on several threads never share a buffer
            self.store = self.spare.pop()
        except IndexError:
            self.store = bytearray(BLOCK_MAX)

    def done(self) -> None:
        if len(self.store) == BLOCK_MAX and len(self.spare) < 4:
            self.spare.append(self.store)

    def read(self, fd: int, start: int, stop: int) -> memoryview:
        if stop - start > len(self.store):
            self.store = bytearray(stop - start)
        got = os.preadv(fd, [memoryview(self.store)[: stop - start]], start)
        return memoryview(self.store)[:got]


def _block(
    query: Query, fd: int, index: int, stop: int, block: int, max_line: int, buffer: Buffer, need: int
) -> tuple[int, list[Found]]:
    """The newest ``need`` matching lines among the whole lines just before ``stop``, newest
    first; and where the lines scanned begin."""
    start = max(0, stop - block)
    view = buffer.read(fd, start, stop)
    store = buffer.store
    size = len(view)
    first = 0
    if start > 0:
        cut = store.find(b"\n", 0, size)
        while cut < 0 and start > 0:  # one line longer than the block: take all of it
            start = max(0, start - block)
            view = buffer.read(fd, start, stop)
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
    complete = size > 0 and store[size - 1] == 0x0A
    found = []
    for line_start, line_end in reversed(hits[-need:]):
        end = start + line_end + (1 if line_end < size else 0)
        data = bytes(view[line_start : min(line_end, line_start + max_line + 1)])
        found.append(Found(index, start + line_start, end, data, line_end == size and not complete))
    return start + first, found


def _next_block(block: int, took: float, least: int) -> int:
    """The next block size, aiming at BLOCK_SECONDS per block."""
    if took <= 0:
        return min(BLOCK_MAX, block * 2)
    return max(least, min(BLOCK_MAX, int(block * BLOCK_SECONDS / took)))
