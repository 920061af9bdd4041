"""A Redis stream that an agent fills, as a Source for a web node (``serve --redis``).

A stream with viewers on this node has one reader task doing ``XREAD BLOCK``; every batch
it gets is published to the fan-out, encoded once. A viewer that starts from a backlog or
a ``Last-Event-ID``, or that stopped draining, reads with ``XRANGE`` from its own cursor and
then joins the head, exactly as with local files: the stream in Redis plays the part of
the file. Event ids are the stream's entry ids, the same on every web node, so a viewer
can resume on any of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from tailsse.redis_streams.connect import xread
from tailsse.redis_streams.history import StreamHistory
from tailsse.redis_streams.keys import (
    LOST_IN_REDIS,
    MAX_SEQ,
    as_entries,
    format_id,
    parse_id,
    previous_id,
    stream_key,
)
from tailsse.redis_streams.retry import Retrying
from tailsse.sources.base import Sink, notice
from tailsse.sse import encode as sse

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

T = TypeVar("T")
Id = tuple[int, int]
Entry = tuple[bytes, dict[bytes, bytes]]
BLOCK_MS = 5000  # longest XREAD BLOCK; a reader with no viewers left stops after it
READ_COUNT = 1000  # entries per XREAD / XRANGE
BACKOFF_MAX = 2.0
REDIS_LOST = (
    "Redis lost lines that the agent had written (a failover to a replica that lagged behind,"
    " or a restart without persistence); continuing with the lines after them"
)


def encode_entries(name: str, entries: list[Entry]) -> bytes:
    """Encode stream entries as SSE events: lines as messages, other entries as named events."""
    parts = []
    for entry_id, fields in entries:
        line = fields.get(b"d")
        if line is not None:
            if b"\r" in line or b"\n" in line:
                parts.append(sse.event(line, id=entry_id))
            else:
                parts.append(b"id: %s\ndata: %s\n\n" % (entry_id, line))
            continue
        kind, _, detail = fields.get(b"k", b"").partition(b"\n")
        if kind == LOST_IN_REDIS:
            body = json.dumps({"file": name, "message": REDIS_LOST}, ensure_ascii=False).encode("utf-8")
            parts.append(sse.event(body, id=entry_id, name=b"lost"))
            continue
        if kind in (b"unavailable", b"available") or kind.endswith(b"-lost"):
            continue  # the web nodes' own events, never carried in a stream
        parts.append(
            notice(name, kind.decode("utf-8", "replace"), detail.decode("utf-8", "replace"), entry_id)
        )
    return b"".join(parts)


def trimmed_after(pos: Id, info: dict[str, Any]) -> bool:
    """Whether entries after ``pos`` may have been trimmed: the oldest one kept is further on.

    Trimming removes the oldest entries, so when the entry right after ``pos`` could still
    be there nothing after it is gone. Stream ids are not dense, so this errs on the side
    of saying so when ``pos`` itself was the last entry trimmed.
    """
    first_entry = info.get("first-entry")
    first = parse_id(first_entry[0]) if first_entry else None
    ms, seq = pos
    following = (ms + 1, 0) if seq >= MAX_SEQ else (ms, seq + 1)
    return first is not None and first > following


async def backlog_point(r: Redis, key: str, end: Id, backlog: int) -> Id:
    """The position just before the last ``backlog`` entries of a stream up to ``end``."""
    oldest: bytes | None = None
    upper = format_id(end)
    left = backlog
    while left > 0:
        count = min(left, READ_COUNT)
        batch = as_entries(await r.xrevrange(key, max=upper, min="-", count=count))
        if not batch:
            break
        oldest = batch[-1][0]
        left -= len(batch)
        if len(batch) < count:
            break
        upper = "(" + oldest.decode()
    if oldest is None:
        return end
    return previous_id(parse_id(oldest) or (0, 0))


@dataclass(frozen=True)
class StreamCursor:
    """After which entry a viewer reads; ``start`` until it has been placed in the stream."""

    pos: Id = (0, 0)
    start: tuple[str | None, int] | None = None  # (Last-Event-ID, backlog) still to resolve


class Health(Protocol):
    """Where a source reports whether Redis answers (the catalog, for /healthz)."""

    @property
    def error(self) -> str: ...

    def note_error(self, error: str) -> None: ...

    def note_ok(self) -> None: ...


class RedisSource:
    """One stream (one file of one agent's source) as seen by this web node."""

    def __init__(self, name: str, client: Redis, health: Health) -> None:
        self._name = name
        self.origin, _, self.file = name.partition("/")
        self.key = stream_key(name)
        self.health = health
        self.redis = Retrying(client, BACKOFF_MAX, on_down=self._set_down, on_up=self._set_up)
        self.past = StreamHistory(self.key, self.redis)
        self.sink: Sink[StreamCursor] | None = None
        self.last: Id | None = None  # the last entry published to the head (None: no reader)
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()  # the reader knows where the stream ends
        self._advanced = asyncio.Event()  # set (and replaced) whenever the head moves

    @property
    def name(self) -> str:
        return self._name

    @property
    def down(self) -> bool:
        return bool(self.redis.error)

    def bind(self, sink: Sink[StreamCursor]) -> None:
        self.sink = sink

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None

    async def _call(self, op: Callable[[Redis], Awaitable[T]]) -> T:
        result = await self.redis.call(op)
        self.health.note_ok()
        return result

    def _set_down(self, error: str) -> None:
        self.health.note_error(error)
        if self.sink is not None:
            self.sink.broadcast(notice(self.name, "unavailable", error))

    def _set_up(self) -> None:
        if self.sink is not None:
            self.sink.broadcast(notice(self.name, "available"))

    # -- the head: one XREAD BLOCK for every viewer of this node --

    def refresh(self) -> None:
        """The reader blocks on Redis already: nothing to do."""

    def _start_reader(self) -> None:
        if self._reader is None:
            self._ready = asyncio.Event()
            self._reader = asyncio.ensure_future(self._read())

    async def _last_id(self, r: Redis) -> Id:
        from redis.exceptions import ResponseError

        try:
            info = await r.xinfo_stream(self.key)
        except ResponseError:
            return (0, 0)  # no stream yet
        return parse_id(info.get("last-generated-id")) or (0, 0)

    async def _read(self) -> None:
        ready = self._ready
        try:
            self.last = await self._call(self._last_id)
            ready.set()
            while True:
                try:
                    entries = await self._call(self._xread)
                except Exception:  # not an outage (say, the key is not a stream): keep trying
                    log.exception("%s: reading the stream failed", self.key)
                    await asyncio.sleep(BACKOFF_MAX)
                    continue
                if entries:
                    self._publish(entries)
                if self.sink is None or not self.sink.viewers():
                    break
        finally:
            if self._ready is ready:
                self._reader = None
                self.last = None

    async def _xread(self, r: Redis) -> list[Entry]:
        """The entries after the head, waiting up to BLOCK_MS for some."""
        reply = await xread(r, self.key, format_id(self.last or (0, 0)), READ_COUNT, BLOCK_MS)
        # One stream asked for: RESP2 answers [[key, entries]], RESP3 {key: entries}.
        streams = list(reply.values()) if isinstance(reply, dict) else [item[1] for item in reply or ()]
        return as_entries(streams[0]) if streams else []

    def _publish(self, entries: list[Entry]) -> None:
        data = encode_entries(self.name, entries)
        previous, self.last = self.last, parse_id(entries[-1][0]) or (0, 0)
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()
        assert self.sink is not None
        self.sink.publish(data, StreamCursor(previous) if previous is not None else None)

    # -- where viewers start --

    def open(self, last_event_id: str | None, backlog: int) -> tuple[bytes, StreamCursor | None]:
        prelude = notice(self.name, "unavailable", self.redis.error) if self.down else b""
        self._start_reader()
        return prelude, StreamCursor(start=(last_event_id, backlog))

    def locate(self, event_id: str) -> StreamCursor | None:
        pos = parse_id(event_id)
        return StreamCursor(pos) if pos is not None else None

    async def _place(self, last_event_id: str | None, backlog: int) -> tuple[bytes, StreamCursor]:
        await self._ready.wait()
        wanted = parse_id(last_event_id)
        if wanted is None:
            return b"", StreamCursor(
                await self._call(lambda r: backlog_point(r, self.key, self.last or (0, 0), backlog))
            )
        pos, lost = await self._call(lambda r: self._resume_point(r, wanted))
        return (notice(self.name, "resume-lost") if lost else b""), StreamCursor(pos)

    async def _resume_point(self, r: Redis, wanted: Id) -> tuple[Id, bool]:
        """Where to continue after ``wanted``, and whether lines after it may be gone."""
        from redis.exceptions import ResponseError

        try:
            info = await r.xinfo_stream(self.key)
        except ResponseError:
            return (0, 0), True  # no stream any more (Redis lost its data)
        last = parse_id(info.get("last-generated-id")) or (0, 0)
        if wanted > last:
            return (0, 0), True  # not from this stream (Redis lost its data, or a made-up id)
        if trimmed_after(wanted, info):
            return (0, 0), True
        return wanted, False

    # -- viewers reading at their own pace --

    def at_head(self, cursor: StreamCursor) -> bool:
        return cursor.start is None and self.last is not None and cursor.pos == self.last

    async def read(self, cursor: StreamCursor) -> tuple[bytes, StreamCursor]:
        if cursor.start is not None:
            return await self._place(*cursor.start)
        head = self.last
        if head is None or cursor.pos >= head:
            # Ahead of this node's reader (it came from a node further on): wait for it.
            self._start_reader()
            await self._advanced.wait()
            return b"", cursor
        entries, lost = await self._call(lambda r: self._range(r, cursor.pos, head))
        prelude = notice(self.name, "behind-lost") if lost else b""
        if not entries:
            return prelude, StreamCursor(head)
        pos = parse_id(entries[-1][0]) or head
        return prelude + encode_entries(self.name, entries), StreamCursor(pos)

    async def _range(self, r: Redis, after: Id, stop: Id) -> tuple[list[Entry], bool]:
        """Entries after ``after`` up to ``stop``, and whether some after it were trimmed away."""
        async with r.pipeline(transaction=False) as pipe:
            pipe.xinfo_stream(self.key)
            pipe.xrange(self.key, "(" + format_id(after), format_id(stop), count=READ_COUNT)
            info, entries = await pipe.execute(raise_on_error=False)
        if isinstance(entries, Exception):
            raise entries
        return as_entries(entries), isinstance(info, dict) and after != (0, 0) and trimmed_after(after, info)

    def hold(self, cursor: StreamCursor) -> StreamCursor:
        return cursor

    def release(self, cursor: StreamCursor) -> None:
        pass
