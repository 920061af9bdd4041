"""HTTP-level safety: what the access log may show, static files, TLS and server limits."""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from typing import Any
from urllib.parse import unquote_plus

from tornado.httputil import HTTPServerRequest
from tornado.web import HTTPError, RequestHandler, StaticFileHandler

from tailsse.config import Config
from tailsse.loop import after_io

access_log = logging.getLogger("tornado.access")

SECRET_PARAMS = frozenset({"token"})
REDACTED = "REDACTED"


def redact_uri(uri: str) -> str:
    """The URI with the value of every secret query parameter replaced."""
    path, sep, query = uri.partition("?")
    if not sep:
        return uri
    parts = []
    for item in query.split("&"):
        key = item.partition("=")[0]
        # Compare decoded, as the server reads it: %74oken is token too.
        if unquote_plus(key).strip().lower() in SECRET_PARAMS:
            item = f"{key}={REDACTED}"
        parts.append(item)
    return f"{path}?{'&'.join(parts)}"


def request_summary(handler: RequestHandler) -> str:
    """``METHOD URI (address)`` with secrets redacted; never any header."""
    request = handler.request
    return f"{request.method} {redact_uri(request.uri or '')} ({request.remote_ip})"


def log_request(handler: RequestHandler) -> None:
    """The access log line of a finished request (the Application's ``log_function``)."""
    status = handler.get_status()
    if status < 400:
        level = logging.INFO
    elif status < 500:
        level = logging.WARNING
    else:
        level = logging.ERROR
    if access_log.isEnabledFor(level):
        elapsed = 1000.0 * handler.request.request_time()
        # Written as a step of its own, after the I/O that is ready by then.
        after_io(access_log.log, level, "%d %s %.2fms", status, request_summary(handler), elapsed)


class HideMalformed(logging.Filter):
    """Tornado quotes the bad header of a request it cannot parse: log only that it failed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Malformed HTTP message from"):
            # The quoted header may be a mistyped Authorization value: a secret.
            args = record.args if isinstance(record.args, tuple) else ()
            record.msg, record.args = "Malformed HTTP message from %s", args[:1]
        return True


class RedactedSummary(RequestHandler):
    """Keeps tokens in URLs out of Tornado's own warnings about a request.

    Tornado builds those lines with ``RequestHandler._request_summary``, its one hook for
    them; this is the only place tailsse overrides a private Tornado name, and
    tests/test_security.py fails if Tornado stops calling it.
    """

    def _request_summary(self) -> str:
        return request_summary(self)


class StaticHandler(RedactedSummary, StaticFileHandler):
    """The viewer's own files: only those present in ``path`` at start, by exact name."""

    async def get(self, path: str, include_body: bool = True) -> None:
        # Anything else (.., encoded separators, other case, subdirectories) is simply unknown.
        if path not in _regular_files(self.root):
            raise HTTPError(404)
        await super().get(path, include_body)

    def set_extra_headers(self, path: str) -> None:
        # Revalidate every time (cheap, with the ETag): the viewer's modules must not mix
        # versions from before and after an upgrade.
        self.set_header("Cache-Control", "no-cache")


_static_cache: dict[str, frozenset[str]] = {}


def _regular_files(directory: str) -> frozenset[str]:
    """Names of the regular files (not symlinks) directly in a directory, read once."""
    names = _static_cache.get(directory)
    if names is None:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            entries = []
        names = frozenset(e.name for e in entries if e.is_file(follow_symlinks=False))
        _static_cache[directory] = names
    return names


def ssl_context(config: Config) -> ssl.SSLContext | None:
    """The server's TLS context from ``--certfile``/``--keyfile``; ValueError when unusable."""
    if not config.certfile:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.certfile, config.keyfile or None)
    except FileNotFoundError as exc:
        raise ValueError(f"--certfile/--keyfile: no such file: {exc.filename or config.certfile}") from None
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"--certfile/--keyfile: cannot load the certificate and key: {reason}") from None
    return context


def server_options(config: Config, context: ssl.SSLContext | None = None) -> dict[str, Any]:
    """Keyword arguments for tornado's HTTPServer."""
    return {
        # Tornado uses this both as the time allowed for a request's headers to arrive and
        # for an idle keep-alive connection; a response being streamed is never cut by it.
        "idle_connection_timeout": config.header_timeout,
        # Tornado closes without answering past this; up to it the app answers 431 itself.
        "max_header_size": 4 * config.max_header_bytes,
        "ssl_options": context,
    }


class HostCheck:
    """Which names in a request's Host header are this server's: a guard against DNS rebinding.

    A page on another site can make the browser resolve its own name to 127.0.0.1 and read
    from it as if it were that site. Such a request names that site in ``Host``, so only
    names the operator gave are accepted, with IP addresses and localhost (a rebinding
    attack needs a name of the attacker's).
    """

    def __init__(self, host: str, allowed: tuple[str, ...]) -> None:
        self.any = "*" in allowed
        self.names = {n for n in allowed if not n.startswith(".")} | {"localhost", host.lower()}
        self.domains = tuple(n for n in allowed if n.startswith("."))

    def allows(self, host_name: str) -> bool:
        """Whether a Host header's name (without the port) is this server's."""
        name = host_name.lower().rstrip(".")
        if self.any or name in self.names or name.endswith(".localhost"):
            return True
        if name.endswith(self.domains) or f".{name}" in self.domains:
            return True
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False
        return True


def header_bytes(request: HTTPServerRequest) -> int:
    """The size of a request's start line and headers as received (about)."""
    size = len(request.method or "") + len(request.uri or "") + len(request.version or "") + 4
    for name, value in request.headers.get_all():
        size += len(name) + len(value) + 4
    return size
