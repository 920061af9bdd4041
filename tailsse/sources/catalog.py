"""The channels one server offers, looked up by name, and the heartbeat they share.

A catalog is what the web application is built on: it knows which logs exist (files
followed here, or streams in Redis), answers ``/api/files`` and ``/healthz``, counts open
streams for ``--max-clients``, and sends heartbeats to idle streams. Its subclasses say
where the channels come from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from tornado.ioloop import PeriodicCallback

from tailsse.config import Config
from tailsse.sources.base import Channel, Source
from tailsse.sources.fanout import Fanout, StreamCount
from tailsse.sse import encode as sse

LOCAL_NAME = r"([^/]+)"  # a name is one URL path segment
C = TypeVar("C")


class Catalog:
    """Channels by name, the open-stream count and the heartbeat."""

    # The URL pattern of a channel name (one capturing group) in the route table.
    name_pattern = LOCAL_NAME

    def __init__(self, config: Config) -> None:
        self.config = config
        self.channels: dict[str, Channel] = {}
        self.merges: dict[tuple[str, ...], Channel] = {}  # merged streams, by their files
        self.streams = StreamCount()
        self._timers: list[PeriodicCallback] = []
        self.started = False

    def add_source(self, source: Source[C]) -> Fanout[C]:
        """Serve ``source`` under its name."""
        channel = self.make_fanout(source)
        self.channels[source.name] = channel
        return channel

    def make_fanout(self, source: Source[C]) -> Fanout[C]:
        """A fan-out for ``source``, counted in the streams and pinged by the heartbeat."""
        config = self.config
        return Fanout(source, config.retry_ms, config.write_buffer_limit, self.streams)

    async def merged(self, names: Sequence[str]) -> Channel:
        """One stream of several logs (``names`` exist). LookupError where there is none."""
        raise LookupError("merged streams are served for local files only")

    def start(self) -> None:
        """Start following and the timers. Call on the IOLoop; idempotent."""
        if self.started:
            return
        self.started = True
        if self.config.heartbeat > 0:
            self.every(self.config.heartbeat / 4, self._heartbeat)
        self.begin()

    def begin(self) -> None:
        """What a kind of catalog starts (files, watches, discovery)."""

    def every(self, seconds: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` periodically until the catalog closes."""
        timer = PeriodicCallback(callback, seconds * 1000)
        timer.start()
        self._timers.append(timer)

    def close(self) -> None:
        """End every stream, stop the timers and every source."""
        for timer in self._timers:
            timer.stop()
        self._timers.clear()
        for channel in [*self.channels.values(), *self.merges.values()]:
            channel.close()
        self.merges.clear()

    def subscriber_count(self) -> int:
        """Open streams across all channels."""
        return self.streams.value

    async def lookup(self, name: str) -> Channel | None:
        """The channel of a name, if there is one."""
        return self.channels.get(name)

    async def files(self) -> dict[str, object]:
        """The body of ``/api/files``."""
        raise NotImplementedError

    async def health(self) -> tuple[int, dict[str, object]]:
        """The status and body of ``/healthz``."""
        return 200, {"status": "ok", "files": len(self.channels), "streams": self.subscriber_count()}

    def _heartbeat(self) -> None:
        deadline = time.monotonic() - self.config.heartbeat
        ping = sse.comment()
        for channel in [*self.channels.values(), *self.merges.values()]:
            channel.ping_idle(deadline, ping)
