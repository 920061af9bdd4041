"""One open file of a followed path (one inode), and finding a rotated-away one again."""

from __future__ import annotations

import errno
import os
import re
import stat
import zlib
from collections.abc import Set
from dataclasses import dataclass, field

from tailsse.following.lines import FINGERPRINT_BYTES, Lines, fingerprint, read_lines


@dataclass(eq=False)
class Segment:
    """One open file (one inode) of a followed path."""

    fd: int
    dev: int
    ino: int
    end: int | None = None  # final size once the path has moved on to another file
    successor: Segment | None = None
    # Generations to read before the successor, oldest first, as (path, inode); inode -1
    # marks a compressed one, which is not read (a chain found after a restart).
    pending: tuple[tuple[str, int], ...] = ()
    readers: int = 0
    retained: bool = True  # kept open by the follower (current, or recently rotated away)
    closed: bool = False
    kind: str = "rotated"  # the change that starts reading it: rotated or appeared
    head: int | None = None  # fingerprint of the first FINGERPRINT_BYTES, once there are that many
    epoch: int = 0  # how often the file was truncated (or rewritten) under the same inode
    # Kept for the follower's history, so that an id can be placed after the file is closed:
    first: bytes = b""  # its first FINGERPRINT_BYTES bytes when it was finished
    since: int = 0  # when the follower began to follow it (time.time_ns())
    announced: set[int] = field(default_factory=set)  # epochs in which a notice named its first byte
    # Where it stands among the files seen at the path, in the watcher's count of events:
    # when the watcher opened it at the path, or saw it renamed away from it (0: not known).
    arrived: int = 0
    left: int = 0
    opened_at: float = 0.0  # time.monotonic() when the path was opened (0: not opened there)

    def names(self, offset: int, check: int) -> bool:
        """Whether an id at ``offset`` with fingerprint ``check`` was one of this file's, as it is now.

        A closed file answers from what was kept when it was finished.
        """
        if self.closed:
            want = min(offset, FINGERPRINT_BYTES)
            return (
                offset <= (self.end or 0)
                and len(self.first) >= want
                and zlib.crc32(self.first[:want]) == check
            )
        return holds(self, offset, check)

    def finish(self, end: int) -> None:
        """The follower is done with it at ``end``: keep what places ids in it later."""
        self.end = end
        try:
            self.first = os.pread(self.fd, FINGERPRINT_BYTES, 0)[:end]
        except OSError:
            self.first = b""

    def final_check(self) -> int:
        """The fingerprint of an id at the end of this finished file."""
        return zlib.crc32(self.first[: min(self.end or 0, FINGERPRINT_BYTES)])

    def intact(self, offset: int) -> bool:
        """Whether the file still holds what was read before ``offset`` (not truncated, not rewritten)."""
        if os.fstat(self.fd).st_size < offset:
            return False
        return self.head is None or offset < FINGERPRINT_BYTES or fingerprint(self.fd, offset) == self.head

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


def open_segment(path: str, follow: bool = True) -> Segment:
    """Open a regular file for reading, non-blocking (not through a symlink unless ``follow``)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if follow else flags | os.O_NOFOLLOW)
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


def open_generation(name: str, skip: Set[tuple[int, int]]) -> Segment | None:
    """Open a rotated-away generation of a followed file, unless it is one of ``skip``.

    A generation is a regular file with one name: never opened through a symlink, and
    not if it has other hard links (checked on the open file, so a swap cannot fool it).
    """
    try:
        st = os.stat(name, follow_symlinks=False)
    except OSError:
        return None
    key = (st.st_dev, st.st_ino)
    if key in skip:
        return None
    try:
        seg = open_segment(name, follow=False)
        links = os.fstat(seg.fd).st_nlink
    except OSError:
        return None
    if (seg.dev, seg.ino) != key or links != 1:
        seg.close()  # replaced between the stat and the open, or linked elsewhere too
        return None
    seg.kind = "rotated"
    return seg


def holds(seg: Segment, offset: int, check: int) -> bool:
    """Whether an open file still has, before ``offset``, the bytes a position saw there."""
    try:
        return offset <= os.fstat(seg.fd).st_size and seg.fingerprint(offset) == check
    except OSError:
        return False


# What a rotated generation of app.log is called: app.log.1, app.log-20261201, app.log.2026-12-01…
_GENERATION = re.compile(r"[.-][0-9][0-9._-]*\Z")


_COMPRESSED = re.compile(r"[.-][0-9][0-9._-]*\.(?:gz|bz2|xz|zst|lz4|z)\Z", re.IGNORECASE)


def is_generation(name: str, base: str) -> bool:
    """Whether a file name is that of a rotated generation of ``base`` (not compressed)."""
    return name.startswith(base) and bool(_GENERATION.match(name, len(base)))


def _age_rank(name: str, base: str) -> int:
    """Among generations rotated in the same instant, app.log.2 is older than app.log.1."""
    suffix = name[len(base) + 1 :].split(".")[0]
    return -int(suffix) if suffix.isdigit() and len(suffix) < 6 else 0


def later_generations(
    path: str, seg: Segment, before: int | None = None, skip: Set[int] = frozenset()
) -> tuple[tuple[str, int], ...]:
    """The generations next to ``path`` rotated after the one open in ``seg``, oldest first.

    Only those last written before ``before`` (ns), and not the inodes in ``skip``.
    Compressed ones are included with inode -1: they are in the chain, but not read.
    """
    directory, base = os.path.split(path)
    try:
        since = os.fstat(seg.fd).st_mtime_ns
        entries = list(os.scandir(directory or "."))
    except OSError:
        return ()
    found: list[tuple[int, int, str, int]] = []
    for entry in entries:
        plain = is_generation(entry.name, base)
        if not plain and not (entry.name.startswith(base) and _COMPRESSED.match(entry.name, len(base))):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_ino == seg.ino or st.st_mtime_ns < since:
            continue
        if (before is not None and st.st_mtime_ns >= before) or st.st_ino in skip:
            continue
        found.append((st.st_mtime_ns, _age_rank(entry.name, base), entry.path, st.st_ino if plain else -1))
    return tuple((name, ino) for _, _, name, ino in sorted(found))


def generations(path: str) -> list[str]:
    """The rotated generations next to ``path``: regular files, not symlinks, one name each."""
    directory, base = os.path.split(path)
    try:
        entries = [e for e in os.scandir(directory or ".") if is_generation(e.name, base)]
        return sorted(
            e.path
            for e in entries
            if e.is_file(follow_symlinks=False) and e.stat(follow_symlinks=False).st_nlink == 1
        )
    except OSError:
        return []


def find_rotated(path: str, ino: int, offset: int, check: int) -> Segment | None:
    """The file a position names, if it was rotated to a generation's name next to ``path``.

    Only files named like rotated generations of the path are considered (``app.log.1``,
    never ``app.log.private``), and the inode and the fingerprint must both match: an id
    can never open a file that is not the served log or one of its generations.
    """
    for name in generations(path):
        try:
            if os.stat(name, follow_symlinks=False).st_ino != ino:
                continue
            seg = open_segment(name)
        except OSError:
            continue
        if seg.ino == ino and holds(seg, offset, check):
            seg.kind = "rotated"
            return seg
        seg.close()
    return None


def generations_by_age(path: str) -> list[str]:
    """The rotated generations next to ``path`` (as :func:`generations`), oldest first."""
    _, base = os.path.split(path)
    aged = []
    for name in generations(path):
        try:
            mtime = os.stat(name, follow_symlinks=False).st_mtime_ns
        except OSError:
            continue
        aged.append((mtime, _age_rank(os.path.basename(name), base), name))
    return [name for _, _, name in sorted(aged)]
