"""Files that arrived at a followed path and were gone before anything could open them.

The watcher opens a file the moment its arrival is reported (early.py), but a file can be
created, written and deleted — or renamed over by the next one — within microseconds,
before the event is even read. Nothing on disk is left of it; what is left is the events:
an arrival at the name, writes to it, and its departure. This module keeps that record,
per name, on the watcher's thread, and says when a file that had content was never
opened, so the follower can tell its viewers ``lost`` instead of skipping it silently.

A file counts as never opened when the open made for its arrival failed because nothing
was at the name any more, or opened the same file as the next arrival did (the name had
already been taken over). Whether it had lines nothing can tell any more (writes are read
on the IOLoop, not on this thread, and so are not in this record): such a file is always
reported, as possibly lost. A file renamed away is not lost here: it still exists, and the
follower's rename tracking finds it if it is a rotated generation.
"""

from __future__ import annotations

from dataclasses import dataclass

GONE = (-1, -1)  # the open made for an arrival found nothing at the name


@dataclass(eq=False)
class Stay:
    """One file's time at a name, as far as the events tell."""

    file: tuple[int, int] | None  # (dev, ino) the open at its arrival got; GONE; None: not opened
    left: str = ""  # "", or how it left: "deleted", "renamed"


class Fates:
    """The stays at each followed name; the never-opened files with content, by path."""

    def __init__(self) -> None:
        self.stays: dict[str, Stay] = {}  # the latest stay at each name
        self.missed: dict[str, list[str]] = {}  # followed path -> notices not taken yet

    def left(self, name: str, how: str, paths: set[str]) -> None:
        """A file left ``name``: ``how`` is "deleted" or "renamed"."""
        stay = self.stays.get(name)
        if stay is None or stay.left:
            return
        stay.left = how
        if how == "deleted" and stay.file == GONE:
            self._lost(name, paths, "deleted")

    def arrived(self, name: str, file: tuple[int, int] | None, paths: set[str]) -> None:
        """A file arrived at ``name``; the open made for it got ``file`` (or GONE, or None)."""
        before = self.stays.get(name)
        self.stays[name] = Stay(file)
        if before is None or before.left == "renamed" or before.file is None:
            return
        if not before.left:  # it was still there: this arrival replaced it
            if before.file == GONE or (file is not None and before.file == file):
                self._lost(name, paths, "replaced")
        elif before.file != GONE and before.file == file:
            self._lost(name, paths, "deleted")  # its open got the file after it

    def take(self, path: str) -> list[str]:
        return self.missed.pop(path, [])

    def _lost(self, name: str, paths: set[str], how: str) -> None:
        detail = (
            f"a file that arrived at {name} was {how} before it could be opened "
            "(within moments of its arrival): whatever lines it had are lost"
        )
        for path in paths:
            self.missed.setdefault(path, []).append(detail)
