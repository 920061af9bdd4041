"""Many viewers: one read and one encoding per batch, bounded memory, limits, clean-up."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from dataclasses import replace

import pytest

from tailsse.sources import files as file_sources
from tests.conftest import TEST_CONFIG, CaptureTransport, append, open_stream


@pytest.fixture
def app_config(log_file):
    return replace(TEST_CONFIG, paths=(str(log_file),), max_clients=5)


async def test_viewers_at_the_head_share_one_read_and_one_encoding(app, log_file, monkeypatch):
    channel = app.catalog.channels["app.log"]
    encodes = []
    real_encode = file_sources.encode_lines
    monkeypatch.setattr(
        file_sources, "encode_lines", lambda seg, lines: encodes.append(len(lines)) or real_encode(seg, lines)
    )
    viewers = [CaptureTransport() for _ in range(50)]
    for viewer in viewers:
        channel.subscribe(viewer, None, 0)
    await asyncio.sleep(0.05)  # let each join the head
    assert len(channel.head) == 50
    before = [v.sends for v in viewers]
    append(log_file, b"".join(b"line %d\n" % i for i in range(100)))
    channel.source.wake()
    assert encodes == [100]  # one encoding of the batch, whatever the number of viewers
    for viewer, sends in zip(viewers, before, strict=True):
        assert viewer.sends == sends + 1  # one write per viewer for the whole batch
        assert viewer.sent[-1].count(b"\ndata: line ") == 100  # each line still its own event
        assert viewer.sent[-1] is viewers[0].sent[-1]  # the very same bytes object


async def test_max_clients_refuses_with_a_retry_and_keeps_the_others(http_server_client, log_file):
    readers = []
    for _ in range(5):
        reader, _ = open_stream(http_server_client, "/events/app.log?lines=0")
        await reader.ready()
        readers.append(reader)
    response = await http_server_client.fetch("/events/app.log", raise_error=False, request_timeout=5)
    # 200, so EventSource reconnects later instead of giving up for good.
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    body = response.body.decode()
    retry = int(re.search(r"^retry: (\d+)$", body, re.M).group(1))
    assert 5000 <= retry <= 10000
    assert "event: busy\n" in body
    append(log_file, b"still flowing\n")
    for reader in readers:
        assert (await reader.next())["data"] == "still flowing"


async def test_a_thousand_clients_that_drop_leave_nothing_behind(http_server_client, app, log_file):
    app.catalog.config = replace(app.catalog.config, max_clients=2000)
    port = http_server_client.get_http_port()
    channel = app.catalog.channels["app.log"]
    before_fds = len(os.listdir("/proc/self/fd"))

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /events/app.log?lines=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await reader.readuntil(b"retry:")
        writer.close()

    for _ in range(10):
        await asyncio.gather(*(one() for _ in range(100)))
    deadline = time.monotonic() + 5
    while app.catalog.subscriber_count() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert app.catalog.subscriber_count() == 0
    assert not channel.head and not channel.catching
    append(log_file, b"nobody is listening\n")
    channel.source.wake()
    while len(os.listdir("/proc/self/fd")) > before_fds + 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert len(os.listdir("/proc/self/fd")) <= before_fds + 5


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_a_stalled_viewer_costs_bounded_memory_and_misses_nothing(tmp_path, server_process):
    """200 MB appended while one viewer reads nothing: the server's memory stays flat."""
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    server = server_process(str(log), "--lines", "0", "--heartbeat", "0")
    request = b"GET /events/app.log HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.port))
    stalled.sendall(request)
    fast = socket.create_connection(("127.0.0.1", server.port))
    fast.sendall(request)
    for sock in (stalled, fast):
        sock.settimeout(10)
        start = b""
        while b"retry:" not in start:
            start += sock.recv(65536)

    line_count = 2_000_000  # 100 bytes each: 200 MB
    pad = b"." * 89

    def writer() -> None:
        with open(log, "ab") as f:
            for start in range(0, line_count, 10_000):
                f.write(b"".join(b"%09d %s\n" % (i, pad) for i in range(start, start + 10_000)))

    def read_all(sock: socket.socket, result: dict) -> None:
        """Check that numbers arrive in order, exactly once, keeping only a short tail."""
        expected, tail = 0, b""
        numbers = re.compile(rb"^data: (\d{9}) ", re.M)
        while expected < line_count:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            buf = tail + chunk
            cut = buf.rfind(b"\n")
            for match in numbers.finditer(buf, 0, cut + 1):
                if int(match.group(1)) != expected:
                    result["error"] = f"expected {expected}, got {match.group(1)!r}"
                    return
                expected += 1
            tail = buf[cut + 1 :]
        result["count"] = expected
        result["done"] = time.monotonic()

    base_rss = _rss_kib(server.proc.pid)
    fast_result: dict = {}
    fast_reader = threading.Thread(target=read_all, args=(fast, fast_result))
    fast_reader.start()
    writer()
    peak = base_rss
    while fast_reader.is_alive():
        peak = max(peak, _rss_kib(server.proc.pid))
        fast_reader.join(0.05)
    # The other viewer was not held back by the stalled one.
    assert fast_result.get("count") == line_count, fast_result
    growth_mib = (peak - base_rss) / 1024
    print(f"server RSS {base_rss} KiB at start, +{growth_mib:.1f} MiB at peak")
    assert growth_mib < 32, f"server memory grew by {growth_mib:.1f} MiB"

    # The stalled viewer reads again: everything, in order, exactly once, from the file.
    slow_result: dict = {}
    read_all(stalled, slow_result)
    assert slow_result.get("count") == line_count, slow_result
    peak = max(peak, _rss_kib(server.proc.pid))
    assert (peak - base_rss) / 1024 < 32
    stalled.close()
    fast.close()
