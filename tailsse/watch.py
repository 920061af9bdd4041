"""watchdog Observer -> IOLoop wake-ups. No file is ever read here.

watchdog watches directories, so each followed path's parent (and, for a symlink, its
target's parent) is watched non-recursively and events are filtered by name. Events
from the observer thread are coalesced: however many arrive, at most one callback per
path is queued on the IOLoop until it has run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from tornado.ioloop import IOLoop
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)


class Watcher(FileSystemEventHandler):
    """Calls ``on_change(path)`` on the IOLoop when something may have changed at path."""

    def __init__(self, loop: IOLoop, on_change: Callable[[str], None], poll: bool, interval: float) -> None:
        self._loop = loop
        self._on_change = on_change
        self._observer: BaseObserver = PollingObserver(timeout=interval) if poll else Observer()
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._names: dict[str, set[str]] = {}  # watched file path -> followed paths it affects
        self._dirs: dict[str, object] = {}

    def watch(self, path: str) -> None:
        """Watch the places whose changes can affect ``path``."""
        candidates = {os.path.abspath(path)}
        real = os.path.realpath(path)
        candidates.add(real)
        with self._lock:
            for name in candidates:
                self._names.setdefault(name, set()).add(path)
        for name in candidates:
            self._watch_dir(os.path.dirname(name))

    def _watch_dir(self, directory: str) -> None:
        if directory in self._dirs or not os.path.isdir(directory):
            return
        try:
            self._dirs[directory] = self._observer.schedule(self, directory, recursive=False)
        except OSError as exc:
            log.warning("cannot watch %s: %s", directory, exc)

    def start(self) -> None:
        """Start the observer thread."""
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        """Stop the observer thread and wait for it."""
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=2)

    def on_any_event(self, event: FileSystemEvent) -> None:
        """Runs on the observer thread: note which followed paths to check."""
        hit: set[str] = set()
        with self._lock:
            for raw in (event.src_path, getattr(event, "dest_path", "")):
                if raw:
                    name = os.fsdecode(raw)
                    hit |= self._names.get(name, set())
            if not hit:
                return
            wake = not self._pending
            self._pending |= hit
        if wake:
            self._loop.add_callback(self._flush)

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, set()
        for path in pending:
            self._on_change(path)
