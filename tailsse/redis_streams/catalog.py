"""The streams agents registered in Redis, as the catalog of a web node (``serve --redis``)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from tailsse.config import Config
from tailsse.redis_streams.connect import close_client, redis_client
from tailsse.redis_streams.keys import FILES, alive_key, as_bytes, state_key, valid_source
from tailsse.redis_streams.retry import outage_errors
from tailsse.redis_streams.source import BLOCK_MS, RedisSource
from tailsse.sources.base import Channel
from tailsse.sources.catalog import Catalog

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


class RedisCatalog(Catalog):
    """Every stream in Redis, as channels of this web node."""

    # source/name; the viewer's source%2Fname arrives as one segment and matches too.
    name_pattern = r"([^/]+(?:/[^/]+)?)"

    def __init__(self, config: Config, client: Redis | None = None) -> None:
        super().__init__(config)
        self.redis: Redis = (
            client if client is not None else redis_client(config.redis, socket_timeout=BLOCK_MS / 1000 + 5)
        )
        self.sources: dict[str, RedisSource] = {}
        self.error = ""  # why Redis cannot be reached, while it cannot
        self._discovering: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None

    def begin(self) -> None:
        self.every(self.config.check_interval, self._check)
        self._check()

    def close(self) -> None:
        """End every stream and stop reading (the client closes in the background)."""
        super().close()
        if self._discovering is not None:
            self._discovering.cancel()
        self._closing = asyncio.ensure_future(self._close_client())

    async def _close_client(self) -> None:
        try:
            await close_client(self.redis)
        except Exception:
            pass

    async def aclose(self) -> None:
        """close(), then wait for the client to close."""
        self.close()
        await asyncio.sleep(0)
        await self._close_client()

    def note_error(self, error: str) -> None:
        """Redis failed: remember why (for /healthz and /api/files)."""
        if not self.error:
            log.warning("redis unavailable (%s); retrying", error)
        self.error = error

    def note_ok(self) -> None:
        """Redis answered."""
        if self.error:
            log.info("redis available again")
            self.error = ""

    def _check(self) -> None:
        if self._discovering is None or self._discovering.done():
            self._discovering = asyncio.ensure_future(self.discover())

    async def discover(self) -> None:
        """Add a channel for every stream the agents registered; note whether Redis answers."""
        try:
            names = await self.redis.smembers(FILES)
        except outage_errors() as exc:
            self.note_error(str(exc) or type(exc).__name__)
            return
        self.note_ok()
        for raw in names:
            name = as_bytes(raw).decode("utf-8", "replace")
            origin, _, file = name.partition("/")
            if name not in self.sources and valid_source(origin) and valid_source(file):
                self.sources[name] = source = RedisSource(name, self.redis, self)
                self.add_source(source)

    async def lookup(self, name: str) -> Channel | None:
        """Look a name up in Redis before saying there is no such stream."""
        if name not in self.channels:
            await self.discover()
        return self.channels.get(name)

    async def files(self) -> dict[str, object]:
        """Each stream with its source, file, length, the agent's state and whether it runs."""
        await self.discover()
        sources = sorted(self.sources.values(), key=lambda s: s.name)
        # size is of the file on the agent's host, which a web node does not know.
        rows: list[dict[str, Any]] = [
            {"name": s.name, "source": s.origin, "file": s.file, "size": None} for s in sources
        ]
        answers: list[Any] = []
        if not self.error:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for s in sources:
                        pipe.xlen(s.key)
                        pipe.hget(state_key(s.origin), s.file)
                        pipe.exists(alive_key(s.origin))
                    answers = await pipe.execute()
            except outage_errors() as exc:
                self.note_error(str(exc) or type(exc).__name__)
        for i, row in enumerate(rows):
            if self.error:
                row.update(lines=None, state="unknown", agent="unknown", exists=True)
                continue
            length, state, alive = answers[3 * i : 3 * i + 3]
            row["lines"] = length
            row["state"] = state.decode() if state else "unknown"
            row["exists"] = row["state"] != "missing"
            row["agent"] = "up" if alive else "down"
        return {"files": rows, "redis": self._redis_status()}

    async def health(self) -> tuple[int, dict[str, object]]:
        """200 while Redis answers, 503 while it does not (streams stay open)."""
        await self.discover()
        body: dict[str, object] = {
            "status": "ok" if not self.error else "redis unavailable",
            "files": len(self.channels),
            "streams": self.subscriber_count(),
            "redis": self._redis_status(),
        }
        return (200 if not self.error else 503), body

    def _redis_status(self) -> dict[str, object]:
        return {"ok": not self.error, "error": self.error}
