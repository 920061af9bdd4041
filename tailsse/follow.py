"""Follow one path with ``tail -F`` semantics, and read lines at byte positions.

Nothing here knows about HTTP or watchdog. Every line read is tagged with the byte
position where it ends in a specific file: the file's inode, the offset, and a
fingerprint of the file's first bytes (up to FINGERPRINT_BYTES, never past the offset).
So a position stays meaningful across server restarts and is told apart from a file
that reuses the inode or was truncated and written again.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from tailsse.files import inside

FINGERPRINT_BYTES = 64
_ID_RE = re.compile(r"\A([0-9a-f]{1,16})-([0-9]{1,19})-([0-9a-f]{1,8})(-p)?\Z")


@dataclass(frozen=True)
class Position:
    """A byte offset in one file, as carried in an event id."""

    ino: int
    offset: int
    check: int = 0

    def event_id(self, piece: bool = False) -> bytes:
        """The SSE id: ``<inode hex>-<offset>-<fingerprint hex>``, ``-p`` for a cut piece."""
        return b"%x-%d-%x%s" % (self.ino, self.offset, self.check, b"-p" if piece else b"")

    @classmethod
    def parse(cls, text: str | None) -> Position | None:
        """Parse an event id; anything not produced by :meth:`event_id` gives None."""
        if not text:
            return None
        m = _ID_RE.match(text.strip())
        if not m:
            return None
        return cls(int(m.group(1), 16), int(m.group(2)), int(m.group(3), 16))


def fingerprint(fd: int, offset: int) -> int:
    """Checksum of the file's first bytes, as far as ``offset`` (at most FINGERPRINT_BYTES)."""
    return zlib.crc32(os.pread(fd, min(offset, FINGERPRINT_BYTES), 0))


@dataclass
class Lines:
    """Lines (or pieces of over-long lines) read from a file, in parallel lists."""

    ends: list[int]  # offset just after each line
    data: list[bytes]  # each line's text, valid UTF-8, without its line end
    pieces: set[int] | None = None  # indices of pieces that do not end a line
    cr: bool = False  # some line contains a CR
    early: list[int] | None = None  # fingerprints of lines ending in the first bytes
    head: int = 0  # fingerprint of every other line

    def __len__(self) -> int:
        return len(self.ends)


def _cut(buf: bytes, start: int, limit: int) -> int:
    """Where to cut an over-long line so a UTF-8 character is not split."""
    cut = start + limit
    back = cut
    while back > start and back > cut - 3 and (buf[back] & 0xC0) == 0x80:
        back -= 1
    return back if back > start else cut


def split_lines(
    buf: bytes, base: int, start: int, max_line: int, final_boundary: bool = False
) -> tuple[Lines, int]:
    """Split ``buf[start:]`` (file offset ``base`` + index) into lines.

    Returns the lines and the index just after the last one. A trailing part with no
    newline is held back unless it is longer than ``max_line`` (then it is cut into
    pieces, each no longer than ``max_line``) or ``final_boundary`` says the data ends
    exactly where an earlier read cut a piece. CR before LF is dropped; invalid UTF-8
    becomes U+FFFD.
    """
    last_nl = buf.rfind(b"\n", start)
    if last_nl >= 0:
        # The common case, done with C-speed primitives: split, accumulate, join.
        region = buf[start:last_nl]
        data = region.split(b"\n")
        lengths = list(map(len, data))
        if max(lengths) > max_line:
            return _split_slow(buf, base, start, max_line, final_boundary)
        ends = list(accumulate(map((1).__add__, lengths), initial=base + start))
        del ends[0]
        pos = last_nl + 1
        cr = b"\r" in region
        if cr:
            data = [d[:-1] if d.endswith(b"\r") else d for d in data]
            cr = any(b"\r" in d for d in data)
        lines = Lines(ends, data, None, cr)
        if not _valid_utf8(region):
            lines.data = [d.decode("utf-8", "replace").encode("utf-8") for d in data]
    else:
        lines, pos = Lines([], []), start
    size = len(buf)
    if size - pos > max_line or (final_boundary and size > pos):
        tail, pos = _split_slow(buf, base, pos, max_line, final_boundary)
        lines.ends += tail.ends
        offset = len(lines.data)
        lines.data += tail.data
        if tail.pieces:
            lines.pieces = (lines.pieces or set()) | {offset + i for i in tail.pieces}
        lines.cr = lines.cr or tail.cr
    return lines, pos


def _split_slow(buf: bytes, base: int, start: int, max_line: int, final_boundary: bool) -> tuple[Lines, int]:
    """Line by line, cutting lines longer than ``max_line`` into pieces."""
    ends: list[int] = []
    data: list[bytes] = []
    pieces: set[int] = set()
    pos = start
    size = len(buf)
    while pos < size:
        nl = buf.find(b"\n", pos, pos + max_line + 1)
        if nl >= 0:
            line = buf[pos:nl]
            if line.endswith(b"\r"):
                line = line[:-1]
            pos = nl + 1
        elif size - pos > max_line:
            cut = _cut(buf, pos, max_line)
            line, pos = buf[pos:cut], cut
            pieces.add(len(data))
        elif final_boundary:
            line, pos = buf[pos:size], size
            pieces.add(len(data))
        else:
            break
        ends.append(base + pos)
        data.append(line)
    lines = Lines(ends, data, pieces or None, any(b"\r" in d for d in data))
    if data and not _valid_utf8(buf[start:pos]):
        lines.data = [d.decode("utf-8", "replace").encode("utf-8") for d in data]
    return lines, pos


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_lines(fd: int, offset: int, stop: int | None, max_bytes: int, max_line: int) -> tuple[Lines, int]:
    """Read lines from ``offset`` in an open file, at most ``max_bytes`` of them.

    ``stop`` is a known line boundary (the head) not to read past, or None to read
    towards end of file and hold back a trailing partial line. Returns the lines and
    the offset after the last one.
    """
    want = max(max_bytes, max_line + 1)
    final = False
    if stop is not None:
        if stop - offset <= want:
            want = stop - offset
            final = True
        if want <= 0:
            return Lines([], []), offset
    buf = os.pread(fd, want, offset)
    if stop is not None and len(buf) < want:
        final = False  # the file is shorter than the caller thought
    lines, end = split_lines(buf, offset, 0, max_line, final)
    return lines, offset + end


def backlog_start(fd: int, end: int, count: int, block: int = 65536) -> int:
    """The offset where the last ``count`` lines before ``end`` begin.

    Reads backwards from ``end`` block by block, so the cost depends on the size of
    those lines, not of the file.
    """
    if count <= 0 or end <= 0:
        return end
    seen = 0
    pos = end
    # The byte at end-1 normally closes the last line; it does not start another.
    skip_last = True
    while pos > 0:
        size = min(block, pos)
        pos -= size
        buf = os.pread(fd, size, pos)
        idx = len(buf)
        if skip_last and buf.endswith(b"\n"):
            idx -= 1
        skip_last = False
        while True:
            idx = buf.rfind(b"\n", 0, idx)
            if idx < 0:
                break
            seen += 1
            if seen == count:
                return pos + idx + 1
    return 0


@dataclass(eq=False)
class Segment:
    """One open file (one inode) of a followed path."""

    fd: int
    dev: int
    ino: int
    end: int | None = None  # final size once the path has moved on to another file
    successor: Segment | None = None
    readers: int = 0
    retained: bool = True  # kept open by the follower (current, or recently rotated away)
    closed: bool = False
    kind: str = "rotated"  # the change that starts reading it: rotated or appeared
    head: int | None = None  # fingerprint of the first FINGERPRINT_BYTES, once there are that many

    def read(self, offset: int, stop: int | None, max_bytes: int, max_line: int) -> tuple[Lines, int]:
        """read_lines() with each line's fingerprint attached, so encoding needs no I/O."""
        lines, end = read_lines(self.fd, offset, stop, max_bytes, max_line)
        ends = lines.ends
        if ends:
            if ends[0] < FINGERPRINT_BYTES:
                lines.early = [fingerprint(self.fd, e) for e in ends if e < FINGERPRINT_BYTES]
            if ends[-1] >= FINGERPRINT_BYTES:
                lines.head = self.fingerprint(ends[-1])
        return lines, end

    def fingerprint(self, offset: int) -> int:
        """The fingerprint an id at ``offset`` in this file carries."""
        if offset >= FINGERPRINT_BYTES:
            if self.head is None:
                self.head = fingerprint(self.fd, offset)
            return self.head
        return fingerprint(self.fd, offset)

    def release(self) -> None:
        """Close once neither the follower nor any reader needs the file."""
        if not self.retained and self.readers == 0:
            self.close()

    def close(self) -> None:
        """Close the file descriptor (once)."""
        if not self.closed:
            self.closed = True
            os.close(self.fd)


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


def open_segment(path: str) -> Segment:
    """Open a regular file (or FIFO-free special file) for reading, non-blocking."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return Segment(fd, st.st_dev, st.st_ino)


def _opened_inside(seg: Segment, path: str, root: str) -> bool:
    """Whether the file just opened is the one ``path`` resolves to, inside ``root``."""
    if not inside(path, root):
        return False
    try:
        st = os.stat(os.path.realpath(path))
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (seg.dev, seg.ino)


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
        moved_away: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.path = os.path.abspath(path)
        self.max_line = max_line
        self.chunk = chunk
        self.moved_away = moved_away or (lambda path: [])
        self.quiet_for: Callable[[], float] = lambda: 0.0
        # A file found in a served directory must not lead out of it (a symlink retargeted).
        self.confine: str | None = None
        self.wait = 0.0  # after a poll: check again in this many seconds
        self.segment: Segment | None = None  # the file being read now
        self.pos = 0  # where the next line starts in it
        self.queue: deque[Segment] = deque()  # files to read after this one, in order
        self.retired: deque[Segment] = deque()
        self.state = "missing"
        self.error = ""
        self._seen: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._real = os.path.realpath(self.path)
        self._gone = False  # the file was removed: finish it, then report it missing
        self._last: Segment | None = None  # the file finished last, to link to the next
        self._check: int | None = None  # fingerprint at self.pos, to notice rewrites

    def start(self) -> None:
        """Open the file if it exists and position at the end of its last full line."""
        seg = self._open(report=False)
        if seg is None:
            return
        self.segment = seg
        size = os.fstat(seg.fd).st_size
        # Start at the beginning of a trailing partial line so it is sent when finished.
        ends_line = size == 0 or os.pread(seg.fd, 1, size - 1) == b"\n"
        self.pos = size if ends_line else backlog_start(seg.fd, size, 1)

    def close(self) -> None:
        """Stop following; files close as soon as no reader needs them."""
        for seg in [*self.retired, *self.queue, self.segment]:
            if seg is not None:
                seg.retained = False
                seg.release()
        self.retired.clear()
        self.queue.clear()
        self.segment = None

    def poll(self, budget: int) -> tuple[list[Batch | Change], bool]:
        """Stat the path and read new lines, up to about ``budget`` bytes.

        Returns what happened, in order, and whether more data is waiting.
        """
        out: list[Batch | Change] = []
        self.wait = 0.0
        if not self.queue and not self._gone:
            self._notice(self._stat(), out)
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
                self.segment, self.pos, self._check = nxt, 0, None
                out.append(Change(nxt.kind, nxt))
                continue
            if self._gone:
                self._gone = False
                self.state = "missing"
                out.append(Change("missing", None))
            return out, False

    def _stat(self) -> os.stat_result | None:
        try:
            return os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.error = exc.strerror or str(exc)
            return None

    def _notice(self, st: os.stat_result | None, out: list[Batch | Change]) -> None:
        """Compare the path with the open file and queue what must be read next."""
        seg = self.segment
        if seg is not None and st is not None and (st.st_dev, st.st_ino) == (seg.dev, seg.ino):
            if st.st_size < self.pos or not self._still_there(seg):
                self.pos, self._check, seg.head = 0, None, None
                out.append(Change("truncated", seg))
            return
        if seg is not None:
            wait = self.quiet_for()
            if wait > 0:
                # Renames may still be on their way from the watcher: read what is
                # certain now and decide once they have settled.
                self.wait = wait
                return
            # The path moved on. First every file rotated away since, oldest first.
            known = {(seg.dev, seg.ino)}
            if st is not None:
                known.add((st.st_dev, st.st_ino))
            for name in [*self.moved_away(self.path), *self.moved_away(self._real)]:
                gen = self._open_generation(name, known)
                if gen is not None:
                    known.add((gen.dev, gen.ino))
                    self.queue.append(gen)
        if st is None:
            self._gone = seg is not None
            return
        new = self._open(report=True, out=out)
        if new is not None:
            new.kind = "rotated" if seg is not None else "appeared"
            self.queue.append(new)

    def _still_there(self, seg: Segment) -> bool:
        """Whether the file still starts with the bytes it had when last read."""
        if self.pos == 0 or self._check is None:
            return True
        try:
            return fingerprint(seg.fd, self.pos) == self._check
        except OSError:
            return True

    def _open(self, report: bool, out: list[Batch | Change] | None = None) -> Segment | None:
        try:
            seg = open_segment(self.path)
            if self.confine is not None and not _opened_inside(seg, self.path, self.confine):
                seg.close()
                raise PermissionError(errno.EACCES, "outside the served directory", self.path)
        except FileNotFoundError:
            self.state = "missing"
            return None
        except OSError as exc:
            error = exc.strerror or str(exc)
            if report and out is not None and (self.state != "unreadable" or error != self.error):
                out.append(Change("unreadable", None, error))
            self.state, self.error = "unreadable", error
            return None
        self.state, self.error = "following", ""
        self._real = os.path.realpath(self.path)
        return seg

    def _open_generation(self, name: str, known: set[tuple[int, int]]) -> Segment | None:
        try:
            st = os.stat(name)
        except OSError:
            return None
        key = (st.st_dev, st.st_ino)
        if key in known or key in self._seen:
            return None
        try:
            seg = open_segment(name)
        except OSError:
            return None
        if (seg.dev, seg.ino) != key:
            seg.close()
            return None
        seg.kind = "rotated"
        return seg

    def _retire(self) -> None:
        """Finish the current file: it will not be read again."""
        seg = self.segment
        assert seg is not None
        self.segment = None
        self._last = seg
        seg.end = self.pos
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
            try:
                lines, end = seg.read(start, None, self.chunk, self.max_line)
                if not lines and final:
                    size = os.fstat(seg.fd).st_size
                    if size > start:  # a last line without a newline: send it as it is
                        lines, end = seg.read(start, size, self.chunk, self.max_line)
                        if lines.pieces:
                            lines.pieces.discard(len(lines) - 1)
            except OSError as exc:
                self.error = exc.strerror or str(exc)
                return False
            if not lines:
                return False
            out.append(Batch(seg, start, lines))
            done += end - start
            self.pos = end
            self._check = seg.fingerprint(end)
        return True
