"""Thin request handlers: the event stream, viewer pages, the file list and health."""

from __future__ import annotations

import html
import json
import random

from tornado.web import HTTPError, RedirectHandler

from tailsse.history.query import Query, QueryError
from tailsse.history.timestamps import iso, parse_time
from tailsse.loop import give_way
from tailsse.sources.base import AnswerCut, Channel, History, HistoryError, HistoryLine, RawJSON
from tailsse.sources.merged_ids import MAX_FILES
from tailsse.sse import encode as sse
from tailsse.webapp.base import BaseHandler, Services, dumps
from tailsse.webapp.direct import ChunkOut
from tailsse.webapp.security import RedactedSummary
from tailsse.webapp.transport import StreamTransport, response_head

MAX_LINES = 10000  # lines one /api/lines answer holds at most
MAX_MATCHES = 1000  # matches one /api/search answer holds at most
MATCHES_HEAD = b'{"matches": '  # how a search answer begins (dumps writes it so)


class NotFoundHandler(BaseHandler):
    """Anything that is not a route."""

    def prepare(self) -> None:
        raise HTTPError(404, "not found")


class BaseRedirectHandler(RedirectHandler):
    """``/prefix`` to ``/prefix/`` under a base path, for HEAD as for GET."""

    def head(self, *args: str) -> None:
        self.get(*args)


class UnknownHostHandler(RedactedSummary):
    """A request for a host name that is not this server's (see HostCheck)."""

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        name = self.request.host_name
        self.finish(
            f"403 Forbidden: this server is not {name!r}; start it with --allowed-host {name} to allow it\n"
        )


class EventsHandler(BaseHandler):
    """``GET /events/{name}``: a log's lines as Server-Sent Events."""

    async def get(self, name: str | None = None) -> None:
        channel = await self.channel(name) if name is not None else await self._merged()
        name = channel.name
        backlog = self._backlog()
        self.catalog.start()
        if self.catalog.subscriber_count() >= self.config.max_clients:
            self._busy(name)
            return
        headers = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("X-Accel-Buffering", "no"),
            *self.cors_values(),
        ]
        head, chunked = response_head(self.request.version, headers)
        # ?after=ID is Last-Event-ID for clients that cannot set the header (the viewer's
        # own reconnects); the header, which EventSource sends itself, wins.
        last_id = self.request.headers.get("Last-Event-ID") or self.get_query_argument("after", None)
        self.application.log_request(self)  # streams are logged when they open
        # From here on the stream owns the connection and writes the response itself.
        transport = StreamTransport(self.detach(), head, chunked)
        transport.on_close = channel.subscribe(transport, last_id, backlog).leave

    async def head(self, name: str | None = None) -> None:  # type: ignore[override]
        """The stream's headers and no body: the same checks as GET, and no stream opened."""
        if name is not None:
            await self.channel(name)
        else:
            await self._merged()
        self._backlog()
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        self.cors_headers()
        self.flush()  # headers now, so that no Content-Length says the stream is empty
        self.finish()

    async def _merged(self) -> Channel:
        """``GET /events?file=A&file=B`` (or ``?file=*``): one stream of several files."""
        names = self.get_query_arguments("file")
        if not names:
            raise HTTPError(400, "name the files: /events?file=A&file=B, or ?file=* for every file")
        if "*" in names:
            names = [*self.catalog.channels]
        wanted = sorted(set(names))
        for name in wanted:
            if name not in self.catalog.channels:
                raise HTTPError(404, f"no such file: {name}")
        if len(wanted) > MAX_FILES:
            raise HTTPError(400, f"a merged stream has at most {MAX_FILES} files ({len(wanted)} asked for)")
        try:
            return await self.catalog.merged(wanted)
        except LookupError as exc:
            raise HTTPError(400, str(exc)) from None

    def _busy(self, name: str) -> None:
        """Too many streams: ask the client to come back later.

        Any status but 200 would make EventSource give up for good, so this is a normal
        event stream that says ``busy`` and ends; the browser reconnects after ``retry``
        (spread at random so refused clients do not all return at once).
        """
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        self.cors_headers()
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


class HistoryHandler(BaseHandler):
    """The history API's common ground: the log's past, bad input as a JSON 400."""

    def integer(self, name: str, default: int, most: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
            raise HistoryError(400, f"{name} must be a whole number from 1 to {most}")
        return int(raw)

    def flag(self, name: str) -> bool:
        raw = (self.get_query_argument(name, None) or "").lower()
        if raw in ("", "0", "false", "no", "off"):
            return False
        if raw in ("1", "true", "yes", "on"):
            return True
        raise HistoryError(400, f"{name} must be 1 or 0")

    def compute_etag(self) -> str | None:
        return None  # made for each request and never cached: no need to hash them

    async def get(self, name: str) -> None:
        history = (await self.channel(name)).history
        self.catalog.start()
        try:
            body = await self.answer(history)
            if body is not None:  # (else it has been answered already)
                await self.send_json(body)
        except (HistoryError, QueryError) as exc:
            self.set_status(getattr(exc, "status", 400))
            self.finish_json({"error": str(exc)})

    async def answer(self, history: History) -> dict[str, object] | None:
        raise NotImplementedError


def _lines(found: list[HistoryLine]) -> list[dict[str, str]]:
    return [{"id": line.id, "text": line.text} for line in found]


class LinesHandler(HistoryHandler):
    """``GET /api/lines/{name}?before=ID|after=ID&count=N``: lines next to a position."""

    async def answer(self, history: History) -> dict[str, object]:
        before = self.get_query_argument("before", None)
        after = self.get_query_argument("after", None)
        if before is not None and after is not None:
            raise HistoryError(400, "give before or after, not both")
        count = self.integer("count", 100, MAX_LINES)
        if after is not None:
            page = await history.lines(None if after == "start" else after, True, count)
        else:
            page = await history.lines(None if before in (None, "end") else before, False, count)
        return {"lines": _lines(page.lines), "more": page.more}


class SearchHandler(HistoryHandler):
    """``GET /api/search/{name}?q=TEXT&regex=1&case=1&before=ID&limit=N``: matching lines, newest first."""

    async def answer(self, history: History) -> dict[str, object] | None:
        query = Query(self.get_query_argument("q", ""), regex=self.flag("regex"), case=self.flag("case"))
        before = self.get_query_argument("before", None)
        limit = self.integer("limit", 100, MAX_MATCHES)
        # The headers are set once: by the ChunkOut when it opens, or by send_json.
        out = ChunkOut.offer(self, MATCHES_HEAD, self._json_headers)
        try:
            page = await history.search(query, None if before in (None, "end") else before, limit, out)
            await give_way()  # (live lines that came while the scanner answered go first)
        except AnswerCut:
            assert out is not None
            out.abort()  # the client sees that the answer is broken
            return None
        matches = page.matches
        listed: object
        if matches is None:  # written to the client already: the document goes on after them
            listed = RawJSON(b"")
        elif isinstance(matches, RawJSON):
            listed = matches
        else:
            listed = _lines(matches)
        body: dict[str, object] = {
            "matches": listed,
            "next": page.next,
            "scanned": page.scanned,
            "size": page.size,
        }
        if out is None or not out.opened:
            return body
        # The answer has begun (its head went out before the search, its matches maybe since):
        # the rest of the same document.
        document = dumps(body)
        assert document.startswith(MATCHES_HEAD)
        await out.finish(document[len(MATCHES_HEAD) :])
        return None


class TimeHandler(HistoryHandler):
    """``GET /api/time/{name}?t=TIME``: the first line at or after a time."""

    async def answer(self, history: History) -> dict[str, object]:
        raw = self.get_query_argument("t", None)
        if not raw:
            raise HistoryError(400, "t is required: an ISO 8601 time or seconds since the epoch")
        try:
            moment = parse_time(raw)
        except ValueError as exc:
            raise HistoryError(400, str(exc)) from None
        found = await history.find_time(moment)
        line = found.line
        return {
            "id": line.id if line else None,
            "text": line.text if line else None,
            "time": iso(found.time) if found.time is not None else None,
        }


class FilesHandler(BaseHandler):
    """``GET /api/files``: every log with its state (and, from Redis, whether Redis answers)."""

    async def get(self) -> None:
        self.finish_json(await self.catalog.files())


class HealthHandler(BaseHandler):
    """``GET /healthz``: 200 while the server can serve (503 while Redis cannot be reached)."""

    async def get(self) -> None:
        status, body = await self.catalog.health()
        self.set_status(status)
        self.finish_json(body)


# The page loads only its own script, styles and streams; log text can never become code.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'self'; form-action 'none'"
)


class PageHandler(BaseHandler):
    """The viewer page (``embed``: without chrome), with base path, file and mode filled in."""

    exchanges_token = True

    def initialize(
        self,
        services: Services,
        public: bool = False,
        cors: bool = False,
        *,
        template: str = "",
        embed: bool = False,
    ) -> None:
        super().initialize(services, public, cors)
        self.template = template  # index.html, read once when the app was made
        self.embed = embed

    async def get(self, name: str | None = None) -> None:
        # A file this server does not show is still a viewer page (404): it says so and
        # lists the files there are, rather than a bare error.
        wanted = [name] if name is not None else []
        wanted += [w for w in self.get_query_arguments("file") if w != "*"]  # /view?file=A&file=B
        unknown = None
        for one in wanted:
            if await self.catalog.lookup(one) is None:
                unknown = one
                break
        if unknown is not None:
            self.set_status(404)
            name = None
        page = self.template.replace("{{base}}", html.escape(self.config.base_path, quote=True))
        page = page.replace("{{mode}}", "embed" if self.embed else "page")
        page = page.replace("{{file}}", html.escape(name or "", quote=True))
        page = page.replace("{{unknown}}", html.escape(unknown or "", quote=True))
        page = page.replace("{{lines}}", str(self.config.lines))  # the backlog a stream gets unasked
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
