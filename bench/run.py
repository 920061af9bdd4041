"""Benchmark tailsse against the floor (``tail -F`` into a pipe) and frontail, in one run.

    python3 bench/run.py            # full run, a few minutes
    python3 bench/run.py --quick    # smoke run, about a minute

Writes bench/results/latest.json and docs/bench.png (needs matplotlib: ``pip install
-e '.[bench]'``) and prints a Markdown table. Everything listens on 127.0.0.1 only; every
process started here is stopped at the end, also on Ctrl-C or failure.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import queue
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"
CHART = ROOT / "docs" / "bench.png"
CLIENT = BENCH / "sse_client.py"
FRONTAIL_READER = BENCH / "frontail_reader.js"
HOST = "127.0.0.1"
PAD = b"INFO app.worker request handled path=/api/items status=200 bytes=5120"


@dataclass(frozen=True)
class Plan:
    """Sizes of one run."""

    latency_seconds: float = 10.0
    latency_rate: int = 200
    throughput_lines: int = 1_000_000
    fanout_seconds: float = 10.0
    fanout_rate: int = 100
    fanout_clients: tuple[int, ...] = (200, 1000)
    idle_streams: int = 5000
    rounds: int = 3  # each scenario runs this often per system, interleaved; medians are reported


FULL = Plan()
QUICK = Plan(latency_seconds=3.0, throughput_lines=200_000, fanout_seconds=3.0, idle_streams=1000, rounds=1)


# --- processes -------------------------------------------------------------------------


class Procs:
    """Every process this run started, so that all of them are stopped whatever happens."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start a process in its own session (so its children can be stopped with it)."""
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
        """SIGTERM the process group, then SIGKILL it after ``grace`` seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
        # Children left in the group (frontail's `tail`) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        """Stop everything still running, newest first."""
        for proc in reversed(list(self.running)):
            self.stop(proc, grace=1.0)


def proc_tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    return pids


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM), 0 if the process is gone."""
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    return 0


def snapshot_tailsse(tmp: Path) -> tuple[Path, str]:
    """Copy tailsse/ and web/ aside, so that every round measures the same code.

    Returns the copy and a short hash of the package's source.
    """
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tailsse", src / "tailsse", ignore=ignore)
    if (ROOT / "web").is_dir():
        shutil.copytree(ROOT / "web", src / "web", ignore=ignore)
    digest = hashlib.sha256()
    for file in sorted((src / "tailsse").rglob("*.py")):
        digest.update(file.relative_to(src).as_posix().encode() + b"\0" + file.read_bytes())
    return src, digest.hexdigest()[:12]


def wait_quiet(limit: float, threshold: float = 0.3) -> float:
    """Wait (at most ``limit`` s) until the rest of the machine uses under ``threshold`` cores.

    Nothing of ours runs between scenarios, so whatever is busy then is someone else's
    work on this shared machine. Returns the seconds waited.
    """
    began = time.monotonic()
    while True:
        before = machine_busy_seconds()
        time.sleep(0.5)
        if (machine_busy_seconds() - before) / 0.5 < threshold:
            break
        if time.monotonic() - began >= limit:
            break
    return round(time.monotonic() - began, 1)


def machine_busy_seconds() -> float:
    """CPU time spent on anything but idle and iowait, all cores, since boot."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of some processes."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


class MemWatch:
    """Samples the resident memory of a server's process tree every 100 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss_kb(self) -> int:
        """Resident memory of the tree now."""
        return sum(status_kb(p, "VmRSS") for p in proc_tree(self.pid))

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_kb = max(self.peak_kb, self.rss_kb())

    def stop(self) -> int:
        """Stop sampling; the peak (VmHWM of each process, or the highest sample), in kB."""
        self._stop.set()
        self._thread.join(1)
        hwm = sum(status_kb(p, "VmHWM") for p in proc_tree(self.pid))
        return max(hwm, self.peak_kb)


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str, seconds: float) -> None:
    """Poll until ``GET path`` answers 200 (never a fixed sleep)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.0\r\nHost: {HOST}\r\n\r\n".encode())
                if s.recv(64).startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                    return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on {HOST}:{port}{path} within {seconds:g}s")


# --- systems under test ----------------------------------------------------------------


class Client:
    """One reader process and the JSON messages it sends back."""

    def __init__(self, proc: subprocess.Popen[bytes], out: Path) -> None:
        self.proc = proc
        self.out = out
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.messages.put(json.loads(raw))
        self.messages.put({"event": "exit"})

    def expect(self, event: str, seconds: float) -> dict[str, Any]:
        """The next message, which must be ``event``."""
        try:
            msg = self.messages.get(timeout=seconds)
        except queue.Empty:
            raise RuntimeError(f"reader sent no {event!r} within {seconds:g}s") from None
        if msg.get("event") != event:
            raise RuntimeError(f"reader sent {msg!r}, wanted {event!r}")
        return msg

    def stop(self) -> None:
        """Tell the reader to finish (it then reports ``done``)."""
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"stop\n")
            self.proc.stdin.flush()

    def latencies(self) -> array[float]:
        """The per-line latencies (ns) the reader wrote."""
        values = array("d")
        with contextlib.suppress(OSError):
            values.frombytes(self.out.read_bytes())
        return values


class System:
    """A server under test: start it on a file, connect readers, stop it."""

    name = ""
    fanout = True  # meaningful with many clients and idle streams
    # Reader processes for 500 streams or more. One by default: the readers then take one
    # core and the server the other; with two, the readers crowd out a server that needs
    # a whole core (frontail at 1,000 clients) and free one that does not (tailsse).
    reader_procs = 1

    def __init__(self, procs: Procs, tmp: Path) -> None:
        self.procs = procs
        self.tmp = tmp
        self.server: subprocess.Popen[bytes] | None = None

    def start(self, path: Path) -> int:
        """Start serving ``path``; returns the pid whose tree is the server."""
        raise NotImplementedError

    def readers(self, path: Path, conns: int, expect: int, mode: str, deadline: float) -> list[Client]:
        """Start reader processes holding ``conns`` streams between them."""
        raise NotImplementedError

    def split(self, conns: int) -> list[int]:
        """Streams per reader process: reading 100,000 events/s takes about a core."""
        procs = self.reader_procs if conns >= 500 else 1
        return [conns // procs + (i < conns % procs) for i in range(procs)]

    def stop(self) -> None:
        """Stop the server."""
        if self.server is not None:
            self.procs.stop(self.server)
            self.server = None

    def _client(self, cmd: list[str], tag: str, **kwargs: Any) -> Client:
        out = self.tmp / f"lat-{self.name}-{tag}-{time.monotonic_ns()}.bin"
        cmd = [*cmd, "--out", str(out)]
        proc = self.procs.start(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **kwargs)
        return Client(proc, out)


class Floor(System):
    """``tail -F FILE`` piped into a reader: what any follower costs at least."""

    name = "floor"
    fanout = False

    def start(self, path: Path) -> int:
        self.server = self.procs.start(["tail", "-n", "0", "-F", str(path)], stdout=subprocess.PIPE)
        return self.server.pid

    def readers(self, path: Path, conns: int, expect: int, mode: str, deadline: float) -> list[Client]:
        assert self.server is not None and self.server.stdout is not None
        fd = self.server.stdout.fileno()
        cmd = [sys.executable, str(CLIENT), "--pipe-fd", str(fd), "--expect", str(expect), "--mode", mode]
        client = self._client([*cmd, "--deadline", str(deadline)], "pipe", pass_fds=(fd,))
        self.server.stdout.close()
        return [client]


class Tailsse(System):
    """tailsse from a snapshot of this checkout taken at the start, as a subprocess."""

    name = "tailsse"
    src: Path = ROOT

    def start(self, path: Path) -> int:
        cmd = [sys.executable, "-m", "tailsse", "serve", str(path), "--host", HOST]
        cmd += ["--port", "0", "--heartbeat", "0", "--lines", "0"]
        env = {**os.environ, "PYTHONPATH": str(self.src)}
        log = open(self.tmp / "tailsse.log", "ab")
        self.server = self.procs.start(cmd, stdout=subprocess.PIPE, stderr=log, cwd=self.src, env=env)
        log.close()
        assert self.server.stdout is not None
        line = self._first_line(self.server.stdout, 20)
        match = re.search(rb"http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            log_tail = (self.tmp / "tailsse.log").read_bytes()[-400:].decode(errors="replace")
            raise RuntimeError(f"tailsse did not print its URL (got {line!r}); its log ends: {log_tail}")
        self.port = int(match[1])
        wait_http(self.port, "/healthz", 10)
        return self.server.pid

    @staticmethod
    def _first_line(stream: Any, seconds: float) -> bytes:
        box: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: box.put(stream.readline()), daemon=True).start()
        try:
            return box.get(timeout=seconds)
        except queue.Empty:
            return b""

    def readers(self, path: Path, conns: int, expect: int, mode: str, deadline: float) -> list[Client]:
        cmd = [
            sys.executable,
            str(CLIENT),
            "--port",
            str(self.port),
            "--path",
            f"/events/{path.name}?lines=0",
        ]
        cmd += ["--expect", str(expect), "--mode", mode, "--deadline", str(deadline)]
        return [self._client([*cmd, "--conns", str(n)], f"sse{i}") for i, n in enumerate(self.split(conns))]


class Frontail(System):
    """frontail (Node.js, socket.io 2), installed with npm into bench/.cache."""

    name = "frontail"

    def start(self, path: Path) -> int:
        self.port = free_port()
        cmd = ["node", str(CACHE / "node_modules" / "frontail" / "bin" / "frontail"), "--disable-usage-stats"]
        cmd += ["--host", HOST, "--port", str(self.port), "--number", "0", str(path)]
        log = open(self.tmp / "frontail.log", "ab")
        self.server = self.procs.start(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        wait_http(self.port, "/", 20)
        return self.server.pid

    def readers(self, path: Path, conns: int, expect: int, mode: str, deadline: float) -> list[Client]:
        # frontail's namespace is the md5 of its file arguments joined by spaces.
        namespace = hashlib.md5(str(path).encode()).hexdigest()
        cmd = ["node", str(FRONTAIL_READER), "--modules", str(CACHE), "--url", f"http://{HOST}:{self.port}"]
        cmd += [
            "--namespace",
            namespace,
            "--expect",
            str(expect),
            "--mode",
            mode,
            "--deadline",
            str(deadline),
        ]
        return [self._client([*cmd, "--conns", str(n)], f"sio{i}") for i, n in enumerate(self.split(conns))]


def frontail_available(log: list[str]) -> bool:
    """Install frontail and socket.io-client@2 into bench/.cache with npm, once."""
    if (CACHE / "node_modules" / "frontail" / "bin" / "frontail").exists() and (
        CACHE / "node_modules" / "socket.io-client"
    ).exists():
        return True
    if not shutil.which("node") or not shutil.which("npm"):
        log.append("frontail skipped: node/npm not found")
        return False
    CACHE.mkdir(parents=True, exist_ok=True)
    manifest = CACHE / "package.json"
    if not manifest.exists():
        manifest.write_text('{"name": "tailsse-bench-peers", "private": true}\n')
    print("installing frontail and socket.io-client@2 into bench/.cache ...", file=sys.stderr)
    cmd = ["npm", "install", "--no-audit", "--no-fund", "--silent", "frontail", "socket.io-client@2"]
    try:
        done = subprocess.run(cmd, cwd=CACHE, timeout=300, capture_output=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.append(f"frontail skipped: npm install failed: {exc}")
        return False
    if done.returncode != 0:
        log.append(f"frontail skipped: npm install failed: {done.stderr.decode(errors='replace')[-300:]}")
        return False
    return True


# --- load ------------------------------------------------------------------------------


def paced(start: int, count: int, rate: float) -> Iterator[int]:
    """0 to ``count`` - 1, the k-th not before ``start`` (monotonic ns) + k / ``rate`` seconds."""
    step = 1e9 / rate
    for seq in range(count):
        delay = (start + seq * step - time.monotonic_ns()) / 1e9
        if delay > 0:
            time.sleep(delay)
        yield seq


def write_paced(path: Path, count: int, rate: float) -> tuple[int, int]:
    """Append ``count`` lines at ``rate`` per second, each stamped just before its write()."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        start = time.monotonic_ns()
        for seq in paced(start, count, rate):
            os.write(fd, b"%d %d %s\n" % (seq, time.monotonic_ns(), PAD))
        return start, time.monotonic_ns()
    finally:
        os.close(fd)


def write_burst(path: Path, count: int) -> tuple[int, int]:
    """Append ``count`` short lines as fast as the file takes them (1 MiB writes)."""
    blocks, block, size = [], [], 0
    for seq in range(count):
        line = b"%d 0 short line\n" % seq
        block.append(line)
        size += len(line)
        if size >= 1 << 20:
            blocks.append(b"".join(block))
            block, size = [], 0
    if block:
        blocks.append(b"".join(block))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        start = time.monotonic_ns()
        for chunk in blocks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        return start, time.monotonic_ns()
    finally:
        os.close(fd)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))]


@dataclass
class Scenario:
    """One measurement: how many streams, how the file is written, what is recorded."""

    key: str
    title: str
    conns: int
    lines: int = 0
    rate: float = 0.0  # lines per second; 0 = as fast as possible
    mode: str = "latency"  # latency | count | idle
    drain: float = 15.0  # seconds allowed after the last write for every line to arrive
    extra: dict[str, Any] = field(default_factory=dict)


def scenarios(plan: Plan) -> list[Scenario]:
    """The scenarios of a run, in order."""
    out = [
        Scenario(
            "latency",
            f"latency at {plan.latency_rate} lines/s, 1 client",
            1,
            int(plan.latency_seconds * plan.latency_rate),
            plan.latency_rate,
        ),
        Scenario("throughput", "lines/s to 1 client", 1, plan.throughput_lines, 0, "count", drain=60),
    ]
    for n in plan.fanout_clients:
        lines = int(plan.fanout_seconds * plan.fanout_rate)
        out.append(
            Scenario(
                f"fanout{n}",
                f"fan-out, {n} clients at {plan.fanout_rate} lines/s",
                n,
                lines,
                plan.fanout_rate,
            )
        )
    out.append(
        Scenario(
            f"idle{plan.idle_streams}", f"{plan.idle_streams} idle streams", plan.idle_streams, mode="idle"
        )
    )
    return out


def run_scenario(system: System, sc: Scenario, tmp: Path, profile: Path | None = None) -> dict[str, Any]:
    """Start the server on a fresh file, connect, load, measure, stop everything."""
    path = tmp / f"{system.name}-{sc.key}.log"
    path.write_bytes(b"")
    pid = system.start(path)
    clients: list[Client] = []
    spy = None
    try:
        if profile is not None and isinstance(system, Tailsse):
            profile.mkdir(parents=True, exist_ok=True)
            raw = profile / f"{system.name}-{sc.key}.raw"
            cmd = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "-o", str(raw)]
            spy = system.procs.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mem = MemWatch(pid)
        time.sleep(0.5)
        rss_before = mem.rss_kb()
        cpu_before = cpu_seconds(proc_tree(pid))
        busy_before, wall_before = machine_busy_seconds(), time.monotonic()
        expect = 0 if sc.mode == "idle" else sc.lines
        mode = "count" if sc.mode == "count" else "latency"
        deadline = 60 + sc.conns / 50 + (sc.lines / sc.rate if sc.rate else 0) + sc.drain
        clients = system.readers(path, sc.conns, expect, mode, deadline)
        ready = [c.expect("ready", 30 + sc.conns / 50) for c in clients]
        connected = sum(r["connected"] for r in ready)
        result: dict[str, Any] = {
            "clients": sc.conns,
            "connected": connected,
            "connect_seconds": max(r["seconds"] for r in ready),
            "rss_before_kb": rss_before,
        }
        time.sleep(0.5)
        if sc.mode == "idle":
            time.sleep(1.5)
            rss_with = mem.rss_kb()
            result["rss_with_streams_kb"] = rss_with
            result["kb_per_stream"] = round((rss_with - rss_before) / max(1, connected), 2)
            for c in clients:
                c.stop()
            dones = [c.expect("done", 30) for c in clients]
            result["reader_cpu_seconds"] = round(sum(d["cpu_seconds"] for d in dones), 2)
        else:
            if sc.rate:
                start_ns, end_ns = write_paced(path, sc.lines, sc.rate)
            else:
                start_ns, end_ns = write_burst(path, sc.lines)
            dones = []
            for c in clients:
                try:
                    dones.append(c.expect("done", sc.drain))
                except RuntimeError:
                    c.stop()
                    dones.append(c.expect("done", 30))
            delivered = sum(d["lines"] for d in dones)
            result.update(
                lines_written=sc.lines,
                write_seconds=round((end_ns - start_ns) / 1e9, 3),
                delivered=delivered,
                expected=sc.lines * sc.conns,
                complete_clients=sum(d["complete"] for d in dones),
                gaps=sum(d["gaps"] for d in dones),
                dups=sum(d["dups"] for d in dones),
                reader_cpu_seconds=round(sum(d["cpu_seconds"] for d in dones), 2),
            )
            last = max(d["last_ns"] for d in dones)
            if sc.mode == "count":
                seconds = (last - start_ns) / 1e9 if last else 0
                per_client = delivered / max(1, sc.conns)
                result["seconds"] = round(seconds, 3)
                result["lines_per_second"] = round(per_client / seconds) if seconds > 0 else 0
            else:
                values: list[float] = []
                for c in clients:
                    values.extend(c.latencies())
                values.sort()
                for q, label in ((0.5, "p50_ms"), (0.99, "p99_ms"), (0.999, "p999_ms"), (1.0, "max_ms")):
                    v = percentile(values, q)
                    result[label] = round(v / 1e6, 3) if v is not None else None
        result["server_cpu_seconds"] = round(cpu_seconds(proc_tree(pid)) - cpu_before, 2)
        # What the rest of the machine did meanwhile (the writer, the kernel, other work):
        # a noise indicator, since the machines are shared.
        busy = machine_busy_seconds() - busy_before
        other = busy - result["server_cpu_seconds"] - result.get("reader_cpu_seconds", 0)
        other = max(0.0, other)  # the readers' start-up falls before the first reading
        result["other_cpu_seconds"] = round(other, 2)
        result["other_cores"] = round(other / max(0.1, time.monotonic() - wall_before), 2)
        result["peak_rss_kb"] = mem.stop()
        if spy is not None:
            result["profiled"] = True
            _stop_spy(system.procs, spy)
            spy = None
            profile_summary(profile / f"{system.name}-{sc.key}.raw")  # type: ignore[operator]
        return result
    finally:
        if spy is not None:
            _stop_spy(system.procs, spy)
        for c in clients:
            system.procs.stop(c.proc, grace=2)
        system.stop()


def _stop_spy(procs: Procs, spy: subprocess.Popen[bytes]) -> None:
    # py-spy writes its profile when interrupted.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(spy.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        spy.wait(15)
    procs.stop(spy)


def profile_summary(raw: Path, top: int = 20) -> None:
    """Write ``<raw>.top.txt``: per thread group, where the samples were (innermost, and anywhere)."""
    groups: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    counts: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in raw.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit() or not stack:
                continue
            n = int(count)
            frames = [re.sub(r":\d+\)$", ")", f.strip()) for f in stack.split(";")]
            group = "IOLoop (main) thread" if frames[0].startswith("_run_module_as_main") else "other threads"
            innermost, anywhere = groups.setdefault(group, ({}, {}))
            counts[group] = counts.get(group, 0) + n
            innermost[frames[-1]] = innermost.get(frames[-1], 0) + n
            for f in set(frames):
                anywhere[f] = anywhere.get(f, 0) + n
    total = max(1, sum(counts.values()))
    out = [f"{total} samples of {raw.name}; percentages are of all samples", ""]
    for group, (innermost, anywhere) in sorted(groups.items()):
        out.append(f"== {group}: {100 * counts[group] / total:.1f}% of samples")
        out.append("self %  innermost frame")
        for frame, n in sorted(innermost.items(), key=lambda kv: -kv[1])[:top]:
            out.append(f"{100 * n / total:6.1f}  {frame}")
        out.append("total %  frame anywhere on the stack")
        for frame, n in sorted(anywhere.items(), key=lambda kv: -kv[1])[:top]:
            out.append(f"{100 * n / total:6.1f}  {frame}")
        out.append("")
    raw.with_suffix(".top.txt").write_text("\n".join(out))


# --- report ----------------------------------------------------------------------------

SUMMED = ("delivered", "expected", "complete_clients", "gaps", "dups")


QUIET_CORES = 0.3  # a round is quiet when other work used less than this much CPU meanwhile


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario's rounds as one result.

    Each figure is the median over the quiet rounds, or, if no round was quiet, the figure
    of the quietest one: on a shared 2-core machine, a round during which other work took
    a core measures that work more than the server. Counts (delivered, expected, gaps, ...)
    are added up over every round.
    """
    good = [r for r in runs if "error" not in r]
    out: dict[str, Any] = {"rounds": len(runs)}
    if not good:
        out["error"] = runs[-1].get("error", "failed") if runs else "not run"
        out["runs"] = runs
        return out
    if len(good) < len(runs):
        out["failed_rounds"] = len(runs) - len(good)
    used = [r for r in good if r.get("other_cores", 0) < QUIET_CORES]
    if not used:
        used = [min(good, key=lambda r: r.get("other_cores", 0))]
    out["rounds_used"] = [runs.index(r) + 1 for r in used]
    for key, value in good[0].items():
        values = [r[key] for r in (good if key in SUMMED else used) if isinstance(r.get(key), (int, float))]
        if isinstance(value, bool) or not values:
            out[key] = value
        elif key in SUMMED:
            out[key] = sum(values)
        else:
            out[key] = statistics.median(values)
    out["runs"] = runs
    return out


def machine() -> dict[str, Any]:
    """What this ran on."""
    info: dict[str, Any] = {
        "cpu": "unknown",
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(ImportError):
        import tornado

        info["tornado"] = tornado.version
    with contextlib.suppress(ImportError):
        import watchdog.version

        info["watchdog"] = watchdog.version.VERSION_STRING
    info["tailsse"] = _output(
        [sys.executable, "-c", "import tailsse; print(tailsse.__version__)"], Tailsse.src
    )
    info["tailsse_commit"] = _output(["git", "rev-parse", "--short", "HEAD"], ROOT)
    changed = _output(["git", "status", "--porcelain", "--", "tailsse"], ROOT)
    info["tailsse_uncommitted_changes"] = bool(changed) if changed is not None else None
    info["node"] = _output(["node", "--version"], ROOT)
    info["tail"] = (_output(["tail", "--version"], ROOT) or "").split("\n")[0] or None
    with contextlib.suppress(OSError, ValueError):
        info["frontail"] = json.loads((CACHE / "node_modules/frontail/package.json").read_text())["version"]
    return info


def _output(cmd: list[str], cwd: Path) -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=10)
        if done.returncode == 0:
            return done.stdout.decode().strip()
    return None


def _get(results: dict[str, Any], system: str, key: str, metric: str) -> Any:
    return results.get(system, {}).get(key, {}).get(metric)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "lines/s":
        return f"{value / 1000:,.0f}k"
    if unit == "MB":
        return f"{value / 1024:.1f}"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}"


def _ratio(a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return "—"
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def table_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """(measure, floor, tailsse, frontail, tailsse/frontail, tailsse/floor, target) rows."""
    res = report["results"]
    plan = report["plan"]
    rows = []

    def row(label: str, key: str, metric: str, unit: str = "", target: str = "") -> None:
        f, t, p = (_get(res, s, key, metric) for s in ("floor", "tailsse", "frontail"))
        rows.append((label, _fmt(f, unit), _fmt(t, unit), _fmt(p, unit), _ratio(t, p), _ratio(t, f), target))

    rate = plan["latency_rate"]
    row(f"latency p50 @ {rate} lines/s (ms)", "latency", "p50_ms", target="< frontail")
    row(f"latency p99 @ {rate} lines/s (ms)", "latency", "p99_ms", target="< frontail")
    row("throughput, 1 client (lines/s)", "throughput", "lines_per_second", "lines/s", "≥ 5x frontail")
    for n in plan["fanout_clients"]:
        key = f"fanout{n}"
        target = "p99 ≤ ½ frontail" if n == 200 else ("p99 < 50 ms" if n == 1000 else "")
        row(f"fan-out {n} @ {plan['fanout_rate']}/s: p50 (ms)", key, "p50_ms")
        row(f"fan-out {n} @ {plan['fanout_rate']}/s: p99 (ms)", key, "p99_ms", target=target)
        for s in ("floor", "tailsse", "frontail"):
            r = res.get(s, {}).get(key)
            if r and "delivered" in r:
                r["delivered_text"] = f"{r['delivered']:,}/{r['expected']:,}"
        shown = [_fmt(_get(res, s, key, "delivered_text")) for s in ("floor", "tailsse", "frontail")]
        rows.append((f"fan-out {n}: delivered/expected", *shown, "", "", "all"))
        row(f"fan-out {n}: server peak RSS (MB)", key, "peak_rss_kb", "MB", "< 60 MB" if n == 1000 else "")
    idle = f"idle{plan['idle_streams']}"
    row(
        f"memory per idle stream, {plan['idle_streams']} streams (KB)",
        idle,
        "kb_per_stream",
        target="< 12 KB",
    )
    row(f"{plan['idle_streams']} idle streams: server peak RSS (MB)", idle, "peak_rss_kb", "MB")
    row("latency run: server peak RSS (MB)", "latency", "peak_rss_kb", "MB")
    row("throughput run: server peak RSS (MB)", "throughput", "peak_rss_kb", "MB")
    return rows


def _source(m: dict[str, Any]) -> str:
    commit = m.get("tailsse_commit") or "no commit"
    dirty = " + uncommitted changes" if m.get("tailsse_uncommitted_changes") else ""
    return f"{commit}{dirty}, source {m.get('tailsse_source_sha256')}"


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    head = (
        "measure",
        "tail -F (floor)",
        "tailsse",
        "frontail",
        "tailsse ÷ frontail",
        "tailsse ÷ floor",
        "target",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 5 + ["---"]) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(report)]
    m = report["machine"]
    lines.append("")
    lines.append(
        f"{report['date']} · {m['cpu']}, {m['cores']} cores · Python {m['python']}, Tornado "
        f"{m.get('tornado')} · tailsse {m.get('tailsse')} ({_source(m)}) · "
        f"frontail {m.get('frontail', '—')}, Node {m.get('node') or '—'} · {report['mode']} run"
    )
    used = [
        r["rounds_used"]
        for by_key in report["results"].values()
        for r in by_key.values()
        if "rounds_used" in r
    ]
    if report["rounds"] > 1 and used:
        fewest = min(len(u) for u in used)
        lines.append("")
        lines.append(
            f"{report['rounds']} rounds of each scenario, systems taking turns. Figures: the median of the "
            f"rounds during which other work on the machine used under {QUIET_CORES} cores (at least "
            f"{fewest} of {report['rounds']} per scenario; the quietest round where none was). "
            "Delivered/expected add up every round."
        )
    return "\n".join(lines)


def chart(report: dict[str, Any], path: Path) -> str | None:
    """Draw the results as a PNG; returns why not, if it could not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]')"
    res, plan = report["results"], report["plan"]
    systems = [s for s in ("floor", "tailsse", "frontail") if s in res]
    colors = {"floor": "#9e9e9e", "tailsse": "#1f77b4", "frontail": "#ff7f0e"}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.6))

    def bars(ax: Any, groups: list[tuple[str, str, str]], scale: float, ylabel: str, title: str) -> None:
        width = 0.8 / max(1, len(systems))
        for i, s in enumerate(systems):
            xs, ys = [], []
            for j, (_, key, metric) in enumerate(groups):
                v = _get(res, s, key, metric)
                if isinstance(v, (int, float)):
                    xs.append(j + (i - (len(systems) - 1) / 2) * width)
                    ys.append(v * scale)
            ax.bar(xs, ys, width, label=s if s != "floor" else "tail -F (floor)", color=colors[s])
            for x, y in zip(xs, ys, strict=True):
                ax.annotate(
                    f"{y:.3g}" if y < 1000 else f"{y:,.0f}", (x, y), ha="center", va="bottom", fontsize=7
                )
        ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)

    rate = plan["latency_rate"]
    bars(
        axes[0],
        [("p50", "latency", "p50_ms"), ("p99", "latency", "p99_ms")],
        1,
        "ms",
        f"latency @ {rate} lines/s (lower is better)",
    )
    bars(
        axes[1],
        [("1 client", "throughput", "lines_per_second")],
        1e-3,
        "thousand lines/s",
        "throughput (higher is better)",
    )
    if any(isinstance(_get(res, s, "throughput", "lines_per_second"), (int, float)) for s in systems):
        axes[1].set_yscale("log")  # the floor is two orders of magnitude above any server
        axes[1].set_ylim(bottom=10)
    groups = []
    for n in plan["fanout_clients"]:
        groups += [(f"{n}: p50", f"fanout{n}", "p50_ms"), (f"{n}: p99", f"fanout{n}", "p99_ms")]
    bars(axes[2], groups, 1, "ms", f"fan-out @ {plan['fanout_rate']} lines/s, clients (lower is better)")
    idle = f"idle{plan['idle_streams']}"
    mem_groups = [("latency", "latency", "peak_rss_kb"), ("throughput", "throughput", "peak_rss_kb")]
    mem_groups += [(f"{n} clients", f"fanout{n}", "peak_rss_kb") for n in plan["fanout_clients"]]
    mem_groups.append((f"{plan['idle_streams']} idle", idle, "peak_rss_kb"))
    bars(axes[3], mem_groups, 1 / 1024, "MB", "server peak resident memory (lower is better)")
    axes[3].tick_params(axis="x", labelrotation=20)
    axes[0].legend(fontsize=8)
    m = report["machine"]
    fig.suptitle(
        f"tailsse benchmark · {report['date']} · {m['cpu']}, {m['cores']} cores · {report['mode']} run",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None


# --- main ------------------------------------------------------------------------------


def raise_nofile(wanted: int) -> None:
    """Raise the open-file limit (inherited by every process started here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so that cleanup runs for it too."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: list[str] | None = None) -> int:
    """Run every scenario on every system, then report."""
    parser = argparse.ArgumentParser(description="Benchmark tailsse against tail -F and frontail.")
    parser.add_argument("--quick", action="store_true", help="short smoke run (a few seconds per scenario)")
    parser.add_argument("--systems", default="floor,tailsse,frontail", help="comma-separated subset")
    parser.add_argument("--rounds", type=int, default=0, help="runs of each scenario (default: 3, quick: 1)")
    parser.add_argument(
        "--quiet-budget",
        type=float,
        default=-1,
        help="seconds in all to wait for other work on the machine to calm down (default 150, quick 20)",
    )
    parser.add_argument("--reader-procs", type=int, default=1, help="reader processes for 500+ streams")
    parser.add_argument("--only", default="", help="comma-separated scenario keys (latency,throughput,...)")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write results")
    parser.add_argument("--chart", type=Path, default=CHART, help="where to draw the PNG ('' for none)")
    parser.add_argument(
        "--profile", type=Path, help="record tailsse with py-spy (if installed) into this folder"
    )
    parser.add_argument(
        "--from-json", type=Path, help="measure nothing: redo the table and chart from a results file"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        old = json.loads(args.from_json.read_text())
        runs_of = {
            n: {k: r.get("runs", [r]) for k, r in by_key.items()} for n, by_key in old["results"].items()
        }
        old["results"] = {n: {k: combine(rs) for k, rs in by_key.items()} for n, by_key in runs_of.items()}
        return report_out(old, args.json, args.chart, old.get("notes", []))
    if args.profile and not shutil.which("py-spy"):
        parser.error("--profile needs py-spy on PATH (pip install py-spy; it is not a dependency)")
    plan = QUICK if args.quick else FULL
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    raise_nofile(2 * max(plan.idle_streams, *plan.fanout_clients) + 1024)
    notes: list[str] = []
    if "frontail" in wanted and not frontail_available(notes):
        wanted.remove("frontail")
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="tailsse-bench-"))
    classes = {"floor": Floor, "tailsse": Tailsse, "frontail": Frontail}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    systems = {name: classes[name](procs, tmp) for name in wanted}
    System.reader_procs = max(1, args.reader_procs)
    Tailsse.src, source_hash = snapshot_tailsse(tmp)
    info = {**machine(), "tailsse_source_sha256": source_hash}
    quiet_budget = args.quiet_budget if args.quiet_budget >= 0 else (20.0 if args.quick else 150.0)
    rounds = args.rounds or plan.rounds
    began = time.monotonic()
    load_before = os.getloadavg()
    try:
        with terminate_as_interrupt():
            # Systems take turns within each scenario and round, so that noise from
            # other work on the machine falls on all of them alike.
            for n in range(rounds):
                for sc in scenarios(plan):
                    if only and sc.key not in only:
                        continue
                    for name, system in systems.items():
                        if not system.fanout and sc.conns > 1:
                            continue
                        elapsed = time.monotonic() - began
                        print(
                            f"[{elapsed:6.1f}s] round {n + 1}/{rounds} {name}: {sc.title} ...",
                            file=sys.stderr,
                            flush=True,
                        )
                        waited = wait_quiet(min(15.0, quiet_budget)) if quiet_budget > 0 else 0.0
                        quiet_budget -= waited
                        try:
                            r = run_scenario(system, sc, tmp, args.profile)
                        except RuntimeError as exc:
                            r = {"error": str(exc)}
                        r["waited_for_quiet_seconds"] = waited
                        runs.setdefault(name, {}).setdefault(sc.key, []).append(r)
                        print(f"          {json.dumps(r)}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results = {name: {key: combine(rs) for key, rs in by_key.items()} for name, by_key in runs.items()}
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "rounds": rounds,
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "seconds": round(time.monotonic() - began, 1),
        "machine": info,
        "plan": {**plan.__dict__, "fanout_clients": list(plan.fanout_clients)},
        "notes": notes,
        "results": results,
    }
    return report_out(report, args.json, args.chart, notes)


def report_out(report: dict[str, Any], json_path: Path, chart_path: Path, notes: list[str]) -> int:
    """Draw the chart, write the JSON, print the table."""
    drawn = str(chart_path) not in ("", ".")
    if drawn:
        why = chart(report, chart_path)
        if why:
            notes.append(f"no chart: {why}")
            drawn = False
    report["notes"] = notes
    text = markdown(report)
    report["table"] = text
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    print(text)
    for note in notes:
        print(f"\nnote: {note}")
    print(f"\nresults: {json_path}" + (f"\nchart: {chart_path}" if drawn else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
