"""Chaos: files written fast and rotated at random, the server restarted, clients dropped,
stalled and reconnected; every client's lines compared with what was written (see
tests/chaos_support.py; bench/soak.py runs the same for longer). Then the server restarts
of the chaos, scripted, so that each case happens every time."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time

import pytest

from tests.chaos_support import (
    ChaosParams,
    ChaosReport,
    RawClient,
    Stop,
    TailsseServer,
    free_port,
    make_line,
    parse_line,
    run_chaos,
    settle,
    wait_until,
)


def check(report: ChaosReport, restarts: bool = True) -> None:
    print(report.table())
    assert report.restarts >= 1 or not restarts, "the server was never restarted"
    assert sum(report.rotations.values()) >= 8, report.rotations
    assert len(set(report.rotations)) >= 4, report.rotations
    assert report.reconnects >= 10
    assert report.clean, report.table() + "\n" + report.evidence()


def test_chaos_continuous_writes(tmp_path):
    """Three files written every 5 ms (one at 800 long lines/s), 10 s of chaos with restarts."""
    check(run_chaos(ChaosParams(duration=10.0, restart_every=3.0, seed=1), tmp_path))


def test_chaos_writes_in_bursts_no_restarts(tmp_path):
    """Writes in bursts 250 ms apart (quiet moments between them); rotations, drops and
    stalls, no restarts: 8 s."""
    check(run_chaos(ChaosParams(duration=8.0, write_every=0.25, restart_every=0, seed=2), tmp_path), False)


# -- restarts, scripted -------------------------------------------------------------------


class Log:
    """app.log with numbered lines; the generation is in each line."""

    def __init__(self, directory) -> None:
        self.dir = directory
        self.path = directory / "app.log"
        self.gen = 0
        self.seq = 0
        self.path.write_bytes(b"")

    def write(self, count: int, path=None) -> list[int]:
        seqs = []
        with open(path or self.path, "ab") as f:
            for _ in range(count):
                self.seq += 1
                seqs.append(self.seq)
                f.write(make_line("app.log", self.gen, self.seq) + b"\n")
        return seqs

    def logrotate(self) -> None:
        """logrotate's create with numbered names: app.log.1 -> app.log.2, app.log -> app.log.1."""
        for n in range(9, 0, -1):
            if os.path.exists(f"{self.path}.{n}"):
                os.rename(f"{self.path}.{n}", f"{self.path}.{n + 1}")
        os.rename(self.path, f"{self.path}.1")
        self.path.write_bytes(b"")
        self.gen += 1

    def rename_over(self) -> None:
        new = self.dir / "app.new"
        new.write_bytes(b"")
        os.rename(new, self.path)
        self.gen += 1


@pytest.fixture
def resumed(tmp_path):
    """step(while_down) runs: 5 lines received, the server stopped,
    while_down(log) run, the server started, the client resumed; returns the client."""
    with Stop() as stop:
        log = Log(tmp_path)
        server = TailsseServer(
            [str(log.path)], free_port(), str(tmp_path / "tailsse.log"), ("--heartbeat", "0")
        )
        server.start()
        stop.add(server.stop)
        client = RawClient(server.port, "app.log")
        stop.add(client.drop)

        def step(while_down) -> RawClient:
            assert client.connect() and client.wait_ready()
            log.write(5)
            assert wait_until(lambda: len(client.record.texts()) == 5, 5)
            server.stop()
            assert wait_until(lambda: not client.alive, 5)
            while_down(log)
            server.start()
            assert client.connect() and client.wait_ready()
            log.write(2)
            wait_until(
                lambda: (
                    parse_line((client.record.texts() or [""])[-1]) is not None
                    and parse_line(client.record.texts()[-1]).seq == log.seq
                ),
                5,
            )
            settle(lambda: len(client.record.events), 0.3, 3)
            return client

        yield step


def received(client: RawClient) -> list[int]:
    return [line.seq for line in map(parse_line, client.record.texts()) if line is not None]


def kinds(client: RawClient, session: int) -> list[str]:
    return [e.kind for e in client.record.events if e.session == session and e.kind != "message"]


def test_resume_after_restart_reads_every_generation(resumed):
    """Down: app.log gets lines 6-7, is rotated (logrotate create), the new one gets 8-10,
    is rotated again, the newest gets 11-12. The client resumes after line 5: 6-14, once."""
    step = resumed

    def while_down(log: Log) -> None:
        log.write(2)
        log.logrotate()
        log.write(3)
        log.logrotate()
        log.write(2)

    client = step(while_down)
    assert received(client) == list(range(1, 15)), (received(client), kinds(client, 1))


def test_resume_after_restart_says_lost_for_a_generation_gone(resumed):
    """Down: app.log replaced twice by rename-over (both older files unlinked). The client
    resumes after line 5: `lost`, then the current file from its first line."""
    step = resumed

    def while_down(log: Log) -> None:
        log.rename_over()
        log.write(3, log.path)
        log.rename_over()
        log.write(3, log.path)

    client = step(while_down)
    assert received(client) == [1, 2, 3, 4, 5, 9, 10, 11, 12, 13]
    assert "lost" in kinds(client, 1)
    lost = next(e for e in client.record.events if e.kind == "lost")
    assert json.loads(lost.data)["file"] == "app.log"


def test_resume_after_restart_copytruncate(resumed):
    """Down: lines 6-7 written, then copytruncate (cp app.log app.log.1; truncate) and 8-10.
    Lines 6-7 are only in the copy: `lost` (or `truncated`), then 8-12."""
    step = resumed

    def while_down(log: Log) -> None:
        log.write(2)
        shutil.copyfile(log.path, f"{log.path}.1")
        os.truncate(log.path, 0)
        log.gen += 1
        log.write(3)

    client = step(while_down)
    assert received(client) == [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]
    assert {"lost", "truncated"} & set(kinds(client, 1))


def test_resume_after_restart_delete_and_recreate(resumed):
    """Down: lines 6-7, app.log deleted and created again (often with the same inode), 8-10."""
    step = resumed

    def while_down(log: Log) -> None:
        log.write(2)
        os.unlink(log.path)
        log.path.write_bytes(b"")
        log.gen += 1
        log.write(3)

    client = step(while_down)
    assert received(client) == [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]
    assert "lost" in kinds(client, 1)


def _take_inode(path, inode: int, hold) -> bool:
    """Create ``path`` (empty) with inode ``inode``, which was just freed: ext4 hands out the
    lowest free inode, so the others are taken (moved into ``hold``, a directory made before
    the inode was freed) until it comes."""
    for i in range(500):
        path.write_bytes(b"")
        if os.stat(path).st_ino == inode:
            return True
        os.rename(path, hold / str(i))
    return False


@pytest.mark.parametrize("reused", [True, False], ids=["inode reused", "inode kept"])
def test_resume_after_restart_into_a_deleted_file(resumed, reused):
    """Down: app.log (lines 1-7) deleted; a new one gets 8-10 and is rotated (logrotate
    create) to app.log.1; the newest gets 11-12. The client resumes after line 5: 6-7 are
    gone, so it is told `lost`.

    When the new file took the deleted one's inode, it is certainly newer than the file the
    id named: it is read from its first byte (8-10), then 11-14. When nothing says where
    app.log.1 stands (the old inode is kept from reuse by a link elsewhere), it may be older
    than the deleted file, holding lines the client has seen: the stream goes on from the
    file that was current when the server started (11-14), repeating nothing."""

    def while_down(log: Log) -> None:
        log.write(2)
        inode = os.stat(log.path).st_ino
        (log.dir / "hold").mkdir()
        if not reused:
            os.link(log.path, log.dir / "hold" / "kept")  # not a generation of app.log
        os.unlink(log.path)
        if not reused:
            log.path.write_bytes(b"")
        elif not _take_inode(log.path, inode, log.dir / "hold"):
            pytest.skip("this file system did not reuse the inode")
        log.gen += 1
        log.write(3)
        log.logrotate()
        log.write(2)

    client = resumed(while_down)
    assert "lost" in kinds(client, 1)
    first = 8 if reused else 11
    assert received(client) == [1, 2, 3, 4, 5, *range(first, 15)], (received(client), kinds(client, 1))


def test_stalled_viewer_and_copytruncate(tmp_path):
    """A viewer stops reading (small SO_RCVBUF) while 11 MB are written; the file is then
    copytruncated and written again. When it reads again, what it missed of the old
    content is gone: it must be told (`truncated` or `lost`) before the gap, and get every
    line after the truncation."""
    with Stop() as stop:
        path = tmp_path / "app.log"
        path.write_bytes(b"")
        server = TailsseServer([str(path)], free_port(), str(tmp_path / "tailsse.log"), ("--heartbeat", "0"))
        server.start()
        stop.add(server.stop)
        slow = RawClient(server.port, "app.log", rcvbuf=4096)
        fast = RawClient(server.port, "app.log")
        for client in (slow, fast):
            stop.add(client.drop)
            assert client.connect() and client.wait_ready()
        seq = 0

        def write(count: int, gen: int) -> None:
            nonlocal seq
            with open(path, "ab") as f:
                for _ in range(count):
                    seq += 1
                    f.write(make_line("app.log", gen, seq, pad=500) + b"\n")

        slow.stall(60)
        for _ in range(40):
            write(500, 0)  # 20,000 lines of 540 bytes: more than the kernel's buffers and 1 MiB
            time.sleep(0.01)
        assert wait_until(lambda: len(fast.record.texts()) == 20000, 10)
        shutil.copyfile(path, f"{path}.1")
        os.truncate(path, 0)
        write(100, 1)
        assert wait_until(lambda: len(fast.record.texts()) == 20100, 10)
        slow.stall_until = 0
        assert wait_until(lambda: len(slow.record.texts()) > 100, 10)
        settle(lambda: len(slow.record.events), 0.5, 10)
        write(1, 1)  # one more line, so that a viewer back at the head has something to say
        assert wait_until(
            lambda: any(parse_line(t) and parse_line(t).seq == 20101 for t in slow.record.texts()), 10
        )
        settle(lambda: len(slow.record.events), 0.3, 3)
        got = [parse_line(t).seq for t in slow.record.texts()]
        notices = [e.kind for e in slow.record.events if e.kind != "message"]
        assert got == sorted(set(got)), "duplicated or out of order"
        assert got[-101:] == list(range(20001, 20102)), (
            f"the lines written after the truncation are missing: got #{got[0]}-…, gaps {_gaps(got)}, notices {notices}"
        )
        gaps = _gaps(got)
        if gaps:
            a, b = gaps[0]
            messages = [e for e in slow.record.events if e.kind == "message"]
            lo = slow.record.events.index(messages[got.index(a)])
            hi = slow.record.events.index(messages[got.index(b)])
            between = [e.kind for e in slow.record.events[lo:hi] if e.kind != "message"]
            assert {"truncated", "lost"} & set(between), f"lines #{a + 1}-#{b - 1} missing with no notice"


def _gaps(seqs):
    return [(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1]


def test_resume_from_a_notice_id_after_inode_reuse(tmp_path):
    """The client's last event is the `rotated` notice of a new app.log (inode X). While the
    server is down, lines 2-3 go to X, X is deleted, the new app.log gets inode X again and
    lines 4-5. Resuming from the notice's id: `lost` (X is gone), then 4-6."""
    with Stop() as stop:
        path = tmp_path / "app.log"
        path.write_bytes(b"")
        server = TailsseServer([str(path)], free_port(), str(tmp_path / "tailsse.log"), ("--heartbeat", "0"))
        server.start()
        stop.add(server.stop)
        client = RawClient(server.port, "app.log")
        stop.add(client.drop)
        assert client.connect() and client.wait_ready()
        seq = 0

        def write(count: int) -> None:
            nonlocal seq
            with open(path, "ab") as f:
                for _ in range(count):
                    seq += 1
                    f.write(make_line("app.log", 0, seq) + b"\n")

        write(1)
        assert wait_until(lambda: len(client.record.texts()) == 1, 5)
        os.unlink(path)
        path.write_bytes(b"")
        inode = os.stat(path).st_ino
        assert wait_until(lambda: client.record.notices("rotated"), 5)
        assert client.record.last_id == f"{inode:x}-0-0"
        server.stop()
        assert wait_until(lambda: not client.alive, 5)
        write(2)
        (tmp_path / "hold").mkdir()
        os.unlink(path)
        if not _take_inode(path, inode, tmp_path / "hold"):
            pytest.skip("this file system did not reuse the inode")
        write(2)
        server.start()
        assert client.connect() and client.wait_ready()
        write(1)
        assert wait_until(lambda: parse_line(client.record.texts()[-1]).seq == 6, 5)
        settle(lambda: len(client.record.events), 0.3, 3)
        got = [parse_line(t).seq for t in client.record.texts()]
        after = [e.kind for e in client.record.events if e.session == 1 and e.kind != "message"]
        assert "lost" in after and got == [1, 4, 5, 6], (got, after)
