"""Per-file channels: one follower, shared encoding, head and catch-up subscribers.

A subscriber is either *at the head* of its file (it receives each batch of new lines,
read and encoded once for everyone) or *catching up* (it reads from the file at its own
position, at the pace its connection drains, then joins the head). A head subscriber
whose connection stops draining is moved back to catching up, so the server never
holds more than a bounded amount of unsent data for anyone: the file is the buffer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Iterable
from typing import Any, Protocol

from tornado.ioloop import IOLoop, PeriodicCallback

from tailsse import sse
from tailsse.config import Config
from tailsse.files import confining_root, dynamic_root, expand, is_dynamic, unique_name
from tailsse.follow import (
    Batch,
    Change,
    Follower,
    Lines,
    Position,
    Segment,
    backlog_start,
    open_segment,
)
from tailsse.watch import Watcher

log = logging.getLogger(__name__)

MESSAGES = {
    "appeared": "the file appeared; following it from its first byte",
    "missing": "the file is missing; waiting for it to appear",
    "rotated": "the file was replaced (rotated); following the new file from its first byte",
    "truncated": "the file was truncated; following it again from its first byte",
    "unreadable": "the file cannot be read",
    "lost": "the position to resume from is no longer in the file; starting from the first byte",
}


class Payload:
    """One encoded batch for every viewer at the head; transports may cache a framing."""

    __slots__ = ("data", "framed")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.framed: bytes | None = None


class Transport(Protocol):
    """What a subscriber writes to (an HTTP response, in practice)."""

    def send(self, data: bytes) -> Awaitable[None] | None: ...

    def push(self, payload: Payload) -> None: ...

    def buffered(self) -> int: ...

    def closed(self) -> bool: ...

    def close(self) -> None: ...


class Subscriber:
    """One open event stream."""

    __slots__ = ("active", "channel", "last_write", "offset", "segment", "task", "transport")

    def __init__(self, transport: Transport, channel: Channel) -> None:
        self.transport = transport
        self.channel = channel
        self.segment: Segment | None = None
        self.offset = 0
        self.last_write = time.monotonic()
        self.task: asyncio.Task[None] | None = None
        self.active = True

    def send(self, data: bytes) -> Awaitable[None] | None:
        """Write data now; returns what to await for it to reach the socket."""
        self.last_write = time.monotonic()
        return self.transport.send(data)

    def push(self, payload: Payload) -> None:
        """Write a batch shared with other viewers."""
        self.last_write = time.monotonic()
        self.transport.push(payload)


def push_to_head(head: set[Any], payload: Payload, limit: int) -> list[Any]:
    """Write one batch to every viewer at the head, one write each.

    Viewers with more than ``limit`` bytes still unsent get nothing and are returned:
    the caller moves them to reading at their own pace.
    """
    if not payload.data:
        return []
    now = time.monotonic()
    stalled = []
    for sub in head:
        transport = sub.transport
        if transport.buffered() > limit:
            stalled.append(sub)
            continue
        transport.push(payload)
        sub.last_write = now
    return stalled


def ping_idle(channels: Iterable[Any], seconds: float) -> None:
    """Send a comment to every stream that has been silent for ``seconds``."""
    deadline = time.monotonic() - seconds
    ping = sse.comment()
    for channel in channels:
        for sub in channel.subscribers:
            if sub.last_write <= deadline and not sub.transport.buffered():
                sub.send(ping)


def encode_lines(segment: Segment, lines: Lines) -> bytes:
    """Encode lines of one file as SSE message events, each with its position id."""
    if not lines.ends:
        return b""
    prefix = b"%x-" % segment.ino
    if lines.pieces is None and lines.early is None:
        # The hot path: every id ends with the same fingerprint.
        return sse.numbered_events(prefix, lines.ends, b"-%x" % lines.head, lines.data, lines.cr)
    # The first lines of a file, or pieces of over-long lines: ids differ in their tails.
    pieces = lines.pieces or ()
    early = lines.early or []
    return b"".join(
        sse.numbered_events(
            prefix,
            [end],
            b"-%x%s" % (early[i] if i < len(early) else lines.head, b"-p" if i in pieces else b""),
            [data],
        )
        for i, (end, data) in enumerate(zip(lines.ends, lines.data, strict=True))
    )


def encode_change(name: str, kind: str, segment: Segment | None, detail: str = "") -> bytes:
    """Encode something that happened to a file as an event named after it."""
    body = {"file": name, "message": MESSAGES[kind]}
    if detail:
        body["detail"] = detail
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    event_id = Position(segment.ino, 0, 0).event_id() if segment is not None else None
    return sse.event(data, id=event_id, name=kind.encode())


class Channel:
    """Everything about one followed file."""

    def __init__(self, name: str, path: str, config: Config) -> None:
        self.name = name
        self.path = path
        self.config = config
        self.follower = Follower(path, config.max_line_bytes, config.read_chunk)
        self.head: set[Subscriber] = set()
        self.catching: set[Subscriber] = set()
        self._polling = False
        self.count = [0]  # open streams; shared by every channel of a hub

    @property
    def subscribers(self) -> set[Subscriber]:
        """Every open stream of this file."""
        return self.head | self.catching

    def start(self) -> None:
        """Open the file (if it is there) at its current end."""
        self.follower.start()
        if self.follower.state != "following":
            log.warning("%s: %s", self.path, self.follower.error or self.follower.state)

    def close(self) -> None:
        """End every stream and stop following."""
        for sub in list(self.subscribers):
            self.unsubscribe(sub)
            sub.transport.close()
        self.follower.close()

    def wake(self) -> bool:
        """Check the file and publish whatever is new; True when something happened to it.

        Safe to call at any time.
        """
        if self._polling:
            return False
        self._polling = True
        before = (self.follower.segment, self.follower.pos)
        try:
            items, more = self.follower.poll(self.config.read_budget)
        finally:
            self._polling = False
        if items:
            self._publish(items, before)
        if more:
            IOLoop.current().add_callback(self.wake)
        elif self.follower.wait:
            IOLoop.current().call_later(self.follower.wait, self.wake)
        return any(isinstance(item, Change) for item in items)

    def _publish(self, items: list[Batch | Change], before: tuple[Segment | None, int]) -> None:
        """Send what the follower read to the head; ``before`` is where the head was."""
        parts = []
        for item in items:
            if isinstance(item, Batch):
                parts.append(encode_lines(item.segment, item.lines))
            else:
                parts.append(encode_change(self.name, item.kind, item.segment, item.detail))
        payload = Payload(b"".join(parts))
        stalled = push_to_head(self.head, payload, self.config.write_buffer_limit)
        if not stalled:
            return
        # Every viewer at the head was at ``before``; those that stopped reading resume
        # there from the file (from the first file of this batch if there was none).
        segment, offset = before
        if segment is None:
            segment = next((item.segment for item in items if item.segment is not None), None)
            offset = 0
        for sub in stalled:
            if sub.transport.closed():
                self.unsubscribe(sub)
            elif segment is None:
                sub.push(payload)  # only notices without a file: nothing to read later
            else:
                self.head.discard(sub)
                sub.segment, sub.offset = segment, offset
                self._start_catch_up(sub)

    def locate(self, pos: Position) -> tuple[Segment, int] | None:
        """Find the open file and offset an event id refers to, if it is still there."""
        follower = self.follower
        for seg in [follower.segment, *reversed(follower.retired)]:
            if seg is None or seg.ino != pos.ino or seg.closed:
                continue
            limit = follower.pos if seg is follower.segment else seg.end
            try:
                if pos.offset > max(limit or 0, os.fstat(seg.fd).st_size):
                    continue
                if seg.fingerprint(pos.offset) != pos.check:
                    continue
            except OSError:
                continue
            return seg, pos.offset
        return self._find_rotated(pos)

    def _find_rotated(self, pos: Position) -> tuple[Segment, int] | None:
        """After a restart: the file an id names may have been renamed next to the path."""
        path = self.follower.path
        directory, base = os.path.split(path)
        try:
            entries = [e for e in os.scandir(directory) if e.name.startswith(base) and e.name != base]
        except OSError:
            return None
        for entry in entries:
            try:
                if entry.inode() != pos.ino or not entry.is_file():
                    continue
                seg = open_segment(entry.path)
            except OSError:
                continue
            try:
                size = os.fstat(seg.fd).st_size
                if seg.ino == pos.ino and pos.offset <= size and seg.fingerprint(pos.offset) == pos.check:
                    seg.end, seg.retained, seg.kind = size, False, "rotated"
                    seg.successor = self.follower.segment
                    return seg, pos.offset
            except OSError:
                pass
            seg.close()
        return None

    def subscribe(self, transport: Transport, last_event_id: str | None, backlog: int) -> Subscriber:
        """Start a stream: resume after ``last_event_id`` or send ``backlog`` lines first."""
        self.wake()  # bring the head up to date so the backlog ends where the file does
        sub = Subscriber(transport, self)
        self.count[0] += 1
        prelude = sse.retry(self.config.retry_ms)
        pos = Position.parse(last_event_id)
        seg = self.follower.segment
        start: tuple[Segment, int] | None = None
        if pos is not None:
            start = self.locate(pos)
            if start is None:
                prelude += encode_change(self.name, "lost", seg)
                if seg is not None:
                    start = (seg, 0)
        elif seg is not None:
            try:
                start = (seg, backlog_start(seg.fd, self.follower.pos, backlog))
            except OSError:
                start = (seg, self.follower.pos)
        if seg is None:
            prelude += encode_change(self.name, self.follower.state, None, self.follower.error)
        sub.send(prelude)
        if start is None:
            self.head.add(sub)
        else:
            sub.segment, sub.offset = start
            self._start_catch_up(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a stream; it holds nothing afterwards."""
        if sub.active:
            self.count[0] -= 1
        sub.active = False
        self.head.discard(sub)
        self.catching.discard(sub)
        if sub.task is not None and not sub.task.done():
            sub.task.cancel()
        sub.task = None
        if sub.segment is not None:
            sub.segment.release()  # a file opened only for this stream closes now

    def _start_catch_up(self, sub: Subscriber) -> None:
        self.catching.add(sub)
        sub.task = asyncio.ensure_future(self._catch_up(sub))

    async def _catch_up(self, sub: Subscriber) -> None:
        config = self.config
        seg = sub.segment
        assert seg is not None
        seg.readers += 1
        try:
            # Let what is already queued for this client drain before adding more.
            if sub.transport.buffered():
                await _drained(sub.transport)
            while sub.active and not sub.transport.closed():
                head = self.follower.segment
                stop = self.follower.pos if seg is head else seg.end
                if stop is None or sub.offset >= stop:
                    if seg is head or seg.successor is None:
                        break
                    nxt = seg.successor
                    nxt.readers += 1
                    seg.readers -= 1
                    seg.release()
                    seg = sub.segment = nxt
                    sub.offset = 0
                    await _sent(sub.send(encode_change(self.name, seg.kind, seg)))
                    continue
                lines, end = seg.read(sub.offset, stop, config.read_chunk, config.max_line_bytes)
                if not lines:
                    break  # the file shrank under us; the head will report it
                sub.offset = end
                await _sent(sub.send(encode_lines(seg, lines)))
        except OSError as exc:
            log.warning("%s: reading for a viewer failed: %s", self.path, exc)
        finally:
            seg.readers -= 1
            seg.release()
        if sub.active and not sub.transport.closed():
            self.catching.discard(sub)
            self.head.add(sub)
            sub.task = None


async def _sent(waiter: Awaitable[None] | None) -> None:
    if waiter is not None:
        await waiter


async def _drained(transport: Transport) -> None:
    await _sent(transport.send(b""))


class Hub:
    """All channels of one server, the watcher that wakes them, and the heartbeat."""

    def __init__(self, config: Config, files: dict[str, str]) -> None:
        self.config = config
        self._count = [0]
        self.channels: dict[str, Channel] = {}
        self._by_path: dict[str, list[Channel]] = {}
        for name, path in files.items():
            self._add(name, path)
        # Directories and globs among the PATHs can gain files while tailsse runs.
        self._dynamic = tuple(p for p in config.paths if is_dynamic(p))
        self._watcher: Watcher | None = None
        self._timers: list[PeriodicCallback] = []
        self.started = False

    def _add(self, name: str, path: str) -> Channel:
        channel = Channel(name, path, self.config)
        channel.follower.confine = confining_root(path, self.config.paths)
        channel.count = self._count
        self.channels[name] = channel
        self._by_path.setdefault(channel.follower.path, []).append(channel)
        return channel

    def start(self) -> None:
        """Open every file, start watching, start the timers. Call on the IOLoop."""
        if self.started:
            return
        self.started = True
        loop = IOLoop.current()
        config = self.config
        self._watcher = Watcher(loop, self._changed, config.poll, config.check_interval)
        for directory in self._dynamic:
            self._watcher.watch_directory(dynamic_root(directory))
        for channel in self.channels.values():
            self._start_channel(channel)
        self._watcher.start()
        self._timers.append(PeriodicCallback(self._check_all, config.check_interval * 1000))
        if config.heartbeat > 0:
            self._timers.append(PeriodicCallback(self._heartbeat, config.heartbeat * 250))
        for timer in self._timers:
            timer.start()
        # Data written between opening the files and the watch starting is read now.
        loop.add_callback(self._check_all)

    def _start_channel(self, channel: Channel) -> None:
        assert self._watcher is not None
        # Watch before opening: a write in between is then seen by the first check.
        self._watcher.watch(channel.follower.path)
        channel.follower.moved_away = self._watcher.moved_away
        channel.follower.quiet_for = self._watcher.quiet_for
        channel.start()

    def close(self) -> None:
        """End every stream, stop watching and close every file."""
        for timer in self._timers:
            timer.stop()
        self._timers.clear()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        for channel in self.channels.values():
            channel.close()

    def subscriber_count(self) -> int:
        """Open streams across all files."""
        return self._count[0]

    def rescan(self) -> None:
        """Pick up files that appeared in served directories or now match a glob."""
        if not self._dynamic:
            return
        known = set(self._by_path)
        for path in expand(self._dynamic):
            if path not in known:
                name = unique_name(path, set(self.channels))
                channel = self._add(name, path)
                log.info("following %s as %s", path, name)
                if self.started:
                    self._start_channel(channel)
                    channel.wake()

    def _changed(self, path: str) -> None:
        if not path:
            self.rescan()
            return
        for channel in self._by_path.get(path, ()):
            self._wake(channel)

    def _wake(self, channel: Channel) -> None:
        if channel.wake() and self._watcher is not None:
            # Something happened to the file: its directories may be new, or a symlink
            # may point somewhere else now.
            self._watcher.watch(channel.follower.path)

    def _check_all(self) -> None:
        if self._watcher is not None:
            self._watcher.rewatch()
        self.rescan()
        for channel in list(self.channels.values()):
            self._wake(channel)

    def _heartbeat(self) -> None:
        ping_idle(self.channels.values(), self.config.heartbeat)
