"""Several followed files as one stream: a source made of sources.

A position in a merged stream is the set of positions in its files, so every event's id
lists them all: ``m.`` then, for each file, a tag of its name (6 hex digits) followed by
that file's own event id (``<inode>-<offset>-<fingerprint>``, or ``_`` while the file is
missing), joined by dots. A reconnect with such an id resumes every file exactly after
the last line delivered from it, through the file's own resume logic (rotations, the
chain of generations, ``lost``), also after a restart: nothing lives in server memory.

Order: each file's lines always come in file order. Live lines come in the order they
reach the server; a backlog and a viewer catching up are merged by the lines' own
timestamps (:mod:`tailsse.history.timestamps`), a line without one taking the time of
the line before it in its file.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tornado.ioloop import IOLoop

from tailsse.following.follower import Batch, Change
from tailsse.following.lines import Lines, Position, backlog_start
from tailsse.history.query import Query
from tailsse.history.timestamps import line_time
from tailsse.sources.base import (
    HistoryError,
    LinesPage,
    MatchesOut,
    SearchPage,
    Sink,
    TimeFound,
    notice,
)
from tailsse.sources.files import FileCursor, FileSource, line_tails
from tailsse.sources.merged_ids import MISSING, PREFIX, parse_merged, tags
from tailsse.sources.merged_order import by_time, in_time_order, last_time
from tailsse.sse import encode as sse

Listener = Callable[[list[Batch | Change], FileCursor | None], None]


def _position_text(cursor: FileCursor | None) -> bytes:
    """A file's own id for a position (a piece boundary when not after a newline)."""
    if cursor is None:
        return MISSING
    seg, offset = cursor.segment, cursor.offset
    try:
        piece = offset > 0 and os.pread(seg.fd, 1, offset - 1) != b"\n"
        check = seg.fingerprint(offset)
    except OSError:
        piece, check = False, 0
    return Position(seg.ino, offset, check).event_id(piece)


@dataclass(frozen=True)
class MergedCursor:
    """A viewer's place in every file, and the id text of each place."""

    parts: tuple[FileCursor | None, ...]
    texts: tuple[bytes, ...]


class MergedSource:
    """The files of one merged stream, as one Source for a fan-out of its own."""

    def __init__(self, sources: Sequence[FileSource]) -> None:
        self.files = list(sources)
        self._name = ",".join(source.name for source in self.files)
        self.labels = [source.name.encode() for source in self.files]
        self.tags = tags([source.name for source in self.files])
        self.sink: Sink[MergedCursor] | None = None
        self.past = PerFile()
        self.heads: list[FileCursor | None] = [source.head() for source in self.files]
        self.texts: list[bytes] = [
            tag + _position_text(head) for tag, head in zip(self.tags, self.heads, strict=True)
        ]
        # Batches read in this turn of the IOLoop, not written yet (see _on_batch).
        self._pending: list[tuple[int, list[Batch | Change], FileCursor | None]] = []
        self._pending_before: MergedCursor | None = None
        self._listeners: list[tuple[FileSource, Listener]] = []
        for index, source in enumerate(self.files):

            def listener(items: list[Batch | Change], before: FileCursor | None, index: int = index) -> None:
                self._on_batch(index, items)

            source.listeners.append(listener)
            self._listeners.append((source, listener))

    @property
    def name(self) -> str:
        return self._name

    def bind(self, sink: Sink[MergedCursor]) -> None:
        self.sink = sink

    def close(self) -> None:
        self._pending = []
        for source, listener in self._listeners:
            if listener in source.listeners:
                source.listeners.remove(listener)
        self._listeners = []

    def refresh(self) -> None:
        for source in self.files:
            source.refresh()
        self._flush()

    # -- encoding --

    def _encode(self, index: int, items: list[Batch | Change], texts: list[bytes]) -> bytes:
        """Events of one file's items; ``texts`` (every file's id part) moves along with them."""
        parts = []
        tag, label = self.tags[index], self.labels[index]
        for item in items:
            left = PREFIX + b".".join(texts[:index]) + (b"." if index else b"")
            right = b"".join(b"." + text for text in texts[index + 1 :])
            if isinstance(item, Batch):
                parts.append(_encode_lines(left + tag, right, label, item.segment.ino, item.lines))
                texts[index] = tag + _last_id(item.segment.ino, item.lines)
                continue
            if item.kind != "lost":
                seg = item.segment
                texts[index] = tag + (Position(seg.ino, 0, 0).event_id() if seg is not None else MISSING)
            event_id = left + texts[index] + right
            parts.append(notice(self.files[index].name, item.kind, item.detail, event_id))
        return b"".join(parts)

    def _on_batch(self, index: int, items: list[Batch | Change]) -> None:
        """A file's head moved: its batch waits for the end of this turn of the IOLoop.

        The head's position moves at once; the writes wait, so the batches of every file
        read in one turn go out merged by the lines' own times (the live reordering window:
        one turn), as one write per viewer. Whatever asks where the head is (``at_head``,
        ``refresh``) sends them first.
        """
        if not self._pending:
            self._pending_before = MergedCursor(tuple(self.heads), tuple(self.texts))
            IOLoop.current().add_callback(self._flush)
        head = self.files[index].head()
        self._pending.append((index, items, head))
        self.heads[index] = head

    def _flush(self) -> None:
        """Publish what the files' heads brought since the last flush."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        reads: dict[int, tuple[int, list[Batch | Change], FileCursor | None]] = {}
        for index, items, head in pending:  # one run per file, in the file's order
            earlier = reads.get(index)
            reads[index] = (index, (earlier[1] if earlier else []) + items, head)
        data = b"".join(
            self._encode(index, items, self.texts) for index, items in in_time_order(list(reads.values()))
        )
        before = self._pending_before
        if self.sink is not None and data and before is not None:
            self.sink.publish(data, before)

    # -- where viewers start --

    def open(self, last_event_id: str | None, backlog: int) -> tuple[bytes, MergedCursor | None]:
        wanted = parse_merged(last_event_id, self.tags)
        prelude = b""
        parts: list[FileCursor | None] = []
        for index, source in enumerate(self.files):
            seg = source.follower.segment
            if wanted is None:
                notes, cursor = source.open(None, 0)  # at the head; the backlog moves it back
                prelude += notes
                parts.append(cursor)
                continue
            own = wanted.get(self.tags[index])
            cursor = source.locate(own) if own not in (None, "_") else None
            if cursor is None and own not in (None, "_"):
                # Gone: said for this file alone, with no id (the stream's id stays a merged one).
                prelude += notice(source.name, "lost")
            if cursor is None:
                # From the first byte, as "appeared" would (missing then, gone, or new to this stream).
                cursor = FileCursor.at(seg, 0) if seg is not None else None
            parts.append(source.hold(cursor) if cursor is not None else None)
        if wanted is None and backlog > 0:
            _backlog(self.files, parts, backlog)
        texts = tuple(tag + _position_text(part) for tag, part in zip(self.tags, parts, strict=True))
        return prelude, MergedCursor(tuple(parts), texts)

    def locate(self, event_id: str) -> MergedCursor | None:
        return None  # a merged position is placed by open(), file by file

    # -- viewers reading at their own pace --

    def at_head(self, cursor: MergedCursor) -> bool:
        # A viewer about to join the head must not get again what it read itself.
        self._flush()
        return all(self._file_at_head(i, part) for i, part in enumerate(cursor.parts))

    def _file_at_head(self, index: int, part: FileCursor | None) -> bool:
        source = self.files[index]
        if part is None:
            return source.follower.segment is None
        return source.at_head(part)

    async def read(self, cursor: MergedCursor) -> tuple[bytes, MergedCursor]:
        """The next events of every file that is behind, merged by the lines' own times."""
        parts = list(cursor.parts)
        texts = list(cursor.texts)
        reads: list[tuple[int, list[Batch | Change], FileCursor]] = []
        for index, part in enumerate(parts):
            if self._file_at_head(index, part):
                continue
            source = self.files[index]
            if part is None:
                seg = source.follower.segment
                assert seg is not None
                reads.append((index, [Change("appeared", seg)], source.hold(FileCursor.at(seg, 0))))
                continue
            items, after = await source.read_items(part)
            reads.append((index, items, after))
        times = {
            id(item): [line_time(d) for d in item.lines.data]
            for _, items, _ in reads
            for item in items
            if isinstance(item, Batch)
        }
        # Files still behind may hold lines older than the last ones read from the others.
        behind = [
            last_time(items, times) for index, items, after in reads if not self.files[index].at_head(after)
        ]
        horizon = min((last for last in behind if last is not None), default=None)
        out = []
        for index, items, after in by_time(reads, horizon, times):
            out.append(self._encode(index, items, texts))
            parts[index] = after
        return b"".join(out), MergedCursor(tuple(parts), tuple(texts))

    def hold(self, cursor: MergedCursor) -> MergedCursor:
        for index, part in enumerate(cursor.parts):
            if part is not None:
                self.files[index].hold(part)
        return cursor

    def release(self, cursor: MergedCursor) -> None:
        for index, part in enumerate(cursor.parts):
            if part is not None:
                self.files[index].release(part)


class PerFile:
    """A merged stream's history: there is none of its own, it is read file by file."""

    async def lines(self, anchor: str | None, forward: bool, count: int) -> LinesPage:
        raise HistoryError(400, "history is read file by file: /api/lines/{name}")

    async def search(
        self, query: Query, before: str | None, limit: int, out: MatchesOut | None = None
    ) -> SearchPage:
        raise HistoryError(400, "search is file by file: /api/search/{name}")

    async def find_time(self, moment: float) -> TimeFound:
        raise HistoryError(400, "time is found file by file: /api/time/{name}")


def _backlog(files: Sequence[FileSource], parts: list[FileCursor | None], backlog: int) -> None:
    """Move each file's start back so the viewer gets the last ``backlog`` lines of the timeline.

    Each file's last ``backlog`` lines are merged newest first, and timestamps are parsed
    only as far as the merge goes: about ``backlog`` of them, however many files.
    """
    newest_first = []
    for index, part in enumerate(parts):
        if part is None:
            continue
        seg = part.segment
        try:
            start = backlog_start(seg.fd, part.offset, backlog)
            lines, _ = seg.read(start, part.offset, max(1, part.offset - start), files[index].max_line)
        except OSError:
            continue
        newest_first.append(_newest_first(index, lines, start))
    starts: dict[int, int] = {}
    for _, index, begin in itertools.islice(heapq.merge(*newest_first), backlog):
        starts[index] = begin  # each file's lines come newest first: the last one is its start
    for index, begin in starts.items():
        part = parts[index]
        assert part is not None
        parts[index] = FileCursor(part.segment, begin, part.epoch)


def _encode_lines(left: bytes, right: bytes, label: bytes, ino: int, lines: Lines) -> bytes:
    """Line events whose ids are ``left`` + the line's own id + ``right``, data led by the file's name."""
    if not lines.ends:
        return b""
    prefix = left + b"%x-" % ino
    data = [label + b"\ndata: " + d for d in lines.data]
    if lines.pieces is None and lines.early is None:
        return sse.numbered_events(prefix, lines.ends, b"-%x" % lines.head + right, data, lines.cr)
    return b"".join(
        sse.numbered_events(prefix, [end], tail + right, [line])
        for end, tail, line in zip(lines.ends, line_tails(lines), data, strict=True)
    )


def _last_id(ino: int, lines: Lines) -> bytes:
    """The file's own id of the last line of a batch."""
    return b"%x-%d%s" % (ino, lines.ends[-1], line_tails(lines)[-1]) if lines.ends else b""


def _newest_first(index: int, lines: Lines, start: int) -> Iterator[tuple[float, int, int]]:
    """(-time, file, line start) of a file's lines, newest first; a line without a time takes the newer one's.

    The pieces of an over-long line count as one line, starting where its first piece does.
    """
    pieces = lines.pieces or set()
    first = [0]  # the index of the first piece of each line's line
    for k in range(1, len(lines.ends)):
        first.append(first[k - 1] if k - 1 in pieces else k)
    when = float("inf")
    for k in range(len(lines.ends) - 1, -1, -1):
        if k in pieces:
            continue  # the line's last piece stands for it
        seconds = line_time(lines.data[first[k]])
        if seconds is not None:
            when = seconds
        yield -when, index, lines.ends[first[k] - 1] if first[k] else start
