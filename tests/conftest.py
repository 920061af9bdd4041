"""Shared fixtures: an in-process app for pytest-tornasync, and a real server process."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tailsse.config import Config
from tailsse.webapp.app import make_app

# Small intervals so tests run in milliseconds; tests override with app_config.
TEST_CONFIG = Config(heartbeat=0, check_interval=0.2)


@pytest.fixture
def log_file(tmp_path):
    """An existing, empty log file named app.log."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    return path


@pytest.fixture
def app_config(log_file) -> Config:
    """The Config the ``app`` fixture builds from; override per module or test."""
    return replace(TEST_CONFIG, paths=(str(log_file),))


@pytest.fixture
def app(io_loop, app_config):
    """The application under test (pytest-tornasync's fixture name)."""
    application = make_app(app_config)
    application.catalog.start()
    yield application
    application.catalog.close()


class EventReader:
    """Reads a never-ending event stream into a queue of parsed events."""

    def __init__(self) -> None:
        self.raw = bytearray()
        self.events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._buf = b""

    def feed(self, chunk: bytes) -> None:
        self.raw += chunk
        self._buf += chunk
        while b"\n\n" in self._buf:
            block, self._buf = self._buf.split(b"\n\n", 1)
            event: dict[str, str] = {}
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    continue
                key, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if key == "data" and "data" in event:
                    event["data"] += "\n" + value
                else:
                    event[key] = value
            if "data" in event:
                self.events.put_nowait(event)

    async def ready(self, timeout: float = 5.0) -> None:
        """Wait until the stream has started (its retry: field arrived)."""
        deadline = time.monotonic() + timeout
        while b"retry:" not in self.raw:
            if time.monotonic() > deadline:
                raise asyncio.TimeoutError("the stream did not start")
            await asyncio.sleep(0.005)

    async def next(self, timeout: float = 5.0) -> dict[str, str]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def take(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        return [await self.next(timeout) for _ in range(count)]

    async def nothing_more(self, wait: float = 0.3) -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(self.events.get(), wait)


def open_stream(client, path: str, headers: dict[str, str] | None = None):
    """Start a streaming GET with pytest-tornasync's client; returns (reader, future)."""
    reader = EventReader()
    future = client.fetch(
        path,
        headers=headers or {},
        streaming_callback=reader.feed,
        request_timeout=3600,
        raise_error=False,
    )
    return reader, future


class CaptureTransport:
    """A transport that keeps everything sent to it (for hub-level tests)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.sends = 0

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        self.sends += 1

    def push(self, payload) -> None:
        self.send(payload.data)

    def buffered(self) -> int:
        return 0

    def closed(self) -> bool:
        return False

    def close(self) -> None:
        pass

    @property
    def text(self) -> str:
        return b"".join(self.sent).decode("utf-8")


def append(path, data: bytes) -> None:
    """Append bytes to a file with one write()."""
    with open(path, "ab") as f:
        f.write(data)


class ServerProcess:
    """A real ``tailsse serve`` subprocess on a free port."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        cmd = [sys.executable, "-m", "tailsse", "serve", "--port", "0", *args]
        self.stderr = ""
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, text=True
        )
        line = self.proc.stdout.readline()
        match = re.search(r"http://[^\s]+", line)
        if not match:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"server did not start: {line!r} {err}")
        self.url = match.group(0)
        self.port = int(re.search(r":(\d+)/", self.url).group(1))
        # Read what it logs as it goes: a full pipe would stop the server at its next log line.
        self._said: list[str] = []
        self._drain = threading.Thread(target=self._said.extend, args=(self.proc.stderr,), daemon=True)
        self._drain.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(self.url + "healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("server did not become ready") from None
                time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.join(5)
            self.stderr = "".join(self._said)
        elif self.proc.stderr and not self.proc.stderr.closed:
            self.stderr = self.proc.stderr.read()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return self.proc.returncode


@pytest.fixture
def server_process() -> Iterator:
    """Factory for real server processes; every one is stopped after the test."""
    started: list[ServerProcess] = []

    def start(*args: str, **kwargs) -> ServerProcess:
        proc = ServerProcess(list(args), **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def run_tailsse(
    *args: str, timeout: float = 30, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m tailsse ARGS`` to its end and capture what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "tailsse", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def system_program(name: str) -> str:
    """A program from a Debian package; missing, it skips the test (fails it in CI)."""
    found = shutil.which(name)
    for directory in ("/usr/sbin", "/usr/bin"):
        if found is None and os.access(f"{directory}/{name}", os.X_OK):
            found = f"{directory}/{name}"
    if found is None:
        message = f"{name} is not installed (scripts/install-system-deps installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_without_pythonpath() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env
