"""Scale-out benchmark: one ``tailsse agent`` -> Redis -> viewers spread over two web nodes.

    python3 bench/scaleout.py            # 1000 viewers, about two minutes
    python3 bench/scaleout.py --quick    # 200 viewers, about a minute

Starts a throw-away redis-server (no persistence), one agent and two ``serve --redis``
web nodes, all on 127.0.0.1, and measures with bench/sse_client.py: latency from
``write()`` on the agent's file to the event reaching a viewer (p50/p99) at a steady rate,
lines per second through the whole chain to one viewer per node, and Redis memory. Then
the same latency run through a 3-primary Redis Cluster (``redis+cluster://``, its own
agent and two web nodes), and on one local ``serve`` as the reference. Every process
started here is stopped at the end, also on failure or Ctrl-C. Writes
bench/results/scaleout.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CLIENT = BENCH / "sse_client.py"
HOST = "127.0.0.1"
PAD = b"INFO app.worker request handled path=/api/items status=200 bytes=5120"


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis_info(port: int, section: str, command: str = "INFO") -> dict[str, str]:
    """INFO (or CLUSTER INFO) of a Redis server, parsed (plain RESP, no client library needed)."""
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(f"{command} {section}\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            data += sock.recv(65536)
        size = int(data[1 : data.index(b"\r\n")])
        body_start = data.index(b"\r\n") + 2
        while len(data) < body_start + size:
            data += sock.recv(65536)
    text = data[body_start : body_start + size].decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def wait_for(check: Any, seconds: float, what: str) -> Any:
    """Poll ``check()`` until it returns something true."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {seconds:g}s")
        time.sleep(0.05)


def files_listed(port: int, name: str) -> bool:
    """Whether a web node lists the stream."""
    with urllib.request.urlopen(f"http://{HOST}:{port}/api/files", timeout=2) as response:
        return any(f["name"] == name for f in json.loads(response.read())["files"])


class Run:
    """Every process of one run, stopped whatever happens."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def readers(self, port: int, path: str, conns: int, expect: int, mode: str, deadline: float) -> tuple:
        out = self.tmp / f"lat-{port}-{mode}.bin"
        cmd = [sys.executable, str(CLIENT), "--port", str(port), "--path", path, "--conns", str(conns)]
        cmd += ["--expect", str(expect), "--mode", mode, "--out", str(out), "--deadline", str(deadline)]
        proc = self.start(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return proc, out


def cluster_ok(port: int) -> bool:
    """Whether a cluster node says the cluster serves every slot."""
    return redis_info(port, "INFO", "CLUSTER").get("cluster_state") == "ok"


def start_cluster(run: Run, redis_server: str, tmp: Path, primaries: int = 3) -> list[int]:
    """A Redis Cluster of ``primaries`` nodes without replicas; their ports."""
    redis_cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    ports = [free_port() for _ in range(primaries)]
    for port in ports:
        home = tmp / f"cluster-{port}"
        home.mkdir()
        cmd = [redis_server, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        cmd += ["--dir", str(home), "--cluster-enabled", "yes", "--cluster-port", str(free_port())]
        run.start(cmd, stdout=subprocess.DEVNULL)
    for port in ports:
        wait_for(lambda port=port: redis_info(port, "server"), 10, "cluster node start")
    create = [redis_cli, "--cluster", "create", *[f"{HOST}:{port}" for port in ports], "--cluster-yes"]
    subprocess.run(create, check=True, stdout=subprocess.DEVNULL, timeout=60)
    for port in ports:
        wait_for(lambda port=port: cluster_ok(port), 20, "cluster forming")
    return ports


def scale_out(
    run: Run, url: str, logs: list[Path], retention: int, viewers: int, env: dict[str, str]
) -> list[int]:
    """One agent following ``logs`` into the Redis at ``url``, and two web nodes; their ports."""
    for log in logs:
        log.write_bytes(b"")
    agent_cmd = [sys.executable, "-m", "tailsse", "agent", *map(str, logs), "--redis", url]
    agent_cmd += ["--source", "bench", "--lines", "0", "--retention", str(retention)]
    run.start(agent_cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ports = [free_port(), free_port()]
    for port in ports:
        cmd = [sys.executable, "-m", "tailsse", "serve", "--redis", url, "--port", str(port)]
        cmd += ["--heartbeat", "0", "--max-clients", str(viewers + 100)]
        run.start(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for port in ports:
        wait_for(lambda port=port: files_listed(port, f"bench/{logs[0].name}"), 20, "web node start")
    return ports


def message(proc: subprocess.Popen[bytes], event: str) -> dict[str, Any]:
    """The next JSON message of a reader, which must be ``event``."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"reader exited before {event!r}")
    msg = json.loads(line)
    if msg.get("event") != event:
        raise RuntimeError(f"reader sent {msg!r}, wanted {event!r}")
    return msg


def write_lines(path: Path, count: int, rate: float) -> float:
    """Append ``<seq> <monotonic ns> PAD`` lines, paced at ``rate`` (0: as fast as possible)."""
    start = time.monotonic()
    with open(path, "ab", buffering=0) as f:
        if rate <= 0:
            for first in range(0, count, 1000):
                now = time.monotonic_ns()
                f.write(
                    b"".join(b"%d %d %s\n" % (i, now, PAD) for i in range(first, min(count, first + 1000)))
                )
        else:
            for i in range(count):
                due = start + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                f.write(b"%d %d %s\n" % (i, time.monotonic_ns(), PAD))
    return time.monotonic() - start


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


def latency(run: Run, targets: list[tuple[int, int]], path: str, log: Path, lines: int, rate: int) -> dict:
    """Connect the viewers (``(port, count)`` pairs), write paced lines, measure their delays."""
    viewers = sum(n for _, n in targets)
    deadline = 60 + viewers / 50 + lines / rate
    procs = [run.readers(port, path, n, lines, "latency", deadline) for port, n in targets]
    connected = sum(message(proc, "ready")["connected"] for proc, _ in procs)
    time.sleep(0.5)
    write_lines(log, lines, rate)
    dones = [message(proc, "done") for proc, _ in procs]
    values = array("d")
    for _, out in procs:
        if out.exists():
            values.frombytes(out.read_bytes())
    ordered = sorted(values)
    p50, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
    return {
        "connected": connected,
        "delivered": sum(d["lines"] for d in dones),
        "gaps": sum(d["gaps"] for d in dones),
        "dups": sum(d["dups"] for d in dones),
        "p50_ms": round(p50 / 1e6, 2) if p50 is not None else None,
        "p99_ms": round(p99 / 1e6, 2) if p99 is not None else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer viewers and lines")
    parser.add_argument("--viewers", type=int, help="viewers in all, half on each web node")
    parser.add_argument("--rate", type=int, default=100, help="lines per second in the latency run")
    parser.add_argument("--seconds", type=float, help="length of the latency run")
    parser.add_argument("--burst", type=int, help="lines written at once for the throughput run")
    args = parser.parse_args(argv)
    viewers = args.viewers or (200 if args.quick else 1000)
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    burst = args.burst or (50_000 if args.quick else 200_000)
    redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(redis_server, os.X_OK):
        print(
            "scaleout: redis-server is not installed (scripts/install-system-deps installs it)",
            file=sys.stderr,
        )
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="tailsse-scaleout-"))
    run = Run(tmp)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        rport = free_port()
        redis_cmd = [redis_server, "--port", str(rport), "--bind", HOST, "--save", "", "--appendonly", "no"]
        run.start([*redis_cmd, "--dir", str(tmp)], stdout=subprocess.DEVNULL)
        wait_for(lambda: redis_info(rport, "server"), 10, "redis-server start")
        url = f"redis://{HOST}:{rport}/0"
        steady, burst_log = tmp / "steady.log", tmp / "burst.log"
        ports = scale_out(run, url, [steady, burst_log], max(100_000, burst), viewers, env)
        memory_before = int(redis_info(rport, "memory")["used_memory"])
        # The same chain through a Redis Cluster of three primaries, started now so that
        # both latency runs below follow each other (the machine is shared and noisy).
        cluster_ports = start_cluster(run, redis_server, tmp)
        cluster_url = "redis+cluster://" + ",".join(f"{HOST}:{port}" for port in cluster_ports)
        sharded = tmp / "sharded.log"
        cports = scale_out(run, cluster_url, [sharded], 100_000, viewers, env)
        load_before = os.getloadavg()[0]

        # Latency: paced lines to every viewer, half of them on each node.
        lines = int(args.rate * seconds)
        split = [viewers // 2, viewers - viewers // 2]
        targets = list(zip(ports, split, strict=True))
        lat = latency(run, targets, "/events/bench/steady.log?lines=0", steady, lines, args.rate)
        ctargets = list(zip(cports, split, strict=True))
        clat = latency(run, ctargets, "/events/bench/sharded.log?lines=0", sharded, lines, args.rate)

        # Throughput: a burst, one viewer on each node counting.
        path = "/events/bench/burst.log?lines=0"
        procs = [run.readers(p, path, 1, burst, "count", 120) for p in ports]
        for proc, _ in procs:
            message(proc, "ready")
        time.sleep(0.3)
        start_ns = time.monotonic_ns()
        write_lines(burst_log, burst, 0)
        tdones = [message(proc, "done") for proc, _ in procs]
        rates = [d["lines"] / ((d["last_ns"] - start_ns) / 1e9) for d in tdones if d["last_ns"] > start_ns]
        memory_after = int(redis_info(rport, "memory")["used_memory"])

        # The same viewers on one plain `tailsse serve FILE`, no Redis: the reference.
        local = tmp / "local.log"
        local.write_bytes(b"")
        lport = free_port()
        cmd = [sys.executable, "-m", "tailsse", "serve", str(local), "--port", str(lport), "--heartbeat", "0"]
        run.start(
            [*cmd, "--max-clients", str(viewers + 100)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: files_listed(lport, "local.log"), 20, "local server start")
        base = latency(run, [(lport, viewers)], "/events/local.log?lines=0", local, lines, args.rate)

        result = {
            "viewers": viewers,
            "rate": args.rate,
            "lines": lines,
            "expected": lines * viewers,
            "redis": lat,
            "redis_cluster": clat,
            "local_reference": base,
            "burst_lines": burst,
            "burst_delivered": [d["lines"] for d in tdones],
            "lines_per_second": round(statistics.median(rates)) if rates else None,
            "redis_used_memory_mb_before": round(memory_before / 2**20, 1),
            "redis_used_memory_mb_after": round(memory_after / 2**20, 1),
            "redis_stream_entries": lines + burst,
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    finally:
        run.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "scaleout.json").write_text(json.dumps(result, indent=2) + "\n")
    print("| measure | agent -> Redis -> 2 web nodes | via a 3-node Redis Cluster | one local serve |")
    print("| --- | ---: | ---: | ---: |")
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        print(
            f"| {viewers} viewers @ {args.rate} lines/s: {label} (ms) | {lat[key]} | {clat[key]} | {base[key]} |"
        )
    for name, r in (("Redis", lat), ("Redis Cluster", clat), ("local", base)):
        print(
            f"| {name}: connected, delivered/expected, gaps, dups | {r['connected']}, "
            f"{r['delivered']}/{lines * viewers}, {r['gaps']}, {r['dups']} | | |"
        )
    print(f"| burst of {burst}: lines/s to one viewer per node | {result['lines_per_second']} | | |")
    print(
        f"| Redis used memory, {lines + burst} entries (MB) | "
        f"{result['redis_used_memory_mb_before']} -> {result['redis_used_memory_mb_after']} | | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
