"""What a follower learns from the watcher about files renamed away from its path.

The watcher reports renames from another thread, a little after they happen, later still
on a busy machine. Before moving on from a file whose path now names another one, the
follower asks here whether that file's own rename has been reported (if it was renamed
rather than deleted); then the files renamed away since it was opened are found where they
went and read in order. One reported only after the follower had moved past it is named,
not read out of order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Set

from tailsse.following.segment import Segment, open_generation

LATE = 1.0  # seconds a rename of the file being read is waited for, at most


class Renames:
    """Renames away from one followed path, as the watcher reported them."""

    def __init__(
        self,
        moved_away: Callable[[str], list[tuple[str, int]]],
        quiet_for: Callable[[], float],
        departures: Callable[[str], int] | None,
    ) -> None:
        # Where files renamed away from a path went, oldest first, each with the watcher's
        # event count when it left (its place among the files seen arriving there).
        self.moved_away = moved_away
        self.quiet_for = quiet_for  # seconds until those renames can be trusted to be complete
        # Renames away from a path seen so far (None: renames are not reported one by one).
        self.departures = departures
        self._departed = 0  # ... when the file being read was opened
        self._owed_since = 0.0  # since when a rename of it is known to be on its way

    def opened(self, real: str, departed: int | None = None) -> None:
        """A file was opened at ``real`` (the path, symlinks resolved) just now, or when
        the watcher had seen ``departed`` renames away from it."""
        if departed is None:
            departed = self.departures(real) if self.departures is not None else 0
        self._departed = departed

    def wait(self, seg: Segment, real: str) -> float:
        """Seconds to wait before taking the renames reported so far as all (0: now)."""
        wait = self.quiet_for() or self._owed(seg, real)
        if not wait:
            self._owed_since = 0.0
        return wait

    def _owed(self, seg: Segment, real: str) -> float:
        """Seconds to wait for the report of the rename of ``seg`` (0: none is owed).

        The file lost its name but still has one (a link count), and no rename away from
        that name has been reported since it was opened: the report is late. Waiting for
        it, rather than for a quiet moment, keeps every generation renamed meanwhile, in
        order; after LATE seconds the follower goes on anyway.
        """
        if self.departures is None:
            return 0.0
        try:
            if os.fstat(seg.fd).st_nlink == 0:
                return 0.0  # deleted: no rename to wait for
            st = os.stat(real)
            if (st.st_dev, st.st_ino) == (seg.dev, seg.ino):
                return 0.0  # it kept its name: a symlink now points elsewhere
        except FileNotFoundError:
            pass
        except OSError:
            return 0.0
        if self.departures(real) > self._departed:
            return 0.0
        now = time.monotonic()
        self._owed_since = self._owed_since or now
        return 0.005 if now - self._owed_since < LATE else 0.0

    def since(
        self, seg: Segment, paths: list[str], known: Set[tuple[int, int]]
    ) -> tuple[list[Segment], list[str]]:
        """The files renamed away from ``paths`` after ``seg``, oldest first, opened; and
        why others renamed away cannot be read."""
        found: list[tuple[str, Segment]] = []
        lost: list[str] = []
        seen = {(seg.dev, seg.ino), *known}  # never a file read already, or the one at the path
        away: dict[str, int] = {}  # name now -> the watcher's count of events when it left
        for path in paths:
            for name, when in self.moved_away(path):
                away.setdefault(name, when)
        for name, when in away.items():
            try:
                mine = os.stat(name).st_ino == seg.ino
            except OSError:
                continue
            if mine:
                # Renamed away before seg was: older than lines already sent.
                for older, gen in found:
                    gen.close()
                    lost.append(f"{os.path.basename(older)} was found only after newer lines were sent")
                found.clear()
                continue
            opened = open_generation(name, seen)
            if opened is not None:
                opened.left = when
                seen.add((opened.dev, opened.ino))
                found.append((name, opened))
        return [gen for _, gen in found], lost
