"""Web-node side of scale-out: channels over Redis streams, with the interface of hub.Hub.

Each stream that has viewers on this node has one reader task doing ``XREAD BLOCK``; every
batch it gets is encoded once and pushed to all viewers at the head. A viewer that starts
from a backlog or a ``Last-Event-ID``, or that stopped draining, catches up with ``XRANGE``
from its own position and then joins the head, exactly as with local files; the stream in
Redis plays the part of the file. Event ids are the stream's entry ids, the same on every
web node, so a viewer can resume on any of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.ioloop import PeriodicCallback

from tailsse import sse
from tailsse.config import Config
from tailsse.hub import MESSAGES as FILE_MESSAGES
from tailsse.hub import Payload, Transport, ping_idle, push_to_head
from tailsse.redis_keys import (
    FILES,
    MAX_SEQ,
    alive_key,
    format_id,
    parse_id,
    previous_id,
    redis_client,
    state_key,
    stream_key,
    valid_source,
)

log = logging.getLogger(__name__)

Id = tuple[int, int]
MESSAGES = {
    **FILE_MESSAGES,
    "resume-lost": "the position to resume from is older than the lines kept in Redis; "
    "continuing from the oldest line kept",
    "behind-lost": "this viewer fell further behind than the lines kept in Redis; "
    "continuing from the oldest line kept",
    "unavailable": "Redis cannot be reached; retrying (lines are delayed, not lost)",
    "available": "Redis can be reached again",
}
BLOCK_MS = 5000  # longest XREAD BLOCK; a reader with no viewers left stops after it
READ_COUNT = 1000  # entries per XREAD / XRANGE
BACKOFF_MIN = 0.05
BACKOFF_MAX = 2.0


def _outage_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError, OSError)


def encode_meta(name: str, kind: str, detail: str = "", event_id: bytes | None = None) -> bytes:
    """An event about the file (or about Redis), named after what happened."""
    message = MESSAGES.get(kind)
    if message is None:
        return b""
    body = {"file": name, "message": message}
    if detail:
        body["detail"] = detail
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return sse.event(data, id=event_id, name=b"lost" if kind.endswith("-lost") else kind.encode())


def encode_entries(name: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> bytes:
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
        if kind in (b"unavailable", b"available") or kind.endswith(b"-lost"):
            continue  # the web nodes' own events, never carried in a stream
        parts.append(
            encode_meta(name, kind.decode("utf-8", "replace"), detail.decode("utf-8", "replace"), entry_id)
        )
    return b"".join(parts)


class Subscriber:
    """One open event stream of a Redis channel."""

    __slots__ = ("active", "channel", "last_write", "pos", "task", "transport")

    def __init__(self, transport: Transport, channel: RedisChannel) -> None:
        self.transport = transport
        self.channel = channel
        self.pos: Id = (0, 0)  # id of the last entry sent
        self.last_write = time.monotonic()
        self.task: asyncio.Task[None] | None = None
        self.active = True

    def send(self, data: bytes) -> Awaitable[None] | None:
        """Write data now; returns what to await for it to reach the socket."""
        self.last_write = time.monotonic()
        return self.transport.send(data)


class RedisChannel:
    """One stream (one file of one source) as seen by this web node."""

    def __init__(self, hub: RedisHub, name: str) -> None:
        self.hub = hub
        self.config = hub.config
        self.name = name
        self.source, _, self.file = name.partition("/")
        self.key = stream_key(name)
        self.head: set[Subscriber] = set()
        self.catching: set[Subscriber] = set()
        self.last: Id | None = None  # the last entry pushed to the head (None: no reader)
        self.down = False
        self._reader: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._advanced: asyncio.Event | None = None

    @property
    def subscribers(self) -> set[Subscriber]:
        """Every open stream of this file on this node."""
        return self.head | self.catching

    def subscribe(self, transport: Transport, last_event_id: str | None, backlog: int) -> Subscriber:
        """Start a stream: resume after ``last_event_id`` or send ``backlog`` lines first."""
        sub = Subscriber(transport, self)
        self.hub.count += 1
        sub.send(sse.retry(self.config.retry_ms))
        if self.down:
            sub.send(encode_meta(self.name, "unavailable", self.hub.error))
        self.catching.add(sub)
        self._start_reader()
        sub.task = asyncio.ensure_future(self._guarded(sub, self._begin(sub, last_event_id, backlog)))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a stream; it holds nothing afterwards."""
        if sub.active:
            self.hub.count -= 1
        sub.active = False
        self.head.discard(sub)
        self.catching.discard(sub)
        if sub.task is not None and not sub.task.done():
            sub.task.cancel()
        sub.task = None

    def close(self) -> None:
        """End every stream and stop reading."""
        for sub in list(self.subscribers):
            self.unsubscribe(sub)
            sub.transport.close()
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None

    # -- Redis calls that survive outages --

    async def _call(self, op: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``op(client)``; while Redis is unreachable, say so to the viewers and retry."""
        errors = _outage_errors()
        delay = BACKOFF_MIN
        while True:
            try:
                result = await op(self.hub.redis)
            except errors as exc:
                self._set_down(str(exc) or type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self._set_up()
            return result

    def _set_down(self, error: str) -> None:
        self.hub.note_error(error)
        if not self.down:
            self.down = True
            self._broadcast(encode_meta(self.name, "unavailable", error))

    def _set_up(self) -> None:
        self.hub.note_ok()
        if self.down:
            self.down = False
            self._broadcast(encode_meta(self.name, "available"))

    def _broadcast(self, data: bytes) -> None:
        for sub in self.subscribers:
            sub.send(data)

    # -- the head: one XREAD BLOCK for every viewer of this node --

    def _start_reader(self) -> None:
        if self._reader is None:
            self._ready = asyncio.Event()
            self._advanced = asyncio.Event()
            self._reader = asyncio.ensure_future(self._read())

    async def _last_id(self, r: Any) -> Id:
        from redis.exceptions import ResponseError

        try:
            info = await r.xinfo_stream(self.key)
        except ResponseError:
            return (0, 0)  # no stream yet
        return parse_id(info.get("last-generated-id")) or (0, 0)

    async def _read(self) -> None:
        ready = self._ready
        assert ready is not None
        try:
            self.last = await self._call(self._last_id)
            ready.set()
            while True:
                last = format_id(self.last)
                try:
                    resp = await self._call(
                        lambda r, last=last: r.xread({self.key: last}, block=BLOCK_MS, count=READ_COUNT)
                    )
                except Exception:  # not an outage (say, the key is not a stream): keep trying
                    log.exception("%s: reading the stream failed", self.key)
                    await asyncio.sleep(BACKOFF_MAX)
                    continue
                if resp:
                    self._publish(resp[0][1])
                elif not self.head and not self.catching:
                    break
        finally:
            if self._ready is ready:
                self._reader = None
                self.last = None

    def _publish(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        payload = Payload(encode_entries(self.name, entries))
        previous, self.last = self.last, parse_id(entries[-1][0]) or (0, 0)
        stalled = push_to_head(self.head, payload, self.config.write_buffer_limit)
        for sub in stalled:
            if sub.transport.closed():
                self.unsubscribe(sub)
            else:
                # It stopped reading: push no more; it reads from Redis once it drains,
                # from where every viewer at the head was.
                if previous is not None:
                    sub.pos = previous
                self.head.discard(sub)
                self.catching.add(sub)
                sub.task = asyncio.ensure_future(self._guarded(sub, self._catch_up(sub)))
        advanced = self._advanced
        self._advanced = asyncio.Event()
        if advanced is not None:
            advanced.set()

    # -- viewers catching up with XRANGE --

    async def _guarded(self, sub: Subscriber, work: Awaitable[None]) -> None:
        """Run a viewer's reading; if it fails for a reason other than an outage, end the stream."""
        try:
            await work
        except Exception:
            log.exception("%s: reading for a viewer failed", self.key)
            self.unsubscribe(sub)
            sub.transport.close()  # the browser reconnects and resumes with its Last-Event-ID

    async def _begin(self, sub: Subscriber, last_event_id: str | None, backlog: int) -> None:
        ready = self._ready
        assert ready is not None
        await ready.wait()
        wanted = parse_id(last_event_id)
        if wanted is not None:
            sub.pos, lost = await self._call(lambda r: self._resume_point(r, wanted))
            if lost:
                sub.send(encode_meta(self.name, "resume-lost"))
        else:
            sub.pos = await self._call(lambda r: self._backlog_point(r, backlog))
        await self._catch_up(sub)

    async def _resume_point(self, r: Any, wanted: Id) -> tuple[Id, bool]:
        """Where to continue after ``wanted``, and whether lines after it may be gone."""
        from redis.exceptions import ResponseError

        try:
            info = await r.xinfo_stream(self.key)
        except ResponseError:
            return (0, 0), True  # no stream any more (Redis lost its data)
        last = parse_id(info.get("last-generated-id")) or (0, 0)
        if wanted > last:
            return (0, 0), True  # not from this stream (Redis lost its data, or a made-up id)
        if _trimmed_after(wanted, info):
            return (0, 0), True
        return wanted, False

    async def _backlog_point(self, r: Any, backlog: int) -> Id:
        """The position just before the last ``backlog`` entries up to the head."""
        end = self.last or (0, 0)
        oldest: bytes | None = None
        upper = format_id(end)
        left = backlog
        while left > 0:
            count = min(left, READ_COUNT)
            batch = await r.xrevrange(self.key, max=upper, min="-", count=count)
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

    async def _range(self, r: Any, after: Id, stop: Id) -> tuple[list[Any], bool]:
        """Entries after ``after`` up to ``stop``, and whether some after it were trimmed away."""
        async with r.pipeline(transaction=False) as pipe:
            pipe.xinfo_stream(self.key)
            pipe.xrange(self.key, "(" + format_id(after), format_id(stop), count=READ_COUNT)
            info, entries = await pipe.execute(raise_on_error=False)
        if isinstance(entries, Exception):
            raise entries
        return entries, isinstance(info, dict) and after != (0, 0) and _trimmed_after(after, info)

    async def _catch_up(self, sub: Subscriber) -> None:
        transport = sub.transport
        if transport.buffered():
            await _sent(transport.send(b""))  # let what is queued drain first
        while sub.active and not transport.closed():
            head = self.last
            advanced = self._advanced
            if head is None or sub.pos >= head:
                if head is not None and sub.pos == head:
                    break
                # Ahead of this node's reader (it came from a node further on): wait for it.
                if advanced is None:
                    return
                await advanced.wait()
                continue
            entries, lost = await self._call(lambda r, a=sub.pos, b=head: self._range(r, a, b))
            if lost:
                sub.send(encode_meta(self.name, "behind-lost"))
            if not entries:
                sub.pos = head
                continue
            sub.pos = parse_id(entries[-1][0]) or head
            await _sent(sub.send(encode_entries(self.name, entries)))
        if sub.active and not transport.closed():
            self.catching.discard(sub)
            self.head.add(sub)
            sub.task = None


def _trimmed_after(pos: Id, info: dict[str, Any]) -> bool:
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


async def _sent(waiter: Awaitable[None] | None) -> None:
    if waiter is not None:
        await waiter


class RedisHub:
    """Every stream in Redis, as channels of this web node; the interface of hub.Hub."""

    def __init__(self, config: Config, redis: Any = None) -> None:
        self.config = config
        self.redis = (
            redis if redis is not None else redis_client(config.redis, socket_timeout=BLOCK_MS / 1000 + 5)
        )
        self.channels: dict[str, RedisChannel] = {}
        self.count = 0
        self.error = ""  # why Redis cannot be reached, while it cannot
        self.started = False
        self._timers: list[PeriodicCallback] = []
        self._discovering: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Find the streams and start the timers. Call on the IOLoop; idempotent."""
        if self.started:
            return
        self.started = True
        config = self.config
        self._timers.append(PeriodicCallback(self._check, config.check_interval * 1000))
        if config.heartbeat > 0:
            self._timers.append(PeriodicCallback(self._heartbeat, config.heartbeat * 250))
        for timer in self._timers:
            timer.start()
        self._check()

    def close(self) -> None:
        """End every stream and stop reading (the client closes in the background)."""
        for timer in self._timers:
            timer.stop()
        self._timers.clear()
        if self._discovering is not None:
            self._discovering.cancel()
        for channel in self.channels.values():
            channel.close()
        self._closing = asyncio.ensure_future(self._close_client())

    async def _close_client(self) -> None:
        try:
            await self.redis.aclose()
        except Exception:
            pass

    async def aclose(self) -> None:
        """close(), then wait for the client to close."""
        self.close()
        await asyncio.sleep(0)
        await self._close_client()

    def subscriber_count(self) -> int:
        """Open streams across all files."""
        return self.count

    def note_error(self, error: str) -> None:
        """Redis failed: remember why (for /healthz and /api/files)."""
        if not self.error:
            log.warning("redis unavailable (%s); retrying", error)
        self.error = error

    def note_ok(self) -> None:
        """Redis answered."""
        if self.error:
            log.info("redis available again")
            self.error = ""

    def _check(self) -> None:
        if self._discovering is None or self._discovering.done():
            self._discovering = asyncio.ensure_future(self.discover())

    async def discover(self) -> None:
        """Add a channel for every stream the agents registered; note whether Redis answers."""
        try:
            names = await self.redis.smembers(FILES)
        except _outage_errors() as exc:
            self.note_error(str(exc) or type(exc).__name__)
            return
        self.note_ok()
        for raw in names:
            name = raw.decode("utf-8", "replace")
            source, _, file = name.partition("/")
            if name not in self.channels and valid_source(source) and valid_source(file):
                self.channels[name] = RedisChannel(self, name)

    async def files(self) -> list[dict[str, Any]]:
        """Each stream with its source, file, length, the agent's state and whether it runs."""
        await self.discover()
        channels = sorted(self.channels.values(), key=lambda c: c.name)
        # size is of the file on the agent's host, which a web node does not know.
        rows: list[dict[str, Any]] = [
            {"name": c.name, "source": c.source, "file": c.file, "size": None} for c in channels
        ]
        if self.error:
            for row in rows:
                row.update(lines=None, state="unknown", agent="unknown", exists=True)
            return rows
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for c in channels:
                    pipe.xlen(c.key)
                    pipe.hget(state_key(c.source), c.file)
                    pipe.exists(alive_key(c.source))
                answers = await pipe.execute()
        except _outage_errors() as exc:
            self.note_error(str(exc) or type(exc).__name__)
            return await self.files()
        for i, row in enumerate(rows):
            length, state, alive = answers[3 * i : 3 * i + 3]
            row["lines"] = length
            row["state"] = state.decode() if state else "unknown"
            row["exists"] = row["state"] != "missing"
            row["agent"] = "up" if alive else "down"
        return rows

    def _heartbeat(self) -> None:
        ping_idle(self.channels.values(), self.config.heartbeat)
