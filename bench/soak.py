"""Soak test: the chaos run of tests/test_chaos.py, for as long and as hard as you like.

    python3 bench/soak.py                          # 2 minutes, the suite's rates
    python3 bench/soak.py --duration 600 --rate 400 --fast-rate 3000 --restart-every 20
    python3 bench/soak.py --write-every 0.25       # writes in bursts, quiet moments between

Writers append numbered, checksummed lines (``file=F gen=G seq=N pad=… crc=C``) to
several files; the last file is a symlink. At random the files are rotated (rename away
and create, rename over, copytruncate, delete and recreate, symlink retarget), the tailsse
server is stopped with SIGTERM and started again on the same port, raw-socket clients are
dropped (they reconnect with Last-Event-ID) or stall (a small SO_RCVBUF, not reading for a
while), and ``tailsse follow --raw`` processes resume by themselves. At the end every
client's lines are compared with what was written: lost, duplicated, reordered, partial,
and losses excused by a ``lost`` event for a generation that was gone; lines of generations
gone while the server was down, which no restarted server can know of, are counted apart
(``unseen``). Prints a table;
``--json FILE`` writes the figures; exits 1 when any client saw a defect.
Everything listens on 127.0.0.1; every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chaos_support import ChaosParams, dump, run_chaos


def main(argv: list[str] | None = None) -> int:
    d = ChaosParams()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of chaos (default 120)")
    ap.add_argument("--files", type=int, default=d.files, help="files followed; the last is a symlink")
    ap.add_argument("--rate", type=float, default=d.rate, help="lines/s to each file")
    ap.add_argument("--fast-rate", type=float, default=d.fast_rate, help="lines/s to the first file")
    ap.add_argument("--pad", type=int, default=d.pad, help="padding bytes per line")
    ap.add_argument(
        "--fast-pad", type=int, default=d.fast_pad, help="padding bytes per line of the first file"
    )
    ap.add_argument("--write-every", type=float, default=d.write_every, help="seconds between writes")
    ap.add_argument(
        "--rotate-every", type=float, default=d.rotate_every, help="mean seconds between rotations"
    )
    ap.add_argument(
        "--restart-every", type=float, default=60.0, help="seconds between restarts ±50%% (0: none)"
    )
    ap.add_argument(
        "--down", type=float, nargs=2, default=d.down, metavar=("MIN", "MAX"), help="seconds down"
    )
    ap.add_argument("--raw-clients", type=int, default=d.raw_clients)
    ap.add_argument("--follow-clients", type=int, default=d.follow_clients)
    ap.add_argument(
        "--action-every", type=float, default=d.action_every, help="mean seconds between drops/stalls"
    )
    ap.add_argument("--stall", type=float, nargs=2, default=d.stall, metavar=("MIN", "MAX"))
    ap.add_argument("--keep", type=int, default=d.keep, help="rotated generations kept per file")
    ap.add_argument("--check-interval", type=float, default=d.check_interval, help="tailsse --check-interval")
    ap.add_argument("--drain", type=float, default=30.0, help="seconds allowed for clients to catch up")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--workdir", help="keep logs and server output here (default: a temporary directory)")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--dump", help="write every client's events and the generations here (JSON lines)")
    ap.add_argument("--evidence", type=int, default=8, help="lines of evidence shown per client")
    args = ap.parse_args(argv)
    params = ChaosParams(
        duration=args.duration,
        files=args.files,
        rate=args.rate,
        fast_rate=args.fast_rate,
        pad=args.pad,
        fast_pad=args.fast_pad,
        write_every=args.write_every,
        rotate_every=args.rotate_every,
        restart_every=args.restart_every,
        down=tuple(args.down),
        raw_clients=args.raw_clients,
        follow_clients=args.follow_clients,
        action_every=args.action_every,
        stall=tuple(args.stall),
        keep=args.keep,
        check_interval=args.check_interval,
        drain=args.drain,
        seed=args.seed,
    )
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tailsse-soak-"))
    try:
        report = run_chaos(params, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    if args.dump:
        dump(report, Path(args.dump))
    print(report.table())
    evidence = report.evidence(args.evidence)
    if evidence:
        print("\n" + evidence)
    print(
        "\nclean: every client got every line exactly once, in order" if report.clean else "\nDEFECTS FOUND"
    )
    if args.json:
        figures = {
            "params": dataclasses.asdict(params),
            "duration": report.duration,
            "written": report.written,
            "rotations": report.rotations,
            "restarts": report.restarts,
            "down": report.down,
            "reconnects": report.reconnects,
            "clients": [
                {k: v for k, v in dataclasses.asdict(c).items() if k != "evidence"} for c in report.clients
            ],
            "notes": report.notes,
        }
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
