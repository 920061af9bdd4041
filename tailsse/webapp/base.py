"""What every handler shares: credentials, CORS, plain-text errors, JSON answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from http.client import responses
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tornado.iostream import IOStream, StreamClosedError
from tornado.log import app_log
from tornado.web import HTTPError

from tailsse.config import Config
from tailsse.sources.base import Channel, RawJSON
from tailsse.sources.catalog import Catalog
from tailsse.webapp.auth import COOKIE_NAME, Authenticator, parse_basic, parse_bearer
from tailsse.webapp.security import RedactedSummary


@dataclass(frozen=True)
class Services:
    """What every handler works with, given to each through the route table."""

    catalog: Catalog
    config: Config
    authenticator: Authenticator


PIECE = 16 * 1024  # bytes of a large answer written in one turn of the IOLoop


class BaseHandler(RedactedSummary):
    """Plain-text errors, credentials, CORS; collaborators come from the route table."""

    exchanges_token = False  # pages trade a valid ?token= for a cookie and drop it from the URL

    def initialize(self, services: Services, public: bool = False, cors: bool = False) -> None:
        self.catalog = services.catalog
        self.config = services.config
        self.authenticator = services.authenticator
        self.public = public  # answered without credentials
        self.cors = cors  # may be read by pages of the --cors-origin origins

    def prepare(self) -> Awaitable[None] | None:
        """With auth on, let only requests with valid credentials through (401 otherwise)."""
        authenticator = self.authenticator
        if not authenticator.enabled or self.public:
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

    def head(self, *args: str, **kwargs: str) -> Awaitable[None] | None:
        """HEAD wherever GET is: the same status and headers, and no body (Tornado drops it)."""
        return self.get(*args, **kwargs)

    def cors_values(self) -> list[tuple[str, str]]:
        """The headers that let the page of an allowed Origin read this response (none without --cors-origin)."""
        origins = self.config.cors_origin
        if not origins or not self.cors:
            return []
        out = [("Vary", "Origin")]
        origin = self.request.headers.get("Origin")
        if origin in origins:
            # Named origins may send cookies and basic credentials with withCredentials.
            out += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        elif origin is not None and "*" in origins:
            out.append(("Access-Control-Allow-Origin", "*"))
        return out

    def cors_headers(self) -> None:
        """Set the CORS headers of this response."""
        for name, value in self.cors_values():
            self.set_header(name, value)

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
        reason = responses.get(status_code, "Unknown")
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

    def log_exception(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(value, HTTPError):
            super().log_exception(typ, value, tb)
        else:
            # Tornado's version also logs repr(request), which holds the URI unredacted.
            app_log.error("Uncaught exception %s", self._request_summary(), exc_info=value)

    def finish_json(self, body: object) -> None:
        """Answer with a JSON document that is never cached."""
        self._json_headers()
        self.finish(dumps(body))

    def _json_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")

    async def send_json(self, body: object) -> None:
        """:meth:`finish_json` for answers that may be large (a page of search matches):
        sent a piece at a time, a turn of the IOLoop between two, so live streams go on
        meanwhile (handing 150 KB to the kernel at once holds the loop for a millisecond)."""
        data = dumps(body)
        self._json_headers()
        if len(data) <= PIECE or self.request.method == "HEAD":
            self.finish(data)
            return
        self.set_header("Content-Length", len(data))
        # Each piece leaves at once; otherwise Nagle's algorithm holds the tail of each back
        # and the push at the end (tornado's own, when it finishes) sends it all in one go.
        stream = getattr(self.request.connection, "stream", None)
        if isinstance(stream, IOStream):
            stream.set_nodelay(True)
        try:
            for at in range(0, len(data), PIECE):
                self.write(data[at : at + PIECE])
                await self.flush()
                await asyncio.sleep(0)
        except StreamClosedError:
            return  # the client went away
        self.finish()

    async def channel(self, name: str) -> Channel:
        """The channel for a name, or 404."""
        channel = await self.catalog.lookup(name)
        if channel is None:
            raise HTTPError(404, "no such file")
        return channel


def dumps(body: object) -> bytes:
    """JSON of ``body``, in UTF-8; a RawJSON value of a top-level object is put in as it is."""
    if isinstance(body, dict) and any(isinstance(v, RawJSON) for v in body.values()):
        parts = [b"{"]
        for k, v in body.items():
            value = v.data if isinstance(v, RawJSON) else json.dumps(v).encode()
            parts += [json.dumps(k).encode(), b": ", value, b", "]
        parts[-1] = b"}"
        return b"".join(parts)
    return json.dumps(body).encode()
