"""``tailsse follow URL``: print an event stream in a terminal, reconnecting by itself.

A blocking loop over a plain socket (TLS when the URL is https): a terminal tool has one
stream to read, and owning the socket lets it notice a reader that went away (``| head``)
while the stream is idle, which a library read call would block through. Data goes to
stdout, flushed as soon as it arrives; every status message goes to stderr.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import select
import socket
import ssl
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TextIO
from urllib.parse import quote, urljoin, urlsplit

from tailsse.sseparse import Event, EventStreamParser

DEFAULT_RETRY_MS = 3000  # the wait before reconnecting until the server sends retry:
MAX_BACKOFF_MS = 30_000  # repeated failed reconnections wait longer, up to this
MAX_REDIRECTS = 10
MAX_HEAD_BYTES = 64 * 1024
RETRYABLE_STATUS = (502, 503, 504)  # a proxy in front of a restarting server
_TOKEN = re.compile(r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_HEX = re.compile(rb"\A[0-9A-Fa-f]+\Z")
PROG = "tailsse follow"


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


def _host_header(parts) -> str:
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


class Printer:
    """Writes what the user asked to see, flushed as each piece arrives."""

    def __init__(self, out: BinaryIO, mode: str, notice: Callable[[str], None] | None = None) -> None:
        self.out = out
        self.mode = mode
        self.notice = notice
        self._piece: list[str] = []  # a long line's first pieces, until its last one

    def chunk(self, data: bytes, events: list[Event]) -> None:
        """Print one received piece of the body and the events it completed."""
        if self.mode == "raw":
            self._write(data)
        elif self.mode == "json":
            self._write(
                "".join(
                    json.dumps({"event": e.type, "id": e.id, "data": e.data}, ensure_ascii=False) + "\n"
                    for e in events
                ).encode("utf-8")
            )
        elif self.mode == "events":
            self._write(
                "".join(
                    f"{e.type}\t{e.id or '-'}\t{line}\n" for e in events for line in e.data.split("\n")
                ).encode("utf-8")
            )
        else:
            self._lines(events)

    def _lines(self, events: list[Event]) -> None:
        # Plain output is the log itself: named events (tailsse's notices about the file)
        # go to stderr, and a line tailsse sent in pieces (ids ending in -p) is rejoined.
        text: list[str] = []
        for event in events:
            if event.type != "message":
                if self._piece:
                    # The rest of that long line will not come (the file changed under it).
                    text += (*self._piece, "\n")
                    self._piece = []
                self._write("".join(text).encode("utf-8"))
                text = []
                if self.notice is not None:
                    self.notice(describe(event))
            elif event.id.endswith("-p"):
                self._piece.append(event.data)
            else:
                text += self._piece
                text += (event.data, "\n")
                self._piece = []
        self._write("".join(text).encode("utf-8"))

    def _write(self, payload: bytes) -> None:
        if payload:
            self.out.write(payload)
            self.out.flush()


def describe(event: Event) -> str:
    """One line about a named event, e.g. tailsse's ``rotated`` notice."""
    try:
        body = json.loads(event.data)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = f"{body.get('file', event.type)}: {body['message']}"
        return text + (f" ({body['detail']})" if body.get("detail") else "")
    return f"{event.type}: " + " ".join(event.data.splitlines())


class Follower:
    """The reconnecting loop of ``tailsse follow``."""

    def __init__(
        self,
        target: Target,
        printer: Printer,
        err: TextIO,
        quiet: bool = False,
        watch_fd: int | None = None,
    ) -> None:
        self.target = target
        self.printer = printer
        self.err = err
        self.last_event_id = target.last_event_id
        self.quiet = quiet
        self.watch_fd = watch_fd
        self.retry_ms = DEFAULT_RETRY_MS

    def status(self, message: str) -> None:
        """A progress message on stderr (unless --quiet)."""
        if not self.quiet:
            print(f"{PROG}: {message}", file=self.err, flush=True)

    def run(self) -> int:
        """Follow until a clean end (0) or a failure that retrying cannot fix (1)."""
        streamed = False
        failures = 0
        while True:
            try:
                response = open_stream(self.target, self.last_event_id, self.watch_fd)
            except FollowError as exc:
                # The first attempt fails fast (a typo, a server not running); once the
                # stream worked, outages are waited out as EventSource does.
                if not (streamed and exc.retryable):
                    print(f"{PROG}: {exc}", file=self.err, flush=True)
                    return 1
                failures += 1
                delay = min(self.retry_ms * 2 ** (failures - 1), max(self.retry_ms, MAX_BACKOFF_MS))
                self.status(f"{exc}; retrying in {delay / 1000:g} s")
                self._wait(delay / 1000)
                continue
            if response.status == 204:
                response.close()
                self.status("the server ended the stream (204 No Content)")
                return 0
            if streamed:
                resume = f" after id {self.last_event_id}" if self.last_event_id else ""
                self.status(f"reconnected, resuming{resume}")
            streamed = True
            failures = 0
            reason = self._pump(response)
            self.status(f"{reason}; reconnecting in {self.retry_ms / 1000:g} s")
            self._wait(self.retry_ms / 1000)

    def _pump(self, response: Response) -> str:
        parser = EventStreamParser(self.last_event_id)
        try:
            while True:
                try:
                    data = response.read()
                except OSError as exc:
                    return f"connection lost ({exc.strerror or exc})"
                except FollowError as exc:
                    return str(exc)
                if not data:
                    return "the stream ended"
                events = parser.feed(data)
                if parser.retry is not None:
                    self.retry_ms = parser.retry
                # Recorded before printing: a broken pipe must not lose the resume point.
                self.last_event_id = parser.last_event_id
                self.printer.chunk(data, events)
        finally:
            parser.end()
            response.close()

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.watch_fd is None:
                time.sleep(left)
            else:
                wait_readable(None, self.watch_fd, left)


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL: {text!r}")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None
    return text


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.match(name):
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    if any(c in value for c in "\r\n\0"):
        raise argparse.ArgumentTypeError(f"line breaks are not allowed in a header: {text!r}")
    return name, value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_follow_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``follow`` subcommand and its options."""
    parser = subparsers.add_parser(
        "follow",
        help="print an event stream (tailsse or any SSE server)",
        description="Print the events of a Server-Sent Events stream to stdout, reconnecting by "
        "itself and resuming with Last-Event-ID. Status messages go to stderr.",
    )
    parser.add_argument(
        "url", type=_url, metavar="URL", help="event stream, e.g. http://host:8080/events/app.log"
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--raw",
        dest="mode",
        action="store_const",
        const="raw",
        help="print the stream exactly as received (fields, comments, heartbeats)",
    )
    shown.add_argument(
        "--events",
        dest="mode",
        action="store_const",
        const="events",
        help="print EVENT<TAB>ID<TAB>DATA for each data line",
    )
    shown.add_argument(
        "--json",
        dest="mode",
        action="store_const",
        const="json",
        help='print one JSON object per event: {"event", "id", "data"}',
    )
    parser.set_defaults(mode="data")
    parser.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="send this request header (repeatable)",
    )
    parser.add_argument(
        "--token", metavar="TOKEN", help="send 'Authorization: Bearer TOKEN' (default: $TAILSSE_TOKEN)"
    )
    parser.add_argument(
        "--last-event-id",
        default="",
        metavar="ID",
        help="resume after this event id instead of from the server's start",
    )
    parser.add_argument(
        "-k",
        "--insecure",
        action="store_true",
        help="do not verify the server's TLS certificate (self-signed)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for a connection and the response headers (default: 10)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no status messages, only errors")
    return parser


def target_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Target:
    """The request to make, from the parsed options and the environment."""
    environ = dict(os.environ) if environ is None else environ
    headers: dict[str, str] = {}
    token = (args.token or environ.get("TAILSSE_TOKEN", "")).strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    last_id = args.last_event_id
    for name, value in args.headers:
        if name.lower() == "last-event-id":
            # It changes with every event: a header given this way is only the start.
            last_id = last_id or value
            continue
        # An explicit -H wins over the token, and a repeated name keeps its last value.
        for old in [k for k in headers if k.lower() == name.lower()]:
            del headers[old]
        headers[name] = value
    for what, value in (("the token", token), ("--last-event-id", last_id)):
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"{what} must not contain line breaks or NUL")
    return Target(args.url, headers, args.insecure, args.timeout, last_id)


def run(args: argparse.Namespace, out: BinaryIO | None = None, err: TextIO | None = None) -> int:
    """Run ``tailsse follow``; returns the exit status."""
    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr
    try:
        target = target_from_args(args)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=err, flush=True)
        return 2
    watch_fd = output_fd(out)
    follower = Follower(target, Printer(out, args.mode), err, args.quiet, watch_fd)
    follower.printer.notice = follower.status
    try:
        return follower.run()
    except KeyboardInterrupt:
        return 0
    except (OutputClosed, BrokenPipeError):
        _discard_stdout(out)
        return 0


def _discard_stdout(out: BinaryIO) -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail loudly."""
    try:
        fd = out.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
