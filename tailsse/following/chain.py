"""Where a position leads: the file it names, and every generation after it.

The follower keeps a history of the files it followed, oldest first, each linked to the
next (``Segment.successor``). A position (an event id) is placed in that history, also in
a file the follower closed since (found again by inode next to the path), and reading
goes on from there through every later file: one that cannot be read any more (deleted
while no one had it open) is named, so the viewer is told.

After a restart a position may be in a generation rotated before this process started
(``app.log`` → ``app.log.1`` → ``app.log.2``): then every generation rotated after it,
oldest first, is read before the history begins.

When the position itself is gone, reading goes on from the oldest file certainly newer
than the one it named, never from one that might be older (its lines could be repeated):
the next one in the history; a file that now has the id's inode (the same file, truncated
since, or one created after it was deleted); or the first file of the history.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from tailsse.following.follower import Follower
from tailsse.following.lines import Position, at_boundary
from tailsse.following.segment import Segment, find_rotated, later_generations, open_segment

GONE = "a generation rotated away meanwhile is gone; its lines cannot be read"


@dataclass
class Start:
    """Where a viewer starts reading: a file and an offset in it."""

    segment: Segment
    offset: int
    lost: bool  # the position named is gone: the viewer is told, then reads from here


def place(fol: Follower, pos: Position, max_line: int) -> Start | None:
    """Where reading resumes after ``pos``; None when there is no file to read at all."""
    history = list(fol.history)
    if pos.offset == 0 and pos.check == 0 and not pos.piece:
        return _place_first_byte(fol, history, pos)
    for seg in reversed(history):
        if not seg.closed and seg.ino == pos.ino and _holds_line_end(fol, seg, pos, max_line):
            return Start(seg, pos.offset, False)
    named = next((s for s in reversed(history) if s.ino == pos.ino and s.names(pos.offset, pos.check)), None)
    if named is None or named.closed:
        old = find_rotated(fol.path, pos.ino, pos.offset, pos.check)
        if old is not None:
            try:
                ok = at_boundary(old.fd, pos, max_line)
                if ok:
                    _chain(fol, history, old, named)
            except OSError:
                ok = False
            if ok:
                return Start(old, pos.offset, False)
            old.close()
    # The position is gone.
    if named is not None:
        # Open but not where a line ends: the whole file. Closed and gone: what came next.
        first = named if not named.closed else named.successor
        return _first_readable(fol, first)
    return _newer_than_inode(fol, history, pos.ino)


def _holds_line_end(fol: Follower, seg: Segment, pos: Position, max_line: int) -> bool:
    """Whether an open file still has a line (or a piece) ending at ``pos``, read so far."""
    limit = fol.pos if seg is fol.segment else seg.end
    try:
        if pos.offset > max(limit or 0, os.fstat(seg.fd).st_size):
            return False
        return seg.fingerprint(pos.offset) == pos.check and at_boundary(seg.fd, pos, max_line)
    except OSError:
        return False


def _place_first_byte(fol: Follower, history: list[Segment], pos: Position) -> Start | None:
    """An id at a file's first byte (a notice's): its fingerprint matches any file.

    It resumes silently only in the one file of the history that a notice named, and only
    if that file was not truncated since; anything else may be a file that reused the
    inode, so the viewer is told ``lost``.
    """
    told = [s for s in history if s.ino == pos.ino and s.announced]
    if len(told) == 1 and told[0].announced == {told[0].epoch}:
        seg = revive(fol.path, told[0])
        if seg is not None:
            return Start(seg, 0, False)
        return _first_readable(fol, told[0].successor)
    return _newer_than_inode(fol, history, pos.ino)


def _newer_than_inode(fol: Follower, history: list[Segment], ino: int) -> Start | None:
    """The position in a file with inode ``ino`` is gone: where to go on, telling ``lost``.

    A file that has that inode now is the same file, rewritten since, or one created after
    it was deleted: newer in either case, so it is read from its first byte. Otherwise the
    file was older than anything this process followed, which is read from the start.
    """
    same = next((s for s in reversed(history) if s.ino == ino), None)
    if same is None:
        old = find_rotated(fol.path, ino, 0, 0)  # a generation with that inode, whatever it holds
        if old is not None:
            try:
                if os.fstat(old.fd).st_mtime_ns < _history_began(history):
                    _chain(fol, history, old, None)
                    return Start(old, 0, True)
            except OSError:
                pass
            old.close()  # written since the history began, yet not in it: a copy, not a successor
    return _first_readable(fol, same if same is not None else (history[0] if history else None))


def _history_began(history: list[Segment]) -> int:
    return history[0].since if history else time.time_ns()


def _chain(fol: Follower, history: list[Segment], old: Segment, named: Segment | None) -> None:
    """Link a generation found next to the path to what comes after it."""
    old.end = os.fstat(old.fd).st_size
    old.retained = False
    if named is not None:
        # A file of the history, closed since: the history says what came next.
        _take_over(old, named)
        return
    # Rotated before this process began: every generation rotated after it, then the history.
    before = _history_began(history)
    known = {s.ino for s in history}
    old.pending = later_generations(fol.path, old, before, known)
    old.successor = history[0] if history else None


def _take_over(new: Segment, seg: Segment) -> None:
    """``new`` is ``seg`` opened again: it stands in for it, and for what came after it."""
    new.successor, new.first, new.since, new.announced = seg.successor, seg.first, seg.since, seg.announced
    new.epoch = seg.epoch


def revive(path: str, seg: Segment) -> Segment | None:
    """A file of the history, open for reading: itself while open, else found again next to ``path``."""
    if not seg.closed:
        return seg
    end = seg.end or 0
    found = find_rotated(path, seg.ino, end, seg.final_check())
    if found is None:
        return None
    try:
        found.end = max(end, os.fstat(found.fd).st_size)
    except OSError:
        found.close()
        return None
    found.retained = False
    _take_over(found, seg)
    return found


def _first_readable(fol: Follower, seg: Segment | None) -> Start | None:
    """``seg``, or the first file after it that can still be read, from its first byte."""
    while seg is not None:
        found = revive(fol.path, seg)
        if found is not None:
            return Start(found, 0, True)
        seg = seg.successor
    return None


def next_in_chain(path: str, seg: Segment) -> tuple[list[str], Segment | None]:
    """The file to read after ``seg``, and why files on the way cannot be read."""
    unreadable: list[str] = []
    pending = list(seg.pending)
    while pending:
        name_path, ino = pending.pop(0)
        name = os.path.basename(name_path)
        if ino == -1:
            unreadable.append(f"{name} is compressed; its lines are not read")
            continue
        try:
            gen = open_segment(name_path)
            if gen.ino != ino:
                gen.close()
                raise FileNotFoundError(name_path)
            gen.end = os.fstat(gen.fd).st_size
        except OSError:
            unreadable.append(f"{name} is gone; its lines cannot be read")
            continue
        gen.retained, gen.kind, gen.successor, gen.pending = False, "rotated", seg.successor, tuple(pending)
        return unreadable, gen
    seg.pending = ()
    nxt = seg.successor
    while nxt is not None:
        found = revive(path, nxt)
        if found is not None:
            return unreadable, found
        unreadable.append(GONE)
        nxt = nxt.successor
    return unreadable, None
