"""The followed files of one process, shared by ``serve`` and ``agent``.

A FileSet turns the PATH arguments into followers, wakes each one when the watcher sees
something at its path, re-arms watches and picks up files that appear in served
directories or newly match a glob, and checks every file now and then as a safety net
(events can be lost). What a woken file does with its lines is its member's business:
publish them to viewers (``serve``) or append them to Redis (``agent``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Generic, Protocol, TypeVar

from tornado.ioloop import IOLoop, PeriodicCallback

from tailsse.config import Config
from tailsse.following.early import Early
from tailsse.following.follower import Follower, open_followed
from tailsse.following.paths import confining_root, dynamic_root, expand, is_dynamic, unique_name
from tailsse.following.watch import Watcher

log = logging.getLogger(__name__)


class Member(Protocol):
    """What a FileSet holds for each file: its follower, and what to do when it changed."""

    @property
    def follower(self) -> Follower: ...

    def wake(self, written: bool = False) -> bool:
        """Read what is new; True when something happened to the file itself (a rotation…).

        ``written``: the wake-up is a write to the file at the path, nothing else."""
        ...


M = TypeVar("M", bound=Member)


class FileSet(Generic[M]):
    """Followers of the files given (and found later), the watcher and the periodic check."""

    def __init__(
        self,
        config: Config,
        files: dict[str, str],
        make: Callable[[str, Follower], M],
        added: Callable[[M], None] = lambda member: None,
        checked: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self._make = make
        self._added = added  # called for a file found after start
        self._checked = checked  # called after each periodic check
        self.members: dict[str, M] = {}
        self._by_path: dict[str, list[M]] = {}
        self.watcher = Watcher(self._changed, config.poll, config.check_interval, self._written)
        # Directories and globs among the PATHs can gain files while tailsse runs.
        self._dynamic = tuple(p for p in config.paths if is_dynamic(p))
        self._timer: PeriodicCallback | None = None
        self.started = False
        for name, path in files.items():
            self._add(name, path)

    def _add(self, name: str, path: str) -> M:
        follower = Follower(
            path,
            self.config.max_line_bytes,
            self.config.read_chunk,
            moved_away=self.watcher.moved_away,
            quiet_for=self.watcher.quiet_for,
            departures=None if self.config.poll else self.watcher.departures,
            confine=confining_root(path, self.config.paths),
        )
        member = self._make(name, follower)
        self.members[name] = member
        self._by_path.setdefault(follower.path, []).append(member)
        # Watch before the file is opened: a write in between is then seen by the first check.
        self.watcher.watch(follower.path)
        self.watcher.open_early(follower.path, partial(open_followed, follower.path, follower.confine))
        follower.early.collect = partial(self.watcher.arrivals.take_for, follower.path)
        follower.early.missed = partial(self.watcher.arrivals.missed_for, follower.path)
        return member

    def start(self) -> None:
        """Start watching and the periodic check. Call on the IOLoop, after opening the files."""
        if self.started:
            return
        self.started = True
        loop = IOLoop.current()
        for directory in self._dynamic:
            self.watcher.watch_directory(dynamic_root(directory))
        self.watcher.start(loop)
        self._timer = PeriodicCallback(self.check_all, self.config.check_interval * 1000)
        self._timer.start()
        # Data written between opening the files and the watch starting is read now.
        loop.add_callback(self.check_all)

    def close(self) -> None:
        """Stop watching (the members close their followers)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.watcher.stop()

    def rescan(self) -> None:
        """Pick up files that appeared in served directories or now match a glob."""
        if not self._dynamic:
            return
        for path in expand(self._dynamic):
            if path not in self._by_path:
                name = unique_name(path, set(self.members))
                member = self._add(name, path)
                log.info("following %s as %s", path, name)
                self._added(member)

    def check_all(self) -> None:
        """Re-arm watches, look for new files and check every file (the safety net)."""
        self.watcher.rewatch()
        self.rescan()
        for member in list(self.members.values()):
            self._wake(member)
        self._checked()

    def _changed(self, path: str, early: list[Early]) -> None:
        members = self._by_path.get(path, []) if path else []
        if members:
            members[0].follower.early.adopt(early)  # each path has one member
        else:
            for item in early:
                item.seg.close()
        if not path:
            self.rescan()
            return
        for member in members:
            self._wake(member)

    def _written(self, path: str) -> None:
        for member in self._by_path.get(path, []):
            self._wake(member, written=True)

    def _wake(self, member: M, written: bool = False) -> None:
        if member.wake(written):
            # Something happened to the file: its directories may be new, or a symlink
            # may point somewhere else now.
            self.watcher.watch(member.follower.path)
