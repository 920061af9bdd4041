"""A Redis stream's past: history, search and time over XRANGE / XREVRANGE.

The same answers as for a followed file (:mod:`tailsse.history`), within what the stream
keeps: ids are entry ids, search scans backwards a bounded number of entries per request,
and time starts at the entries that arrived at the moment asked for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from tailsse.history.query import Query
from tailsse.history.search import SEARCH_BYTES, SEARCH_SECONDS
from tailsse.history.timestamps import line_time
from tailsse.redis_streams.keys import as_entries, format_id, parse_id, previous_id
from tailsse.redis_streams.retry import Retrying
from tailsse.sources.base import HistoryError, HistoryLine, LinesPage, MatchesOut, SearchPage, TimeFound

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")
Id = tuple[int, int]
Entry = tuple[bytes, dict[bytes, bytes]]
READ_COUNT = 1000  # entries per XRANGE / XREVRANGE
HISTORY_TIMEOUT = 5.0  # seconds a history request waits for Redis
TIME_PAGES = 10  # pages of entries /api/time looks through after the moment asked for


def _entry_lines(entries: list[Entry]) -> list[HistoryLine]:
    """The lines among stream entries (notices are not lines), with their ids."""
    return [
        HistoryLine(entry_id.decode(), fields[b"d"].decode("utf-8", "replace"))
        for entry_id, fields in entries
        if b"d" in fields
    ]


def _before(entry_id: bytes) -> str:
    """The id just before an entry's: where a backwards scan continues."""
    return format_id(previous_id(parse_id(entry_id) or (0, 0)))


class StreamHistory:
    """The history requests of one stream."""

    def __init__(self, key: str, redis: Retrying) -> None:
        self.key = key
        self.redis = redis

    async def _history(self, op: Callable[[Redis], Awaitable[T]]) -> T:
        """One request's Redis calls: answered now, or a 503 (a request never waits for Redis)."""
        from redis.exceptions import RedisClusterException, RedisError

        if self.redis.error:
            raise HistoryError(503, f"Redis cannot be reached: {self.redis.error}")
        try:
            return await asyncio.wait_for(op(self.redis.client), HISTORY_TIMEOUT)
        except (RedisError, RedisClusterException, OSError, asyncio.TimeoutError) as exc:
            raise HistoryError(503, f"Redis did not answer: {exc or type(exc).__name__}") from None

    def _anchor(self, anchor: str) -> Id:
        pos = parse_id(anchor)
        if pos is None:
            raise HistoryError(400, f"{anchor!r} is not an event id of this stream")
        return pos

    async def _first(self, r: Redis) -> Id | None:
        """The oldest entry the stream keeps."""
        entries = as_entries(await r.xrange(self.key, "-", "+", count=1))
        return parse_id(entries[0][0]) if entries else None

    def _check_kept(self, pos: Id, first: Id | None) -> None:
        if first is None or pos < previous_id(first):
            raise HistoryError(410, "that line is older than the lines Redis keeps for this stream")

    async def lines(self, anchor: str | None, forward: bool, count: int) -> LinesPage:
        pos = self._anchor(anchor) if anchor is not None else None

        async def fetch(r: Redis) -> tuple[Id | None, list[Entry]]:
            first = await self._first(r)
            if forward:
                low = "-" if pos is None else "(" + format_id(pos)
                return first, as_entries(await r.xrange(self.key, low, "+", count=count + 1))
            high = "+" if pos is None else format_id(pos)
            return first, as_entries(await r.xrevrange(self.key, high, "-", count=count + 1))

        first, entries = await self._history(fetch)
        if pos is not None:
            self._check_kept(pos, first)
        more = len(entries) > count
        entries = entries[:count] if forward else list(reversed(entries[:count]))
        return LinesPage(_entry_lines(entries), more)

    async def search(
        self, query: Query, before: str | None, limit: int, out: MatchesOut | None = None
    ) -> SearchPage:
        high = "+" if before is None else format_id(self._anchor(before))

        async def scan(r: Redis) -> SearchPage:
            matches: list[HistoryLine] = []
            scanned = 0
            upper = high
            began = time.monotonic()
            while True:
                entries = as_entries(await r.xrevrange(self.key, upper, "-", count=READ_COUNT))
                for entry_id, fields in entries:
                    line = fields.get(b"d")
                    if line is None:
                        continue
                    scanned += len(line) + 1
                    if query.find(line, 0, len(line)) >= 0:
                        matches.append(HistoryLine(entry_id.decode(), line.decode("utf-8", "replace")))
                        if len(matches) == limit:
                            return SearchPage(matches, _before(entry_id), scanned, None)
                if len(entries) < READ_COUNT:
                    return SearchPage(matches, None, scanned, None)
                upper = _before(entries[-1][0])
                if scanned >= SEARCH_BYTES or time.monotonic() - began >= SEARCH_SECONDS:
                    return SearchPage(matches, upper, scanned, None)
                await asyncio.sleep(0)

        if before is not None:
            self._check_kept(self._anchor(before), await self._history(self._first))
        return await self._history(scan)

    async def find_time(self, moment: float) -> TimeFound:
        """The stream's entries are ordered by arrival: a line written at ``moment`` arrived then or later.

        So the scan starts at the first entry that arrived at ``moment`` and takes the first
        line whose own time (or, for a line without one, its arrival) is at or after it.
        """

        async def scan(r: Redis) -> TimeFound:
            low = f"{max(0, int(moment * 1000))}-0"
            for _ in range(TIME_PAGES):
                entries = as_entries(await r.xrange(self.key, low, "+", count=READ_COUNT))
                for entry_id, fields in entries:
                    line = fields.get(b"d")
                    if line is None:
                        continue
                    own = line_time(line)
                    arrived = (parse_id(entry_id) or (0, 0))[0] / 1000
                    seconds = own if own is not None else arrived
                    if seconds >= moment:
                        return TimeFound(
                            HistoryLine(entry_id.decode(), line.decode("utf-8", "replace")), seconds
                        )
                if len(entries) < READ_COUNT:
                    break
                low = "(" + entries[-1][0].decode()
            return TimeFound(None, None)

        return await self._history(scan)
