"""Finding a time in a log by bisecting its files, not by reading them.

Lines are assumed to be roughly in time order (they are appended as they happen): the
file whose last dated line is at or after the moment holds the answer, and within it a
probe at the middle of a byte range says which half. Lines without a time (continuation
lines of a stack trace) are stepped over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol

from tailsse.following.segment import Segment
from tailsse.history.timestamps import line_time

PROBE_BYTES = 1024 * 1024  # how far a probe looks for a line with a timestamp
TIME_WINDOW = 64 * 1024  # below this, bisecting gives way to reading line by line


class Part(Protocol):
    """A file of the log, read up to ``end``; ``mtime`` dates syslog lines."""

    seg: Segment
    end: int
    mtime: float


class NoTimes(LookupError):
    """No line of the log has a recognisable time."""


class Dated(NamedTuple):
    """A line with a time: its file, where it starts and ends, and the time."""

    part: Part
    start: int
    end: int
    seconds: float


def find_time(parts: Sequence[Part], moment: float) -> Dated | None:
    """The first line whose own time is at or after ``moment`` (None: every line is older).

    Raises :class:`NoTimes` when no line has a recognisable time.
    """
    dated = False
    for part in parts:
        last = _last_time(part)
        if last is None:
            continue
        dated = True
        if last < moment:
            continue
        return _bisect(part, moment)
    if not dated:
        raise NoTimes
    return None


def _dated(part: Part, at: int, limit: int) -> Iterator[tuple[int, int, float]]:
    """The lines with a time that start at or after ``at`` and before ``limit``: (start, end, time).

    Reads forward in blocks that grow from a few kilobytes, so a probe that finds a
    dated line at once costs one small read.
    """
    seg = part.seg
    stop = min(part.end, limit)
    pos = at
    block = 4096
    aligned = pos == 0 or os.pread(seg.fd, 1, pos - 1) == b"\n"
    while pos < stop:
        buf = os.pread(seg.fd, min(block, part.end - pos), pos)
        if not buf:
            return
        line_start = 0
        if not aligned:
            nl = buf.find(b"\n")
            if nl < 0:
                pos += len(buf)
                continue
            line_start, aligned = nl + 1, True
        while pos + line_start < stop:
            nl = buf.find(b"\n", line_start)
            if nl < 0:
                break
            seconds = line_time(buf[line_start:nl], part.mtime)
            if seconds is not None:
                yield pos + line_start, pos + nl + 1, seconds
            line_start = nl + 1
        if line_start == 0:
            aligned = False  # a line longer than the block: skip the rest of it
            line_start = len(buf)
        pos += line_start
        block = min(block * 4, TIME_WINDOW)


def _probe(part: Part, at: int, limit: int) -> tuple[int, int, float] | None:
    """The first line with a time that starts at or after ``at`` (looking PROBE_BYTES ahead)."""
    return next(_dated(part, at, min(limit, at + PROBE_BYTES)), None)


def _last_time(part: Part) -> float | None:
    """The time of the last dated line of a file (looking back at most PROBE_BYTES)."""
    seg = part.seg
    size = 4096
    while True:
        start = max(0, part.end - size)
        buf = os.pread(seg.fd, part.end - start, start)
        for line in reversed(buf.split(b"\n")[1 if start > 0 else 0 :]):
            seconds = line_time(line, part.mtime)
            if seconds is not None:
                return seconds
        if start == 0 or size >= PROBE_BYTES:
            return None
        size *= 16


def _bisect(part: Part, moment: float) -> Dated | None:
    lo, hi = 0, part.end
    best: tuple[int, int, float] | None = None
    while hi - lo > TIME_WINDOW:
        mid = (lo + hi) // 2
        found = _probe(part, mid, hi)
        if found is None:
            hi = mid
        elif found[2] >= moment:
            best, hi = found, found[0]
        else:
            lo = found[1]
    # Close enough: the first dated line at or after the moment, reading line by line.
    for found in _dated(part, lo, part.end):
        if best is not None and found[0] >= best[0]:
            break
        if found[2] >= moment:
            best = found
            break
    return Dated(part, *best) if best is not None else None
