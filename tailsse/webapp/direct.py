"""Answers whose bulk another process writes to the client's socket itself.

A page of search matches is hundreds of KB. A scanner process found them; if it also
writes them to the client (see :mod:`tailsse.history.scanner`), the IOLoop never copies
them or hands them to the kernel, which costs about a millisecond per page, and so the
live streams never wait behind it. The answer is chunked (HTTP/1.1): the handler sends
the headers and the start of the document, the scanner the matches as one chunk, the
handler the rest and the last chunk.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

from tornado.iostream import IOStream, SSLIOStream, StreamClosedError
from tornado.web import RequestHandler

from tailsse.loop import give_way
from tailsse.sources.base import AnswerCut

# struct tcp_info: tcpi_notsent_bytes (u32), then tcpi_bytes_sent and tcpi_bytes_retrans (u64)
_NOTSENT_AT, _BYTES_SENT_AT, _INFO_SIZE = 144, 200, 216


class ChunkOut:
    """A handler's connection, lent to a scanner for one chunk of its answer (a MatchesOut)."""

    def __init__(
        self, handler: RequestHandler, stream: IOStream, head: bytes, headers: Callable[[], None]
    ) -> None:
        self.handler = handler
        self.stream = stream
        self.head = head  # what comes before the chunk
        self.headers = headers  # sets the answer's headers, which go out when it opens
        self.opened = False
        self._mark: int | None = None  # bytes handed to the socket when it was lent

    @classmethod
    def offer(cls, handler: RequestHandler, head: bytes, headers: Callable[[], None]) -> ChunkOut | None:
        """One for this request, where a plain socket and a chunked answer allow it (not
        over TLS, which only this process can speak; not to HTTP/1.0, nor for HEAD)."""
        request = handler.request
        stream = getattr(request.connection, "stream", None)
        if not isinstance(stream, IOStream) or isinstance(stream, SSLIOStream) or stream.socket is None:
            return None
        if request.version != "HTTP/1.1" or request.method != "GET":
            return None
        return cls(handler, stream, head, headers)

    def fileno(self) -> int:
        assert self.stream.socket is not None
        return self.stream.socket.fileno()

    async def open(self) -> None:
        self._cork(True)
        self.headers()
        self.handler.write(self.head)
        self.opened = True
        try:
            await self.handler.flush()  # written: the socket is the scanner's now
        except StreamClosedError as exc:
            raise AnswerCut("the client went away") from exc
        self._mark = self._written()

    def untouched(self) -> bool:
        """Whether nothing was written to the socket since it was lent (False: cannot tell)."""
        return self._mark is not None and self._written() == self._mark

    def _written(self) -> int | None:
        """Bytes handed to the socket so far, sent or waiting to be (Linux's TCP_INFO;
        None where it does not say, before Linux 4.19)."""
        sock = self.stream.socket
        option = getattr(socket, "TCP_INFO", None)
        if sock is None or option is None:
            return None
        info = sock.getsockopt(socket.IPPROTO_TCP, option, 256)
        if len(info) < _INFO_SIZE:
            return None
        (waiting,) = struct.unpack_from("I", info, _NOTSENT_AT)
        sent, again = struct.unpack_from("QQ", info, _BYTES_SENT_AT)
        return int(sent - again + waiting)

    async def finish(self, tail: bytes) -> None:
        """The rest of the answer, and the answer sent."""
        self.handler.finish(tail)
        await give_way()
        self._cork(False)

    def _cork(self, on: bool) -> None:
        """Hold back (or send) what is not a whole packet yet: the headers go with the matches,
        the answer's end with their last bytes, so a page costs the client one wake-up and
        this process one delivery over the loopback, not three."""
        sock = self.stream.socket
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))

    def abort(self) -> None:
        """The answer cannot be finished (the chunk may be cut short): end the connection,
        so the client sees a broken answer rather than a wrong one."""
        self.stream.close()
