"""The shortest wake-up path on Linux: watchdog's inotify layer calling back per event.

watchdog's Observer hands an inotify event through three threads (its inotify reader, the
emitter, which holds renames back up to half a second to pair them, and the observer's
dispatch queue) before a handler sees it. Its inotify layer (``InotifyFD``, watchdog 7)
also calls back per event on its reader thread; tailsse registers there, pairs renames by
their cookie itself, and goes straight to the IOLoop: one thread hop from the kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from watchdog.observers.inotify_c import CallbackId, InotifyEvent, InotifyFD, Mask, WatchDescriptor

# (event type as watchdog names it, path, destination of a rename, is a directory)
Sink = Callable[[str, str, str, bool], None]


def available() -> bool:
    """Whether watchdog's per-event inotify callbacks exist here (Linux, watchdog 7)."""
    try:
        from watchdog.observers.inotify_c import InotifyFD

        return hasattr(InotifyFD, "get_instance") and hasattr(InotifyFD, "add_callback")
    except (ImportError, OSError, AttributeError):
        return False


class _Directory:
    """watchdog's WatchCallback for one watched directory."""

    def __init__(self, watches: DirectWatches, directory: str) -> None:
        self.watches = watches
        self.directory = directory

    def on_event(self, event: InotifyEvent) -> None:
        self.watches.event(self.directory, event)

    def on_watch_deleted(self, wd: WatchDescriptor) -> None:
        self.watches.deleted(self.directory)

    def on_queue_overflow(self) -> None:
        self.watches.overflow()


class DirectWatches:
    """Directory watches whose events go to ``sink`` from watchdog's inotify reader thread."""

    def __init__(self, sink: Sink, lost: Callable[[], None]) -> None:
        from watchdog.observers.inotify_c import InotifyConstants as K

        self.sink = sink
        self.lost = lost  # events were lost (queue overflow): check everything
        self.mask = cast(
            "Mask",
            K.IN_MODIFY
            | K.IN_ATTRIB
            | K.IN_CREATE
            | K.IN_DELETE
            | K.IN_MOVED_FROM
            | K.IN_MOVED_TO
            | K.IN_DELETE_SELF
            | K.IN_MOVE_SELF
            | K.IN_CLOSE_WRITE,
        )
        self.inotify: InotifyFD | None = None
        self.id = cast("CallbackId", id(self))
        self.by_directory: dict[str, WatchDescriptor] = {}
        self.moving: dict[int, str] = {}  # rename cookie -> where the file came from

    def add(self, directory: str) -> None:
        """Watch a directory (again); OSError when it cannot be watched."""
        from watchdog.observers.inotify_c import InotifyFD

        if self.inotify is None:
            self.inotify = InotifyFD.get_instance()
        wd = self.inotify.add_callback(
            os.fsencode(directory), self.mask, _Directory(self, directory), self.id
        )
        self.by_directory[directory] = wd

    def remove(self, directory: str) -> None:
        wd = self.by_directory.pop(directory, None)
        if wd is not None and self.inotify is not None:
            try:
                self.inotify.remove_callbacks([(wd, self.id)])
            except (KeyError, OSError):
                pass

    def close(self) -> None:
        for directory in list(self.by_directory):
            self.remove(directory)

    def deleted(self, directory: str) -> None:
        self.by_directory.pop(directory, None)  # the periodic check watches it again

    def overflow(self) -> None:
        self.lost()

    def event(self, directory: str, event: InotifyEvent) -> None:
        path = os.path.join(directory, os.fsdecode(event.name)) if event.name else directory
        is_dir = event.is_directory
        if event.is_moved_from:
            self.moving[event.cookie] = path
            if len(self.moving) > 1024:  # moved out of every watched directory: never paired
                self.moving.pop(next(iter(self.moving)))
            self.sink("moved", path, "", is_dir)
        elif event.is_moved_to:
            self.sink("moved", self.moving.pop(event.cookie, ""), path, is_dir)
        elif event.is_create:
            self.sink("created", path, "", is_dir)
        elif event.is_delete or event.is_delete_self:
            self.sink("deleted", path, "", is_dir)
        else:
            self.sink("modified", path, "", is_dir)
