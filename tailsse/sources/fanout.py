"""One fan-out for every kind of source: head viewers, viewers reading at their own pace.

A viewer is either *at the head* (it receives each batch of new lines, read and encoded
once for everyone, with one write per viewer) or *catching up* (it reads from the source
at its own cursor, at the pace its connection drains, then joins the head). A head viewer
whose connection stops draining is moved back to catching up, from where the head was, so
the server never holds more than a bounded amount of unsent data for anyone: the source
is the buffer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Generic, TypeVar

from tailsse.sources.base import History, Payload, Source, Transport
from tailsse.sse import encode as sse

log = logging.getLogger(__name__)

C = TypeVar("C")


class StreamCount:
    """Open streams across every channel of a server (for --max-clients and /healthz)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Subscriber(Generic[C]):
    """One open event stream."""

    __slots__ = ("active", "channel", "cursor", "last_write", "task", "transport")

    def __init__(self, transport: Transport, channel: Fanout[C]) -> None:
        self.transport = transport
        self.channel = channel
        self.cursor: C | None = None  # where it reads while catching up
        self.last_write = time.monotonic()
        self.task: asyncio.Task[None] | None = None
        self.active = True

    def send(self, data: bytes) -> Awaitable[None] | None:
        """Write data now; returns what to await for it to reach the socket."""
        self.last_write = time.monotonic()
        return self.transport.send(data)

    def leave(self) -> None:
        """The connection closed: forget the stream."""
        self.channel.unsubscribe(self)


class Fanout(Generic[C]):
    """Every open stream of one source."""

    def __init__(self, source: Source[C], retry_ms: int, write_limit: int, count: StreamCount) -> None:
        self.source = source
        self.retry_ms = retry_ms
        self.write_limit = write_limit  # unsent bytes a head viewer may hold before it is demoted
        self.count = count
        self.head: set[Subscriber[C]] = set()
        self.catching: set[Subscriber[C]] = set()
        source.bind(self)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def history(self) -> History:
        return self.source.past

    @property
    def subscribers(self) -> set[Subscriber[C]]:
        """Every open stream of this source."""
        return self.head | self.catching

    def viewers(self) -> int:
        return len(self.head) + len(self.catching)

    def subscribe(self, transport: Transport, last_event_id: str | None, backlog: int) -> Subscriber[C]:
        """Start a stream: resume after ``last_event_id`` or send ``backlog`` lines first."""
        # Bring the head up to date first, so a backlog ends where the log does; what this
        # publishes goes to the viewers already there. From here to joining, nothing is.
        self.source.refresh()
        sub = Subscriber(transport, self)
        self.count.value += 1
        prelude, cursor = self.source.open(last_event_id, backlog)
        sub.send(sse.retry(self.retry_ms) + prelude)
        if cursor is None:
            self.head.add(sub)
        else:
            self._start_catch_up(sub, cursor)
        return sub

    def unsubscribe(self, sub: Subscriber[C]) -> None:
        """Forget a stream; it holds nothing afterwards."""
        if sub.active:
            self.count.value -= 1
        sub.active = False
        self.head.discard(sub)
        self.catching.discard(sub)
        if sub.task is not None and not sub.task.done():
            sub.task.cancel()
        sub.task = None
        self._drop_cursor(sub)

    def close(self) -> None:
        """End every stream and stop the source."""
        for sub in list(self.subscribers):
            self.unsubscribe(sub)
            sub.transport.close()
        self.source.close()

    # -- the head --

    def publish(self, data: bytes, before: C | None) -> None:
        """Write one batch to every viewer at the head, one write each.

        Viewers with more than ``write_limit`` bytes still unsent get nothing: they read
        from the source from ``before``, where every viewer at the head was.
        """
        if not data:
            return
        payload = Payload(data)
        now = time.monotonic()
        stalled = []
        for sub in self.head:
            transport = sub.transport
            if transport.buffered() > self.write_limit:
                stalled.append(sub)
                continue
            transport.push(payload)
            sub.last_write = now
        for sub in stalled:
            if sub.transport.closed():
                self.unsubscribe(sub)
            elif before is None:
                sub.transport.push(payload)  # only notices, with nothing to read them from later
            else:
                self.head.discard(sub)
                self._start_catch_up(sub, self.source.hold(before))

    def broadcast(self, data: bytes) -> None:
        """A notice to every stream, at the head or not."""
        for sub in self.subscribers:
            sub.send(data)

    def tell_behind(self, data: bytes) -> None:
        """A notice for every stream still catching up."""
        for sub in self.catching:
            sub.send(data)

    def ping_idle(self, deadline: float, ping: bytes) -> None:
        """Send ``ping`` to every stream that has written nothing since ``deadline``."""
        for sub in self.subscribers:
            if sub.last_write <= deadline and not sub.transport.buffered():
                sub.send(ping)

    # -- viewers reading at their own pace --

    def _start_catch_up(self, sub: Subscriber[C], cursor: C) -> None:
        sub.cursor = cursor
        self.catching.add(sub)
        sub.task = asyncio.ensure_future(self._catch_up(sub))

    def _drop_cursor(self, sub: Subscriber[C]) -> None:
        cursor, sub.cursor = sub.cursor, None
        if cursor is not None:
            self.source.release(cursor)

    async def _catch_up(self, sub: Subscriber[C]) -> None:
        source = self.source
        transport = sub.transport
        try:
            # Let what is already queued for this client drain before adding more.
            if transport.buffered():
                await _sent(transport.send(b""))
            while sub.active and not transport.closed():
                cursor = sub.cursor
                assert cursor is not None
                if source.at_head(cursor):
                    # No await between this check and joining: nothing is published between.
                    self.catching.discard(sub)
                    self.head.add(sub)
                    sub.task = None
                    self._drop_cursor(sub)
                    return
                data, sub.cursor = await source.read(cursor)
                if data:
                    await _sent(sub.send(data))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The viewer reconnects with its Last-Event-ID and resumes from its position.
            log.warning("%s: reading for a viewer failed: %s", self.name, exc)
            self.unsubscribe(sub)
            transport.close()


async def _sent(waiter: Awaitable[None] | None) -> None:
    if waiter is not None:
        await waiter
