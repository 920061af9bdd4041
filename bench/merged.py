"""Merged streams against one file, in one run: the performance point of issue #16.

    python3 bench/merged.py            # 3 rounds of 12 s per case: about 2 minutes
    python3 bench/merged.py --quick    # 1 round of 3 s per case, for development

Two cases, taking turns within each round (the order alternates from round to round):

- **merged**: 10 files, each appended at 500 lines/s, served as exactly those 10 files;
  100 viewers on ``/events?file=*&lines=0``. Every event's data is the file's name, then
  the line; the reader checks each file's sequence numbers within each stream.
- **single**: one file appended at 5,000 lines/s, 100 viewers on ``/events/NAME?lines=0``:
  the same lines per second to every viewer, from one file.

One writer (this process) stamps each line with its sequence number in its file and its
``CLOCK_MONOTONIC`` time just before the ``write()``, going round the files in turn, so
both cases get the same pacing. The readers are ``bench/sse_client.py`` (``merged`` and
``latency`` modes). Server CPU is user + system time from /proc over the window from the
first write until every viewer has every line, divided by the lines delivered to all
viewers. Bytes per event count what the viewers read after the response headers (chunk
framing included). Results go to ``bench/results/merged-<date>.json``, the table to
stdout. The helpers (processes, /proc, the server snapshot) are those of bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from run import (
    CLIENT,
    HOST,
    PAD,
    RESULTS,
    Client,
    Procs,
    Tailsse,
    _stop_spy,
    cpu_seconds,
    machine,
    machine_busy_seconds,
    percentile,
    proc_tree,
    profile_summary,
    raise_nofile,
    snapshot_tailsse,
    terminate_as_interrupt,
    wait_http,
    wait_quiet,
)

CASES = ("merged", "single")
# Frames whose share of the server's main-thread samples --profile reports.
FOCUS = (
    "Watcher._flush",
    "FileSource._publish",
    "FileSource.encode",
    "MergedSource._on_batch",
    "MergedSource._encode",
    "Fanout.publish",
    "StreamTransport.push",
    "Fanout._catch_up",
    "MergedSource.read",
    "FileSource.read_items",
    "line_time",
)
SYSCALLS = ("sendto", "read", "pread64", "epoll_wait", "newfstat", "inotify_add_watch")
P99_TARGET = 2.0  # merged p99 at most this many times the single file's
CPU_TARGET = 1.5  # server CPU per delivered line at most this many times the single file's


@dataclass(frozen=True)
class Plan:
    """Sizes of one run."""

    seconds: float = 12.0  # of writing, per case and round
    files: int = 10
    rate: int = 500  # lines per second per file of the merged case
    viewers: int = 100
    rounds: int = 3
    reader_procs: int = 1
    probe: bool = False  # one more viewer, in a reader process of its own


FULL = Plan()
QUICK = Plan(seconds=3.0, rounds=1)


class Server(Tailsse):
    """tailsse from the snapshot, serving exactly the given files."""

    name = "tailsse"

    def start_files(self, paths: list[Path]) -> int:
        """Start serving ``paths``; returns the server's pid."""
        cmd = [sys.executable, "-m", "tailsse", "serve", *map(str, paths), "--host", HOST]
        cmd += ["--port", "0", "--heartbeat", "0", "--lines", "0"]
        env = {**os.environ, "PYTHONPATH": str(self.src)}
        with open(self.tmp / "tailsse.log", "ab") as log:
            self.server = self.procs.start(cmd, stdout=subprocess.PIPE, stderr=log, cwd=self.src, env=env)
        assert self.server.stdout is not None
        line = self._first_line(self.server.stdout, 20)
        marker = f"http://{HOST}:".encode()
        if marker not in line:
            raise RuntimeError(f"tailsse did not print its URL (got {line!r}); see {self.tmp}/tailsse.log")
        self.port = int(line.split(marker, 1)[1].split(b"/", 1)[0])
        wait_http(self.port, "/healthz", 10)
        with urllib.request.urlopen(f"http://{HOST}:{self.port}/api/files", timeout=5) as response:
            served = sorted(f["name"] for f in json.loads(response.read())["files"])
        if served != sorted(p.name for p in paths):
            raise RuntimeError(f"tailsse serves {served}, not the {len(paths)} files given")
        return self.server.pid

    def stream_readers(
        self, path: str, mode: str, conns: int, procs: int, expect: int, deadline: float
    ) -> list[Client]:
        """Reader processes holding ``conns`` streams of ``path`` between them."""
        cmd = [sys.executable, str(CLIENT), "--port", str(self.port), "--path", path, "--mode", mode]
        cmd += ["--expect", str(expect), "--deadline", str(deadline)]
        split = [conns // procs + (i < conns % procs) for i in range(procs)]
        return [self._client([*cmd, "--conns", str(n)], f"{mode}{i}") for i, n in enumerate(split) if n]


def write_round_robin(paths: list[Path], total_rate: float, count: int) -> tuple[int, int]:
    """Append ``count`` lines at ``total_rate`` per second, going round the files in turn.

    Line k goes to file k % len(paths) with sequence number k // len(paths) in that file,
    stamped just before its write(). Returns the first and last write's times (ns).
    """
    fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
    files = len(fds)
    try:
        start = time.monotonic_ns()
        step = 1e9 / total_rate
        for k in range(count):
            delay = (start + k * step - time.monotonic_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)
            os.write(fds[k % files], b"%d %d %s\n" % (k // files, time.monotonic_ns(), PAD))
        return start, time.monotonic_ns()
    finally:
        for fd in fds:
            os.close(fd)


def profile_focus(raw: Path) -> dict[str, float]:
    """The share (%) of the main thread's samples with each FOCUS frame anywhere on the stack."""
    hits = dict.fromkeys(FOCUS, 0)
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack.startswith("_run_module_as_main"):
            continue
        total += int(count)
        names = {frame.split(" (", 1)[0] for frame in stack.split(";")}
        for name in FOCUS:
            if name in names:
                hits[name] += int(count)
    return {"main_thread_samples": total, **{k: round(100 * v / max(1, total), 1) for k, v in hits.items()}}


def start_perf(procs: Procs, pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Count the server's system calls of interest with perf (tracepoints: nearly free)."""
    events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
    cmd = ["perf", "stat", "-x", ",", "-e", events, "-p", str(pid), "-o", str(out)]
    return procs.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_counts(out: Path) -> dict[str, int]:
    """What ``perf stat -x ,`` wrote: calls by system call name."""
    counts: dict[str, int] = {}
    for line in out.read_text(errors="replace").splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("syscalls:sys_enter_") and fields[0].isdigit():
            counts[fields[2].removeprefix("syscalls:sys_enter_")] = int(fields[0])
    return counts


def run_case(
    server: Server, case: str, plan: Plan, tmp: Path, profile: Path | None, syscalls: bool = False
) -> dict[str, Any]:
    """Start a fresh server on empty files, connect the viewers, write, measure, stop everything."""
    folder = Path(tempfile.mkdtemp(prefix=f"{case}-", dir=tmp))
    if case == "merged":
        paths = [folder / f"app{i}.log" for i in range(plan.files)]
        stream, mode = "/events?file=*&lines=0", "merged"
    else:
        paths = [folder / "app.log"]
        stream, mode = "/events/app.log?lines=0", "latency"
    for p in paths:
        p.write_bytes(b"")
    total_rate = plan.rate * plan.files  # lines per second to every viewer, in both cases
    lines = int(plan.seconds * total_rate)
    per_file = lines // len(paths)
    lines = per_file * len(paths)
    pid = server.start_files(paths)
    clients: list[Client] = []
    probes: list[Client] = []
    spy = perf = None
    raw = folder / "profile.raw"
    counted = folder / "perf.txt"
    try:
        deadline = plan.seconds + 60
        clients = server.stream_readers(stream, mode, plan.viewers, plan.reader_procs, lines, deadline)
        ready = [c.expect("ready", 30) for c in clients]
        connected = sum(r["connected"] for r in ready)
        if connected != plan.viewers:
            raise RuntimeError(f"{connected} of {plan.viewers} viewers connected")
        if plan.probe:
            probes = server.stream_readers(stream, mode, 1, 1, lines, deadline)
            ready += [c.expect("ready", 30) for c in probes]
        if profile is not None:
            raw = profile / f"{case}-{time.strftime('%H%M%S')}.raw"
            cmd = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "-o", str(raw)]
            cmd.append("--nonblocking")  # sample without pausing the server
            spy = server.procs.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if syscalls:
            perf = start_perf(server.procs, pid, counted)
        time.sleep(0.5)
        pids = proc_tree(pid)
        cpu_before = cpu_seconds(pids)
        busy_before, wall_before = machine_busy_seconds(), time.monotonic()
        start_ns, end_ns = write_round_robin(paths, total_rate, lines)
        dones = []
        for c in clients + probes:
            try:
                dones.append(c.expect("done", 20))
            except RuntimeError:
                c.stop()
                dones.append(c.expect("done", 30))
        window = time.monotonic() - wall_before
        server_cpu = cpu_seconds(pids) - cpu_before
        busy = machine_busy_seconds() - busy_before
        for tool in (spy, perf):
            if tool is not None:
                _stop_spy(server.procs, tool)  # both write their results on SIGINT
        spy = perf = None
    finally:
        for tool in (spy, perf):
            if tool is not None:
                _stop_spy(server.procs, tool)
        for c in clients + probes:
            server.procs.stop(c.proc, grace=2)
        server.stop()
    probe_done = dones[len(clients) :]
    dones = dones[: len(clients)]
    delivered = sum(d["lines"] for d in dones)
    # The lines the server delivered (the probe's too), for its CPU per line.
    served = delivered + sum(d["lines"] for d in probe_done)
    reader_cpu = sum(
        d["cpu_seconds"] - r["cpu_seconds"] for d, r in zip(dones + probe_done, ready, strict=True)
    )
    body_bytes = sum(d["body_bytes"] for d in dones)
    reads = sum(d["reads"] for d in dones)
    values = sorted(v for c in clients for v in c.latencies())
    result: dict[str, Any] = {
        "case": case,
        "files": len(paths),
        "viewers": plan.viewers,
        "lines_written": lines,
        "write_seconds": round((end_ns - start_ns) / 1e9, 3),
        "delivered": delivered,
        "expected": lines * plan.viewers,
        "complete_viewers": sum(d["complete"] for d in dones),
        "gaps": sum(d["gaps"] for d in dones),
        "dups": sum(d["dups"] for d in dones),
    }
    if case == "merged":
        files: dict[str, int] = {}
        for d in dones:
            for name, n in d.get("files", {}).items():
                files[name] = files.get(name, 0) + n
        result["per_file_delivered"] = files
        result["per_file_complete"] = sorted(files) == sorted(p.name for p in paths) and all(
            n == per_file * plan.viewers for n in files.values()
        )
    for q, label in ((0.5, "p50_ms"), (0.99, "p99_ms"), (0.999, "p999_ms"), (1.0, "max_ms")):
        v = percentile(values, q)
        result[label] = round(v / 1e6, 3) if v is not None else None
    result.update(
        window_seconds=round(window, 2),
        server_cpu_seconds=round(server_cpu, 2),
        server_cpu_s_per_million_lines=round(server_cpu / served * 1e6, 3) if served else None,
        server_cores=round(server_cpu / window, 2),
        bytes_per_event=round(body_bytes / delivered, 1) if delivered else None,
        events_per_read=round(delivered / reads, 2) if reads else None,
        reader_cpu_seconds=round(reader_cpu, 2),
        # Above about 0.8 the reader is what saturates, and the latencies measure it.
        busiest_reader_cores=round(
            max(d["cpu_seconds"] - r["cpu_seconds"] for d, r in zip(dones, ready, strict=False)) / window, 2
        ),
        # The writer, the kernel and other people's work on this shared machine:
        other_cores=round(max(0.0, busy - server_cpu - reader_cpu) / window, 2),
    )
    if probes:
        lat = sorted(probes[0].latencies())
        result["probe_delivered"] = probe_done[0]["lines"]
        for q, label in ((0.5, "probe_p50_ms"), (0.99, "probe_p99_ms")):
            v = percentile(lat, q)
            result[label] = round(v / 1e6, 3) if v is not None else None
    if profile is not None and raw.exists():
        profile_summary(raw)
        result["profile"] = {"file": str(raw), **profile_focus(raw)}
    if syscalls and counted.exists():
        calls = perf_counts(counted)
        result["server_syscalls"] = calls
        if delivered and calls.get("sendto"):
            result["sends_per_delivered_line"] = round(calls["sendto"] / delivered, 4)
            result["lines_per_send"] = round(delivered / calls["sendto"], 2)
    shutil.rmtree(folder, ignore_errors=True)
    return result


MEDIANS = (
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "server_cpu_s_per_million_lines",
    "server_cores",
    "bytes_per_event",
    "events_per_read",
    "lines_per_send",
    "reader_cpu_seconds",
    "busiest_reader_cores",
    "probe_p50_ms",
    "probe_p99_ms",
    "other_cores",
)
SUMMED = ("delivered", "expected", "complete_viewers", "gaps", "dups")


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One case's rounds: medians of the figures, sums of the counts."""
    good = [r for r in runs if "error" not in r]
    out: dict[str, Any] = {"rounds": len(runs), "failed_rounds": len(runs) - len(good)}
    for key in MEDIANS:
        values = [r[key] for r in good if isinstance(r.get(key), (int, float))]
        out[key] = round(statistics.median(values), 3) if values else None
    for key in SUMMED:
        out[key] = sum(r[key] for r in good)
    out["every_line_everywhere"] = (
        bool(good)
        and all(
            r["delivered"] == r["expected"]
            and not r["gaps"]
            and not r["dups"]
            and r.get("per_file_complete", True)
            for r in good
        )
        and len(good) == len(runs)
    )
    out["runs"] = runs
    return out


def ratios(merged: dict[str, Any], single: dict[str, Any]) -> dict[str, float | None]:
    """merged ÷ single for the headline figures."""
    out: dict[str, float | None] = {}
    for key in ("p50_ms", "p99_ms", "server_cpu_s_per_million_lines", "bytes_per_event"):
        a, b = merged.get(key), single.get(key)
        out[key] = (
            round(a / b, 2) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
        )
    return out


def verdict(report: dict[str, Any]) -> dict[str, bool | None]:
    """Whether issue #16's targets are met."""
    res, r = report["results"], report["ratios"]
    return {
        "every_line_delivered": all(res[c]["every_line_everywhere"] for c in CASES),
        "p99_within_2x": r["p99_ms"] <= P99_TARGET if r["p99_ms"] is not None else None,
        "cpu_within_1.5x": (
            r["server_cpu_s_per_million_lines"] <= CPU_TARGET
            if r["server_cpu_s_per_million_lines"] is not None
            else None
        ),
    }


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table, then the run's circumstances."""
    res, r, ok = report["results"], report["ratios"], report["targets_met"]
    m, s = res["merged"], res["single"]
    plan = report["plan"]

    def num(v: Any, fmt: str = "{:.2f}") -> str:
        return fmt.format(v) if isinstance(v, (int, float)) else "—"

    def yes(v: bool | None) -> str:
        return "—" if v is None else ("met" if v else "**not met**")

    rows = [
        ("latency p50 (ms)", num(m["p50_ms"]), num(s["p50_ms"]), num(r["p50_ms"], "{:.2f}x"), ""),
        (
            "latency p99 (ms)",
            num(m["p99_ms"]),
            num(s["p99_ms"]),
            num(r["p99_ms"], "{:.2f}x"),
            f"≤ {P99_TARGET:g}x: {yes(ok['p99_within_2x'])}",
        ),
        (
            "server CPU per million delivered lines (s)",
            num(m["server_cpu_s_per_million_lines"]),
            num(s["server_cpu_s_per_million_lines"]),
            num(r["server_cpu_s_per_million_lines"], "{:.2f}x"),
            f"≤ {CPU_TARGET:g}x: {yes(ok['cpu_within_1.5x'])}",
        ),
        ("server CPU (cores)", num(m["server_cores"]), num(s["server_cores"]), "", ""),
        (
            "bytes per delivered event",
            num(m["bytes_per_event"], "{:.0f}"),
            num(s["bytes_per_event"], "{:.0f}"),
            num(r["bytes_per_event"], "{:.2f}x"),
            "",
        ),
        ("events per socket read (reader)", num(m["events_per_read"]), num(s["events_per_read"]), "", ""),
        (
            "busiest reader process (cores)",
            num(m["busiest_reader_cores"]),
            num(s["busiest_reader_cores"]),
            "",
            "",
        ),
    ]
    if m.get("probe_p50_ms") is not None:
        for q in ("p50", "p99"):
            a, b = m[f"probe_{q}_ms"], s[f"probe_{q}_ms"]
            ratio = a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
            rows.append((f"probe viewer (own process): {q} (ms)", num(a), num(b), num(ratio, "{:.2f}x"), ""))
    if m.get("lines_per_send") is not None:
        rows.append(
            ("lines per server send() (perf)", num(m["lines_per_send"]), num(s["lines_per_send"]), "", "")
        )
    rows += [
        (
            "delivered/expected",
            f"{m['delivered']:,}/{m['expected']:,}",
            f"{s['delivered']:,}/{s['expected']:,}",
            "",
            f"all, in order: {yes(ok['every_line_delivered'])}",
        ),
    ]
    head = (
        f"| measure | merged ({plan['files']} files × {plan['rate']}/s) | "
        f"single (1 file × {plan['files'] * plan['rate']:,}/s) | merged ÷ single | target |"
    )
    lines = [head, "|---|---:|---:|---:|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    info = report["machine"]
    load = report["load_average"]
    lines += [
        "",
        f"{report['date']} · {report['mode']} run, {report['rounds']} round(s) of {plan['seconds']:g} s per case, "
        f"{plan['viewers']} viewers, medians over rounds · {info['cpu']}, {info['cores']} cores · "
        f"Python {info['python']}, Tornado {info.get('tornado')} · tailsse {info.get('tailsse')} at "
        f"{info.get('tailsse_commit')}{' + changes' if info.get('tailsse_uncommitted_changes') else ''} · "
        f"load average (1/5/15 min) before {'/'.join(map(str, load['before']))}, "
        f"after {'/'.join(map(str, load['after']))} · other work on the machine during the rounds: "
        f"median {num(statistics.median(report['other_cores_all']))} cores (the writer included)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, then write the JSON and print the table."""
    parser = argparse.ArgumentParser(
        description="Benchmark merged streams against a single file (issue #16)."
    )
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s per case, for development")
    parser.add_argument("--rounds", type=int, default=0, help="rounds (default 3, quick 1)")
    parser.add_argument(
        "--seconds", type=float, default=0, help="seconds of writing per case (default 12, quick 3)"
    )
    parser.add_argument("--viewers", type=int, default=FULL.viewers)
    parser.add_argument(
        "--reader-procs", type=int, default=FULL.reader_procs, help="processes holding the viewers"
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="one more viewer in a process of its own: latency without the readers' queue",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="seconds at most to wait for a quiet machine before each case",
    )
    parser.add_argument(
        "--json", type=Path, help="where to write results (default bench/results/merged-<date>.json)"
    )
    parser.add_argument("--profile", type=Path, help="record the server with py-spy into this folder")
    parser.add_argument(
        "--syscalls", action="store_true", help="count the server's system calls with perf stat (tracepoints)"
    )
    args = parser.parse_args(argv)
    if args.profile and not shutil.which("py-spy"):
        parser.error("--profile needs py-spy on PATH (pip install py-spy; it is not a dependency)")
    if args.syscalls and not shutil.which("perf"):
        parser.error("--syscalls needs perf on PATH (Debian: apt install linux-perf)")
    base = QUICK if args.quick else FULL
    plan = Plan(
        seconds=args.seconds or base.seconds,
        rounds=args.rounds or base.rounds,
        viewers=args.viewers,
        reader_procs=max(1, args.reader_procs),
        probe=args.probe,
        files=base.files,
        rate=base.rate,
    )
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    raise_nofile(4 * plan.viewers + 1024)
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="tailsse-merged-"))
    server = Server(procs, tmp)
    Tailsse.src, source_hash = snapshot_tailsse(tmp)
    info = {**machine(), "tailsse_source_sha256": source_hash}
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CASES}
    load_before = os.getloadavg()
    began = time.monotonic()
    try:
        with terminate_as_interrupt():
            for n in range(plan.rounds):
                order = CASES if n % 2 == 0 else CASES[::-1]
                for case in order:
                    print(
                        f"[{time.monotonic() - began:6.1f}s] round {n + 1}/{plan.rounds}: {case} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    waited = wait_quiet(args.quiet_wait) if args.quiet_wait > 0 else 0.0
                    try:
                        r = run_case(server, case, plan, tmp, args.profile, args.syscalls)
                    except RuntimeError as exc:
                        r = {"case": case, "error": str(exc)}
                    r["round"] = n + 1
                    r["waited_for_quiet_seconds"] = waited
                    runs[case].append(r)
                    shown = {k: v for k, v in r.items() if k != "per_file_delivered"}
                    print(f"          {json.dumps(shown)}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results = {case: combine(rs) for case, rs in runs.items()}
    now = datetime.now(timezone.utc)
    report: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "rounds": plan.rounds,
        "seconds": round(time.monotonic() - began, 1),
        "load_average": {
            "before": [round(v, 2) for v in load_before],
            "after": [round(v, 2) for v in os.getloadavg()],
        },
        "other_cores_all": [r["other_cores"] for rs in runs.values() for r in rs if "other_cores" in r]
        or [0.0],
        "machine": info,
        "plan": asdict(plan),
        "results": results,
        "ratios": ratios(results["merged"], results["single"]),
    }
    report["targets_met"] = verdict(report)
    report["table"] = markdown(report)
    path = args.json or RESULTS / f"merged-{now.strftime('%Y-%m-%d')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(report["table"])
    print(f"\nresults: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
