"""watchdog events -> IOLoop wake-ups. No file is ever read here.

watchdog watches directories, so for each followed path tailsse watches its parent (and,
for a symlink, its target's parent) non-recursively and filters events by name. When a
parent does not exist yet, the nearest existing ancestor is watched for the directory
that leads to the file, and the watch moves down as directories appear.

Where the events come from is :mod:`tailsse.following.watches`: on Linux writes wake the
IOLoop directly, and arrivals and departures come from watchdog's inotify reader thread.
Events from a thread are coalesced: however many arrive, at most one callback is queued
on the IOLoop until it has run. Renames that move a followed file away are recorded in
order, so the follower can find every rotated-away generation, even when several
rotations happened before it looked.

A file can also be renamed over or deleted a few milliseconds after it arrived, before
the IOLoop gets to it. So with inotify a file arriving at a followed path (created,
renamed or linked there) is opened at once on the inotify thread, checked as the follower
would check it, and the descriptor is handed to the follower with the wake-up: that thread
opens and stats, and reads nothing; the follower's state is only touched on the IOLoop.
Every descriptor ends in a Segment or is closed (also when watching stops).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Set

from tornado.ioloop import IOLoop
from watchdog.events import FileSystemEvent, FileSystemEventHandler

from tailsse.following.early import Arrivals, Early
from tailsse.following.segment import Segment
from tailsse.following.watches import Watches

MAX_MOVES = 4096  # renames remembered for finding rotated-away files
# Seconds without events before the renames seen so far are taken as complete: events
# straight from inotify arrive within a fraction of a millisecond; the Observer holds
# renames back to pair them.
QUIET = 0.1
QUIET_DIRECT = 0.005


def interests(path: str) -> dict[str, str]:
    """Map each directory to watch to the name in it that matters for ``path``."""
    out: dict[str, str] = {}
    for target in {os.path.abspath(path), os.path.realpath(path)}:
        child = target
        parent = os.path.dirname(child)
        out.setdefault(parent, child)
        # Walk up to the nearest directory that exists, watching for the next step down.
        while not os.path.isdir(parent) and parent != os.path.dirname(parent):
            child, parent = parent, os.path.dirname(parent)
            out.setdefault(parent, child)
    return out


def _where_now(moves: list[tuple[str, str, int]], path: str) -> list[tuple[str, int]]:
    """Follow each file renamed away from ``path`` through later renames (src, dest, event)."""
    names: list[tuple[str, int]] = []
    for src, dest, event in moves:
        names = [(dest, left) if n == src else (n, left) for n, left in names]
        if src == path:
            names.append((dest, event))
    return names


class Watcher(FileSystemEventHandler):
    """Calls ``on_change(path, early)`` on the IOLoop when something may have changed at path
    (``early``: the files opened at the path as they arrived there, oldest first)."""

    def __init__(
        self,
        on_change: Callable[[str, list[Early]], None],
        poll: bool,
        interval: float,
        on_write: Callable[[str], None],
    ) -> None:
        self._loop: IOLoop | None = None  # set by start()
        self._on_change = on_change
        self._on_write = on_write  # called on the IOLoop for a write seen there, by followed path
        self._watches = Watches(self, self._event, self._written, self._all, poll, interval)
        self._direct = self._watches.direct
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._names: dict[str, set[str]] = {}  # name of interest -> followed paths
        self._followed: set[str] = set()
        self._moves: deque[tuple[str, str, int]] = deque(maxlen=MAX_MOVES)  # src, dest, event
        self._events = 0  # renames, creations, deletions seen: the order of arrivals and departures
        self.arrivals = Arrivals()  # files opened as they arrived at followed paths
        self._departures: dict[str, int] = {}  # followed name -> renames away from it seen
        self._new_file_dirs: set[str] = set()  # served directories: new files matter
        self._last_event = 0.0
        self._poll = poll

    def watch(self, path: str) -> None:
        """Watch (again) every place whose changes can affect ``path``; idempotent."""
        self._followed.add(path)
        wanted = interests(path)
        with self._lock:
            for name in (os.path.abspath(path), os.path.realpath(path), *wanted.values()):
                self._names.setdefault(name, set()).add(path)
        self.arrivals.name(path, os.path.abspath(path), os.path.realpath(path))
        for directory in wanted:
            self._watches.add(directory)

    def open_early(self, path: str, opener: Callable[[], Segment]) -> None:
        """With inotify, open a file arriving at ``path`` at once (``opener`` only opens and checks)."""
        if self._direct is not None:
            self.arrivals.open_with(path, opener)

    def watch_directory(self, directory: str) -> None:
        """Report (as ``on_change("")``) files created in or moved into a directory."""
        with self._lock:
            self._new_file_dirs.add(directory)
        self._watches.add(directory)

    def rewatch(self) -> None:
        """Re-arm watches for directories that appeared or were replaced."""
        for path in list(self._followed):
            self.watch(path)
        for directory in list(self._new_file_dirs):
            self._watches.add(directory)

    def watched_directories(self) -> list[str]:
        """Directories with a live watch (for tests and diagnostics)."""
        return self._watches.directories()

    def start(self, loop: IOLoop) -> None:
        """Report changes on ``loop`` from now on (starting the observer thread, if one)."""
        with self._lock:
            self._loop = loop
            early = bool(self._pending)
        if early:
            loop.add_callback(self._flush)
        self._watches.start(loop)

    def stop(self) -> None:
        """Stop watching (and the observer thread, if one); close what was opened early."""
        self.arrivals.stop()
        self._watches.stop()

    def quiet_for(self) -> float:
        """Seconds to wait until renames seen so far can be trusted to be all (0: now).

        inotify events reach this thread a little after they happen; a burst of
        rotations is only fully known once the events have stopped for a moment.
        """
        if self._poll:
            return 0.0
        if self.arrivals.opening:
            return QUIET_DIRECT  # a file that arrived is being opened: it comes first
        quiet = QUIET_DIRECT if self._direct is not None else QUIET
        return max(0.0, quiet - (time.monotonic() - self._last_event))

    def moved_away(self, path: str) -> list[tuple[str, int]]:
        """Where the files that were renamed away from ``path`` are now, oldest first, each
        with the count of events when it left (comparable with ``Segment.arrived``)."""
        with self._lock:
            moves = list(self._moves)
        return _where_now(moves, path)

    def departures(self, path: str) -> int:
        """How many files were seen renamed away from ``path`` so far."""
        return self._departures.get(path, 0)

    def on_any_event(self, event: FileSystemEvent) -> None:
        """Runs on the observer thread."""
        dest = os.fsdecode(getattr(event, "dest_path", "") or "")
        self._event(event.event_type, os.fsdecode(event.src_path), dest, event.is_directory)

    def _all(self) -> None:
        """Events were lost: check every followed path, and look for new files."""
        with self._lock:
            every = {p for paths in self._names.values() for p in paths} | {""}
        self._wake(every)

    def _event(self, kind: str, src: str, dest: str, is_directory: bool) -> None:
        """Runs on the thread that saw the event: note which followed paths to check."""
        if kind == "modified":
            # Writes seen on a thread (an Observer's, or inotify's where the IOLoop could not
            # watch for them), and attribute changes: nothing to do when the path is already
            # due to be checked. (Set reads need no lock; writes take it.)
            paths = self._names.get(src)
            if not paths or paths <= self._pending:
                return
            self._wake(set(paths))
            return
        # Only renames, creations and deletions can leave the list of renames incomplete.
        self._last_event = time.monotonic()
        hit: set[str] = set()
        with self._lock:
            self._events += 1
            event = self._events
            if kind == "moved" and src and dest:
                self._moves.append((src, dest, event))
            # A rename is reported when it leaves (inotify's first half) or whole (watchdog's).
            if kind == "moved" and src in self._names and (not dest or self._direct is None):
                self._departures[src] = self._departures.get(src, 0) + 1
            for name in (src, dest):
                if name:
                    hit |= self._names.get(name, set())
            if kind in ("created", "moved") and not is_directory:
                landed = dest or src
                if os.path.dirname(landed) in self._new_file_dirs and landed not in self._names:
                    hit.add("")
        if not is_directory and src and kind in ("moved", "deleted"):
            self.arrivals.left(src, "renamed" if kind == "moved" else "deleted")
        if kind in ("created", "moved") and not is_directory and (dest or kind == "created"):
            # A file arrived at a followed path: open it before it can go away again.
            self.arrivals.arrived(dest or src, event, self._departures)
        self._wake(hit)

    def _written(self, names: Set[str]) -> None:
        """On the IOLoop: files (or directories) were written to; read them now."""
        hit: set[str] = set()
        for name in names:
            hit |= self._names.get(name, set())
        for path in hit:
            self._on_write(path)

    def _wake(self, paths: set[str]) -> None:
        if not paths:
            return
        with self._lock:
            wake = not self._pending and self._loop is not None
            self._pending |= paths
            loop = self._loop
        if wake and loop is not None:
            loop.add_callback(self._flush)

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, set()
        early = self.arrivals.take()
        for path in pending | early.keys():
            self._on_change(path, early.get(path, []))
