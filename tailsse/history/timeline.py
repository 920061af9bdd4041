"""A followed file's past as one sequence of lines: its rotated generations, then itself.

``app.log.3``, ``app.log.2``, ``app.log.1`` (the generations still on disk, oldest first)
and ``app.log`` up to the head are read as one log: going back from the first line of
``app.log`` continues with the last line of ``app.log.1``. Every line carries the id the
live stream gives it (inode, offset of its end, fingerprint), so a line read here and the
same line received live are recognisably one, and an id from a stream is a place here.

Reading is by byte position, backwards block by block where it goes back, so the cost
depends on how much is asked for, not on the size of the files or how deep into them.
Only the files of the served path are ever opened: generations are found by name next
to it (see :func:`tailsse.following.segment.generations`), never from an id alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from tailsse.following.lines import Lines, Position, at_boundary, backlog_start
from tailsse.following.segment import Segment, generations_by_age, open_generation
from tailsse.history import dating
from tailsse.sources.base import HistoryLine, TimeFound


@dataclass
class Part:
    """One file of the timeline, read up to ``end``."""

    seg: Segment
    end: int  # the head in the current file; the size of a rotated generation
    owned: bool  # opened for this request, closed after it
    mtime: float = 0.0


@dataclass(frozen=True)
class Place:
    """A line boundary in the timeline: an offset in its ``index``-th file."""

    index: int
    offset: int


class Timeline:
    """The generations of a followed path still on disk, oldest first, then the file itself.

    Opened per request and closed after it (use it as a context manager); the current
    file is the follower's own open file, read only up to the head the streams have
    reached.
    """

    def __init__(
        self,
        path: str,
        current: Segment | None,
        head: int,
        max_line: int,
        chunk: int,
        skip: frozenset[int] = frozenset(),
    ) -> None:
        self.max_line = max_line
        self.chunk = chunk
        self.parts: list[Part] = []
        seen = set(skip)
        if current is not None:
            seen.add(current.ino)
        for name in generations_by_age(path):
            seg = open_generation(name, frozenset())
            if seg is None:
                continue
            if seg.ino in seen:
                seg.close()
                continue
            seen.add(seg.ino)
            try:
                st = os.fstat(seg.fd)
            except OSError:
                seg.close()
                continue
            self.parts.append(Part(seg, st.st_size, True, st.st_mtime))
        if current is not None and not current.closed:
            current.readers += 1  # kept open while this request reads it
            try:
                mtime = os.fstat(current.fd).st_mtime
            except OSError:
                mtime = time.time()
            self.parts.append(Part(current, head, False, mtime))

    def __enter__(self) -> Timeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for part in self.parts:
            if part.owned:
                part.seg.close()
            else:
                part.seg.readers -= 1
                part.seg.release()
        self.parts = []

    # -- places --

    def size(self) -> int:
        """Bytes in the whole timeline."""
        return sum(part.end for part in self.parts)

    def start(self) -> Place | None:
        return Place(0, 0) if self.parts else None

    def end(self) -> Place | None:
        return Place(len(self.parts) - 1, self.parts[-1].end) if self.parts else None

    def locate(self, pos: Position) -> Place | None:
        """Where an id's line ends, if that file is still here and the id fits it."""
        for index, part in enumerate(self.parts):
            seg = part.seg
            if seg.ino != pos.ino:
                continue
            try:
                if pos.offset > part.end or seg.fingerprint(pos.offset) != pos.check:
                    return None
                if not at_boundary(seg.fd, pos, self.max_line):
                    return None
            except OSError:
                return None
            return Place(index, pos.offset)
        return None

    def event_id(self, place: Place, piece: bool = False) -> str:
        """The id of the line that ends at ``place`` (as the stream sends it)."""
        seg = self.parts[place.index].seg
        return Position(seg.ino, place.offset, seg.fingerprint(place.offset)).event_id(piece).decode()

    def ends(self) -> tuple[int, ...]:
        """How far each file is read."""
        return tuple(part.end for part in self.parts)

    def older(self, place: Place) -> Place:
        """The same boundary, moved back into the previous file when at a file's start."""
        return Place(*older(self.ends(), place.index, place.offset))

    def _has_after(self, place: Place) -> bool:
        part = self.parts[place.index]
        return place.offset < part.end or any(p.end > 0 for p in self.parts[place.index + 1 :])

    # -- lines --

    def _lines(self, index: int, start: int, stop: int) -> list[HistoryLine]:
        """The lines of one file from ``start`` to ``stop`` (both line boundaries)."""
        seg = self.parts[index].seg
        prefix = f"{seg.ino:x}-"
        out: list[HistoryLine] = []
        offset = start
        while offset < stop:
            lines, offset = seg.read(offset, stop, self.chunk, self.max_line)
            if not lines:
                break
            out.extend(_history(prefix, lines))
        return out

    def before(self, place: Place, count: int) -> tuple[list[HistoryLine], bool]:
        """Up to ``count`` lines ending at or before ``place``, oldest first; and whether there are older ones."""
        found: list[list[HistoryLine]] = []
        have = 0
        at = self.older(place)
        while have < count and at.offset > 0:
            need = count - have
            start = backlog_start(self.parts[at.index].seg.fd, at.offset, need)
            lines = self._lines(at.index, start, at.offset)
            if len(lines) > need:  # over-long lines come in several pieces
                found.append(lines[len(lines) - need :])
                return [line for block in reversed(found) for line in block], True
            found.append(lines)
            have += len(lines)
            at = self.older(Place(at.index, start))
        return [line for block in reversed(found) for line in block], at.offset > 0

    def after(self, place: Place, count: int) -> tuple[list[HistoryLine], bool]:
        """Up to ``count`` lines after ``place``, oldest first; and whether more follow before the head."""
        out: list[HistoryLine] = []
        index, offset = place.index, place.offset
        while len(out) < count:
            part = self.parts[index]
            if offset < part.end:
                lines, offset = part.seg.read(offset, part.end, self.chunk, self.max_line)
                if not lines:
                    break
                out.extend(_history(f"{part.seg.ino:x}-", lines))
            elif index + 1 < len(self.parts):
                index, offset = index + 1, 0
            else:
                break
        if len(out) > count:
            return out[:count], True
        return out, self._has_after(Place(index, offset))

    def find_time(self, moment: float) -> TimeFound:
        """The first line whose own time is at or after ``moment`` (see :mod:`tailsse.history.dating`).

        Raises :class:`~tailsse.history.dating.NoTimes` when no line has a recognisable time.
        """
        found = dating.find_time(self.parts, moment)
        if found is None:
            return TimeFound(None, None)
        seg = found.part.seg
        data = os.pread(seg.fd, found.end - found.start, found.start).rstrip(b"\n")
        line = history_line(
            f"{seg.ino:x}-", found.end, seg.fingerprint(found.end), data, False, self.max_line
        )
        return TimeFound(line, found.seconds)


def older(ends: tuple[int, ...], index: int, offset: int) -> tuple[int, int]:
    """A boundary (an ``offset`` in the ``index``-th of files read up to ``ends``), moved back
    into the previous file while at a file's start: its offset is 0 only when nothing is
    before it."""
    while offset == 0 and index > 0:
        index -= 1
        offset = ends[index]
    return index, offset


def history_line(prefix: str, end: int, check: int, data: bytes, piece: bool, max_line: int) -> HistoryLine:
    """A line found by offset, with the id the stream gives it; text cut at ``max_line`` bytes."""
    if data.endswith(b"\r"):
        data = data[:-1]
    text = data[:max_line].decode("utf-8", "ignore" if len(data) > max_line else "replace")
    return HistoryLine(f"{prefix}{end}-{check:x}{'-p' if piece else ''}", text)


def _history(prefix: str, lines: Lines) -> Iterator[HistoryLine]:
    """Lines read by :meth:`Segment.read`, each with its id."""
    pieces = lines.pieces or ()
    early = lines.early or []
    for i, (end, data) in enumerate(zip(lines.ends, lines.data, strict=True)):
        check = early[i] if i < len(early) else lines.head
        yield HistoryLine(f"{prefix}{end}-{check:x}{'-p' if i in pieces else ''}", data.decode("utf-8"))
