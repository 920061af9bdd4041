"""The stream transport: the response head it writes, and its count of unsent bytes."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from tornado.iostream import IOStream

from tailsse.sources.base import Payload
from tailsse.webapp.transport import StreamTransport, chunk, response_head


def test_the_head_of_an_http11_stream_is_chunked():
    head, chunked = response_head("HTTP/1.1", [("Content-Type", "text/event-stream"), ("Vary", "Origin")])
    assert chunked
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert lines[1:3] == ["Content-Type: text/event-stream", "Vary: Origin"]
    assert lines[3].startswith("Date: ") and lines[3].endswith(" GMT")
    assert lines[4:] == ["Transfer-Encoding: chunked", "", ""]


def test_an_http10_stream_ends_with_the_connection():
    head, chunked = response_head("HTTP/1.0", [])
    assert not chunked
    assert head.endswith(b"\r\nConnection: close\r\n\r\n") and b"chunked" not in head


def test_a_header_value_cannot_break_the_head():
    with pytest.raises(ValueError):
        response_head("HTTP/1.1", [("Vary", "Origin\r\nX-Injected: 1")])


async def _wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_unsent_bytes_are_counted_until_the_socket_takes_them(io_loop):
    """What the transport says is buffered is what Tornado has not written yet."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    theirs.setblocking(False)
    transport = StreamTransport(IOStream(ours), b"HEAD\r\n\r\n", chunked=True)
    batch = Payload(b"x" * 100_000)
    for _ in range(20):
        transport.push(batch)  # nobody reads: the kernel's buffers fill, the rest waits
    await asyncio.sleep(0.05)
    assert transport.buffered() > 1_000_000
    received = bytearray()

    def drain() -> bool:
        try:
            while True:
                data = theirs.recv(1 << 20)
                if not data:
                    break
                received.extend(data)
        except BlockingIOError:
            pass
        return transport.buffered() == 0

    await _wait(drain)
    expected = b"HEAD\r\n\r\n" + chunk(batch.data) * 20
    await _wait(lambda: drain() and len(received) >= len(expected))
    assert bytes(received) == expected  # every byte once, in order, framed once per batch
    transport.close()
    theirs.close()


async def test_a_closed_peer_ends_the_stream_and_calls_back(io_loop):
    ours, theirs = socket.socketpair()
    transport = StreamTransport(IOStream(ours), b"HEAD\r\n\r\n", chunked=False)
    closed = []
    transport.on_close = lambda: closed.append(True)
    theirs.close()
    for _ in range(50):
        transport.push(Payload(b"y" * 65536))
        transport.send(b"z")
        if transport.closed():
            break
        await asyncio.sleep(0.01)
    await _wait(lambda: bool(closed))
    assert transport.closed() and transport.send(b"after") is None


async def test_a_stream_is_sent_without_waiting_for_acknowledgements():
    """TCP_NODELAY: each batch is one write already; Nagle would hold it for the last ACK."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    stream = IOStream(server)
    try:
        assert not server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        StreamTransport(stream, b"HTTP/1.1 200 OK\r\n\r\n", chunked=True)
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        stream.close()
        client.close()
