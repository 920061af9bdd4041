"""The chain of generations a position leads through after a restart.

A viewer's position may be in a file that has since been rotated, perhaps several times
(``app.log`` → ``app.log.1`` → ``app.log.2``). Reopened from its id, that generation is
followed by every generation rotated after it, oldest first, then by the current file:
nothing in between is skipped, and a generation that cannot be read (compressed, or gone
meanwhile) is named so the viewer can be told.
"""

from __future__ import annotations

import os

from tailsse.following.lines import Position, at_boundary
from tailsse.following.segment import Segment, find_rotated, later_generations, open_segment


def reopen(path: str, pos: Position, current: Segment | None, max_line: int) -> Segment | None:
    """The rotated generation of ``path`` a position names, chained to what came after it."""
    old = find_rotated(path, pos.ino, pos.offset, pos.check)
    if old is None:
        return None
    try:
        old.end = os.fstat(old.fd).st_size
        if not at_boundary(old.fd, pos, max_line):
            raise OSError("not a line boundary")
    except OSError:
        old.close()
        return None
    old.retained, old.successor = False, current
    # Every generation rotated since is read on the way to the current file.
    skip = current.ino if current is not None else None
    old.pending = tuple(g for g in later_generations(path, old) if g[1] != skip)
    return old


def next_in_chain(seg: Segment) -> tuple[list[str], Segment | None]:
    """The file to read after ``seg``, and why generations on the way cannot be read."""
    unreadable: list[str] = []
    pending = list(seg.pending)
    while pending:
        path, ino = pending.pop(0)
        name = os.path.basename(path)
        if ino == -1:
            unreadable.append(f"{name} is compressed; its lines are not read")
            continue
        try:
            gen = open_segment(path)
            if gen.ino != ino:
                gen.close()
                raise FileNotFoundError(path)
            gen.end = os.fstat(gen.fd).st_size
        except OSError:
            unreadable.append(f"{name} is gone; its lines cannot be read")
            continue
        gen.retained, gen.kind, gen.successor, gen.pending = False, "rotated", seg.successor, tuple(pending)
        return unreadable, gen
    seg.pending = ()
    return unreadable, seg.successor
