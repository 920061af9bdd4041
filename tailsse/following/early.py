"""Files the watcher opened at a followed path the moment they arrived there.

A generation may live only a few milliseconds at the path (renamed over, deleted): by the
time the IOLoop looks, only a descriptor opened at once still reaches its content. The
watcher opens each file on its own thread as its event arrives (see watch.py) and hands
the descriptor to the follower, which keeps it here until it moves on. Then these files
and the ones found renamed away (renames.py) are put in the order they were at the path,
each inode once; every descriptor is either taken over by the follower or closed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass

from tailsse.following.missed import GONE, Fates
from tailsse.following.segment import Segment

log = logging.getLogger(__name__)

MAX_EARLY = 128  # descriptors kept per followed path until the follower moves on


@dataclass(eq=False)
class Early:
    """A file opened at a followed path as soon as the watcher saw a file arrive there."""

    seg: Segment  # ``arrived``: the watcher's count of events when it was opened
    real: str  # the path, symlinks resolved, when it was opened
    departed: int  # renames away from ``real`` the watcher had seen by then
    at: float  # time.monotonic() just after it was opened


class Arrivals:
    """The watcher's side: files opened on its thread as they arrive, until handed over."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._openers: dict[str, Callable[[], Segment]] = {}  # followed path -> how to open it
        self._names: dict[str, set[str]] = {}  # the name of a followed file -> followed paths
        self._opened: dict[str, list[Early]] = {}  # not handed over yet, by followed path
        self.opening = 0  # files being opened right now
        self._stopped = False
        self._fates = Fates()  # what happened to each file at a followed name

    def open_with(self, path: str, opener: Callable[[], Segment]) -> None:
        with self._lock:
            self._openers[path] = opener

    def name(self, path: str, *names: str) -> None:
        """A file arriving at one of ``names`` arrives at the followed ``path``."""
        with self._lock:
            for name in names:
                self._names.setdefault(name, set()).add(path)

    def left(self, name: str, how: str) -> None:
        """On the watcher's thread: the file at ``name`` was "deleted" or "renamed" away."""
        with self._lock:
            self._fates.left(name, how, self._names.get(name, set()))

    def missed_for(self, path: str) -> list[str]:
        """On the IOLoop: notices of files at ``path`` that were gone before being opened."""
        with self._lock:
            return self._fates.take(path)

    def arrived(self, name: str, event: int, departures: Mapping[str, int]) -> None:
        """On the watcher's thread: a file arrived at ``name`` (the ``event``-th event)."""
        with self._lock:
            if self._stopped:
                return
            todo = [
                (path, self._openers[path]) for path in self._names.get(name, ()) if path in self._openers
            ]
            self.opening += len(todo)
        got: tuple[int, int] | None = None
        for path, opener in todo:
            try:
                seg: Segment | None = opener()
            except FileNotFoundError:
                seg, got = None, GONE  # it left before it could be opened
            except OSError:
                seg = None  # not to be read: the follower finds out itself
            except Exception:  # the count of opens under way must come back to 0
                log.exception("cannot open %s", path)
                seg = None
            real = os.path.realpath(path)
            with self._lock:
                self.opening -= 1
                if seg is None:
                    continue
                got = (seg.dev, seg.ino)
                opened = self._opened.setdefault(path, [])
                if self._stopped or len(opened) >= MAX_EARLY:
                    seg.close()  # the follower opens the path itself, later
                    continue
                seg.arrived, seg.opened_at = event, time.monotonic()
                # Renames are counted on this thread: the count is exact for this file.
                opened.append(Early(seg, real, departures.get(real, 0), seg.opened_at))
        if todo:
            with self._lock:
                self._fates.arrived(name, got, self._names.get(name, set()))

    def take(self) -> dict[str, list[Early]]:
        """On the IOLoop: every file opened since the last call, by followed path."""
        with self._lock:
            opened, self._opened = self._opened, {}
        return opened

    def take_for(self, path: str) -> list[Early]:
        """On the IOLoop: the files opened at ``path`` not handed over yet."""
        with self._lock:
            return self._opened.pop(path, [])

    def stop(self) -> None:
        """Open nothing more; close what was not handed over."""
        with self._lock:
            self._stopped = True
            opened, self._opened = self._opened, {}
        for item in (item for items in opened.values() for item in items):
            item.seg.close()


class EarlyFiles:
    """The follower's side: files opened early, oldest first, until it moves on."""

    def __init__(self) -> None:
        self.files: deque[Early] = deque()
        self.closed = False
        self.began = 0.0  # when the follower started (time.monotonic())
        # Files opened but not handed over yet: the follower may look (a timer) before the
        # watcher's wake-up has run, and must see every file opened before it moves on.
        self.collect: Callable[[], list[Early]] = list
        # Notices of files that were at the path so briefly that nothing could open them.
        self.missed: Callable[[], list[str]] = list

    def adopt(self, early: list[Early]) -> None:
        """Keep files the watcher opened (closed at once when the follower is closed)."""
        for item in early:
            if self.closed or len(self.files) >= MAX_EARLY:
                item.seg.close()
            else:
                self.files.append(item)

    def close(self) -> None:
        self.closed = True
        self.prune(lambda item: False)

    def prune(self, keep: Callable[[Early], bool]) -> None:
        """Close the files for which ``keep(item)`` is false."""
        kept: deque[Early] = deque()
        for item in self.files:
            if keep(item):
                kept.append(item)
            else:
                item.seg.close()
        self.files = kept

    @staticmethod
    def stale(item: Early, ref: Segment | None) -> bool:
        """Whether ``item`` is ``ref`` itself or was at the path before it.

        Not by the inodes of files closed since: a new file may have one of those.
        """
        if ref is None:
            return False
        if not ref.closed and (item.seg.dev, item.seg.ino) == (ref.dev, ref.ino):
            return True  # (a closed file's inode may be a new file's now)
        # Two files opened at the path are in the order they were opened (each one was
        # there then). A file only found renamed away has no such time: never older.
        if ref.arrived:
            return item.seg.arrived < ref.arrived
        return bool(ref.opened_at) and item.at < ref.opened_at

    def take(self, ref: Segment | None, seen: Set[tuple[int, int]]) -> tuple[list[Early], list[str]]:
        """The files that came after ``ref`` and are not read yet, oldest first, one per inode;
        and what cannot be read in order: a file that was at the path only before ``ref``.

        An inode opened on several events stands where it was seen last: an event handled
        after its file was already gone opened the next one.
        """
        self.adopt(self.collect())
        lost: list[str] = []
        keep: dict[tuple[int, int], Early] = {}
        for item in self.files:
            key = (item.seg.dev, item.seg.ino)
            if self.stale(item, ref):
                # Not read yet (unless a file read before had its inode): too late to read in order.
                if key not in seen and ref is not None and key != (ref.dev, ref.ino):
                    if item.at > self.began and _size(item.seg) > 0:
                        lost.append("a generation was found only after a newer one was read")
                item.seg.close()
                continue
            twin = keep.pop(key, None)
            if twin is not None:
                twin.seg.close()
            keep[key] = item
        self.files.clear()
        return list(keep.values()), lost

    def after(
        self, ref: Segment | None, seen: Set[tuple[int, int]], found: list[Segment]
    ) -> tuple[list[Segment], list[str], Early | None]:
        """What to read after ``ref``: :meth:`take` merged with ``found`` (renamed away);
        the losses; the newest file opened early, if any."""
        early, lost = self.take(ref, seen)
        return merge(early, found), lost, early[-1] if early else None


def merge(early: list[Early], found: list[Segment]) -> list[Segment]:
    """Files opened early and files found renamed away, as one sequence in the order they
    were at the path; a file in both is read through the descriptor opened early.

    Each list is in order already: ``early`` by when each file was opened at the path,
    ``found`` by when each was renamed away. Between two files in both, a file only opened
    early and one only found renamed away are ordered by the watcher's count of events:
    opened after the rename was seen, it came after; otherwise it is taken to be first.
    """
    both = {(item.seg.dev, item.seg.ino) for item in early} & {(seg.dev, seg.ino) for seg in found}
    opened = [item.seg for item in early]
    renamed: list[Segment] = []
    for seg in found:
        if (seg.dev, seg.ino) in both:
            seg.close()  # the descriptor opened early stands for it: the same file
            seg = next(s for s in opened if (s.dev, s.ino) == (seg.dev, seg.ino))
        renamed.append(seg)
    out: list[Segment] = []
    while opened and renamed:
        x, y = opened[0], renamed[0]
        if x is y:
            out.append(opened.pop(0))
            renamed.pop(0)
        elif (x.dev, x.ino) in both or ((y.dev, y.ino) not in both and x.arrived > y.left):
            out.append(renamed.pop(0))  # y is before x in the renames, or was seen leaving first
        else:
            out.append(opened.pop(0))
    return out + opened + renamed


def _size(seg: Segment) -> int:
    try:
        return os.fstat(seg.fd).st_size
    except OSError:
        return 0
