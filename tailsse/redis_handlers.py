"""Request handlers and routes of ``serve --redis``: the local-file handlers over a RedisHub."""

from __future__ import annotations

from typing import Any

from tailsse import handlers
from tailsse.config import Config
from tailsse.redis_hub import RedisHub

NAME = r"([^/]+/[^/]+)"  # source/name; the viewer's source%2Fname matches the plain routes too


class _Discovering:
    """Look a name up in Redis before answering 404 for a stream this node has not seen yet."""

    hub: RedisHub

    async def _known(self, name: str | None) -> None:
        if name is not None and name not in self.hub.channels:
            await self.hub.discover()


class EventsHandler(_Discovering, handlers.EventsHandler):
    """``GET /events/{source}/{name}``: a stream's lines as Server-Sent Events."""

    async def get(self, name: str) -> None:
        await self._known(name)
        result = super().get(name)
        if result is not None:  # the local handler may be a coroutine or not
            await result


class PageHandler(_Discovering, handlers.PageHandler):
    """The viewer pages, for ``source/name``."""

    async def get(self, name: str | None = None) -> None:
        await self._known(name)
        super().get(name)


class FilesHandler(handlers.BaseHandler):
    """``GET /api/files``: every stream with its source and file, and whether Redis answers."""

    async def get(self) -> None:
        hub: RedisHub = self.hub  # type: ignore[assignment]
        files = await hub.files()
        body = {"files": files, "redis": {"ok": not hub.error, "error": hub.error}}
        self.finish_json(body)


class HealthHandler(handlers.BaseHandler):
    """``GET /healthz``: 200 while Redis answers, 503 while it does not (streams stay open)."""

    async def get(self) -> None:
        hub: RedisHub = self.hub  # type: ignore[assignment]
        await hub.discover()
        body = {
            "status": "ok" if not hub.error else "redis unavailable",
            "files": len(hub.channels),
            "streams": hub.subscriber_count(),
            "redis": {"ok": not hub.error, "error": hub.error},
        }
        self.set_status(200 if not hub.error else 503)
        self.finish_json(body)


def routes(
    prefix: str, local: list[tuple[str, type, dict[str, Any]]]
) -> list[tuple[str, type, dict[str, Any]]]:
    """Routes to put before the local-file ones when serving from Redis (with their arguments)."""
    args = {pattern[len(prefix) :]: kwargs for pattern, _, kwargs in local if pattern.startswith(prefix)}
    view, embed, events = args["view/([^/]+)"], args["embed/([^/]+)"], args["events/([^/]+)"]
    return [
        (prefix, PageHandler, args[""]),
        (prefix + r"view/" + NAME, PageHandler, view),
        (prefix + r"embed/" + NAME, PageHandler, embed),
        (prefix + r"view/([^/]+)", PageHandler, view),
        (prefix + r"embed/([^/]+)", PageHandler, embed),
        (prefix + r"events/" + NAME, EventsHandler, events),
        (prefix + r"events/([^/]+)", EventsHandler, events),
        (prefix + r"api/files", FilesHandler, args["api/files"]),
        (prefix + r"healthz", HealthHandler, args["healthz"]),
    ]


def make_hub(config: Config) -> RedisHub:
    """The hub of a web node serving from Redis."""
    return RedisHub(config)
