"""Merging what several files' reads brought by the lines' own times.

Used by merged streams (merged.py) for viewers catching up and for the live head's turn of
the IOLoop. A merge, never a sort: each file's lines keep their order, so its positions
only move forward.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from tailsse.following.follower import Batch, Change
from tailsse.following.lines import Lines
from tailsse.history.timestamps import line_time
from tailsse.sources.files import FileCursor

Times = dict[int, list[float | None]]  # each batch's lines' times, by id() of the batch


def last_time(items: list[Batch | Change], times: Times) -> float | None:
    """The time of the last dated line among items (None: no dated line)."""
    for item in reversed(items):
        if isinstance(item, Batch):
            for seconds in reversed(times[id(item)]):
                if seconds is not None:
                    return seconds
    return None


def in_time_order(
    reads: list[tuple[int, list[Batch | Change], FileCursor | None]],
) -> Iterator[tuple[int, list[Batch | Change]]]:
    """The batches of several files read in one turn, merged by the lines' own times (each
    file's lines keep their order); one file's, or any without a head now, as they came."""
    heads = [(index, items, head) for index, items, head in reads if head is not None]
    if len(reads) < 2 or len(heads) < len(reads):
        for index, items, _ in reads:
            yield index, items
        return
    times = {
        id(i): [line_time(d) for d in i.lines.data]
        for _, items, _ in heads
        for i in items
        if isinstance(i, Batch)
    }
    for index, items, _ in by_time(heads, None, times):
        yield index, items


def by_time(
    reads: list[tuple[int, list[Batch | Change], FileCursor]], horizon: float | None, times: Times
) -> Iterator[tuple[int, list[Batch | Change], FileCursor]]:
    """What was read from each file, cut at ``horizon``, merged by time into runs of one file each.

    Lines dated after the horizon (the earliest last time among files still behind) stay
    unread: the next read may find earlier lines in those files. Each file's runs keep
    their order (a merge, never a sort), so its positions only move forward.
    """
    per_file = [list(_runs(index, items, after, horizon, times)) for index, items, after in reads]
    for _, index, items, after in heapq.merge(*per_file, key=lambda run: run[0]):
        yield index, items, after


def _runs(
    index: int, items: list[Batch | Change], after: FileCursor, horizon: float | None, times: Times
) -> Iterator[tuple[float, int, list[Batch | Change], FileCursor]]:
    """One file's items as (time, file, items, cursor after them), a run per stretch of equal time."""
    when = float("-inf")
    for item in items:
        if not isinstance(item, Batch):
            yield when, index, [item], after
            continue
        lines, seg = item.lines, item.segment
        epoch = after.epoch if after.segment is seg else seg.epoch
        start = 0
        for k, seconds in enumerate(times[id(item)]):
            if seconds is None or seconds == when:
                continue
            if k > start:  # the run of lines dated ``when`` ends here
                yield (
                    when,
                    index,
                    [Batch(seg, 0, _slice(lines, start, k))],
                    FileCursor(seg, lines.ends[k - 1], epoch),
                )
            if horizon is not None and seconds > horizon:
                return  # the rest stays unread
            start, when = k, seconds
        if start < len(lines):
            yield when, index, [Batch(seg, 0, _slice(lines, start, len(lines)))], after


def _slice(lines: Lines, start: int, stop: int) -> Lines:
    """Lines ``start`` to ``stop`` of a batch, with their fingerprints and pieces."""
    if start == 0 and stop == len(lines):
        return lines
    pieces = {i - start for i in lines.pieces if start <= i < stop} if lines.pieces else None
    early = lines.early[start:stop] if lines.early and start < len(lines.early) else None
    data = lines.data[start:stop]
    return Lines(
        lines.ends[start:stop], data, pieces or None, any(b"\r" in d for d in data), early, lines.head
    )
