"""The directory watches behind a Watcher, and where their events come from.

On Linux, watchdog's inotify layer (see :mod:`tailsse.following.inotify`): writes on the
IOLoop itself, arrivals and departures on watchdog's inotify reader thread. Elsewhere, and
with ``--poll``, a watchdog Observer, which reports everything on its own threads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Set

from tornado.ioloop import IOLoop
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from tailsse.following import inotify

log = logging.getLogger(__name__)


class Watches:
    """One watch per directory, made again when the directory was replaced."""

    def __init__(
        self,
        handler: FileSystemEventHandler,
        event: inotify.Sink,
        written: Callable[[Set[str]], None],
        lost: Callable[[], None],
        poll: bool,
        interval: float,
    ) -> None:
        self.direct = None if poll or not inotify.available() else inotify.DirectWatches(event, lost)
        self.writes: inotify.WriteWatches | None = None
        if self.direct is not None:
            try:
                self.writes = inotify.WriteWatches(written, lost)
            except OSError as exc:  # (a limit on inotify instances): writes come from the thread
                log.warning("cannot watch for writes on the IOLoop: %s", exc)
        self.observer: BaseObserver | None = None
        if self.direct is None:
            self.observer = PollingObserver(timeout=interval) if poll else Observer()
        self._handler = handler  # the Observer's
        self._by_directory: dict[str, tuple[object, int]] = {}  # dir -> (watch, dir inode)

    def add(self, directory: str) -> None:
        """Watch ``directory`` unless it is watched already, as the directory it is now."""
        try:
            ino = os.stat(directory).st_ino
        except OSError:
            return
        current = self._by_directory.get(directory)
        if current is not None:
            if current[1] == ino:
                return
            # The directory was removed and created again: the old watch is dead.
            self._remove(directory, current[0])
        try:
            watch: object = directory
            if self.direct is not None:
                self.direct.add(directory, writes=not self._add_writes(directory))
            elif self.observer is not None:
                watch = self.observer.schedule(self._handler, directory, recursive=False)
        except OSError as exc:
            log.warning("cannot watch %s: %s", directory, exc)
            return
        self._by_directory[directory] = (watch, ino)

    def _add_writes(self, directory: str) -> bool:
        """Watch ``directory`` for writes on the IOLoop; False when the thread must."""
        if self.writes is None:
            return False
        try:
            self.writes.add(directory)
        except OSError as exc:
            log.warning("cannot watch %s for writes on the IOLoop: %s", directory, exc)
            return False
        return True

    def _remove(self, directory: str, watch: object) -> None:
        del self._by_directory[directory]
        if self.writes is not None:
            self.writes.remove(directory)
        if self.direct is not None:
            self.direct.remove(directory)
        elif self.observer is not None:
            try:
                self.observer.unschedule(watch)  # type: ignore[arg-type]
            except (KeyError, OSError):
                pass

    def directories(self) -> list[str]:
        return sorted(self._by_directory)

    def start(self, loop: IOLoop) -> None:
        if self.writes is not None:
            self.writes.start(loop)
        if self.observer is not None:
            self.observer.daemon = True
            self.observer.start()

    def stop(self) -> None:
        if self.direct is not None:
            self.direct.close()
        if self.writes is not None:
            self.writes.close()
        if self.observer is not None:
            self.observer.stop()
            if self.observer.is_alive():
                self.observer.join(timeout=2)
        self._by_directory.clear()
