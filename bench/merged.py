"""Merged streams against one file, in one run: the performance point of issue #16.

    python3 bench/merged.py            # 3 rounds of 12 s per case: about 3 minutes
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

For finding where the time goes, none of which the headline figures should be taken from:
``--control`` adds a third case, one file whose lines are as much longer as a merged event
is (the same bytes per event without merging); ``--probe`` adds a viewer in a reader
process of its own (server latency without the readers' queue); ``--syscalls`` counts the
server's system calls with ``perf stat`` (``sendto`` per viewer write, ``epoll_wait`` per
turn of the IOLoop); ``--profile DIR`` records it with py-spy.
"""

from __future__ import annotations

import argparse
import contextlib
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
    machine,
    machine_busy_seconds,
    paced,
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
CONTROL = "single_wide"  # --control: one file, lines as long as a merged event (same bytes per event)
# What a merged event of this benchmark carries on top of a single file's (measured: about
# 399 bytes against 124): the id's nine other positions and tags, and the name's data line.
WIDE_EXTRA = 275
# Frames whose share of the server's main-thread samples --profile reports (idle included:
# shares of wall-clock time).
FOCUS = (
    "EpollSelector.select",
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
SYSCALLS = ("sendto", "read", "pread64", "epoll_wait", "poll", "write")  # poll: the inotify thread
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


def cpu_split(pids: list[int]) -> tuple[float, float]:
    """User and system CPU seconds of some processes (utime, stime of /proc/PID/stat)."""
    user = system = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def thread_stats(pid: int) -> dict[str, list[int]]:
    """Per thread of the server, main or other (added up): run and run-queue ns, context switches.

    From /proc/PID/task/TID/schedstat (on CPU, waiting for a CPU) and status (voluntary
    switches: blocking in epoll, or waiting for the GIL; involuntary: preempted).
    """
    out: dict[str, list[int]] = {"main": [0, 0, 0, 0], "other": [0, 0, 0, 0]}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    run_ns, queue_ns = (int(v) for v in f.read().split()[:2])
                switches = [0, 0]
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            switches[0] = int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches:"):
                            switches[1] = int(line.split()[1])
                row = out["main" if int(tid) == pid else "other"]
                for i, v in enumerate((run_ns, queue_ns, *switches)):
                    row[i] += v
    return out


def thread_report(before: dict[str, list[int]], after: dict[str, list[int]], window: float) -> dict[str, Any]:
    """What each thread did over the window: shares of wall-clock time on CPU, waiting for one."""
    report: dict[str, Any] = {}
    for role in ("main", "other"):
        run, queue, vol, invol = (a - b for a, b in zip(after[role], before[role], strict=True))
        report[role] = {
            "on_cpu_share": round(run / 1e9 / window, 3),
            "runqueue_share": round(queue / 1e9 / window, 3),
            "voluntary_switches_per_s": round(vol / window),
            "involuntary_switches_per_s": round(invol / window),
        }
    return report


def write_round_robin(paths: list[Path], total_rate: float, count: int, pad: bytes = PAD) -> tuple[int, int]:
    """Append ``count`` lines at ``total_rate`` per second, going round the files in turn.

    Line k goes to file k % len(paths) with sequence number k // len(paths) in that file,
    stamped just before its write(). Returns the first and last write's times (ns).
    """
    fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
    files = len(fds)
    try:
        start = time.monotonic_ns()
        for k in paced(start, count, total_rate):
            os.write(fds[k % files], b"%d %d %s\n" % (k // files, time.monotonic_ns(), pad))
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
    pad = PAD + b" " + b"x" * (WIDE_EXTRA - 1) if case == CONTROL else PAD
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
            cmd += ["--nonblocking", "--idle"]  # without pausing the server; waiting counts too
            spy = server.procs.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if syscalls:
            perf = start_perf(server.procs, pid, counted)
        time.sleep(0.5)
        pids = proc_tree(pid)
        user_before, sys_before = cpu_split(pids)
        threads_before = thread_stats(pid)
        busy_before, wall_before = machine_busy_seconds(), time.monotonic()
        start_ns, end_ns = write_round_robin(paths, total_rate, lines, pad)
        dones = []
        for c in clients + probes:
            try:
                dones.append(c.expect("done", 20))
            except RuntimeError:
                c.stop()
                dones.append(c.expect("done", 30))
        window = time.monotonic() - wall_before
        user_after, sys_after = cpu_split(pids)
        threads = thread_report(threads_before, thread_stats(pid), window)
        server_user, server_sys = user_after - user_before, sys_after - sys_before
        server_cpu = server_user + server_sys
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
        server_system_share=round(server_sys / server_cpu, 2) if server_cpu else None,
        server_cpu_s_per_million_lines=round(server_cpu / served * 1e6, 3) if served else None,
        server_cores=round(server_cpu / window, 2),
        bytes_per_event=round(body_bytes / delivered, 1) if delivered else None,
        events_per_read=round(delivered / reads, 2) if reads else None,
        reader_cpu_seconds=round(reader_cpu, 2),
        # Above about 0.8 the reader is what saturates, and the latencies measure it.
        busiest_reader_cores=round(
            max(d["cpu_seconds"] - r["cpu_seconds"] for d, r in zip(dones, ready, strict=False)) / window, 2
        ),
        server_threads=threads,
        main_thread_on_cpu=threads["main"]["on_cpu_share"],
        main_thread_runqueue=threads["main"]["runqueue_share"],
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
        if calls.get("epoll_wait"):
            # Each turn of the IOLoop waits once: how often it turned, and how much it sent per turn.
            result["loop_turns_per_second"] = round(calls["epoll_wait"] / window)
            result["sends_per_loop_turn"] = round(calls.get("sendto", 0) / calls["epoll_wait"], 1)
    shutil.rmtree(folder, ignore_errors=True)
    return result


MEDIANS = (
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "server_cpu_s_per_million_lines",
    "server_cores",
    "server_system_share",
    "main_thread_on_cpu",
    "main_thread_runqueue",
    "bytes_per_event",
    "events_per_read",
    "lines_per_send",
    "loop_turns_per_second",
    "sends_per_loop_turn",
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


RATIOS = (
    "p50_ms",
    "p99_ms",
    "server_cpu_s_per_million_lines",
    "bytes_per_event",
    "probe_p50_ms",
    "probe_p99_ms",
)


def ratio(a: Any, b: Any) -> float | None:
    """a ÷ b, when both are numbers."""
    ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and b
    return round(a / b, 2) if ok else None


def ratios(merged: dict[str, Any], other: dict[str, Any]) -> dict[str, float | None]:
    """merged ÷ another case, for the headline figures."""
    return {key: ratio(merged.get(key), other.get(key)) for key in RATIOS}


def verdict(report: dict[str, Any]) -> dict[str, bool | None]:
    """Whether issue #16's targets are met."""
    res, r = report["results"], report["ratios"]
    p99, cpu = r["p99_ms"], r["server_cpu_s_per_million_lines"]
    return {
        "every_line_delivered": all(res[c]["every_line_everywhere"] for c in res),
        "p99_within_2x": p99 <= P99_TARGET if p99 is not None else None,
        "cpu_within_1.5x": cpu <= CPU_TARGET if cpu is not None else None,
    }


# (label, result key, format) of the table's rows; ratios for the keys in RATIOS.
ROWS = (
    ("latency p50 (ms)", "p50_ms", "{:.2f}"),
    ("latency p99 (ms)", "p99_ms", "{:.2f}"),
    ("server CPU per million delivered lines (s)", "server_cpu_s_per_million_lines", "{:.2f}"),
    ("server CPU (cores)", "server_cores", "{:.2f}"),
    ("server CPU in the kernel (share)", "server_system_share", "{:.2f}"),
    ("server main thread: share of time on a CPU", "main_thread_on_cpu", "{:.2f}"),
    ("server main thread: share of time waiting for a CPU", "main_thread_runqueue", "{:.2f}"),
    ("bytes per delivered event", "bytes_per_event", "{:.0f}"),
    ("lines per server send() (perf)", "lines_per_send", "{:.2f}"),
    ("server IOLoop turns per second (epoll_wait, perf)", "loop_turns_per_second", "{:,.0f}"),
    ("server send() calls per IOLoop turn (perf)", "sends_per_loop_turn", "{:.0f}"),
    ("events per socket read (reader)", "events_per_read", "{:.1f}"),
    ("busiest reader process (cores)", "busiest_reader_cores", "{:.2f}"),
    ("probe viewer, own process: p50 (ms)", "probe_p50_ms", "{:.2f}"),
    ("probe viewer, own process: p99 (ms)", "probe_p99_ms", "{:.2f}"),
)


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table, then the run's circumstances."""
    res, ok = report["results"], report["targets_met"]
    plan = report["plan"]
    control = CONTROL in res

    def num(v: Any, fmt: str = "{:.2f}") -> str:
        return fmt.format(v) if isinstance(v, (int, float)) else "—"

    def yes(v: bool | None) -> str:
        return "—" if v is None else ("met" if v else "**not met**")

    targets = {
        "p99_ms": f"≤ {P99_TARGET:g}x: {yes(ok['p99_within_2x'])}",
        "server_cpu_s_per_million_lines": f"≤ {CPU_TARGET:g}x: {yes(ok['cpu_within_1.5x'])}",
    }
    cases = ["merged", "single", *([CONTROL] if control else [])]
    head = [
        "measure",
        f"merged ({plan['files']} files × {plan['rate']}/s)",
        f"single (1 file × {plan['files'] * plan['rate']:,}/s)",
    ]
    if control:
        head.append(f"single, lines {WIDE_EXTRA} bytes longer")
    head.append("merged ÷ single")
    if control:
        head.append("merged ÷ single wide")
    head.append("target")
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
    for label, key, fmt in ROWS:
        if all(res[c].get(key) is None for c in cases):
            continue
        row = [label, *(num(res[c].get(key), fmt) for c in cases)]
        row.append(num(report["ratios"].get(key), "{:.2f}x") if key in RATIOS else "")
        if control:
            row.append(num(report["ratios_to_control"].get(key), "{:.2f}x") if key in RATIOS else "")
        row.append(targets.get(key, ""))
        lines.append("| " + " | ".join(row) + " |")
    row = ["delivered/expected", *(f"{res[c]['delivered']:,}/{res[c]['expected']:,}" for c in cases), ""]
    if control:
        row.append("")
    row.append(f"all, in order: {yes(ok['every_line_delivered'])}")
    lines.append("| " + " | ".join(row) + " |")
    info = report["machine"]
    load = report["load_average"]
    lines += [
        "",
        f"{report['date']} · {report['mode']} run, {report['rounds']} round(s) of {plan['seconds']:g} s "
        f"per case, {plan['viewers']} viewers in {plan['reader_procs']} reader process(es), medians over "
        f"rounds · {info['cpu']}, {info['cores']} cores · Python {info['python']}, Tornado "
        f"{info.get('tornado')} · tailsse {info.get('tailsse')} at {info.get('tailsse_commit')}"
        f"{' + changes' if info.get('tailsse_uncommitted_changes') else ''}",
        "",
        f"Load average (1/5/15 min): before {'/'.join(map(str, load['before']))}, after "
        f"{'/'.join(map(str, load['after']))}. Other work on the machine during the rounds (the "
        f"writer included): median {num(statistics.median(report['other_cores_all']))} cores.",
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
        "--control",
        action="store_true",
        help=f"a third case: one file whose lines are {WIDE_EXTRA} bytes longer (as many bytes per event as merged)",
    )
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
    cases = (*CASES, CONTROL) if args.control else CASES
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in cases}
    load_before = os.getloadavg()
    began = time.monotonic()
    try:
        with terminate_as_interrupt():
            for n in range(plan.rounds):
                order = cases if n % 2 == 0 else cases[::-1]
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
    if args.control:
        report["ratios_to_control"] = ratios(results["merged"], results[CONTROL])
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
