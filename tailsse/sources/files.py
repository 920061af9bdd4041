"""Followed files as sources: a file with its rotated generations, and the catalog of them.

A cursor is a byte offset in one open file (a :class:`Segment`); an event id names the
same position durably (inode, offset, fingerprint), so a viewer resumes exactly after
its last line, also after a restart, from the current file or one rotated next to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from tornado.ioloop import IOLoop

from tailsse.config import Config
from tailsse.following.chain import next_in_chain, place
from tailsse.following.follower import Batch, Change, Follower
from tailsse.following.lines import Lines, Position, backlog_start
from tailsse.following.segment import Segment
from tailsse.history.local import FileHistory
from tailsse.sources.base import Sink, notice
from tailsse.sse import encode as sse

log = logging.getLogger(__name__)


def line_tails(lines: Lines) -> list[bytes]:
    """What follows the offset in each line's id: the fingerprint, and ``-p`` for a piece."""
    pieces = lines.pieces or ()
    early = lines.early or []
    return [
        b"-%x%s" % (early[i] if i < len(early) else lines.head, b"-p" if i in pieces else b"")
        for i in range(len(lines))
    ]


def encode_lines(segment: Segment, lines: Lines) -> bytes:
    """Encode lines of one file as SSE message events, each with its position id."""
    if not lines.ends:
        return b""
    prefix = b"%x-" % segment.ino
    if lines.pieces is None and lines.early is None:
        # The hot path: every id ends with the same fingerprint.
        return sse.numbered_events(prefix, lines.ends, b"-%x" % lines.head, lines.data, lines.cr)
    # The first lines of a file, or pieces of over-long lines: ids differ in their tails.
    return b"".join(
        sse.numbered_events(prefix, [end], tail, [data])
        for end, tail, data in zip(lines.ends, line_tails(lines), lines.data, strict=True)
    )


def encode_items(name: str, items: list[Batch | Change]) -> bytes:
    """A file's lines and changes as the events of its stream."""
    parts = []
    for item in items:
        if isinstance(item, Batch):
            parts.append(encode_lines(item.segment, item.lines))
        else:
            parts.append(notice(name, item.kind, item.detail, _segment_id(item.segment)))
    return b"".join(parts)


def _segment_id(segment: Segment | None) -> bytes | None:
    return Position(segment.ino, 0, 0).event_id() if segment is not None else None


@dataclass(frozen=True)
class FileCursor:
    """A viewer's place: an offset in one open file, as it was before its ``epoch``-th truncation."""

    segment: Segment
    offset: int
    epoch: int

    @classmethod
    def at(cls, segment: Segment, offset: int) -> FileCursor:
        """A place in the file as it is now."""
        return cls(segment, offset, segment.epoch)


class FileSource:
    """One followed path and the files it has been: the Source of a local log."""

    def __init__(self, name: str, follower: Follower, config: Config) -> None:
        self._name = name
        self.follower = follower
        self.budget = config.read_budget
        self.chunk = config.read_chunk
        self.max_line = config.max_line_bytes
        self.sink: Sink[FileCursor] | None = None
        # Merged streams this file is part of hear each batch of its head (see merged.py).
        self.listeners: list[Callable[[list[Batch | Change], FileCursor | None], None]] = []
        self.past = FileHistory(follower, self.max_line, self.chunk, self.refresh)
        self._polling = False

    @property
    def name(self) -> str:
        return self._name

    def bind(self, sink: Sink[FileCursor]) -> None:
        self.sink = sink

    def start(self) -> None:
        """Open the file (if it is there) at its current end."""
        self.follower.start()
        if self.follower.state != "following":
            log.warning("%s: %s", self.follower.path, self.follower.error or self.follower.state)

    def close(self) -> None:
        self.follower.close()

    # -- the head --

    def refresh(self) -> None:
        self.wake()

    def wake(self, written: bool = False) -> bool:
        """Check the file and publish whatever is new; True when something happened to it.

        Safe to call at any time. ``written``: the wake-up is a write to the file at the
        path (see ``Follower.poll``).
        """
        if self._polling:
            return False
        self._polling = True
        fol = self.follower
        before = FileCursor.at(fol.segment, fol.pos) if fol.segment is not None else None
        try:
            items, more = fol.poll(self.budget, written)
        finally:
            self._polling = False
        # The common case, kept short: new lines of the file being read, nothing else.
        changes = (
            [] if len(items) == 1 and type(items[0]) is Batch else [i for i in items if isinstance(i, Change)]
        )
        if items:
            self._publish(items, before, changes)
        if more:
            IOLoop.current().add_callback(self.wake)
        elif fol.wait:
            IOLoop.current().call_later(fol.wait, self.wake)
        return bool(changes)

    def _publish(self, items: list[Batch | Change], before: FileCursor | None, changes: list[Change]) -> None:
        """Send what the follower read (``changes``: its Changes) to the head, which was at
        ``before``."""
        if before is None:
            # There was no file: a viewer that falls behind reads from the first one of this batch.
            first = next((item.segment for item in items if item.segment is not None), None)
            before = FileCursor.at(first, 0) if first is not None else None
        assert self.sink is not None
        if self.sink.viewers():  # no viewer of its own (only merged streams): nothing to encode
            self.sink.publish(encode_items(self.name, items), before)
            # That the file is missing or unreadable is in no file a viewer catching up
            # could read it from: those viewers are told now.
            placeless: list[Batch | Change] = [i for i in changes if i.segment is None]
            if placeless:
                self.sink.tell_behind(encode_items(self.name, placeless))
        for listener in self.listeners:
            listener(items, before)

    # -- where viewers start --

    def open(self, last_event_id: str | None, backlog: int) -> tuple[bytes, FileCursor | None]:
        fol = self.follower
        seg = fol.segment
        prelude = b""
        cursor: FileCursor | None = None
        pos = Position.parse(last_event_id)
        if pos is not None:
            start = place(fol, pos, self.max_line)
            if start is not None:
                cursor = FileCursor.at(start.segment, start.offset)
            elif seg is not None:
                cursor = FileCursor.at(seg, 0)
            if start is None or start.lost:
                # Told, then read from the first file certainly newer than the one named.
                target = cursor.segment if cursor is not None else None
                prelude += notice(self.name, "lost", "", _segment_id(target))
                if target is not None:
                    target.announced.add(target.epoch)
        elif seg is not None:
            try:
                cursor = FileCursor.at(seg, backlog_start(seg.fd, fol.pos, backlog))
            except OSError:
                cursor = FileCursor.at(seg, fol.pos)
        if seg is None:
            prelude += notice(self.name, fol.state, fol.error)
        return prelude, self.hold(cursor) if cursor is not None else None

    def locate(self, event_id: str) -> FileCursor | None:
        pos = Position.parse(event_id)
        return self._locate(pos) if pos is not None else None

    def _locate(self, pos: Position) -> FileCursor | None:
        """The open file and offset an id refers to, if it is still there."""
        start = place(self.follower, pos, self.max_line)
        if start is None:
            return None
        if start.lost:
            start.segment.release()  # opened only to be read from, and it will not be
            return None
        return FileCursor.at(start.segment, start.offset)

    # -- viewers reading at their own pace --

    def _stop(self, seg: Segment) -> int | None:
        """Where reading ``seg`` ends for now: the head's position, or the file's final end."""
        return self.follower.pos if seg is self.follower.segment else seg.end

    def at_head(self, cursor: FileCursor) -> bool:
        seg = cursor.segment
        if cursor.epoch != seg.epoch:
            return False  # truncated since: the reader is told first
        stop = self._stop(seg)
        if stop is not None and cursor.offset < stop:
            return False
        return seg is self.follower.segment or (seg.successor is None and not seg.pending)

    async def read(self, cursor: FileCursor) -> tuple[bytes, FileCursor]:
        items, cursor = await self.read_items(cursor)
        return encode_items(self.name, items), cursor

    async def read_items(self, cursor: FileCursor) -> tuple[list[Batch | Change], FileCursor]:
        """What :meth:`read` sends, before encoding: lines and changes, and the cursor after them."""
        seg, offset = cursor.segment, cursor.offset
        if cursor.epoch != seg.epoch:
            # Truncated while this viewer was behind: tell it, as the head was told.
            seg.announced.add(seg.epoch)
            return [Change("truncated", seg)], FileCursor.at(seg, 0)
        stop = self._stop(seg)
        if stop is None or offset >= stop:
            # This file is finished; at_head() said another one follows it.
            reasons, nxt = next_in_chain(self.follower.path, seg)
            skipped: list[Batch | Change] = [Change("lost", None, reason) for reason in reasons]
            if nxt is None:  # the chain ended in generations that cannot be read
                return skipped, cursor
            nxt.readers += 1
            nxt.announced.add(nxt.epoch)  # the notice's id names its first byte
            self.release(cursor)
            moved = [Change(nxt.kind, nxt)]
            if nxt.epoch:
                # Truncated before this viewer got to it: what it held then is gone.
                moved.append(Change("truncated", nxt))
            return [*skipped, *moved], FileCursor.at(nxt, 0)
        head = seg is self.follower.segment
        lines, end = seg.read(offset, stop, self.chunk, self.max_line) if seg.intact(offset) else (None, 0)
        if lines and (not head or seg.intact(end)):
            return [Batch(seg, offset, lines)], FileCursor(seg, end, cursor.epoch)
        if not head:
            # A rotated-away file that shrank while this viewer read it: what it lost is gone.
            detail = "a rotated-away file was truncated while this viewer was reading it"
            return [Change("lost", seg, detail)], FileCursor(seg, stop, cursor.epoch)
        # The file was truncated or rewritten under this reader, before the head looked:
        # let the head look now (it tells every viewer), and never send what was read.
        self.wake()
        if seg.epoch == cursor.epoch:
            await asyncio.sleep(0.05)
        return [], cursor

    def head(self) -> FileCursor | None:
        """Where the head is now (None: there is no file)."""
        fol = self.follower
        return FileCursor.at(fol.segment, fol.pos) if fol.segment is not None else None

    def hold(self, cursor: FileCursor) -> FileCursor:
        cursor.segment.readers += 1
        return cursor

    def release(self, cursor: FileCursor) -> None:
        seg = cursor.segment
        seg.readers -= 1
        seg.release()  # a file opened only for readers closes with the last of them
