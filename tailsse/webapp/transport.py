"""An event stream that owns its connection: the response head, chunks and unsent bytes.

The handler detaches the connection before anything is written (``RequestHandler.detach``)
and this writes the status line, the headers and, on HTTP/1.1, each chunk itself: no
RequestHandler, request object or coroutine stays alive per viewer, only the IOStream and
this. It counts the bytes it handed to the IOStream that the socket has not taken yet, from
the futures ``IOStream.write`` returns, so only public Tornado API is used. At the head of
a log a batch costs one ``send()`` system call per viewer, with the chunk framing built
once per batch and shared by every viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from email.utils import format_datetime

from tornado import iostream

from tailsse.sources.base import Payload


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (never empty: an empty chunk ends the response)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def response_head(version: str, headers: list[tuple[str, str]]) -> tuple[bytes, bool]:
    """The status line and headers of a 200 stream, and whether its body is chunked.

    HTTP/1.1 gets chunked encoding; an HTTP/1.0 client reads until the connection closes.
    """
    if any("\r" in value or "\n" in value for _, value in headers):
        raise ValueError("a header value holds a line break")
    chunked = version == "HTTP/1.1"
    lines = ["HTTP/1.1 200 OK"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append("Date: " + format_datetime(datetime.now(timezone.utc), usegmt=True))
    lines.append("Transfer-Encoding: chunked" if chunked else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), chunked


class StreamTransport:
    """One viewer's event stream on a detached connection."""

    __slots__ = ("chunked", "direct", "head", "on_close", "pending", "stream")

    def __init__(self, stream: iostream.IOStream, head: bytes, chunked: bool) -> None:
        self.stream = stream
        self.chunked = chunked
        # The response head goes out with the first write, once the stream has its place
        # in the log: a client that reacts to the 200 by writing a line must get it.
        self.head: bytes | None = head
        self.pending = 0  # bytes given to the IOStream whose write has not completed
        self.on_close: Callable[[], None] | None = None
        # TLS sockets have their own partial-write rules: leave those to tornado.
        self.direct = not isinstance(stream, iostream.SSLIOStream)
        # Each batch is one write already: Nagle's algorithm would only hold a batch back
        # until the previous one is acknowledged (tornado turns it off only to finish a
        # response, which a stream never does).
        stream.set_nodelay(True)
        stream.set_close_callback(self._closed)

    def _closed(self) -> None:
        callback, self.on_close = self.on_close, None
        if callback is not None:
            callback()

    def _write(self, data: bytes) -> Awaitable[None] | None:
        """Queue bytes on the IOStream, counting them until its write future completes."""
        if self.head is not None:
            data, self.head = self.head + data, None
        try:
            future = self.stream.write(data)
        except iostream.StreamClosedError:
            return None
        size = len(data)
        self.pending += size

        def done(_: object) -> None:
            self.pending -= size

        future.add_done_callback(done)
        return future

    def send(self, data: bytes) -> Awaitable[None] | None:
        if self.stream.closed():
            return None
        return self._write(chunk(data) if self.chunked and data else data)

    def push(self, payload: Payload) -> None:
        stream = self.stream
        if self.chunked:
            frame = payload.framed
            if frame is None:
                frame = payload.framed = chunk(payload.data)
        else:
            frame = payload.data
        if self.direct and self.head is None and not self.pending and not stream.closed():
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
        self._write(frame)

    def buffered(self) -> int:
        return self.pending

    def closed(self) -> bool:
        return self.stream.closed()

    def close(self) -> None:
        """End the response properly (the last chunk), then close the connection."""
        self.on_close = None
        stream = self.stream
        if stream.closed():
            return
        try:
            done = stream.write((self.head or b"") + (b"0\r\n\r\n" if self.chunked else b""))
        except iostream.StreamClosedError:
            return
        done.add_done_callback(lambda _: stream.close())
