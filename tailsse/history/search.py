"""Searching a log's timeline backwards, a bounded amount per request.

The scan itself (scan.py) runs in a scanner process beside the server (scanner.py), so
the IOLoop only sends it the timeline's open files and gets back the matches as the
answer's JSON, ids and all, or has them written to the client directly (a
``MatchesOut``): live streams keep their latency while a search runs, whatever the search
costs. A request ends at ``limit`` matches, SEARCH_BYTES scanned or SEARCH_SECONDS spent,
and says where the next one continues.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from tailsse.history import scanner
from tailsse.history.query import Query
from tailsse.history.scan import BLOCK_MIN, Answer, Request, answer
from tailsse.history.timeline import Place, Timeline
from tailsse.loop import give_way
from tailsse.sources.base import AnswerCut, MatchesOut, RawJSON

log = logging.getLogger(__name__)

SEARCH_BYTES = 64 * 1024 * 1024  # bytes one search request scans at most
SEARCH_SECONDS = 0.5  # and for at most this long

_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tailsse-search")
_warned = False

__all__ = ["BLOCK_MIN", "SEARCH_BYTES", "SEARCH_SECONDS", "search"]


async def search(
    timeline: Timeline, query: Query, place: Place, limit: int, out: MatchesOut | None = None
) -> tuple[RawJSON | None, Place | None, int]:
    """Lines matching ``query`` at or before ``place``, newest first.

    Returns the matches (as the answer's JSON list already; None: the scanner wrote them to
    ``out``), where to continue (None: the beginning was reached) and how many bytes were
    scanned.
    """
    fds = [part.seg.fd for part in timeline.parts]
    req = Request(
        timeline.ends(),
        query.text,
        query.regex,
        query.case,
        place.index,
        place.offset,
        limit,
        timeline.max_line,
        SEARCH_BYTES,
        SEARCH_SECONDS,
        BLOCK_MIN,
    )
    try:
        if out is None:
            result = await scanner.scanners.run(fds, req)
        else:
            await out.open()
            await give_way()
            result = await scanner.scanners.run([*fds, out.fileno()], replace(req, out=True))
    except scanner.ClientGone as exc:
        raise AnswerCut(str(exc)) from exc
    except scanner.ScannerGone as exc:
        if out is not None and exc.asked and not out.untouched():
            raise AnswerCut(f"{exc}, part of the matches maybe written") from exc
        result = await _on_a_thread(fds, req, query, exc)
        out = None
    more = Place(*result.more) if result.more is not None else None
    return (RawJSON(result.matches) if out is None else None), more, result.scanned


async def _on_a_thread(fds: list[int], req: Request, query: Query, why: Exception) -> Answer:
    """The scan on a thread of the server, when no scanner process can do it."""
    global _warned
    if not _warned:
        log.warning("searching on a thread of the server instead: %s", why)
        _warned = True
    task = asyncio.ensure_future(
        asyncio.get_running_loop().run_in_executor(_threads, answer, fds, req, query)
    )
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        # The scan reads the timeline's open files, which are closed once the request
        # ends: it must not outlive them (the descriptor could be another file's by then).
        await asyncio.wait([task])
        raise
