"""GNU coreutils' tests/tail scenarios for ``-F``, run on tailsse and a real ``tail -F``.

Each test scripts the writes of one coreutils scenario (or a burst of rotations), follows
the file with ``tailsse serve`` (read by a raw-socket SSE client) and with GNU
``tail -F -n 0`` side by side, and checks on numbered, checksummed lines that tailsse
delivered every line that ``tail -F`` printed, never a line twice, never a line that was
not written, and in the order written. Where tailsse promises more than ``tail -F``
(every line written after the viewer connected: nothing was lost), that is checked too.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.chaos_support import (
    TAIL,
    Line,
    RawClient,
    Stop,
    TailF,
    TailsseServer,
    free_port,
    make_line,
    parse_line,
    process_resources,
    settle,
    wait_until,
)

pytestmark = pytest.mark.skipif(not os.access(TAIL, os.X_OK), reason="GNU tail is not installed")

MODES = ["inotify", "poll"]  # poll: tail ---disable-inotify and tailsse --poll


class Scribe:
    """Writes numbered lines (one write() per call) and remembers every one, in order."""

    def __init__(self) -> None:
        self.order: dict[Line, int] = {}
        self.written: list[Line] = []
        self.seq: Counter[str] = Counter()
        self.gen: Counter[str] = Counter()

    def new_gen(self, label: str) -> None:
        self.gen[label] += 1

    def data(self, label: str, count: int = 1) -> tuple[bytes, list[Line]]:
        out, lines = [], []
        for _ in range(count):
            self.seq[label] += 1
            line = Line(label, self.gen[label], self.seq[label])
            self.order[line] = len(self.written)
            self.written.append(line)
            lines.append(line)
            out.append(make_line(label, line.gen, line.seq) + b"\n")
        return b"".join(out), lines

    def append(self, path: Path | str, label: str, count: int = 1) -> list[Line]:
        data, lines = self.data(label, count)
        with open(path, "ab") as f:
            f.write(data)
        return lines

    def rewrite(self, path: Path | str, label: str, count: int = 1) -> list[Line]:
        """Truncate and write in one go, like ``seq 11 15 > f`` (a new generation)."""
        self.new_gen(label)
        data, lines = self.data(label, count)
        with open(path, "wb") as f:
            f.write(data)
        return lines

    def since(self, first: Line) -> list[Line]:
        return self.written[self.order[first] :]


def show(lines: list[Line], limit: int = 12) -> str:
    text = ", ".join(f"{x.file} g{x.gen} #{x.seq}" for x in lines[:limit])
    return text + (f" … ({len(lines)} in all)" if len(lines) > limit else "")


def problems(
    scribe: Scribe, got: list[str], reference: list[str], expected: list[Line] | None, one_path: bool = True
) -> list[str]:
    """What is wrong with ``got`` (tailsse), given what tail -F printed and what was due.

    Order: lines of one file (label and generation) in the order written; ``one_path``:
    also across generations, since each one followed the last at the same path.
    """
    found: list[str] = []
    parsed = [parse_line(text) for text in got]
    corrupt = [text for text, line in zip(got, parsed, strict=True) if line is None]
    if corrupt:
        found.append(f"{len(corrupt)} lines that are not whole written lines: {corrupt[:5]!r}")
    phantom = [line for line in parsed if line is not None and line not in scribe.order]
    if phantom:
        found.append(f"lines never written: {show(phantom)}")
    valid = [line for line in parsed if line is not None and line in scribe.order]
    dups = [line for line, n in Counter(valid).items() if n > 1]
    if dups:
        found.append(f"duplicated: {show(dups)}")
    last: dict[tuple[str, int], Line] = {}
    inversions = []
    for line in valid:
        key = (line.file, line.gen) if not one_path else ("", 0)
        if key in last and scribe.order[line] < scribe.order[last[key]]:
            inversions.append((last[key], line))
        last[key] = line
    if inversions:
        pairs = "; ".join(f"{show([a])} then {show([b])}" for a, b in inversions[:5])
        found.append(f"{len(inversions)} out of order: {pairs}")
    have = set(valid)
    ref = [line for line in map(parse_line, reference) if line is not None and line in scribe.order]
    behind_tail = [line for line in dict.fromkeys(ref) if line not in have]
    if behind_tail:
        found.append(f"missing although tail -F printed them: {show(behind_tail)}")
    if expected is not None:
        missing = [line for line in expected if line not in have]
        if missing:
            found.append(f"missing (written after the viewer connected): {show(missing)}")
    return found


def outline(client: RawClient, limit: int = 40) -> str:
    """What a stream carried, lines run together: "g0 #1-#5, rotated, g1 #6-#7"."""
    parts: list[str] = []
    run: list[Line] = []

    def flush() -> None:
        if run:
            a, b = run[0], run[-1]
            parts.append(f"g{a.gen} #{a.seq}" + (f"-#{b.seq}" if b != a else ""))
            run.clear()

    for event in client.record.events:
        line = parse_line(event.data) if event.kind == "message" else None
        if line is not None and run and (line.gen, line.seq) == (run[-1].gen, run[-1].seq + 1):
            run.append(line)
            continue
        flush()
        if line is not None:
            run.append(line)
        else:
            parts.append(event.kind if event.kind != "message" else f"?{event.data[:30]!r}")
    flush()
    return ", ".join(parts[:limit]) + (f", … ({len(parts) - limit} more)" if len(parts) > limit else "")


class SideBySide:
    """A tailsse server with raw SSE clients, and GNU tail -F, on the same files."""

    def __init__(
        self,
        tmp_path: Path,
        stop: Stop,
        paths: list[Path],
        mode: str = "inotify",
        scribe: Scribe | None = None,
    ) -> None:
        self.stop = stop
        self.mode = mode
        self.scribe = scribe or Scribe()
        self.notes: list[str] = []
        self._patience = 5.0
        extra = ["--heartbeat", "0", "--check-interval", "0.5"]
        if mode == "poll":
            extra = ["--heartbeat", "0", "--check-interval", "0.1", "--poll"]
        self.server = TailsseServer(
            [str(p) for p in paths], free_port(), str(tmp_path / "tailsse.log"), tuple(extra)
        )
        self.server.start()
        stop.add(self.server.stop)
        self.clients: dict[str, RawClient] = {}
        self.tails: list[TailF] = []

    def stream(self, name: str, query: str = "lines=0") -> RawClient:
        client = RawClient(self.server.port, name, query=query)
        assert client.connect(), "cannot connect to tailsse"
        self.stop.add(client.drop)
        assert client.wait_ready(), "the event stream did not start"
        self.clients[name] = client
        return client

    def tail(self, paths: list[Path], lines: int = 0) -> TailF:
        tail = TailF([str(p) for p in paths], lines=lines, inotify=self.mode == "inotify")
        self.stop.add(tail.stop)
        self.tails.append(tail)
        return tail

    def seen(self, client: RawClient, line: Line) -> bool:
        return any(parse_line(text) == line for text in client.record.texts())

    @staticmethod
    def tail_seen(tail: TailF, line: Line, path: Path | None = None) -> bool:
        return any(parse_line(text) == line for text in tail.lines(str(path) if path else None))

    def wait_both(
        self, client: RawClient, tail: TailF, line: Line, path: Path | None = None, step: str = ""
    ) -> None:
        """Wait (bounded) until both printed ``line``; note who did not."""
        ok = wait_until(lambda: self.seen(client, line) and self.tail_seen(tail, line, path), self._patience)
        if not ok:
            who = [
                n
                for n, s in (
                    ("tailsse", self.seen(client, line)),
                    ("tail -F", self.tail_seen(tail, line, path)),
                )
                if not s
            ]
            self.notes.append(f"{step or show([line])}: {' and '.join(who)} did not print {show([line])}")
            self._patience = 1.0  # do not wait as long again

    def warm_up(self, path: Path, label: str, clients: list[RawClient], tail: TailF) -> Line:
        """Append lines until every reader printed one (tail -F gives no sign it is ready)."""
        for _ in range(100):
            [line] = self.scribe.append(path, label)
            if wait_until(
                lambda line=line: (
                    all(self.seen(c, line) for c in clients) and self.tail_seen(tail, line, path)
                ),
                0.2,
            ):
                return line
        raise AssertionError("the readers never printed a warm-up line")

    def finish(self, path: Path, label: str, clients: list[RawClient]) -> Line:
        """One last line, waited for, then until nothing more arrives (late duplicates)."""
        [last] = self.scribe.append(path, label)
        for client in clients:
            wait_until(lambda c=client: self.seen(c, last), 5)
        settle(lambda: sum(len(c.record.events) for c in clients) + sum(t.reads for t in self.tails), 0.4, 5)
        return last

    def check(
        self, client: RawClient, tail: TailF, expected: list[Line] | None, path: Path | None = None
    ) -> None:
        reference = tail.lines(str(path) if path else None)
        found = problems(self.scribe, client.record.texts(), reference, expected, one_path=path is None)
        if not self.server.running():
            found.append("the tailsse server died")
        if found:
            raise AssertionError(
                f"stream {client.name}?{client.query}: "
                + "; ".join(found + self.notes)
                + f". tailsse sent: {outline(client)}. tail -F printed {len(reference)} lines"
                + f" and said: {tail.stderr[-300:]!r}"
            )


@pytest.fixture
def stop():
    with Stop() as s:
        yield s


# -- coreutils tests/tail scenarios ------------------------------------------------------


def test_inotify_rotate(tmp_path, stop):
    """inotify-rotate: an empty x renamed over the followed k, ten times, lines before and after."""
    k = tmp_path / "k"
    k.write_bytes(b"")
    sb = SideBySide(tmp_path, stop, [k])
    client = sb.stream("k")
    tail = sb.tail([k])
    first = sb.warm_up(k, "k", [client], tail)
    for i in range(10):
        (tmp_path / "x").write_bytes(b"")
        [tailed] = sb.scribe.append(k, "k")
        sb.wait_both(client, tail, tailed, step=f"round {i} before the rename")
        rotated, replaced = len(client.record.notices("rotated")), tail.stderr.count("replaced")
        sb.scribe.new_gen("k")
        os.rename(tmp_path / "x", k)
        if not wait_until(
            lambda r=rotated, p=replaced: (
                len(client.record.notices("rotated")) > r and tail.stderr.count("replaced") > p
            ),
            5,
        ):
            sb.notes.append(f"round {i}: the rename was not reported by both")
        [ok] = sb.scribe.append(k, "k")
        sb.wait_both(client, tail, ok, step=f"round {i} after the rename")
    sb.finish(k, "k", [client])
    sb.check(client, tail, sb.scribe.since(first))
    assert len(client.record.notices("rotated")) == 10


def test_inotify_rotate_resources(tmp_path, stop):
    """inotify-rotate-resources: k renamed away and created again, 30 times; no fd or watch leak."""
    k = tmp_path / "k"
    k.write_bytes(b"")
    sb = SideBySide(tmp_path, stop, [k])
    client = sb.stream("k")
    tail = sb.tail([k])
    first = sb.warm_up(k, "k", [client], tail)
    counts = {}
    for i in range(30):
        [tailed] = sb.scribe.append(k, "k")
        sb.wait_both(client, tail, tailed, step=f"round {i}")
        missing = len(client.record.notices("missing"))
        inaccessible = tail.stderr.count("inaccessible")
        os.rename(k, tmp_path / "k.tmp")
        if not wait_until(
            lambda m=missing, n=inaccessible: (
                len(client.record.notices("missing")) > m and tail.stderr.count("inaccessible") > n
            ),
            5,
        ):
            sb.notes.append(f"round {i}: the rename away was not reported by both")
        sb.scribe.new_gen("k")
        if i in (9, 29):
            counts[i] = process_resources(sb.server.pid)
    sb.scribe.append(k, "k")
    sb.finish(k, "k", [client])
    sb.check(client, tail, sb.scribe.since(first))
    (fds_10, watches_10), (fds_30, watches_30) = counts[9], counts[29]
    assert fds_30 <= fds_10 and watches_30 <= watches_10, (
        f"after 10 rounds {counts[9]}, after 30 {counts[29]}"
    )


@pytest.mark.parametrize("mode", MODES)
def test_truncate(tmp_path, stop, mode):
    """truncate: 10 lines, then the file rewritten shorter (`seq 11 15 > f`); followed again from 0."""
    f = tmp_path / "f"
    scribe = Scribe()
    scribe.append(f, "f", 10)
    sb = SideBySide(tmp_path, stop, [f], mode, scribe)
    client = sb.stream("f")
    tail = sb.tail([f])
    first = sb.warm_up(f, "f", [client], tail)
    lines = sb.scribe.rewrite(f, "f", 5)
    sb.wait_both(client, tail, lines[-1], step="after the rewrite")
    sb.scribe.append(f, "f", 3)
    sb.finish(f, "f", [client])
    sb.check(client, tail, sb.scribe.since(first))
    assert client.record.notices("truncated"), "no truncated event"


@pytest.mark.parametrize("mode", MODES)
def test_truncate_then_rewritten_longer(tmp_path, stop, mode):
    """truncate, harder: rewritten at once to more bytes than were read (the size never drops)."""
    f = tmp_path / "f"
    f.write_bytes(b"")
    sb = SideBySide(tmp_path, stop, [f], mode)
    client = sb.stream("f")
    tail = sb.tail([f])
    first = sb.warm_up(f, "f", [client], tail)
    lines = sb.scribe.rewrite(f, "f", 30)
    sb.wait_both(client, tail, lines[-1], step="after the rewrite")
    sb.finish(f, "f", [client])
    sb.check(client, tail, sb.scribe.since(first))


@pytest.mark.parametrize("mode", MODES)
def test_F_vs_missing(tmp_path, stop, mode):
    """F-vs-missing: missing/file, directory and all, appears after tail -F started."""
    f = tmp_path / "missing" / "file"
    sb = SideBySide(tmp_path, stop, [f], mode)
    client = sb.stream("file")
    tail = sb.tail([f])
    assert wait_until(lambda: "cannot open" in tail.stderr and client.record.notices("missing"), 10)
    (tmp_path / "missing").mkdir()
    [x] = sb.scribe.append(f, "file")
    sb.wait_both(client, tail, x, step="after it appeared")
    assert wait_until(lambda: "has appeared" in tail.stderr, 5)
    sb.scribe.append(f, "file", 3)
    sb.finish(f, "file", [client])
    sb.check(client, tail, sb.scribe.since(x))
    assert client.record.notices("appeared"), "no appeared event"


@pytest.mark.parametrize("mode", MODES)
def test_F_vs_rename(tmp_path, stop, mode):
    """F-vs-rename: a and b followed; `mv a b`, then a written again, then both appended.

    Lines are labelled by the file they were written to: A0 (a, later renamed to b), B0
    (the first b), A1 (the new a).
    """
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"")
    b.write_bytes(b"")
    sb = SideBySide(tmp_path, stop, [a, b], mode)
    ca, cb = sb.stream("a"), sb.stream("b")
    tail = sb.tail([a, b])
    first_a = sb.warm_up(a, "A0", [ca], tail)
    first_b = sb.warm_up(b, "B0", [cb], tail)
    [x] = sb.scribe.append(a, "A0")
    sb.wait_both(ca, tail, x, a, step="x in a")
    os.rename(a, b)
    sb.wait_both(cb, tail, x, b, step="x in b after the rename")
    [x2] = sb.scribe.append(a, "A1")
    sb.wait_both(ca, tail, x2, a, step="x2 in a")
    [y] = sb.scribe.append(b, "A0")
    sb.wait_both(cb, tail, y, b, step="y in b")
    [z] = sb.scribe.append(a, "A1")
    sb.wait_both(ca, tail, z, a, step="z in a")
    end_a = sb.finish(a, "A1", [ca])
    end_b = sb.finish(b, "A0", [cb])
    written, order = sb.scribe.written, sb.scribe.order
    # a: its lines until the rename, then the new a. b: its own lines, then all of the
    # file that was a, from its first byte (tail -F prints that too).
    expected_a = [line for line in sb.scribe.since(first_a) if line.file == "A0" and order[line] <= order[x]]
    expected_a += [line for line in written if line.file == "A1"]
    assert expected_a[-3:] == [x2, z, end_a]
    sb.check(ca, tail, expected_a, a)
    expected_b = [line for line in sb.scribe.since(first_b) if line.file == "B0"]
    expected_b += [line for line in written if line.file == "A0"]
    sb.check(cb, tail, expected_b, b)
    # a was gone for a moment: missing, then appeared (or, noticed late, one rotation).
    assert (ca.record.notices("missing") and ca.record.notices("appeared")) or ca.record.notices("rotated")
    assert cb.record.notices("rotated")
    assert end_b in [parse_line(t) for t in cb.record.texts()]


def test_inotify_dir_recreate(tmp_path, stop):
    """inotify-dir-recreate: dir/file followed, `rm -r dir`, dir and file made again."""
    d = tmp_path / "dir"
    d.mkdir()
    f = d / "file"
    f.write_bytes(b"")
    sb = SideBySide(tmp_path, stop, [f])
    client = sb.stream("file")
    tail = sb.tail([f])
    first = sb.warm_up(f, "file", [client], tail)
    shutil.rmtree(d)
    assert wait_until(lambda: "inaccessible" in tail.stderr and client.record.notices("missing"), 10)
    d.mkdir()
    sb.scribe.new_gen("file")
    [again] = sb.scribe.append(f, "file")
    # GNU tail 9.1 here does not pick dir/file up again (not within 10 s): wait for tailsse only.
    assert wait_until(lambda: sb.seen(client, again), 5), "tailsse did not follow the recreated dir/file"
    sb.scribe.append(f, "file", 3)
    sb.finish(f, "file", [client])
    sb.check(client, tail, sb.scribe.since(first))


def test_symlink_to_missing_target(tmp_path, stop):
    """symlink, part 1: the followed symlink points nowhere, then its target is written."""
    link = tmp_path / "symlink"
    os.symlink("target", link)
    sb = SideBySide(tmp_path, stop, [link])
    client = sb.stream("symlink")
    tail = sb.tail([link])
    assert wait_until(lambda: "cannot open" in tail.stderr and client.record.notices("missing"), 10)
    [x] = sb.scribe.append(tmp_path / "target", "symlink")
    sb.wait_both(client, tail, x, step="the target appeared")
    sb.scribe.append(tmp_path / "target", "symlink", 3)
    sb.finish(tmp_path / "target", "symlink", [client])
    sb.check(client, tail, sb.scribe.since(x))


def test_symlink_retargeted_to_missing_then_created(tmp_path, stop):
    """symlink, part 2: symlink -> target1, retargeted to target2 (missing), then target2 written."""
    link = tmp_path / "symlink"
    target1, target2 = tmp_path / "target1", tmp_path / "target2"
    target1.write_bytes(b"")
    os.symlink("target1", link)
    sb = SideBySide(tmp_path, stop, [link])
    client = sb.stream("symlink")
    tail = sb.tail([link])
    first = sb.warm_up(target1, "symlink", [client], tail)
    os.symlink("target2", tmp_path / "symlink.new")
    os.rename(tmp_path / "symlink.new", link)  # ln -nsf
    assert wait_until(lambda: "inaccessible" in tail.stderr and client.record.notices("missing"), 10)
    sb.scribe.new_gen("symlink")
    [x2] = sb.scribe.append(target2, "symlink")
    sb.wait_both(client, tail, x2, step="target2 appeared")
    sb.scribe.append(target2, "symlink", 3)
    sb.finish(target2, "symlink", [client])
    sb.check(client, tail, sb.scribe.since(first))


@pytest.mark.parametrize("mode", MODES)
def test_retry_missing_file(tmp_path, stop, mode):
    """retry: `--follow=name --retry missing`, then `echo X > missing`."""
    f = tmp_path / "missing"
    sb = SideBySide(tmp_path, stop, [f], mode)
    client = sb.stream("missing")
    tail = sb.tail([f])
    assert wait_until(lambda: "cannot open" in tail.stderr and client.record.notices("missing"), 10)
    [x] = sb.scribe.append(f, "missing")
    sb.wait_both(client, tail, x, step="it appeared")
    sb.scribe.append(f, "missing", 3)
    sb.finish(f, "missing", [client])
    sb.check(client, tail, sb.scribe.since(x))


@pytest.mark.parametrize("mode", MODES)
def test_retry_untailable_then_a_file(tmp_path, stop, mode):
    """retry: the missing path becomes a directory (untailable), then a file is written there.

    (A directory given as PATH is served as a directory of files, so it starts missing.)
    """
    f = tmp_path / "untailable"
    sb = SideBySide(tmp_path, stop, [f], mode)
    client = sb.stream("untailable")
    tail = sb.tail([f])
    assert wait_until(lambda: "cannot open" in tail.stderr and client.record.notices("missing"), 10)
    f.mkdir()
    assert wait_until(lambda: "untailable" in tail.stderr and client.record.notices("unreadable"), 10)
    f.rmdir()
    [foo] = sb.scribe.append(f, "untailable")
    sb.wait_both(client, tail, foo, step="the file replaced the directory")
    sb.scribe.append(f, "untailable", 3)
    sb.finish(f, "untailable", [client])
    sb.check(client, tail, sb.scribe.since(foo))
    assert "giving up" not in tail.stderr


def test_start_middle(tmp_path, stop):
    """start-middle: reading starts where the file is, not at 0; a partial last line is held.

    The file has 5 lines and half of a 6th when both start: `tail -F -n 2` and a stream
    with ?lines=2 start at the last lines; `tail -F -n 0` prints only the rest of the 6th,
    while a stream with ?lines=0 sends the whole 6th line once it is complete.
    """
    f = tmp_path / "k"
    scribe = Scribe()
    scribe.append(f, "k", 5)
    data, [sixth] = scribe.data("k")
    with open(f, "ab") as out:
        out.write(data[:20])
    sb = SideBySide(tmp_path, stop, [f], scribe=scribe)
    backlog = sb.stream("k", "lines=2")
    live = sb.stream("k", "lines=0")
    tail2 = sb.tail([f], lines=2)
    tail0 = sb.tail([f], lines=0)
    assert wait_until(lambda: len(backlog.record.texts()) >= 2 and tail2.lines(), 10)
    with open(f, "ab") as out:
        out.write(data[20:])
    sb.wait_both(backlog, tail2, sixth, step="the sixth line completed")
    sb.scribe.append(f, "k", 3)
    sb.finish(f, "k", [backlog, live])
    sb.check(backlog, tail2, scribe.since(scribe.written[3]))
    sb.check(live, tail0, scribe.since(sixth))


# -- rapid rotations ---------------------------------------------------------------------


def rapid(
    tmp_path: Path, stop: Stop, path: Path, rotate, rounds: int, interval: float, expect_all: bool
) -> None:
    """Follow ``path``, call ``rotate(scribe, i)`` ``rounds`` times, ``interval`` apart, check."""
    sb = SideBySide(tmp_path, stop, [path])
    client = sb.stream(path.name)
    tail = sb.tail([path])
    first = sb.warm_up(path, path.name, [client], tail)
    for i in range(rounds):
        rotate(sb.scribe, i)
        time.sleep(interval)
    sb.finish(path, path.name, [client])
    sb.check(client, tail, sb.scribe.since(first) if expect_all else None)


def test_rapid_rename_away_and_create(tmp_path, stop):
    """logrotate's create, 100 times 10 ms apart: mv app.log app.log.N; a new app.log; a line."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")

    def rotate(scribe: Scribe, i: int) -> None:
        os.rename(path, f"{path}.{i}")
        scribe.new_gen(path.name)
        scribe.append(path, path.name)

    # Every generation stays on disk under its rotated name: nothing may be missing.
    rapid(tmp_path, stop, path, rotate, 100, 0.01, expect_all=True)


def test_rapid_rename_over(tmp_path, stop):
    """50 times 20 ms apart: a new generation written as app.log.new, renamed over app.log, appended."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    new = tmp_path / "app.new"

    def rotate(scribe: Scribe, i: int) -> None:
        scribe.rewrite(new, path.name)
        os.rename(new, path)
        scribe.append(path, path.name)

    rapid(tmp_path, stop, path, rotate, 50, 0.02, expect_all=False)


def test_rapid_copytruncate(tmp_path, stop):
    """50 times 20 ms apart: cp app.log app.log.N, truncate app.log, two lines (two writes).

    A line written just before a truncation is lost whoever reads (only the copy has it);
    here each line has the 20 ms before the next truncation to be read.
    """
    path = tmp_path / "app.log"
    path.write_bytes(b"")

    def rotate(scribe: Scribe, i: int) -> None:
        shutil.copyfile(path, f"{path}.{i}")
        os.truncate(path, 0)
        scribe.new_gen(path.name)
        scribe.append(path, path.name)
        scribe.append(path, path.name)

    rapid(tmp_path, stop, path, rotate, 50, 0.02, expect_all=False)


def test_rapid_delete_and_recreate(tmp_path, stop):
    """50 times 20 ms apart: rm app.log; a new app.log with a line; another line."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")

    def rotate(scribe: Scribe, i: int) -> None:
        os.unlink(path)
        scribe.new_gen(path.name)
        scribe.append(path, path.name)
        scribe.append(path, path.name)

    rapid(tmp_path, stop, path, rotate, 50, 0.02, expect_all=False)


def test_rapid_symlink_retarget(tmp_path, stop):
    """50 times 20 ms apart: target N written, app.log (a symlink) retargeted to it, appended."""
    (tmp_path / "t").mkdir()
    path = tmp_path / "app.log"
    (tmp_path / "t" / "0").write_bytes(b"")
    os.symlink("t/0", path)

    def rotate(scribe: Scribe, i: int) -> None:
        target = tmp_path / "t" / str(i + 1)
        scribe.rewrite(target, path.name)
        os.symlink(f"t/{i + 1}", tmp_path / "link.new")
        os.rename(tmp_path / "link.new", path)
        scribe.append(target, path.name)

    rapid(tmp_path, stop, path, rotate, 50, 0.02, expect_all=False)


# -- rotations while the log (or a neighbour) is being written -----------------------------


def replace_by(style: str, tmp_path: Path, path: Path) -> Callable[[Scribe, int], Path]:
    """A rotation of ``style``; it returns where the next lines go."""

    def rotate(scribe: Scribe, i: int) -> Path:
        if style == "rename-away":
            os.rename(path, f"{path}.{i}")
            scribe.new_gen(path.name)
            scribe.append(path, path.name)
            return path
        if style == "rename-over":
            scribe.rewrite(tmp_path / "app.new", path.name)
            os.rename(tmp_path / "app.new", path)
            return path
        if style == "delete-recreate":
            os.unlink(path)
            scribe.rewrite(path, path.name)
            return path
        assert style == "symlink-retarget"
        target = tmp_path / "t" / str(i + 1)
        scribe.rewrite(target, path.name)
        os.symlink(f"t/{i + 1}", tmp_path / "link.new")
        os.rename(tmp_path / "link.new", path)
        return target

    return rotate


@pytest.mark.parametrize(
    "style",
    [
        "rename-away",  # passes: the renamed files are found afterwards, only late
        "rename-over",
        "delete-recreate",
        "symlink-retarget",
    ],
)
def test_rotations_while_written_every_10ms(tmp_path, stop, style):
    """Three rotations 400 ms apart while a line is appended every 10 ms (a busy log)."""
    path = tmp_path / "app.log"
    if style == "symlink-retarget":
        (tmp_path / "t").mkdir()
        (tmp_path / "t" / "0").write_bytes(b"")
        os.symlink("t/0", path)
    else:
        path.write_bytes(b"")
    sb = SideBySide(tmp_path, stop, [path])
    client = sb.stream(path.name)
    tail = sb.tail([path])
    first = sb.warm_up(path, path.name, [client], tail)
    rotate = replace_by(style, tmp_path, path)
    target = path
    start = time.monotonic()
    for i in range(3):
        while time.monotonic() < start + 0.4 * (i + 1):
            sb.scribe.append(target, path.name)
            time.sleep(0.01)
        target = rotate(sb.scribe, i)
    while time.monotonic() < start + 1.6:
        sb.scribe.append(target, path.name)
        time.sleep(0.01)
    sb.finish(target, path.name, [client])
    sb.check(client, tail, sb.scribe.since(first) if style == "rename-away" else None)


def test_rotations_next_to_a_busy_file(tmp_path, stop):
    """app.log renamed over 3 times, 400 ms apart, while other.log (not followed) next to it
    gets a line every 10 ms: app.log itself gets two lines per generation."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    sb = SideBySide(tmp_path, stop, [path])
    client = sb.stream(path.name)
    tail = sb.tail([path])
    first = sb.warm_up(path, path.name, [client], tail)
    rotate = replace_by("rename-over", tmp_path, path)
    start = time.monotonic()
    for i in range(4):
        while time.monotonic() < start + 0.4 * (i + 1):
            with open(tmp_path / "other.log", "ab") as other:
                other.write(b"noise\n")
            time.sleep(0.01)
        if i < 3:
            rotate(sb.scribe, i)
            sb.scribe.append(path, path.name)
    sb.finish(path, path.name, [client])
    sb.check(client, tail, sb.scribe.since(first))
