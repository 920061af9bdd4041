"""The command line, run as a real process."""

from __future__ import annotations

import re
import signal
import socket
import time

import pytest

from tailsse import __version__
from tailsse.cli.main import build_parser
from tailsse.config import cli_options, option_name, options_markdown
from tests.conftest import ServerProcess, append, run_tailsse


def test_version_and_help():
    result = run_tailsse("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tailsse {__version__}"
    result = run_tailsse("--help")
    assert result.returncode == 0 and "serve" in result.stdout
    result = run_tailsse("serve", "--help")
    assert result.returncode == 0
    for name, _, _ in cli_options():
        assert option_name(name) in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["serve"], "PATH"),
        (["serve", "x.log", "--bogus"], "--bogus"),
        (["serve", "x.log", "--lines", "-1"], "--lines"),
        (["serve", "x.log", "--lines", "many"], "--lines"),
        (["serve", "x.log", "--port", "http"], "--port"),
        (["serve", "x.log", "--heartbeat", "nan"], "--heartbeat"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    result = run_tailsse(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0] and "Traceback" not in result.stderr


def test_port_in_use_is_one_clear_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_tailsse("serve", str(tmp_path / "a.log"), "--port", str(port))
    assert result.returncode == 1
    errors = [ln for ln in result.stderr.splitlines() if "error" in ln]
    assert errors == [f"tailsse: error: cannot listen on 127.0.0.1:{port}: address already in use"]
    assert "Traceback" not in result.stderr


def read_events(sock: socket.socket, count: int, timeout: float = 5) -> list[str]:
    """Read ``count`` data lines from a raw HTTP/1.1 event stream."""
    sock.settimeout(timeout)
    buf = b""
    data: list[str] = []
    while len(data) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        data = re.findall(rb"^data: (.*)$", buf, re.M)
    return [d.decode() for d in data]


def open_socket_stream(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


def test_real_server_streams_appended_lines(tmp_path, server_process):
    log = tmp_path / "app.log"
    log.write_bytes(b"before\n")
    server = server_process(str(log), "--lines", "1")
    with open_socket_stream(server.port, "/events/app.log") as sock:
        assert read_events(sock, 1) == ["before"]
        append(log, b"after 1\nafter 2\n")
        assert read_events(sock, 2) == ["after 1", "after 2"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_quickly_closing_streams(tmp_path, sig):
    log = tmp_path / "app.log"
    log.write_bytes(b"x\n")
    server = ServerProcess([str(log)])
    try:
        sock = open_socket_stream(server.port, "/events/app.log")
        assert read_events(sock, 1) == ["x"]
        start = time.monotonic()
        server.proc.send_signal(sig)
        server.proc.wait(5)
        elapsed = time.monotonic() - start
        sock.settimeout(2)
        rest = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        sock.close()
    finally:
        code = server.stop()
    assert code == 0
    assert elapsed < 1.0
    assert rest.endswith(b"0\r\n\r\n")  # the stream was ended properly, not cut
    assert "Traceback" not in server.stderr


def test_demo_serves_a_growing_log(server_process):
    server = server_process("--demo", "--lines", "5")
    with open_socket_stream(server.port, "/events/demo.log") as sock:
        assert len(read_events(sock, 7)) == 7  # 5 backlog lines, then new ones as they are written


def test_missing_file_starts_with_a_warning(tmp_path):
    server = ServerProcess([str(tmp_path / "not-yet.log")])
    assert server.stop() == 0
    assert "WARNING" in server.stderr and "not-yet.log" in server.stderr


def test_readme_documents_every_option():
    with open("README.md", encoding="utf-8") as f:
        readme = f.read()
    for name, _, _ in cli_options():
        assert f"`{option_name(name)}" in readme, f"{option_name(name)} is not in the README"
    assert options_markdown() in readme, "README option table is stale: regenerate it"
    assert "scripts/test" in readme and "scripts/try" in readme


def test_parser_is_built_from_config():
    parser = build_parser()
    args = parser.parse_args(["serve", "a.log", "--lines", "5", "--poll"])
    assert args.lines == 5 and args.poll is True and args.paths == ["a.log"]
