"""The catalog of local files: the files given on the command line, and merged streams of them."""

from __future__ import annotations

import os
from collections.abc import Sequence

from tailsse.config import Config
from tailsse.following.fileset import FileSet
from tailsse.following.follower import Follower
from tailsse.sources.base import Channel
from tailsse.sources.catalog import Catalog
from tailsse.sources.files import FileSource
from tailsse.sources.merged import MergedSource

KEEP_MERGED = 16  # merged streams kept following with no viewer (the next one may come back)


class FileCatalog(Catalog):
    """The files given on the command line (and found later in served directories)."""

    def __init__(self, config: Config, files: dict[str, str]) -> None:
        super().__init__(config)
        self.sources: dict[str, FileSource] = {}
        self.fileset: FileSet[FileSource] = FileSet(config, files, self._make, added=self._added)

    def _make(self, name: str, follower: Follower) -> FileSource:
        source = FileSource(name, follower, self.config)
        self.sources[name] = source
        self.add_source(source)
        return source

    def _added(self, source: FileSource) -> None:
        if self.started:
            source.start()
            source.wake()

    def begin(self) -> None:
        for source in self.sources.values():
            source.start()
        self.fileset.start()

    def close(self) -> None:
        self.fileset.close()
        super().close()

    def rescan(self) -> None:
        """Pick up files that appeared in served directories or now match a glob."""
        self.fileset.rescan()

    async def files(self) -> dict[str, object]:
        return {"files": [info(source, self.started) for source in self.sources.values()]}

    async def merged(self, names: Sequence[str]) -> Channel:
        key = tuple(sorted(set(names)))
        channel = self.merges.get(key)
        if channel is None:
            self._prune()
            channel = self.make_fanout(MergedSource([self.sources[name] for name in key]))
            self.merges[key] = channel
        return channel

    def _prune(self) -> None:
        """Stop following for merged streams nobody watches, beyond a few kept ready."""
        idle = [key for key, channel in self.merges.items() if not channel.viewers()]
        for key in idle[: max(0, len(self.merges) - KEEP_MERGED)]:
            self.merges.pop(key).close()


def info(source: FileSource, started: bool) -> dict[str, object]:
    """This file's row in ``/api/files``."""
    try:
        st = os.stat(source.follower.path)
        size, exists = st.st_size, True
    except OSError:
        size, exists = None, False
    state = source.follower.state if started else ("following" if exists else "missing")
    return {"name": source.name, "size": size, "exists": exists, "state": state}
