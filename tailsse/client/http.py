"""The HTTP side of ``tailsse follow``: one event-stream request over a plain socket.

A blocking socket (TLS when the URL is https): a terminal tool has one stream to read,
and owning the socket lets it notice a reader that went away (``| head``) while the
stream is idle, which a library read call would block through.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import select
import socket
import ssl
import stat
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import SplitResult, quote, urljoin, urlsplit

MAX_REDIRECTS = 10
MAX_HEAD_BYTES = 64 * 1024
RETRYABLE_STATUS = (502, 503, 504)  # a proxy in front of a restarting server
_HEX = re.compile(rb"\A[0-9A-Fa-f]+\Z")


class FollowError(Exception):
    """A failure explained in one line; ``retryable`` when a later attempt may succeed."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class OutputClosed(Exception):
    """Whoever read stdout has gone (``| head`` finished)."""


class ChunkedDecoder:
    """Incremental decoding of an HTTP/1.1 chunked body; feed it bytes split anywhere."""

    def __init__(self) -> None:
        self.done = False
        self._buf = b""
        self._left = 0
        self._state = "size"

    def feed(self, data: bytes) -> bytes:
        """Decode the next bytes; return the body bytes they carried."""
        buf = self._buf + data if self._buf else data
        pos = 0  # an index, not slicing: one read may hold thousands of small chunks
        out = []
        while pos < len(buf) and not self.done:
            if self._state == "data":
                piece = buf[pos : pos + self._left]
                out.append(piece)
                self._left -= len(piece)
                pos += len(piece)
                if self._left:
                    break
                self._state = "crlf"
            elif self._state == "crlf":
                if len(buf) - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise FollowError("bad chunked encoding from the server", retryable=True)
                pos += 2
                self._state = "size"
            else:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if len(buf) - pos > 4096:
                        raise FollowError("bad chunked encoding from the server", retryable=True)
                    break
                line, pos = buf[pos:end], end + 2
                if self._state == "trailer":
                    self.done = not line
                    continue
                size = line.split(b";", 1)[0].strip()
                if not _HEX.match(size):
                    raise FollowError("bad chunked encoding from the server", retryable=True)
                self._left = int(size, 16)
                self._state = "data" if self._left else "trailer"
        self._buf = buf[pos:]
        return b"".join(out)


@dataclass
class Target:
    """Where to connect and what to send."""

    url: str
    headers: dict[str, str]
    insecure: bool
    timeout: float
    last_event_id: str = ""  # where to start; the Follower moves it on with each event


class Response:
    """An open response: status, headers, and its body read piece by piece."""

    def __init__(
        self,
        sock: socket.socket,
        status: int,
        reason: str,
        headers: http.client.HTTPMessage,
        rest: bytes,
        watch_fd: int | None,
    ) -> None:
        self.sock = sock
        self.status = status
        self.reason = reason
        self.headers = headers
        self._rest = rest
        self._watch_fd = watch_fd
        self.read_timeout: float | None = None
        self._chunked: ChunkedDecoder | None = None
        self._length: int | None = None
        codings = [c.strip().lower() for c in ",".join(headers.get_all("Transfer-Encoding") or []).split(",")]
        if status in (204, 304) or 100 <= status < 200:
            self._length = 0
        elif codings[-1] == "chunked":
            self._chunked = ChunkedDecoder()
        elif headers.get("Content-Length", "").strip().isdigit():
            self._length = int(headers["Content-Length"])

    def read(self) -> bytes:
        """The next body bytes; ``b""`` when the body ended or the connection dropped."""
        while True:
            if self._length == 0 or (self._chunked and self._chunked.done):
                return b""
            if self._rest:
                data, self._rest = self._rest, b""
            else:
                data = self._recv()
                if not data:
                    return b""
            if self._chunked is not None:
                data = self._chunked.feed(data)
            elif self._length is not None:
                data = data[: self._length]
                self._length -= len(data)
            if data:
                return data

    def _recv(self) -> bytes:
        pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
        if not pending and not wait_readable(self.sock.fileno(), self._watch_fd, self.read_timeout):
            raise TimeoutError("timed out")
        return self.sock.recv(65536)

    def close(self) -> None:
        """Drop the connection."""
        try:
            self.sock.close()
        except OSError:
            pass


def output_fd(stream: BinaryIO) -> int | None:
    """stdout's descriptor when it can report that its reader went away (pipe, socket)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None


def wait_readable(fd: int | None, watch_fd: int | None, timeout: float | None) -> bool:
    """Wait for ``fd`` to be readable (or the timeout); raise OutputClosed meanwhile."""
    poller = select.poll()
    if fd is not None:
        poller.register(fd, select.POLLIN | select.POLLPRI)
    if watch_fd is not None:
        # Event mask 0: only POLLERR/POLLHUP, which a pipe reports once its reader closed.
        poller.register(watch_fd, 0)
    ready = poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
    for ready_fd, _ in ready:
        if ready_fd == watch_fd:
            raise OutputClosed()
    return bool(ready)


def _host_header(parts: SplitResult) -> str:
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    if parts.port and parts.port != default:
        host += f":{parts.port}"
    return host


def _connect(url: str, insecure: bool, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FollowError(f"bad port in {url}") from None
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise FollowError(f"cannot resolve {host}: {exc.strerror}", retryable=True) from None
    except TimeoutError:
        raise FollowError(f"cannot connect to {where}: timed out", retryable=True) from None
    except OSError as exc:
        raise FollowError(f"cannot connect to {where}: {exc.strerror or exc}", retryable=True) from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Keep-alive probes end a stream whose peer vanished (a half-open connection).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    if parts.scheme != "https":
        return sock
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        hint = "" if insecure else " (--insecure skips verification)"
        raise FollowError(f"TLS certificate of {where} not trusted: {exc.verify_message}{hint}") from None
    except OSError as exc:
        sock.close()
        raise FollowError(f"TLS handshake with {where} failed: {exc}", retryable=True) from None


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            return buf[: end + 4], buf[end + 4 :]
        if len(buf) > MAX_HEAD_BYTES:
            raise FollowError("response headers too large", retryable=True)
        chunk = sock.recv(65536)
        if not chunk:
            raise FollowError("the server closed the connection before answering", retryable=True)
        buf += chunk


def request(
    url: str, headers: dict[str, str], insecure: bool, timeout: float, watch_fd: int | None = None
) -> Response:
    """Send one GET and read the response head (no redirects followed here)."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # Spaces and non-ASCII characters typed in a URL go out percent-encoded as UTF-8.
    path = quote(path, safe="!#$%&'()*+,/:;=?@[]~")
    sock = _connect(url, insecure, timeout)
    lines = [f"GET {path} HTTP/1.1"]
    if not any(name.lower() == "host" for name in headers):
        lines.append(f"Host: {_host_header(parts)}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    try:
        # UTF-8, as EventSource encodes Last-Event-ID (an id may be any text but NUL).
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        head, rest = _read_head(sock)
    except FollowError:
        sock.close()
        raise
    except OSError as exc:
        sock.close()
        raise FollowError(f"no answer from {parts.netloc}: {exc}", retryable=True) from None
    status_line, _, header_bytes = head.partition(b"\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})(?: (.*))?\Z", status_line)
    if not match:
        sock.close()
        raise FollowError(f"not an HTTP/1.x answer from {parts.netloc}", retryable=True)
    try:
        message = http.client.parse_headers(io.BytesIO(header_bytes))
    except http.client.HTTPException:
        sock.close()
        raise FollowError(f"malformed response headers from {parts.netloc}", retryable=True) from None
    sock.settimeout(None)
    reason = (match.group(2) or b"").decode("latin-1").strip()
    return Response(sock, int(match.group(1)), reason, message, rest, watch_fd)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def open_stream(target: Target, last_event_id: str, watch_fd: int | None = None) -> Response:
    """Connect, follow redirects, and check that the answer is an event stream (or 204)."""
    url = target.url
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "Accept-Encoding": "identity"}
    headers.update(target.headers)
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    for _ in range(MAX_REDIRECTS + 1):
        response = request(url, headers, target.insecure, target.timeout, watch_fd)
        location = response.headers.get("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            response.close()
            new_url = urljoin(url, location)
            if _origin(new_url) != _origin(url):
                # Credentials stay with the origin they were given for.
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if urlsplit(new_url).scheme not in ("http", "https"):
                raise FollowError(f"redirected to an unsupported URL: {new_url}")
            url = new_url
            continue
        break
    else:
        response.close()
        raise FollowError(f"more than {MAX_REDIRECTS} redirects")
    if response.status == 204:
        return response
    if response.status != 200:
        detail = _error_detail(response)
        response.close()
        text = f"{url}: HTTP {response.status} {response.reason}".rstrip() + detail
        raise FollowError(text, retryable=response.status in RETRYABLE_STATUS)
    ctype = response.headers.get("Content-Type", "")
    if ctype.split(";", 1)[0].strip().lower() != "text/event-stream":
        response.close()
        raise FollowError(f"{url}: expected Content-Type text/event-stream, got {ctype or 'none'}")
    return response


def _error_detail(response: Response) -> str:
    """The first line of a short plain-text error body, to say why."""
    if not response.headers.get("Content-Type", "").startswith("text/plain"):
        return ""
    body = b""
    response.read_timeout = 0.5
    try:
        while len(body) < 300:
            data = response.read()
            if not data:
                break
            body += data
    except (OSError, FollowError):
        pass
    line = body.decode("utf-8", "replace").strip().splitlines()[:1]
    text = line[0][:200] if line else ""
    status = f"{response.status} "
    text = text[len(status) :] if text.startswith(status) else text
    return f" ({text})" if text and text.lower() != response.reason.lower() else ""
