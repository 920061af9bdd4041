"""The shortest wake-up paths on Linux, on watchdog's inotify layer.

watchdog's Observer hands an inotify event through three threads (its inotify reader, the
emitter, which holds renames back up to half a second to pair them, and the observer's
dispatch queue) before a handler sees it. tailsse uses its inotify layer directly, in two
ways:

- Arrivals and departures (creations, renames, deletions) come from watchdog's inotify
  reader thread, which calls back per event (``InotifyFD``, watchdog 7): there a file
  arriving at a followed path is opened at once, even while the IOLoop is busy, and
  renames are paired by their cookie (:class:`DirectWatches`).
- Writes come on the IOLoop itself, with no thread in between (:class:`WriteWatches`): an
  inotify instance of its own, made with watchdog's binding, whose descriptor is one more
  handler on the IOLoop. A write wakes the IOLoop and nothing else, and the new lines are
  read in the same turn. Its events are taken apart here rather than by watchdog's event
  objects: on this path every instruction counts, because the first one after an idle
  moment runs on a cold processor (watchdog's reading and dispatch of one event took
  about 160 microseconds there, against about 50 for this loop).
"""

from __future__ import annotations

import ctypes
import logging
import os
import struct
from collections.abc import Callable, Set
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from tornado.ioloop import IOLoop
    from watchdog.observers.inotify_c import CallbackId, InotifyEvent, InotifyFD, Mask, WatchDescriptor

log = logging.getLogger(__name__)

# (event type as watchdog names it, path, destination of a rename, is a directory)
Sink = Callable[[str, str, str, bool], None]
KNOWN = 1024  # sets of events remembered with the paths they name
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name


def available() -> bool:
    """Whether watchdog's per-event inotify callbacks exist here (Linux, watchdog 7)."""
    try:
        from watchdog.observers.inotify_c import InotifyFD

        return hasattr(InotifyFD, "get_instance") and hasattr(InotifyFD, "add_callback")
    except (ImportError, OSError, AttributeError):
        return False


def writes_mask() -> int:
    """The events that say a file's content (or what may be read of it) changed."""
    from watchdog.observers.inotify_c import InotifyConstants as K

    return K.IN_MODIFY | K.IN_ATTRIB | K.IN_CLOSE_WRITE


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
        # Arrivals and departures; writes too where the IOLoop does not watch for them.
        self.mask = cast(
            "Mask",
            K.IN_CREATE | K.IN_DELETE | K.IN_MOVED_FROM | K.IN_MOVED_TO | K.IN_DELETE_SELF | K.IN_MOVE_SELF,
        )
        self.writes = writes_mask()
        self.inotify: InotifyFD | None = None
        self.id = cast("CallbackId", id(self))
        self.by_directory: dict[str, WatchDescriptor] = {}
        self.moving: dict[int, str] = {}  # rename cookie -> where the file came from

    def add(self, directory: str, writes: bool = True) -> None:
        """Watch a directory (again), for writes too unless ``writes`` is false; OSError
        when it cannot be watched."""
        from watchdog.observers.inotify_c import InotifyFD

        if self.inotify is None:
            self.inotify = InotifyFD.get_instance()
        mask = cast("Mask", self.mask | self.writes) if writes else self.mask
        wd = self.inotify.add_callback(os.fsencode(directory), mask, _Directory(self, directory), self.id)
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


class WriteWatches:
    """Directory watches for writes, read on the IOLoop: ``written(paths)`` once per read.

    Meant for the IOLoop alone: it is started on it, and reads only when the descriptor is
    readable (it is non-blocking as well).
    """

    def __init__(self, written: Callable[[Set[str]], None], lost: Callable[[], None]) -> None:
        from watchdog.observers.inotify_c import InotifyConstants as K
        from watchdog.observers.inotify_c import inotify_init

        self.mask = writes_mask()
        self.overflowed, self.ignored = K.IN_Q_OVERFLOW, K.IN_IGNORED
        fd = inotify_init()
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
        self.fd = fd
        self.written = written
        self.lost = lost  # events were lost (queue overflow): check everything
        self.by_directory: dict[str, int] = {}
        self._directory: dict[int, str] = {}  # watch descriptor -> directory
        self._known: dict[bytes, frozenset[str]] = {}  # events read before -> the paths they name
        self._loop: IOLoop | None = None

    def start(self, loop: IOLoop) -> None:
        self._loop = loop
        loop.add_handler(self.fd, self._readable, loop.READ)

    def add(self, directory: str) -> None:
        """Watch a directory (again); OSError when it cannot be watched."""
        from watchdog.observers.inotify_c import inotify_add_watch

        wd = inotify_add_watch(self.fd, os.fsencode(directory), self.mask)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), directory)
        self.by_directory[directory] = wd
        self._directory[wd] = directory
        self._known.clear()

    def remove(self, directory: str) -> None:
        from watchdog.observers.inotify_c import inotify_rm_watch

        wd = self.by_directory.pop(directory, None)
        self._known.clear()
        if wd is not None and self._directory.pop(wd, None) is not None:
            inotify_rm_watch(self.fd, cast("WatchDescriptor", wd))  # (harmless if it is gone)

    def close(self) -> None:
        if self.fd < 0:
            return
        if self._loop is not None:
            self._loop.remove_handler(self.fd)
            self._loop = None
        os.close(self.fd)
        self.fd = -1
        self.by_directory.clear()
        self._directory.clear()

    def _readable(self, fd: int, events: int) -> None:
        try:
            buf = os.read(fd, 64 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("cannot read inotify events: %s", exc)
            self.lost()
            return
        known = self._known.get(buf)
        if known is not None:  # the same events as before (one write to a busy log): no parsing
            self.written(known)
            return
        names: set[str] = set()
        overflow = False
        plain = True  # only writes: the same bytes will always mean the same names
        at, size = 0, len(buf)
        while at + EVENT.size <= size:
            wd, mask, _, length = EVENT.unpack_from(buf, at)
            name = buf[at + EVENT.size : at + EVENT.size + length].rstrip(b"\0")
            at += EVENT.size + length
            if mask & self.overflowed:
                overflow, plain = True, False
                continue
            directory = self._directory.get(wd)
            if directory is None:
                continue
            if mask & self.ignored:  # the directory is gone: the periodic check watches it again
                plain = False
                self._known.clear()
                del self._directory[wd]
                if self.by_directory.get(directory) == wd:
                    del self.by_directory[directory]
                continue
            names.add(os.path.join(directory, os.fsdecode(name)) if name else directory)
        if overflow:
            self.lost()
        elif plain and names:
            if len(self._known) >= KNOWN:
                self._known.clear()
            self._known[buf] = frozenset(names)
        if names:
            self.written(names)
