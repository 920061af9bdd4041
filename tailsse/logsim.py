"""Realistic log lines for the demo, manual testing and benchmarks.

``python -m tailsse.logsim FILE --rate 50`` appends lines to FILE until stopped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator

_LEVELS = [("INFO", 60), ("DEBUG", 20), ("WARN", 12), ("ERROR", 6), ("CRITICAL", 2)]
_PATHS = ["/", "/api/orders", "/api/users/42", "/login", "/static/app.js", "/healthz"]
_COLOURS = {"INFO": "32", "DEBUG": "36", "WARN": "33", "ERROR": "31", "CRITICAL": "35"}


def _level(rng: random.Random) -> str:
    return rng.choices([lv for lv, _ in _LEVELS], weights=[w for _, w in _LEVELS])[0]


def make_line(rng: random.Random, now: float | None = None) -> str:
    """One log line in one of several common shapes."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now or time.time()))
    level = _level(rng)
    kind = rng.random()
    if kind < 0.45:
        path = rng.choice(_PATHS)
        status = rng.choice([200, 200, 200, 201, 304, 404, 500])
        return f"{stamp} {level} http: GET {path} {status} {rng.randint(1, 900)}ms"
    if kind < 0.65:
        body = {
            "time": stamp,
            "level": level.lower(),
            "msg": "job finished",
            "job": rng.randint(1000, 9999),
            "ok": level in ("INFO", "DEBUG"),
        }
        return json.dumps(body)
    if kind < 0.8:
        return f"\x1b[{_COLOURS[level]}m{level}\x1b[0m {stamp} worker-{rng.randint(1, 8)} heartbeat"
    if kind < 0.9:
        return f"{stamp} {level} db: slow query took {rng.uniform(0.1, 4):.2f}s: " + "x" * rng.randint(
            50, 400
        )
    return f"{stamp} {level} café ☕ — unicode and <b>markup</b> & symbols must render as text"


def lines(seed: int | None = None) -> Iterator[str]:
    """An endless supply of lines."""
    rng = random.Random(seed)
    while True:
        yield make_line(rng)


def main(argv: list[str] | None = None) -> int:
    """Append lines to a file at a steady rate."""
    parser = argparse.ArgumentParser(prog="python -m tailsse.logsim")
    parser.add_argument("file")
    parser.add_argument("--rate", type=float, default=10.0, help="lines per second")
    parser.add_argument("--count", type=int, default=0, help="stop after N lines (0: never)")
    args = parser.parse_args(argv)
    source = lines()
    written = 0
    try:
        with open(args.file, "a", encoding="utf-8") as f:
            while not args.count or written < args.count:
                f.write(next(source) + "\n")
                f.flush()
                written += 1
                if args.rate > 0:
                    time.sleep(1 / args.rate)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
