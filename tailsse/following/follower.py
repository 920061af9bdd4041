"""Follow one path with ``tail -F`` semantics: reopen on rotation, restart on truncation.

Nothing here knows about HTTP or watchdog: the watcher's findings come in as plain
callables given to the constructor.
"""

from __future__ import annotations

import errno
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from tailsse.following.early import EarlyFiles
from tailsse.following.lines import Lines, backlog_start, fingerprint
from tailsse.following.paths import inside
from tailsse.following.renames import Renames
from tailsse.following.segment import Segment, open_segment


@dataclass
class Change:
    """Something that happened to the followed path."""

    kind: str  # appeared, missing, rotated, truncated, unreadable
    segment: Segment | None
    detail: str = ""


@dataclass
class Batch:
    """Lines read from one segment, starting at ``start``."""

    segment: Segment
    start: int
    lines: Lines


def open_followed(path: str, confine: str | None) -> Segment:
    """Open the file a followed path names now; with ``confine``, only if it is inside and only there.

    Safe on any thread: it opens and stats, and reads nothing. A file with other hard
    links may be a link to something outside the served directory: not served from one.
    """
    seg = open_segment(path)
    if confine is None:
        return seg
    try:
        st = os.stat(os.path.realpath(path))
        links = os.fstat(seg.fd).st_nlink
        ok = inside(path, confine) and (st.st_dev, st.st_ino) == (seg.dev, seg.ino) and links == 1
    except OSError:
        ok = False
    if not ok:
        seg.close()
        raise PermissionError(errno.EACCES, "outside the served directory", path)
    return seg


def _stat(path: str) -> tuple[os.stat_result | None, str]:
    """The path's status now, or None, with why when it is there but cannot be stat'ed."""
    try:
        return os.stat(path), ""
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, exc.strerror or str(exc)


def _unless_open(seg: Segment | None, keys: set[tuple[int, int]]) -> Segment | None:
    """``seg``, unless its file is open already (it arrived meanwhile and was opened early)."""
    if seg is not None and (seg.dev, seg.ino) in keys:
        seg.close()
        return None
    return seg


def _last_line_start(fd: int) -> int:
    """The end of the file, or the beginning of a trailing partial line (sent when finished)."""
    size = os.fstat(fd).st_size
    ends_line = size == 0 or os.pread(fd, 1, size - 1) == b"\n"
    return size if ends_line else backlog_start(fd, size, 1)


def _try_open(path: str, confine: str | None) -> tuple[Segment | None, str]:
    """The followed file opened, or None and why ("": it is not there)."""
    try:
        return open_followed(path, confine), ""
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, exc.strerror or str(exc)


def _read_at(seg: Segment, start: int, final: bool, chunk: int, max_line: int) -> tuple[Lines, int]:
    """Lines from ``start``; when nothing more will be written there (``final``), the last
    one too, without its newline.

    At the end of the file ``chunk`` is small: a few lines are new, and a large read
    buffer costs a fresh allocation from the system each time.
    """
    lines, end = seg.read(start, None, chunk, max_line)
    if not lines.ends and final:
        size = os.fstat(seg.fd).st_size
        if size > start:  # a last line without a newline: send it as it is
            lines, end = seg.read(start, size, chunk, max_line)
            if lines.pieces:
                lines.pieces.discard(len(lines) - 1)
    return lines, end


def _still_there(seg: Segment, pos: int, check: int | None) -> bool:
    """Whether the file still starts with the bytes it had when read up to ``pos``."""
    if pos == 0 or check is None:
        return True
    try:
        return fingerprint(seg.fd, pos) == check
    except OSError:
        return True


NEAR_END = 32 * 1024  # bytes asked for when the last read ended at the end of the file


class Follower:
    """Follows one path like ``tail -F``: reopen on rotation, restart on truncation.

    Better than ``tail -F`` where it can be: the old file is read to its end before the
    new one is followed, and files that were rotated away before the follower looked
    (``moved_away`` tells it where they went) are read too, in order.
    """

    KEEP_RETIRED = 3  # rotated-away files kept open for viewers still reading them
    KEEP_SEEN = 256  # inodes already read to their end, not to be read again

    def __init__(
        self,
        path: str,
        max_line: int,
        chunk: int = 256 * 1024,
        moved_away: Callable[[str], list[tuple[str, int]]] = lambda path: [],
        quiet_for: Callable[[], float] = lambda: 0.0,
        confine: str | None = None,
        departures: Callable[[str], int] | None = None,
    ) -> None:
        self.path = os.path.abspath(path)
        self.max_line = max_line
        self.chunk = chunk
        self.renames = Renames(moved_away, quiet_for, departures)
        # A file found in a served directory must not lead out of it (a symlink retargeted).
        self.confine = confine
        self.wait = 0.0  # after a poll: check again in this many seconds
        self.segment: Segment | None = None  # the file being read now
        self.pos = 0  # where the next line starts in it
        self.queue: deque[Segment] = deque()  # files to read after this one, in order
        self.retired: deque[Segment] = deque()
        # Every file followed, oldest first (each one's successor is the next): a position
        # is placed in it, also in a file closed since, so nothing after it is skipped.
        self.history: deque[Segment] = deque(maxlen=self.KEEP_SEEN)
        self.state = "missing"
        self.error = ""
        self._seen: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._real = os.path.realpath(self.path)
        self._gone = False  # the file was removed: finish it, then report it missing
        self._last: Segment | None = None  # the file finished last, to link to the next
        self._check: int | None = None  # fingerprint at self.pos, to notice rewrites
        self._at_end = False  # the last read found the end of the file
        self.early = EarlyFiles()  # files the watcher opened at the path as they arrived

    def start(self) -> None:
        """Open the file if it exists and position at the end of its last full line."""
        self.early.began = time.monotonic()
        seg = self._open(report=False)
        if seg is None:
            return
        self._follow(seg)
        self.pos = _last_line_start(seg.fd)

    def close(self) -> None:
        """Stop following; files close as soon as no reader needs them."""
        self.early.close()
        for seg in [*self.retired, *self.queue, self.segment]:
            if seg is not None:
                seg.retained = False
                seg.release()
        self.retired.clear()
        self.queue.clear()
        self.segment = None

    def poll(self, budget: int, written: bool = False) -> tuple[list[Batch | Change], bool]:
        """Stat the path and read up to about ``budget`` bytes: what happened, in order, and
        whether more data is waiting. After a write (``written``), new lines of the file
        being read are all: a rotation comes with events of its own."""
        out: list[Batch | Change] = []
        self.wait = 0.0
        seg = self.segment
        if written and seg is not None and not self.queue and not self._gone:
            if _still_there(seg, self.pos, self._check):
                more = self._read(out, budget)
                if out:
                    return out, more
        if not self.queue and not self._gone:
            st, error = _stat(self.path)
            self.error = error or self.error
            self._notice(st, out)
        while True:
            if self.segment is not None:
                if self._read(out, budget):
                    return out, True
                if not self.queue and not self._gone:
                    return out, False
                self._retire()
            if self.queue:
                nxt = self.queue.popleft()
                if self._last is not None:
                    self._last.successor = nxt
                self._follow(nxt)
                nxt.announced.add(nxt.epoch)
                out.append(Change(nxt.kind, nxt))
                continue
            if self._gone:
                self._gone = False
                self.state = "missing"
                out.append(Change("missing", None))
            return out, False

    def _notice(self, st: os.stat_result | None, out: list[Batch | Change]) -> None:
        """Compare the path with the open file and queue what must be read next."""
        seg = self.segment
        if seg is not None and st is not None and (st.st_dev, st.st_ino) == (seg.dev, seg.ino):
            if st.st_size < self.pos or not _still_there(seg, self.pos, self._check):
                self.pos, self._check, seg.head = 0, None, None
                seg.epoch += 1  # readers behind the head notice it by this
                seg.announced.add(seg.epoch)
                out.append(Change("truncated", seg))
            self.early.prune(lambda item: not self.early.stale(item, seg))
            out += [Change("lost", None, detail) for detail in self.early.missed()]
            return
        found: list[Segment] = []
        lost: list[str] = []
        if seg is not None:
            wait = self.renames.wait(seg, self._real)
            if wait > 0:
                self.wait = wait  # renames may still be on their way: decide once settled
                return
            # The path moved on: files rotated away since and files opened as they came.
            now = {(st.st_dev, st.st_ino)} if st is not None else set()
            found, lost = self.renames.since(seg, [self.path, self._real], self._seen.keys() | now)
        fresh, late, last = self.early.after(seg or self._last, self._seen.keys(), found)
        out += [Change("lost", None, detail) for detail in lost + late + self.early.missed()]
        if last is not None:  # the path's file, when it was opened: the newest opened early
            self.state, self.error, self._real = "following", "", last.real
            self.renames.opened(last.real, last.departed)
        if fresh:  # opened early, perhaps after the path was stat'ed: look again
            st = _stat(self.path)[0]
        keys = {(s.dev, s.ino) for s in fresh}
        if st is not None and (st.st_dev, st.st_ino) not in keys:
            new = _unless_open(self._open(report=True, out=out), keys)
            fresh += [new] if new is not None else []
        for i, new in enumerate(fresh):
            new.kind = "rotated" if seg is not None or i else "appeared"
        self.queue.extend(fresh)
        if st is None:
            self._gone = seg is not None or bool(fresh)

    def _open(self, report: bool, out: list[Batch | Change] | None = None) -> Segment | None:
        began = time.monotonic()
        seg, error = _try_open(self.path, self.confine)
        if seg is None:
            if error and report and out is not None and (self.state != "unreadable" or error != self.error):
                out.append(Change("unreadable", None, error))
            self.state, self.error = ("unreadable", error) if error else ("missing", self.error)
            return None
        self.state, self.error = "following", ""
        self._real = os.path.realpath(self.path)
        self.renames.opened(self._real)
        seg.opened_at = began
        return seg

    def _follow(self, seg: Segment) -> None:
        """Read ``seg`` from its first byte from now on."""
        self.segment, self.pos, self._check = seg, 0, None
        seg.since = time.time_ns()
        self.history.append(seg)

    def _retire(self) -> None:
        """Finish the current file: it will not be read again."""
        seg = self.segment
        assert seg is not None
        self.segment = None
        self._last = seg
        seg.finish(self.pos)
        self._seen[(seg.dev, seg.ino)] = None
        while len(self._seen) > self.KEEP_SEEN:
            self._seen.popitem(last=False)
        self.retired.append(seg)
        while len(self.retired) > self.KEEP_RETIRED:
            old = self.retired.popleft()
            old.retained = False
            old.release()

    def _read(self, out: list[Batch | Change], budget: int) -> bool:
        seg = self.segment
        assert seg is not None
        final = bool(self.queue) or self._gone  # nothing more here that we would see
        done = 0
        while done < budget:
            start = self.pos
            chunk = NEAR_END if self._at_end else self.chunk
            try:
                lines, end = _read_at(seg, start, final, chunk, self.max_line)
            except OSError as exc:
                self.error = exc.strerror or str(exc)
                return False
            self._at_end = lines.short
            if not lines.ends:
                return False
            out.append(Batch(seg, start, lines))
            done += end - start
            self.pos = end
            self._check = seg.fingerprint(end)
            if lines.short and not final:
                return False  # at the end of the file: no need to read again to find out
        return True
