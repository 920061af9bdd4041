"""Lines at byte positions: reading, splitting, and the ids that name a position.

Every line read is tagged with the byte position where it ends in a specific file: the
file's inode, the offset, and a fingerprint of the file's first bytes (up to
FINGERPRINT_BYTES, never past the offset). So a position stays meaningful across server
restarts and is told apart from a file that reuses the inode or was truncated and written
again. Nothing here knows about following, HTTP or watchdog.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass, field
from itertools import accumulate

FINGERPRINT_BYTES = 64
_ID_RE = re.compile(r"\A([0-9a-f]{1,16})-([0-9]{1,19})-([0-9a-f]{1,8})(-p)?\Z")


@dataclass(frozen=True)
class Position:
    """A byte offset in one file, as carried in an event id."""

    ino: int
    offset: int
    check: int = 0
    piece: bool = field(default=False, compare=False)  # the offset cuts an over-long line

    def event_id(self, piece: bool = False) -> bytes:
        """The SSE id: ``<inode hex>-<offset>-<fingerprint hex>``, ``-p`` for a cut piece."""
        return b"%x-%d-%x%s" % (self.ino, self.offset, self.check, b"-p" if piece or self.piece else b"")

    @classmethod
    def parse(cls, text: str | None) -> Position | None:
        """Parse an event id; anything not produced by :meth:`event_id` gives None."""
        if not text:
            return None
        m = _ID_RE.match(text.strip())
        if not m:
            return None
        return cls(int(m.group(1), 16), int(m.group(2)), int(m.group(3), 16), bool(m.group(4)))


def at_boundary(fd: int, pos: Position, max_line: int) -> bool:
    """Whether ``pos`` is where a line (or a piece of an over-long one) ends in an open file.

    A line ends just after a newline. A piece ends inside a line that is already at least
    a piece long there (pieces are ``max_line`` bytes, less up to 3 so as not to split a
    UTF-8 character); an id is never taken to start a viewer in the middle of a line.
    """
    if pos.offset == 0:
        return True
    if not pos.piece:
        return os.pread(fd, 1, pos.offset - 1) == b"\n"
    span = max(1, max_line - 3)
    if pos.offset < span:
        return False
    return b"\n" not in os.pread(fd, span, pos.offset - span)


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
    short: bool = False  # the read found the end of the file: nothing more to read now

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
        if not region.isascii() and not _valid_utf8(region):
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
    lines.short = len(buf) < want
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
