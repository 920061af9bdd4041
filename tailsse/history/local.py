"""A followed file's past, as the history API asks for it: ids in, pages out."""

from __future__ import annotations

from collections.abc import Callable

from tailsse.following.follower import Follower
from tailsse.following.lines import Position
from tailsse.history.dating import NoTimes
from tailsse.history.query import Query
from tailsse.history.search import search
from tailsse.history.timeline import Place, Timeline
from tailsse.loop import give_way
from tailsse.sources.base import HistoryError, LinesPage, MatchesOut, SearchPage, TimeFound

NO_TIMES = (
    "no line of this file has a recognisable timestamp "
    "(ISO 8601, syslog, common log format, or a JSON time/ts/timestamp field)"
)


class FileHistory:
    """History, search and time for one followed path, from its files on disk."""

    def __init__(self, follower: Follower, max_line: int, chunk: int, refresh: Callable[[], None]) -> None:
        self.follower = follower
        self.refresh = refresh  # brings the head up to date
        self.max_line = max_line
        self.chunk = chunk

    def _timeline(self, refresh: bool = True) -> Timeline:
        """The generations still on disk and the file up to the head, for one request."""
        fol = self.follower
        if refresh:
            self.refresh()  # the head as it is now
        queued = frozenset(seg.ino for seg in fol.queue)  # rotated away, not yet read
        return Timeline(fol.path, fol.segment, fol.pos, self.max_line, self.chunk, skip=queued)

    def _place(self, timeline: Timeline, event_id: str) -> Place:
        pos = Position.parse(event_id)
        if pos is None:
            raise HistoryError(400, f"{event_id!r} is not an event id of this file")
        place = timeline.locate(pos)
        if place is None:
            raise HistoryError(410, "that line is no longer in the file or its rotated generations")
        return place

    async def lines(self, anchor: str | None, forward: bool, count: int) -> LinesPage:
        with self._timeline() as timeline:
            if anchor is not None:
                place = self._place(timeline, anchor)
            else:
                edge = timeline.start() if forward else timeline.end()
                if edge is None:
                    return LinesPage([], False)
                place = edge
            found, more = timeline.after(place, count) if forward else timeline.before(place, count)
            return LinesPage(found, more)

    async def search(
        self, query: Query, before: str | None, limit: int, out: MatchesOut | None = None
    ) -> SearchPage:
        # A search is asked for again and again as a client pages through a file: between
        # its steps on the IOLoop (reading the request, bringing the head up to date,
        # opening the timeline, asking the scanner, finishing, logging), live lines that
        # arrived meanwhile go first (each step is 0.1 to 0.35 ms).
        await give_way()
        self.refresh()
        await give_way()
        with self._timeline(refresh=False) as timeline:
            await give_way()
            place = self._place(timeline, before) if before is not None else timeline.end()
            if place is None:
                return SearchPage([], None, 0, 0)
            matches, more, scanned = await search(timeline, query, place, limit, out)
            return SearchPage(matches, timeline.event_id(more) if more else None, scanned, timeline.size())

    async def find_time(self, moment: float) -> TimeFound:
        with self._timeline() as timeline:
            try:
                return timeline.find_time(moment)
            except NoTimes:
                raise HistoryError(422, NO_TIMES) from None
