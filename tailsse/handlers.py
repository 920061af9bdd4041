"""Thin request handlers: the event stream, viewer pages, the file list and health."""

from __future__ import annotations

import asyncio
import html
import json
import os
import random
from collections.abc import Awaitable
from typing import Any

from tornado import iostream
from tornado.web import HTTPError, RequestHandler

from tailsse import sse
from tailsse.config import Config
from tailsse.hub import Channel, Hub, Payload, Subscriber


class BaseHandler(RequestHandler):
    """Plain-text errors; collaborators come from the route table."""

    def initialize(self, hub: Hub, config: Config, **kwargs: Any) -> None:
        self.hub = hub
        self.config = config

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, HTTPError) and exc.log_message and status_code < 500:
            reason = exc.log_message
        self.finish(f"{status_code} {reason}\n")

    def channel(self, name: str) -> Channel:
        """The channel for a name, or 404."""
        channel = self.hub.channels.get(name)
        if channel is None:
            raise HTTPError(404, "no such file")
        return channel


class NotFoundHandler(BaseHandler):
    """Anything that is not a route."""

    def prepare(self) -> None:
        raise HTTPError(404, "not found")


class ResponseTransport:
    """Writes event-stream bytes straight to the connection, as HTTP chunks.

    Going below RequestHandler.write/flush gives one accurate future per write, and at
    the head of a file one ``send()`` system call per viewer per batch, with the chunk
    framing built once per batch and shared by every viewer.
    """

    __slots__ = ("chunked", "direct", "handler", "stream")

    def __init__(self, handler: EventsHandler) -> None:
        conn = handler.request.connection
        self.handler = handler
        self.stream: iostream.IOStream = conn.stream  # type: ignore[union-attr]
        default = handler.request.version == "HTTP/1.1"
        self.chunked: bool = getattr(conn, "_chunking_output", default)
        # TLS sockets have their own partial-write rules: leave those to tornado.
        self.direct = not isinstance(self.stream, iostream.SSLIOStream)

    def send(self, data: bytes) -> Awaitable[None] | None:
        if self.stream.closed():
            return None
        if self.chunked and data:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        try:
            return self.stream.write(data)
        except iostream.StreamClosedError:
            return None

    def push(self, payload: Payload) -> None:
        stream = self.stream
        if self.chunked:
            frame = payload.framed
            if frame is None:
                frame = payload.framed = b"%x\r\n%s\r\n" % (len(payload.data), payload.data)
        else:
            frame = payload.data
        if self.direct and not stream._write_buffer and not stream.closed():
            # Nothing queued: hand the bytes to the kernel now, no future, no buffer copy.
            try:
                sent = stream.socket.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # let tornado's own write notice the error and close
            if sent == len(frame):
                return
            frame = frame[sent:]
        try:
            stream.write(frame)
        except iostream.StreamClosedError:
            pass

    def buffered(self) -> int:
        buffer = self.stream._write_buffer
        return len(buffer) if buffer is not None else 0

    def closed(self) -> bool:
        return self.stream.closed()

    def close(self) -> None:
        self.handler.end_stream()


class EventsHandler(BaseHandler):
    """``GET /events/{name}``: the file's lines as Server-Sent Events."""

    _done: asyncio.Future[None] | None = None
    _sub: Subscriber | None = None

    async def get(self, name: str) -> None:
        channel = self.channel(name)
        backlog = self._backlog()
        self.hub.start()
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        self._done = asyncio.get_running_loop().create_future()
        if self.hub.subscriber_count() >= self.config.max_clients:
            self._busy(name)
            return
        self.flush()
        last_id = self.request.headers.get("Last-Event-ID")
        self._sub = channel.subscribe(ResponseTransport(self), last_id, backlog)
        await self._done

    def _busy(self, name: str) -> None:
        """Too many streams: ask the client to come back later.

        Any status but 200 would make EventSource give up for good, so this is a normal
        event stream that says ``busy`` and ends; the browser reconnects after ``retry``
        (spread at random so refused clients do not all return at once).
        """
        wait = self.config.busy_retry_ms
        wait += random.randint(0, wait)
        body = json.dumps({"file": name, "message": "too many open streams; retrying later"})
        self.finish(sse.retry(wait) + sse.event(body.encode(), name=b"busy"))

    def _backlog(self) -> int:
        raw = self.get_query_argument("lines", None)
        if raw is None:
            return self.config.lines
        if not raw.isdigit() or int(raw) > self.config.max_backlog:
            raise HTTPError(400, f"lines must be a whole number from 0 to {self.config.max_backlog}")
        return int(raw)

    def end_stream(self) -> None:
        """Finish the response (server shutdown)."""
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def on_connection_close(self) -> None:
        if self._sub is not None:
            self._sub.channel.unsubscribe(self._sub)
            self._sub = None
        self.end_stream()

    def on_finish(self) -> None:
        if self._sub is not None:
            self._sub.channel.unsubscribe(self._sub)
            self._sub = None


class FilesHandler(BaseHandler):
    """``GET /api/files``: every followed file with its size and state."""

    def get(self) -> None:
        files = []
        for channel in self.hub.channels.values():
            try:
                st = os.stat(channel.path)
                size, exists = st.st_size, True
            except OSError:
                size, exists = None, False
            state = channel.follower.state if self.hub.started else ("following" if exists else "missing")
            files.append({"name": channel.name, "size": size, "exists": exists, "state": state})
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(json.dumps({"files": files}))


class HealthHandler(BaseHandler):
    """``GET /healthz``: 200 while the server runs."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        body = {"status": "ok", "files": len(self.hub.channels), "streams": self.hub.subscriber_count()}
        self.finish(json.dumps(body))


# The page loads only its own script, styles and streams; log text can never become code.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'self'; form-action 'none'"
)


class PageHandler(BaseHandler):
    """The viewer page (``embed``: without chrome), with base path, file and mode filled in."""

    def initialize(self, hub: Hub, config: Config, template: str, embed: bool = False, **kwargs: Any) -> None:
        super().initialize(hub, config)
        self.template = template
        self.embed = embed

    def get(self, name: str | None = None) -> None:
        if name is not None:
            self.channel(name)
        with open(self.template, encoding="utf-8") as f:
            page = f.read()
        page = page.replace("{{base}}", html.escape(self.config.base_path, quote=True))
        page = page.replace("{{mode}}", "embed" if self.embed else "page")
        page = page.replace("{{file}}", html.escape(name or "", quote=True))
        policy = PAGE_POLICY
        if self.config.frame_ancestors.strip():
            # Empty means any page may frame the viewer: it shows only what the port serves.
            policy += "; frame-ancestors " + self.config.frame_ancestors.strip()
        self.set_header("Content-Security-Policy", policy)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(page)
