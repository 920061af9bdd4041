"""Benchmark the history API on a big log: search against grep, live latency during a search, time and lines.

    .venv/bin/python bench/history.py               # 1 GiB log, 3 rounds: about 8 minutes
    .venv/bin/python bench/history.py --quick       # 100 MiB, 1 round: about a minute
    .venv/bin/python bench/history.py --size-mb 2048 --rounds 5 --dir /var/tmp

One ``tailsse serve`` (and a second, for a control; this checkout's ``tailsse/``, copied aside at the start as
bench/run.py does, run by the Python running this script) follows a generated log of realistic lines (ISO timestamps in order, levels, ids, words). Each
round measures, baseline and tailsse taking turns:

- paging through the whole file with ``/api/search`` (a literal, case-sensitive and not;
  a regular expression) against ``grep -c`` on the same file; both must count the same
  lines;
- the write-to-receive latency of a live stream at 200 lines/s: with nothing else
  running, with a busy loop in another process (a control: a core taken, nothing asked
  of the server), with a loop busy 5 ms and asleep 5 ms (half a core, in bursts), with
  whole-file regex searches running back to back (by a client as patient as the
  machine allows, see SEARCH_CLIENT), and four more controls: the same searches by a
  client at the default priority, the same searches asked of a second tailsse server on
  the same file (what a search costs the machine, with nothing asked of the server
  measured), the same searches by a client that does not decode the matches, and ``grep
  -c -E`` on the file back to back (what the baseline itself costs the machine); each
  phase with a load is paired: one live stream, the load stopped and continued every
  second, its p99 set against the p99 of the seconds it was stopped, the verdict taken
  from the phases whose stopped half was calm;
- ``/api/time`` for random times and ``/api/lines?before=ID&count=1000`` at random ids
  in the middle of the file.

The log is kept between runs (``--dir``, named by size) and cut back to its generated size
before each; it is read once before measuring so that both sides find it in the page
cache. Writes bench/results/history-<date>.json and prints a Markdown table. Everything
listens on 127.0.0.1; every process started here is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # bench/ is not a package: run.py is found through sys.path
    CLIENT,
    HOST,
    RESULTS,
    Client,
    Procs,
    Tailsse,
    cpu_seconds,
    machine_busy_seconds,
    paced,
    percentile,
    proc_tree,
    snapshot_tailsse,
    terminate_as_interrupt,
    wait_http,
    wait_quiet,
)

GEN_VERSION = 1  # bump when the generated lines change, so that cached logs are remade
LITERAL = "code=E4711"  # about 0.1% of lines (and a few more with a lower-case "e4711")
REGEX = "user=[0-9]+ status=5[0-9][0-9]"  # an ERE grep -E and RE2 read alike; ~0.5% of lines
LINE_RATE = 100  # generated lines per second of log time
LATENCY_RATE = 200  # lines/s written while measuring live latency
PAIR_LINES = 200  # a paired latency phase switches its load on or off every this many lines (1 s)
SETTLE_LINES = 30  # and leaves out the first lines after each switch (150 ms: a search page ends)
# A paired phase is calm when the p99 of its stopped half is at most this many times its
# p50 (a measure of the host's noise, beside QUIET_MACHINE_CORES, the guest's own load).
# On this machine a calm stream's spread is 1.5 to 2.4; when other work on the host
# interferes it is 2.7 to 7, which raises both halves' p99 and lowers their ratio.
CALM_SPREAD = 2.5
GREP_ENV = {**os.environ, "LC_ALL": "C"}  # grep's fastest mode: bytes, no multibyte folding

WORDS = (
    "cache miss hit request handled upstream timeout retry backoff queue worker job "
    "started finished session token refresh user login logout payment invoice order "
    "shipment inventory sync batch flush commit rollback replica primary lag snapshot "
    "connection pool exhausted opened closed slow query index scan rows returned"
).split()
PATHS = ("/api/items", "/api/orders", "/api/users", "/api/cart", "/login", "/static/app.js", "/healthz")
METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
COMPONENTS = ("http.server", "db.pool", "cache", "worker.queue", "auth", "billing", "scheduler")


# --- the log ---------------------------------------------------------------------------


def _body(rng: random.Random) -> tuple[bytes, int, int, int]:
    """One line's text after its timestamp, with a %08x slot for a request id.

    Returns (template, matches LITERAL, matches it case-insensitively, matches REGEX).
    """
    words = " ".join(rng.sample(WORDS, rng.randint(3, 9)))
    comp = rng.choice(COMPONENTS)
    worker = rng.randint(1, 16)
    lit = ilit = rex = 0
    roll = rng.random()
    if roll < 0.001:
        text = f"ERROR [{comp}] worker={worker} req=%08x {LITERAL} upstream rejected the request: {words}"
        lit = ilit = 1
    elif roll < 0.0012:
        text = f"WARN  [{comp}] worker={worker} req=%08x retried after code=e4711 from peer: {words}"
        ilit = 1
    elif roll < 0.03:
        code = rng.randint(1000, 3999)
        text = f"ERROR [{comp}] worker={worker} req=%08x code=E{code} {words}"
    elif roll < 0.10:
        text = f"WARN  [{comp}] worker={worker} req=%08x slow operation took {rng.randint(500, 9000)} ms: {words}"
    elif roll < 0.18:
        text = f"DEBUG [{comp}] worker={worker} req=%08x state={rng.choice(WORDS)} {words}"
    else:
        if rng.random() < 0.006:
            status = rng.choice((500, 502, 503, 504))
            rex = 1
        else:
            status = rng.choice((200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 429))
        user = rng.randint(1, 99999)
        text = (
            f"INFO  [{comp}] worker={worker} req=%08x user={user} status={status} "
            f"method={rng.choice(METHODS)} path={rng.choice(PATHS)}/{rng.randint(1, 99999)} "
            f"bytes={rng.randint(0, 200000)} dur_ms={rng.randint(1, 3000)} {words}"
        )
    return text.encode(), lit, ilit, rex


def generate(path: Path, size: int, seed: int = 15) -> dict[str, Any]:
    """Write about ``size`` bytes of log lines to ``path``; returns what was written."""
    rng = random.Random(seed)
    pool = [_body(rng) for _ in range(65521)]
    templates = [p[0] for p in pool]
    first = int(time.time()) // 86400 * 86400 - 3 * 86400  # days before now: every live line is newer
    counts = {"lines": 0, "literal": 0, "literal_icase": 0, "regex": 0}
    step_ms = 1000 // LINE_RATE
    written = 0
    second = first
    req = rng.randrange(1 << 28)
    order = list(range(len(pool)))
    cursor = 0
    tmp = path.with_suffix(".part")
    with open(tmp, "wb", buffering=0) as f:
        while written < size:
            chunk = []
            for _ in range(400):  # seconds per write: about 6 MB
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
                if cursor + LINE_RATE > len(order):
                    rng.shuffle(order)
                    cursor = 0
                picks = order[cursor : cursor + LINE_RATE]
                cursor += LINE_RATE
                for i, k in enumerate(picks):
                    chunk.append(b"%s.%03dZ %s\n" % (stamp, i * step_ms, templates[k] % (req + i)))
                    b = pool[k]
                    counts["literal"] += b[1]
                    counts["literal_icase"] += b[2]
                    counts["regex"] += b[3]
                req += LINE_RATE
                second += 1
            data = b"".join(chunk)
            f.write(data)
            written += len(data)
            counts["lines"] += len(chunk)
    tmp.rename(path)
    return {
        "version": GEN_VERSION,
        "size": written,
        "first_time": first,
        "last_time": second - 1 + (LINE_RATE - 1) * step_ms / 1000,
        "generated_counts": counts,
    }


def prepare_log(folder: Path, size_mb: int) -> tuple[Path, dict[str, Any]]:
    """The generated log for this size, made or reused, cut back to its generated length."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"history-bench-{size_mb}m.log"
    meta_path = path.with_suffix(".json")
    meta: dict[str, Any] | None = None
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("version") != GEN_VERSION or path.stat().st_size < meta["size"]:
            meta = None
    if meta is None:
        began = time.monotonic()
        print(f"generating {size_mb} MiB of log lines into {path} ...", file=sys.stderr, flush=True)
        meta = generate(path, size_mb * 1024 * 1024)
        meta["generate_seconds"] = round(time.monotonic() - began, 1)
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    os.truncate(path, meta["size"])  # lines appended by an earlier run's latency phases go
    return path, meta


def warm(path: Path) -> dict[str, Any]:
    """Read the file once so both sides find it in the page cache; how much of it is there."""
    began = time.monotonic()
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
    out: dict[str, Any] = {"read_seconds": round(time.monotonic() - began, 2)}
    if shutil.which("fincore"):
        done = subprocess.run(["fincore", "-b", "-n", "-o", "RES", str(path)], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip().isdigit():
            out["cached_fraction"] = round(int(done.stdout.strip()) / max(1, path.stat().st_size), 3)
    return out


# --- the server and its API ------------------------------------------------------------


class Api:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)

    def get(self, path: str, decode: bool = True) -> tuple[float, Any]:
        """GET ``path``: seconds until the whole body was read (JSON decoding excluded), and the JSON.

        ``decode=False``, for a search: the whole answer is read, but only its end decoded
        (the matches are counted, not decoded).
        """
        for attempt in (1, 2):
            began = time.perf_counter()
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                # The server closes keep-alive connections idle for --header-timeout
                # (10 s), as during a latency phase: connect again, once.
                self.conn.close()
                if attempt == 2:
                    raise
        took = time.perf_counter() - began
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: {resp.status} {body[:300]!r}")
        return took, (json.loads(body) if decode else _undecoded_page(body))

    def close(self) -> None:
        self.conn.close()


def _undecoded_page(body: bytes) -> dict[str, Any]:
    """A search answer with its matches counted, not decoded: ``{"matches": [None, ...], ...}``."""
    at = body.rfind(b', "next": ')
    end = json.loads(b"{" + body[at + 2 :])
    return {"matches": [None] * body.count(b'{"id": ', 0, at), **end}


def search_all(
    api: Api, name: str, q: str, regex: bool, case: bool, each: Any = None, decode: bool = True
) -> dict[str, Any]:
    """Page through the whole file with /api/search; wall time, matches, requests, bytes scanned.

    ``each``, if given, is called after every request; when it returns True the paging stops.
    ``decode=False``: the matches are not decoded (see :meth:`Api.get`).
    """
    params = {"q": q, "limit": "1000"}
    if regex:
        params["regex"] = "1"
    if case:
        params["case"] = "1"
    matches = requests = scanned = 0
    size = None
    slowest = 0.0
    last_text = ""
    began = time.perf_counter()
    before: str | None = None
    while True:
        query = dict(params, before=before) if before else params
        took, page = api.get(f"/api/search/{name}?{urllib.parse.urlencode(query)}", decode)
        slowest = max(slowest, took)
        requests += 1
        matches += len(page["matches"])
        scanned += page["scanned"]
        size = page["size"] if size is None else size
        if page["matches"] and page["matches"][-1] is not None:
            last_text = page["matches"][-1]["text"]
        before = page["next"]
        stop = each is not None and each()  # (also after a search's last page, or its only one)
        if before is None or stop:
            break
    seconds = time.perf_counter() - began
    return {
        "seconds": round(seconds, 3),
        "matches": matches,
        "requests": requests,
        "scanned": scanned,
        "size": size,
        "slowest_request_ms": round(slowest * 1000, 1),
        "mb_per_second": round(scanned / 2**20 / seconds, 1),
        "oldest_match": last_text[:80],
    }


def grep_count(flags: list[str], pattern: str, path: Path) -> dict[str, Any]:
    """``grep -c FLAGS PATTERN FILE``: wall time, CPU time and count."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(["grep", "-c", *flags, "--", pattern, str(path)], capture_output=True, env=GREP_ENV)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode not in (0, 1):
        raise RuntimeError(f"grep failed: {done.stderr.decode(errors='replace')}")
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3), "matches": int(done.stdout)}


DUTY_MS = 5  # the duty loop's bursts, and its sleeps between them
QUIET_MACHINE_CORES = 1.0  # a latency round is quiet when the idle phase had the machine at most this busy
PHASES = (  # latency: key, load
    ("idle", "none"),
    ("busy_loop", "busy"),
    ("duty_loop", "duty"),
    ("searching", "search"),
    ("searching_default_client", "search_default"),
    ("searching_elsewhere", "search_other"),
    ("searching_lean_client", "search_lean"),
    ("grep_loop", "grep"),
)
CONTROLS = (  # the phases that explain the others: key, title in the paired rows, in the quiet ones
    (
        "duty_loop",
        f"a loop busy {DUTY_MS} ms, asleep {DUTY_MS} ms",
        f"a loop in another process is busy {DUTY_MS} ms, asleep {DUTY_MS} ms, no search",
    ),
    (
        "searching_default_client",
        "the same searches, the client at the default priority",
        "the same searches, by a client at the default priority",
    ),
    (
        "searching_elsewhere",
        "searches of a second server",
        "the same searches asked of a second tailsse server on the file",
    ),
    (
        "searching_lean_client",
        "a client that does not decode",
        "the same searches, by a client that does not decode the matches",
    ),
    ("grep_loop", "grep -c -E back to back", "grep -c -E on the file, back to back"),
)
SEARCHES = (
    # key, title, grep flags, q, regex, case
    ("literal", f"literal {LITERAL!r}, case-sensitive", ["-F"], LITERAL, False, True),
    ("literal_icase", f"literal {LITERAL!r}, case-insensitive", ["-i", "-F"], LITERAL, False, False),
    ("regex", f"regex {REGEX!r}", ["-E"], REGEX, True, True),
)


def search_round(api: Api, name: str, path: Path, n: int, server_pid: int) -> dict[str, Any]:
    """Each search once with grep and once through the API, in alternating order.

    Besides wall time, the CPU time of grep and of the server: on a shared machine the
    wall time of either side includes waiting for a core, the CPU time much less so.
    """
    out: dict[str, Any] = {}
    for key, _title, flags, q, regex, case in SEARCHES:
        sides: list[tuple[str, Any]] = [
            ("grep", functools.partial(grep_count, flags, q, path)),
            ("api", functools.partial(search_all, api, name, q, regex, case)),
        ]
        if n % 2:
            sides.reverse()
        r: dict[str, Any] = {}
        for side, run in sides:
            cpu = cpu_seconds(proc_tree(server_pid))
            r[side] = run()
            if side == "api":
                r[side]["server_cpu_seconds"] = round(cpu_seconds(proc_tree(server_pid)) - cpu, 3)
            print(f"          {key} {side}: {json.dumps(r[side])}", file=sys.stderr, flush=True)
        if r["api"]["matches"] != r["grep"]["matches"]:
            raise AssertionError(
                f"{key}: the API found {r['api']['matches']} matches, grep {r['grep']['matches']}"
            )
        if r["api"]["scanned"] < path.stat().st_size * 0.99 or r["api"]["size"] < r["api"]["scanned"]:
            raise AssertionError(
                f"{key}: the API scanned {r['api']['scanned']} of {path.stat().st_size} bytes"
            )
        r["ratio"] = round(r["api"]["seconds"] / r["grep"]["seconds"], 3)
        r["cpu_ratio"] = round(r["api"]["server_cpu_seconds"] / max(0.01, r["grep"]["cpu_seconds"]), 3)
        out[key] = r
    return out


def time_and_lines(
    api: Api, name: str, meta: dict[str, Any], samples: int, rng: random.Random
) -> dict[str, Any]:
    """/api/time at random times in the file; /api/lines 1000 lines before ids in its middle."""
    first, last = meta["first_time"], meta["last_time"]
    times_ms = []
    for _ in range(samples):
        t = rng.uniform(first, last)
        took, found = api.get(f"/api/time/{name}?t={t:.3f}")
        if found["id"] is None or found["time"] is None:
            raise AssertionError(f"/api/time found nothing for {t}")
        times_ms.append(took * 1000)
    ids = []
    for _ in range(samples):
        t = rng.uniform(first + (last - first) * 0.25, first + (last - first) * 0.75)
        ids.append(api.get(f"/api/time/{name}?t={t:.3f}")[1]["id"])
    lines_ms = []
    for event_id in ids:
        took, page = api.get(f"/api/lines/{name}?before={urllib.parse.quote(event_id)}&count=1000")
        if len(page["lines"]) != 1000 or page["lines"][-1]["id"] != event_id or not page["more"]:
            raise AssertionError(
                f"/api/lines before {event_id}: {len(page['lines'])} lines, not the 1000 asked"
            )
        lines_ms.append(took * 1000)
    return {"time": _stats(times_ms), "lines": _stats(lines_ms)}


def _stats(values_ms: list[float]) -> dict[str, Any]:
    values_ms = sorted(values_ms)
    return {
        "samples": len(values_ms),
        "p50_ms": round(percentile(values_ms, 0.5) or 0, 2),
        "p99_ms": round(percentile(values_ms, 0.99) or 0, 2),
        "max_ms": round(values_ms[-1], 2) if values_ms else None,
    }


# --- live latency ----------------------------------------------------------------------


def write_paced(path: Path, count: int, rate: float, switch: Any = None) -> None:
    """Append ``count`` lines at ``rate``/s, each with its seq and monotonic ns (read just before write()).

    ``switch``, if given, is called with the seq of every PAIR_LINES-th line, before it is written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        for seq in paced(time.monotonic_ns(), count, rate):
            if switch is not None and seq % PAIR_LINES == 0:
                switch(seq)
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
            os.write(
                fd,
                b"%d %d %s INFO  [bench.writer] live line for the latency probe\n"
                % (seq, time.monotonic_ns(), stamp),
            )
    finally:
        os.close(fd)


def latency(
    procs: Procs,
    tmp: Path,
    port: int,
    name: str,
    path: Path,
    seconds: float,
    load: str,
    other_port: int | None = None,
) -> dict[str, Any]:
    """p50/p99 from write() to the SSE client, while ``load`` runs.

    ``none``: nothing else; ``search``: whole-file regex searches back to back, by a
    client as patient as the machine allows (see SEARCH_CLIENT); ``busy``: a busy loop in
    a process of its own (the control: one core taken, as the search takes one, but
    nothing asked of the server). More controls: ``search_default``: the same searches,
    the client at the default priority; ``search_other``: the same searches, asked of a
    second tailsse server on the same file (``other_port``), so that the server measured
    does nothing for them: what the search costs the machine, not the server;
    ``search_lean``: the same searches of this server by a client that reads every answer
    whole but does not decode its matches, so that the client (a browser, elsewhere as a
    rule) takes less of the 2 cores; ``grep``: ``grep -c -E`` on the file, back to back; ``duty``: a loop in a process of its own that is busy
    for DUTY_MS, then sleeps as long (half a core, taken in bursts, as a search takes it,
    and nothing asked of the server either).

    With a load, the phase is paired: the load runs during every other block of PAIR_LINES
    lines and is stopped (SIGSTOP, its whole process group) during the others, within one
    live stream of twice as many lines. ``p50_ms``/``p99_ms`` are of the lines written while
    it ran, ``paired_idle`` of those written while it was stopped, the first SETTLE_LINES
    of each block left out of both. What else the machine is doing then weighs on both
    halves alike, which separate phases tens of seconds apart cannot promise.
    """
    paired = load != "none"
    blocks = max(1, round(seconds * LATENCY_RATE / PAIR_LINES))
    count = 2 * blocks * PAIR_LINES if paired else int(seconds * LATENCY_RATE)
    loop = hog = None
    if load == "busy":
        hog = procs.start([sys.executable, "-c", "while True: pass"])
    if load == "duty":
        script = f"import time\nwhile True:\n t = time.perf_counter() + {DUTY_MS / 1000}\n"
        script += f" while time.perf_counter() < t: pass\n time.sleep({DUTY_MS / 1000})"
        hog = procs.start([sys.executable, "-c", script])
    if load == "grep":
        script = 'while :; do grep -c -E "$0" "$1" > /dev/null; done'
        hog = procs.start(["bash", "-c", script, REGEX, str(path)], env=GREP_ENV)
    if load in ("search", "search_default", "search_other", "search_lean"):
        target = other_port if load == "search_other" else port
        cmd = [sys.executable, __file__, "--search-loop", str(target), name]
        cmd += ["--lean"] if load == "search_lean" else []
        cmd += [] if load == "search_default" else ["--nice-client"]
        loop = procs.start(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert loop.stdout is not None
        if not loop.stdout.readline().startswith(b"{"):  # its first search has answered
            raise RuntimeError("the search loop did not start")
    worker = loop or hog

    def switch(seq: int) -> None:  # the load runs in the odd blocks
        assert worker is not None
        os.killpg(worker.pid, signal.SIGCONT if (seq // PAIR_LINES) % 2 else signal.SIGSTOP)

    out = tmp / f"lat-{time.monotonic_ns()}.bin"
    cmd = [sys.executable, str(CLIENT), "--port", str(port), "--path", f"/events/{name}?lines=0"]
    cmd += ["--expect", str(count), "--mode", "latency", "--deadline", str(count / LATENCY_RATE + 60)]
    cmd += ["--out", str(out)]
    client = Client(procs.start(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE), out)
    try:
        client.expect("ready", 30)
        if worker is not None:
            switch(0)
        time.sleep(0.3)
        write_paced(path, count, LATENCY_RATE, switch if worker is not None else None)
        if worker is not None:
            os.killpg(worker.pid, signal.SIGCONT)
        try:
            done = client.expect("done", 15)
        except RuntimeError:
            client.stop()
            done = client.expect("done", 15)
        searches = None
        if loop is not None:
            assert loop.stdin is not None and loop.stdout is not None
            loop.stdin.close()
            tail = loop.stdout.read().decode().strip().splitlines()
            searches = json.loads(tail[-1]) if tail else None
        got = client.latencies()
        # Line i is seq i when the one stream has every line once, in order.
        paired = paired and len(got) == count and not done["gaps"] and not done["dups"]
        if paired:
            values = sorted(v for i, v in enumerate(got) if _counted(i, True))
            stopped = sorted(v for i, v in enumerate(got) if _counted(i, False))
        else:
            values = sorted(got)
        result: dict[str, Any] = {
            "lines": count,
            "delivered": done["lines"],
            "gaps": done["gaps"],
            "dups": done["dups"],
            **_latency_ms(values),
        }
        if paired:
            result["paired_idle"] = {"samples": len(stopped), **_latency_ms(stopped)}
            result["samples"] = len(values)
            if result["paired_idle"]["p99_ms"]:
                result["p99_ratio_paired"] = round(result["p99_ms"] / result["paired_idle"]["p99_ms"], 3)
        if searches is not None:
            result["searches"] = searches
        return result
    finally:
        if worker is not None and worker.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGCONT)  # a stopped process would not take its SIGTERM
        procs.stop(client.proc, grace=2)
        if loop is not None:
            procs.stop(loop, grace=5)
        if hog is not None:
            procs.stop(hog, grace=1)


def _latency_ms(values_ns: list[float]) -> dict[str, float]:
    """p50, p99 and max of sorted latencies in ns, in ms."""
    return {
        f"{key}_ms": round((percentile(values_ns, q) or 0) / 1e6, 3)
        for key, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))
    }


# The searching client stands for a browser, which runs on the viewer's machine, not on
# the server's. Here it has to share the server's 2 cores, and at the default priority
# its bursts (reading and decoding a page of matches, about 2 ms) hold a core that the
# live stream's server or viewer has just been woken for: the kernel lets the running
# task finish its slice first. So it runs as the machine's most patient process: nice 19,
# in a session of its own at nice 19 (as the server's own scanner runs), asking for the
# longest slice Linux grants (sched_attr.sched_runtime, 100 ms, read by Linux 6.12 and
# later), which lets a woken task with a shorter one take the core sooner. It still
# gets the cycles the others leave. The phase "searching_default_client" runs the same
# searches with the client at the default priority, and is reported beside the others.
SEARCH_CLIENT = "nice 19, in a session of its own at nice 19, with a 100 ms slice"
SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}  # the system call's number


def lowest_priority() -> None:
    """This process as SEARCH_CLIENT says, as far as this machine allows.

    A nice value counts only within a session where Linux groups processes by session
    for the scheduler; the bench starts every process in a session of its own.
    """
    os.nice(19 - os.nice(0))
    with contextlib.suppress(OSError):  # no autogroups here: the nice value is all there is
        with open("/proc/self/autogroup", "w") as f:
            f.write("19")
    number = SCHED_SETATTR.get(os.uname().machine)
    if number is not None:  # struct sched_attr: SCHED_OTHER, nice 19, sched_runtime in ns
        import ctypes
        import struct

        attr = struct.pack("IIQiIQQQ", 48, 0, 0, 19, 0, 100_000_000, 0, 0)
        ctypes.CDLL(None).syscall(number, 0, attr, 0)  # (an older kernel ignores the slice)


def _counted(seq: int, running: bool) -> bool:
    """Whether line ``seq`` of a paired phase counts for the half with the load running (or stopped)."""
    return (seq // PAIR_LINES) % 2 == running and seq % PAIR_LINES >= SETTLE_LINES


def search_loop(port: int, name: str, decode: bool = True, nice: bool = False) -> int:
    """Run by ``latency``: whole-file regex searches back to back until stdin closes.

    ``nice``: at the lowest priority, as SEARCH_CLIENT says. It reports no slowest
    request: the phase stops and continues it, and a request's time would count the stop.
    """
    import threading

    if nice:
        lowest_priority()
    stop = threading.Event()

    def until_stdin_closes() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=until_stdin_closes, daemon=True).start()
    api = Api(port)
    runs, requests, began = 0, 0, time.monotonic()
    said = False

    def each() -> bool:
        nonlocal said
        if not said:  # the first request has answered: the latency phase may begin
            print(json.dumps({"started": True}), flush=True)
            said = True
        return stop.is_set()

    while not stop.is_set():
        r = search_all(api, name, REGEX, True, True, each, decode)
        runs += 1  # the last one may stop part way
        requests += r["requests"]
    print(
        json.dumps(
            {
                "whole_file_searches": runs,
                "requests": requests,
                "seconds": round(time.monotonic() - began, 1),
                "client_cpu_seconds": round(sum(os.times()[:2]), 2),
            }
        ),
        flush=True,
    )
    return 0


# --- report ----------------------------------------------------------------------------


def med(values: list[float]) -> float | None:
    values = [v for v in values if isinstance(v, (int, float))]
    return round(statistics.median(values), 3) if values else None


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds."""
    out: dict[str, Any] = {}
    for key, *_ in SEARCHES:
        rs = [r["search"][key] for r in rounds]
        out[key] = {
            "grep_seconds": med([r["grep"]["seconds"] for r in rs]),
            "api_seconds": med([r["api"]["seconds"] for r in rs]),
            "ratio": med([r["ratio"] for r in rs]),
            "grep_cpu_seconds": med([r["grep"]["cpu_seconds"] for r in rs]),
            "server_cpu_seconds": med([r["api"]["server_cpu_seconds"] for r in rs]),
            "cpu_ratio": med([r["cpu_ratio"] for r in rs]),
            "matches": rs[0]["api"]["matches"],
            "grep_matches": rs[0]["grep"]["matches"],
            "requests": rs[0]["api"]["requests"],
            "api_mb_per_second": med([r["api"]["mb_per_second"] for r in rs]),
            "slowest_request_ms": med([r["api"]["slowest_request_ms"] for r in rs]),
        }
    for key, _load in PHASES:
        numbered = [(n, r["latency"][key]) for n, r in enumerate(rounds, 1) if key in r["latency"]]
        if not numbered:  # a phase added after the run
            continue
        rs = [r for _n, r in numbered]
        metrics = ("p50_ms", "p99_ms", "max_ms", "server_cores", "machine_busy_cores", "load_average")
        out[f"latency_{key}"] = {m: med([r.get(m) for r in rs]) for m in metrics}
        out[f"latency_{key}"]["delivered"] = sum(r["delivered"] for r in rs)
        out[f"latency_{key}"]["lines"] = sum(r["lines"] for r in rs)
        out[f"latency_{key}"]["gaps"] = sum(r["gaps"] for r in rs)
        ratios = [r.get("p99_ratio_paired") for r in rs]  # paired: the same lines with the load on and off
        if med(ratios) is not None:
            out[f"latency_{key}_p99_ratio_paired"] = med(ratios)
            calm = [(n, r) for n, r in numbered if _calm_pair(r)]
            out[f"latency_{key}_paired_calm_rounds"] = [n for n, _r in calm]
            out[f"latency_{key}_p99_ratio_paired_calm"] = med([r["p99_ratio_paired"] for _n, r in calm])
            for m in ("p50_ms", "p99_ms"):
                out[f"latency_{key}"][f"paired_idle_{m}"] = med([r.get("paired_idle", {}).get(m) for r in rs])
    out["latency_busy_loop_p99_ratio"] = med(
        [
            r["latency"]["busy_loop"]["p99_ms"] / r["latency"]["idle"]["p99_ms"]
            for r in rounds
            if r["latency"]["idle"]["p99_ms"]
        ]
    )
    out["latency_p99_ratio"] = med(
        [
            r["latency"]["searching"]["p99_ms"] / r["latency"]["idle"]["p99_ms"]
            for r in rounds
            if r["latency"]["idle"]["p99_ms"]
        ]
    )
    # A p99 of a few milliseconds is what other work on the machine disturbs first: the
    # verdict takes the rounds whose idle phase had the machine at most half busy.
    quiet_rounds = [
        n
        for n, r in enumerate(rounds, 1)
        if r["latency"]["idle"].get("machine_busy_cores", 0) <= QUIET_MACHINE_CORES
        and r["latency"]["idle"]["p99_ms"]
    ]
    quiet = [rounds[n - 1] for n in quiet_rounds]
    out["latency_quiet_rounds"] = quiet_rounds
    out["latency_p99_ratio_quiet"] = med(
        [r["latency"]["searching"]["p99_ms"] / r["latency"]["idle"]["p99_ms"] for r in quiet]
    )
    out["latency_busy_loop_p99_ratio_quiet"] = med(
        [r["latency"]["busy_loop"]["p99_ms"] / r["latency"]["idle"]["p99_ms"] for r in quiet]
    )
    for key, *_ in CONTROLS:
        out[f"latency_{key}_p99_ratio_quiet"] = med(
            [
                r["latency"][key]["p99_ms"] / r["latency"]["idle"]["p99_ms"]
                for r in quiet
                if key in r["latency"]
            ]
        )
    out["searches_during_latency"] = [r["latency"]["searching"].get("searches") for r in rounds]
    for key in ("time", "lines"):
        out[key] = {m: med([r["history"][key][m] for r in rounds]) for m in ("p50_ms", "p99_ms", "max_ms")}
        out[key]["samples"] = sum(r["history"][key]["samples"] for r in rounds)
    return out


def _calm_pair(phase: dict[str, Any]) -> bool:
    """Whether a paired phase's stopped half was calm (see CALM_SPREAD)."""
    stopped = phase.get("paired_idle") or {}
    p50, p99 = stopped.get("p50_ms"), stopped.get("p99_ms")
    return bool(p50 and p99 and p99 <= CALM_SPREAD * p50)


def _calm_rounds(summary: dict[str, Any], key: str) -> str:
    """The rounds whose paired phase ``key`` was calm, as ``1, 3``."""
    return ", ".join(map(str, summary.get(f"latency_{key}_paired_calm_rounds", [])))


def _calm(summary: dict[str, Any], key: str) -> str:
    """``; calm Rx (rounds)``: the paired ratio of a phase's calm rounds, where it has some."""
    calm = summary.get(f"latency_{key}_p99_ratio_paired_calm")
    return "" if calm is None else f"; calm {calm:.2f}x ({_calm_rounds(summary, key)})"


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    rows = [("measure", "baseline", "tailsse", "tailsse ÷ baseline", "target", "met")]
    for key, title, flags, *_ in SEARCHES:
        r = s[key]
        limit = 2.0 if key == "regex" else 1.5
        rows.append(
            (
                f"whole-file search, {title}: seconds ({r['matches']:,} matches, {r['requests']} requests)",
                f"{r['grep_seconds']:.3f} (grep -c {' '.join(flags)})",
                f"{r['api_seconds']:.3f}",
                f"{r['ratio']:.2f}x",
                f"≤ {limit:g}x grep",
                _met(r["ratio"] <= limit),
            )
        )
        rows.append(
            (
                "  the same: CPU seconds (grep; the tailsse server)",
                f"{r['grep_cpu_seconds']:.3f}",
                f"{r['server_cpu_seconds']:.3f}",
                f"{r['cpu_ratio']:.2f}x",
                "",
                "",
            )
        )
    idle, busy, hog = s["latency_idle"], s["latency_searching"], s["latency_busy_loop"]
    rows.append(
        (
            "live latency p50 @ 200 lines/s (ms)",
            f"{idle['p50_ms']:.2f} (no search)",
            f"{busy['p50_ms']:.2f} (searching)",
            _ratio(busy["p50_ms"], idle["p50_ms"]),
            "",
            "",
        )
    )
    rows.append(
        (
            "live latency p99 @ 200 lines/s (ms)",
            f"{idle['p99_ms']:.2f} (no search)",
            f"{busy['p99_ms']:.2f} (searching)",
            f"{s['latency_p99_ratio']:.2f}x",
            "≤ 2x without search",
            "" if s["latency_p99_ratio_quiet"] is not None else "no quiet round: cannot tell",
        )
    )
    if s["latency_p99_ratio_quiet"] is not None:
        rows.append(
            (
                f"  p99 ratio in the quiet rounds ({', '.join(map(str, s['latency_quiet_rounds']))}): "
                "searching; busy-loop control",
                "",
                "",
                f"{s['latency_p99_ratio_quiet']:.2f}x; {s['latency_busy_loop_p99_ratio_quiet']:.2f}x",
                "≤ 2x without search",
                _met(s["latency_p99_ratio_quiet"] <= 2.0)
                if "latency_searching_p99_ratio_paired" not in s
                else "",
            )
        )
    if "latency_searching_p99_ratio_paired" in s:
        rows.append(
            (
                "live latency p99, paired: searching on and off every second in one stream, "
                f"the searching client at {report.get('searching_client', 'the default priority')} (ms)",
                f"{busy['paired_idle_p99_ms']:.2f} (stopped)",
                f"{busy['p99_ms']:.2f} (searching)",
                f"{s['latency_searching_p99_ratio_paired']:.2f}x",
                "≤ 2x without search",
                "",
            )
        )
        calm = s.get("latency_searching_p99_ratio_paired_calm")
        rows.append(
            (
                f"  the same, the phases whose stopped half was calm (its p99 ≤ {CALM_SPREAD:g}x its p50): "
                f"rounds {_calm_rounds(s, 'searching') or 'none'}",
                "",
                "",
                "" if calm is None else f"{calm:.2f}x",
                "≤ 2x without search",
                "no calm phase: cannot tell" if calm is None else _met(calm <= 2.0),
            )
        )
        for key, what, _ in (("busy_loop", "a busy loop", ""), *CONTROLS):
            if f"latency_{key}_p99_ratio_paired" in s:
                c = s[f"latency_{key}"]
                rows.append(
                    (
                        f"  control, paired: {what} (ms)",
                        f"{c['paired_idle_p99_ms']:.2f} (stopped)",
                        f"{c['p99_ms']:.2f} (running)",
                        f"{s[f'latency_{key}_p99_ratio_paired']:.2f}x{_calm(s, key)}",
                        "",
                        "",
                    )
                )
    rows.append(
        (
            "  control: p50 / p99 with a busy loop in another process, no search (ms)",
            "",
            f"{hog['p50_ms']:.2f} / {hog['p99_ms']:.2f}",
            f"{s['latency_busy_loop_p99_ratio']:.2f}x (p99)",
            "",
            "",
        )
    )
    for key, _, what in CONTROLS:
        if f"latency_{key}" not in s or s.get(f"latency_{key}_p99_ratio_quiet") is None:
            continue
        c = s[f"latency_{key}"]
        rows.append(
            (
                f"  control: p50 / p99 while {what}, quiet rounds (ms)",
                "",
                f"{c['p50_ms']:.2f} / {c['p99_ms']:.2f}",
                f"{s[f'latency_{key}_p99_ratio_quiet']:.2f}x (p99)",
                "",
                "",
            )
        )
    rows.append(
        (
            "live latency max (ms)",
            f"{idle['max_ms']:.2f}",
            f"{busy['max_ms']:.2f}",
            _ratio(busy["max_ms"], idle["max_ms"]),
            "",
            "",
        )
    )
    rows.append(
        (
            "live lines delivered (all rounds)",
            f"{idle['delivered']:,}/{idle['lines']:,}",
            f"{busy['delivered']:,}/{busy['lines']:,}",
            "",
            "all",
            _met(all(x["delivered"] == x["lines"] for x in (idle, busy, hog))),
        )
    )
    rows.append(
        (
            "during the latency phases: server / whole machine busy (cores)",
            f"{idle['server_cores']:.2f} / {idle['machine_busy_cores']:.2f}",
            f"{busy['server_cores']:.2f} / {busy['machine_busy_cores']:.2f}",
            "",
            "",
            "",
        )
    )
    for key, title in (
        ("time", "/api/time, random times"),
        ("lines", "/api/lines before=ID&count=1000, middle"),
    ):
        r = s[key]
        rows.append((f"{title}: p50 (ms)", "", f"{r['p50_ms']:.2f}", "", "< 20 ms", _met(r["p50_ms"] < 20)))
        rows.append((f"{title}: p99 (ms)", "", f"{r['p99_ms']:.2f}", "", "", ""))
    lines = ["| " + " | ".join(rows[0]) + " |", "|---|---:|---:|---:|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    m = report["machine"]
    log = report["log"]
    load = report["load_average"]
    lines.append("")
    lines.append(
        f"{report['date']} · {m['cpu']}, {m['cores']} cores · Python {m['python']}, Tornado {m.get('tornado')} · "
        f"tailsse {m.get('tailsse')} at {m.get('tailsse_commit')}{' + uncommitted changes' if m.get('tailsse_uncommitted_changes') else ''} "
        f"(source {m.get('tailsse_source_sha256')}) · {m.get('grep')} (LC_ALL=C) · {report['mode']} run, {report['rounds']} round(s), medians"
    )
    lines.append(
        f"Log: {log['size'] / 2**20:,.0f} MiB, {log['generated_counts']['lines']:,} lines, in the page cache "
        f"({log.get('warm', {}).get('cached_fraction', '?')} resident). Load average (1 min) at start "
        f"{load['start'][0]:.2f}, per round {', '.join(f'{x:.2f}' for x in load['rounds'])}, at end {load['end'][0]:.2f}; "
        f"other work used {report['other_cores_median']:.2f} cores (median over rounds)."
    )
    return "\n".join(lines)


def _ratio(a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return "—"
    return f"{a / b:.2f}x"


# --- main ------------------------------------------------------------------------------


def start_server(procs: Procs, tmp: Path, src: Path, path: Path) -> tuple[Any, int]:
    """``tailsse serve FILE`` on a free port of 127.0.0.1; the process and its port."""
    cmd = [sys.executable, "-m", "tailsse", "serve", str(path), "--host", HOST]
    cmd += ["--port", "0", "--heartbeat", "0", "--lines", "0"]
    env = {**os.environ, "PYTHONPATH": str(src)}
    log = open(tmp / "tailsse.log", "ab")
    server = procs.start(cmd, stdout=subprocess.PIPE, stderr=log, cwd=src, env=env)
    log.close()
    assert server.stdout is not None
    line = Tailsse._first_line(server.stdout, 20)
    match = re.search(rb"http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        raise RuntimeError(f"tailsse did not print its URL (got {line!r})")
    port = int(match[1])
    wait_http(port, "/healthz", 10)
    return server, port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 MiB, 1 round, shorter latency phases")
    parser.add_argument(
        "--size-mb", type=int, default=0, help="size of the generated log in MiB (default 1024)"
    )
    parser.add_argument("--rounds", type=int, default=0, help="rounds (default 3, quick 1)")
    parser.add_argument(
        "--latency-seconds", type=float, default=0, help="length of each latency phase (default 10)"
    )
    parser.add_argument("--samples", type=int, default=50, help="/api/time and /api/lines requests per round")
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()), help="where the log is made and kept"
    )
    parser.add_argument(
        "--quiet-budget", type=float, default=120, help="seconds in all to wait for a calm machine"
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="results file (default bench/results/history-<date>.json)"
    )
    parser.add_argument(
        "--from-json", type=Path, help="measure nothing: redo the summary and table of a results file"
    )
    parser.add_argument("--search-loop", nargs=2, metavar=("PORT", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--lean", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--nice-client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.search_loop:
        port, name = int(args.search_loop[0]), args.search_loop[1]
        return search_loop(port, name, decode=not args.lean, nice=args.nice_client)
    if args.from_json:
        report: dict[str, Any] = json.loads(args.from_json.read_text())
        report["summary"] = summarise(report["runs"])
        report["table"] = markdown(report)
        (args.json or args.from_json).write_text(json.dumps(report, indent=2) + "\n")
        print(report["table"])
        return 0
    size_mb = args.size_mb or (100 if args.quick else 1024)
    rounds = args.rounds or (1 if args.quick else 3)
    lat_seconds = args.latency_seconds or (5.0 if args.quick else 10.0)
    path, meta = prepare_log(args.dir, size_mb)
    meta["warm"] = warm(path)
    name = path.name
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="tailsse-hbench-"))
    src, source_hash = snapshot_tailsse(tmp)
    Tailsse.src = src
    from run import machine

    info = {**machine(), "tailsse_source_sha256": source_hash}
    for drop in ("node", "frontail", "tail"):
        info.pop(drop, None)
    info["grep"] = subprocess.run(["grep", "--version"], capture_output=True, text=True).stdout.splitlines()[
        0
    ]
    with contextlib.suppress(OSError):  # the kernel's options (its scheduler's among them), not init's
        info["kernel_command_line"] = Path("/proc/cmdline").read_text().split(" -- ")[0].strip()
    rng = random.Random(1515)
    results: list[dict[str, Any]] = []
    load_start = os.getloadavg()
    began = time.monotonic()
    budget = args.quiet_budget
    try:
        with terminate_as_interrupt():
            server, port = start_server(procs, tmp, src, path)
            _other, other_port = start_server(procs, tmp, src, path)  # for the search_other control
            api = Api(port)
            for n in range(rounds):
                waited = wait_quiet(min(15.0, budget)) if budget > 0 else 0.0
                budget -= waited
                load = os.getloadavg()
                print(
                    f"[{time.monotonic() - began:6.1f}s] round {n + 1}/{rounds}, load {load[0]:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
                busy0, wall0 = machine_busy_seconds(), time.monotonic()
                cpu0 = cpu_seconds(proc_tree(server.pid))
                own0 = _own_cpu()
                r: dict[str, Any] = {
                    "load_average": [round(x, 2) for x in load],
                    "waited_for_quiet_seconds": waited,
                }
                r["search"] = search_round(api, name, path, n, server.pid)
                r["history"] = time_and_lines(api, name, meta, args.samples, rng)
                print(f"          time/lines: {json.dumps(r['history'])}", file=sys.stderr, flush=True)
                r["latency"] = {}
                for key, kind in PHASES:
                    # Latency is what other work on the machine disturbs most: wait for calm.
                    waited = wait_quiet(min(10.0, budget)) if budget > 0 else 0.0
                    budget -= waited
                    busy1, wall1 = machine_busy_seconds(), time.monotonic()
                    cpu1 = cpu_seconds(proc_tree(server.pid))
                    r["latency"][key] = latency(procs, tmp, port, name, path, lat_seconds, kind, other_port)
                    wall1 = time.monotonic() - wall1
                    r["latency"][key].update(
                        waited_for_quiet_seconds=waited,
                        load_average=round(os.getloadavg()[0], 2),
                        server_cores=round((cpu_seconds(proc_tree(server.pid)) - cpu1) / wall1, 2),
                        machine_busy_cores=round((machine_busy_seconds() - busy1) / wall1, 2),
                    )
                    print(
                        f"          latency {key}: {json.dumps(r['latency'][key])}",
                        file=sys.stderr,
                        flush=True,
                    )
                wall = time.monotonic() - wall0
                server_cpu = cpu_seconds(proc_tree(server.pid)) - cpu0
                other = machine_busy_seconds() - busy0 - server_cpu - (_own_cpu() - own0)
                r["server_cpu_seconds"] = round(server_cpu, 2)
                r["seconds"] = round(wall, 1)
                r["other_cores"] = round(max(0.0, other) / wall, 2)
                results.append(r)
            api.close()
    except KeyboardInterrupt:
        print("interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        os.truncate(path, meta["size"])
    now = datetime.now(timezone.utc)
    report = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "rounds": rounds,
        "seconds": round(time.monotonic() - began, 1),
        "command": " ".join(["bench/history.py", *(argv if argv is not None else sys.argv[1:])]),
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "rounds": [r["load_average"][0] for r in results],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "other_cores_median": med([r["other_cores"] for r in results]),
        "machine": info,
        "log": {"path": str(path), **meta},
        "queries": {
            "literal": LITERAL,
            "regex": REGEX,
            "latency_rate": LATENCY_RATE,
            "latency_seconds": lat_seconds,
        },
        "searching_client": SEARCH_CLIENT,
        "summary": summarise(results),
        "runs": results,
    }
    report["table"] = markdown(report)
    out = args.json or RESULTS / f"history-{now.strftime('%Y-%m-%d')}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(report["table"])
    print(f"\nresults: {out}", file=sys.stderr)
    return 0


def _own_cpu() -> float:
    """CPU seconds of this process and its finished children (the clients, grep)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


if __name__ == "__main__":
    sys.exit(main())
