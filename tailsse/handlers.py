"""Thin request handlers: the event stream, viewer pages, the file list and health."""

from __future__ import annotations

import html
import json
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tornado import iostream
from tornado.log import app_log
from tornado.web import HTTPError, RequestHandler

from tailsse import sse
from tailsse.auth import COOKIE_NAME, Authenticator, parse_basic, parse_bearer
from tailsse.config import Config
from tailsse.hub import Channel, Hub, Payload
from tailsse.security import request_summary


class BaseHandler(RequestHandler):
    """Plain-text errors, credentials, CORS; collaborators come from the route table."""

    exchanges_token = False  # pages trade a valid ?token= for a cookie and drop it from the URL

    def initialize(
        self, hub: Hub, config: Config, public: bool = False, cors: bool = False, **kwargs: Any
    ) -> None:
        self.hub = hub
        self.config = config
        self.public = public  # answered without credentials
        self.cors = cors  # may be read by pages of the --cors-origin origins

    def prepare(self) -> Awaitable[None] | None:
        """With auth on, let only requests with valid credentials through (401 otherwise)."""
        authenticator: Authenticator | None = getattr(self.application, "authenticator", None)
        if authenticator is None or not authenticator.enabled or self.public:
            return None
        if self.request.method == "OPTIONS" and self.cors:
            return None  # a CORS preflight never carries credentials
        header = self.request.headers.get("Authorization", "")
        bearer = parse_bearer(header) if header else None
        if bearer is not None and authenticator.token_ok(bearer):
            return None
        cookie = self.get_cookie(COOKIE_NAME)
        if cookie and authenticator.cookie_ok(cookie):
            return None
        token = self.get_query_argument("token", None)
        if token is not None and authenticator.token_ok(token):
            if self.exchanges_token and self.request.method == "GET":
                self._exchange_token(authenticator)
            return None
        basic = parse_basic(header) if header and authenticator.users else None
        if basic is not None:
            if authenticator.basic_cached(*basic):
                return None
            return self._verify_basic(authenticator, *basic)
        raise HTTPError(401)

    async def _verify_basic(self, authenticator: Authenticator, user: str, password: str) -> None:
        if not await authenticator.verify_async(user, password):
            raise HTTPError(401)

    def _exchange_token(self, authenticator: Authenticator) -> None:
        """Set the auth cookie and redirect to the same URL without the token."""
        cookie = [f"{COOKIE_NAME}={authenticator.cookie_value}", f"Path={self.config.base_path}", "HttpOnly"]
        if self.request.protocol == "https":
            # Lets an iframe on another site use it; Partitioned keeps it to that site's frames.
            cookie += ["Secure", "SameSite=None", "Partitioned"]
        else:
            cookie.append("SameSite=Lax")
        self.add_header("Set-Cookie", "; ".join(cookie))
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        query = [(k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True) if k != "token"]
        # One leading slash: "//host" would be a redirect to another site.
        target = "/" + self.request.path.lstrip("/")
        self.redirect(target + ("?" + urlencode(query) if query else ""))

    def cors_headers(self) -> None:
        """Allow the page of an allowed Origin to read this response (nothing without --cors-origin)."""
        origins = self.config.cors_origin
        if not origins or not self.cors:
            return
        self.set_header("Vary", "Origin")
        origin = self.request.headers.get("Origin")
        if origin in origins:
            # Named origins may send cookies and basic credentials with withCredentials.
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Allow-Credentials", "true")
        elif origin is not None and "*" in origins:
            self.set_header("Access-Control-Allow-Origin", "*")

    def options(self, *args: str) -> None:
        """A CORS preflight (EventSource sends one when it reconnects with Last-Event-ID)."""
        if not self.cors or not self.config.cors_origin:
            raise HTTPError(405)
        self.cors_headers()
        self.set_header("Access-Control-Allow-Methods", "GET")
        self.set_header("Access-Control-Allow-Headers", "Last-Event-ID, Authorization")
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, HTTPError) and exc.log_message and status_code < 500:
            reason = exc.log_message
        if status_code == 401:
            if self.config.users:
                self.add_header("WWW-Authenticate", 'Basic realm="tailsse", charset="UTF-8"')
            if self.config.token:
                self.add_header("WWW-Authenticate", 'Bearer realm="tailsse"')
                reason += ": open this page once with ?token=TOKEN, or send Authorization: Bearer TOKEN"
        self.cors_headers()
        self.finish(f"{status_code} {reason}\n")

    def _request_summary(self) -> str:
        # Tornado's own warnings use this: keep tokens in URLs out of them.
        return request_summary(self)

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, HTTPError):
            super().log_exception(typ, value, tb)
        else:
            # Tornado's version also logs repr(request), which holds the URI unredacted.
            app_log.error("Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))

    def finish_json(self, body: Any) -> None:
        """Answer with a JSON document that is never cached."""
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(json.dumps(body))

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


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (never empty: an empty chunk ends the response)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


class StreamTransport:
    """An event stream that owns its connection, writing HTTP chunks itself.

    Once the response headers are out, the handler detaches the connection: no
    RequestHandler, request object or coroutine stays alive per viewer, only the
    IOStream and this. At the head of a file a batch costs one ``send()`` system call
    per viewer, with the chunk framing built once per batch and shared by every viewer.
    """

    __slots__ = ("chunked", "direct", "on_close", "stream")

    def __init__(self, stream: iostream.IOStream, chunked: bool) -> None:
        self.stream = stream
        self.chunked = chunked
        self.on_close: Callable[[], None] | None = None
        # TLS sockets have their own partial-write rules: leave those to tornado.
        self.direct = not isinstance(stream, iostream.SSLIOStream)
        stream.set_close_callback(self._closed)

    def _closed(self) -> None:
        callback, self.on_close = self.on_close, None
        if callback is not None:
            callback()

    def send(self, data: bytes) -> Awaitable[None] | None:
        if self.stream.closed():
            return None
        if self.chunked and data:
            data = chunk(data)
        try:
            return self.stream.write(data)
        except iostream.StreamClosedError:
            return None

    def push(self, payload: Payload) -> None:
        stream = self.stream
        if self.chunked:
            frame = payload.framed
            if frame is None:
                frame = payload.framed = chunk(payload.data)
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
        """End the response properly (the last chunk), then close the connection."""
        self.on_close = None
        stream = self.stream
        if stream.closed():
            return
        try:
            done = stream.write(b"0\r\n\r\n" if self.chunked else b"")
        except iostream.StreamClosedError:
            return
        done.add_done_callback(lambda _: stream.close())


class EventsHandler(BaseHandler):
    """``GET /events/{name}``: the file's lines as Server-Sent Events."""

    def get(self, name: str) -> None:
        self.cors_headers()
        channel = self.channel(name)
        backlog = self._backlog()
        self.hub.start()
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        if self.hub.subscriber_count() >= self.config.max_clients:
            self._busy(name)
            return
        if self.request.version != "HTTP/1.1":
            # No chunked encoding: the stream ends when the connection closes.
            self.set_header("Connection", "close")
        self.flush()
        self.application.log_request(self)  # streams are logged when they open
        conn = self.request.connection
        chunked = bool(getattr(conn, "_chunking_output", self.request.version == "HTTP/1.1"))
        last_id = self.request.headers.get("Last-Event-ID")
        transport = StreamTransport(self.detach(), chunked)
        sub = channel.subscribe(transport, last_id, backlog)
        transport.on_close = lambda: sub.channel.unsubscribe(sub)

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
        if not (raw.isascii() and raw.isdigit()) or int(raw) > self.config.max_backlog:
            raise HTTPError(400, f"lines must be a whole number from 0 to {self.config.max_backlog}")
        return int(raw)


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
        self.finish_json({"files": files})


class HealthHandler(BaseHandler):
    """``GET /healthz``: 200 while the server runs."""

    def get(self) -> None:
        self.finish_json(
            {"status": "ok", "files": len(self.hub.channels), "streams": self.hub.subscriber_count()}
        )


# The page loads only its own script, styles and streams; log text can never become code.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'self'; form-action 'none'"
)


class PageHandler(BaseHandler):
    """The viewer page (``embed``: without chrome), with base path, file and mode filled in."""

    exchanges_token = True

    def initialize(self, hub: Hub, config: Config, template: str, embed: bool = False, **kwargs: Any) -> None:
        super().initialize(hub, config)
        self.template = template  # index.html, read once when the app was made
        self.embed = embed

    def get(self, name: str | None = None) -> None:
        if name is not None:
            self.channel(name)
        page = self.template.replace("{{base}}", html.escape(self.config.base_path, quote=True))
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
