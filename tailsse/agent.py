"""``tailsse agent PATH... --redis URL``: follow files like ``serve`` and append every line to Redis.

Each file has a stream (see :mod:`tailsse.redis_keys`). The agent reads with the same
Follower and Watcher as ``serve``, so rotations and truncations are handled the same way,
and writes each batch with its checkpoint (inode, fingerprint, offset) in one Lua script:
both land or neither does, and a retried write that had landed is recognised. After a
restart the agent validates the checkpoint like an event id, so lines written while it
was down arrive once. While Redis is unreachable it retries with backoff and reads no
further: the file is the buffer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import time
from itertools import chain, repeat
from typing import Any

from tornado.ioloop import IOLoop, PeriodicCallback

from tailsse.config import Config
from tailsse.files import dynamic_root, expand, is_dynamic, unique_name
from tailsse.follow import Batch, Change, Follower, Segment, backlog_start, fingerprint, open_segment
from tailsse.redis_keys import (
    FILES,
    WRITE_SCRIPT,
    alive_key,
    checkpoint_key,
    default_source,
    redis_client,
    state_key,
    stream_key,
    valid_source,
)
from tailsse.watch import Watcher

log = logging.getLogger(__name__)

AGENT_OPTIONS = ("redis", "source", "retention", "lines", "max_line_bytes", "poll", "check_interval")
REDIS_ENV = "TAILSSE_REDIS"  # read when --redis is not given
BACKOFF_MIN = 0.05
BACKOFF_MAX = 5.0


def _holds(seg: Segment, offset: int, check: int) -> bool:
    """Whether an open file still has the bytes a checkpoint saw before ``offset``."""
    try:
        return offset <= os.fstat(seg.fd).st_size and fingerprint(seg.fd, offset) == check
    except OSError:
        return False


def find_renamed(path: str, ino: int, offset: int, check: int) -> Segment | None:
    """The file a checkpoint names, if it was rotated to a name next to ``path``."""
    directory, base = os.path.split(path)
    try:
        entries = sorted(e.path for e in os.scandir(directory) if e.name.startswith(base) and e.name != base)
    except OSError:
        return None
    for name in entries:
        try:
            if os.stat(name).st_ino != ino:
                continue
            seg = open_segment(name)
        except OSError:
            continue
        if seg.ino == ino and _holds(seg, offset, check):
            seg.kind = "rotated"
            return seg
        seg.close()
    return None


class FileAgent:
    """One followed file and its stream."""

    def __init__(self, agent: Agent, name: str, path: str) -> None:
        config = agent.config
        self.agent = agent
        self.name = name
        self.full_name = f"{agent.source}/{name}"
        self.keys = [stream_key(self.full_name), checkpoint_key(agent.source), FILES]
        self.follower = Follower(path, config.max_line_bytes, config.read_chunk)
        self.checkpoint = b""  # as stored in Redis
        self.seq = 0  # counts writes, so every checkpoint differs from the one before
        self.prelude: list[bytes] = []  # entries to write before the next lines
        self.reported_state = ""
        self.resumed = False  # nothing is read before the checkpoint is known
        self._running = False
        self._again = False
        self._task: asyncio.Task[None] | None = None

    async def resume(self) -> None:
        """Position the follower where the checkpoint in Redis says, or near the end the first time."""
        await self._resume()
        self.resumed = True

    async def _resume(self) -> None:
        raw = await self.agent.call(lambda r: r.hget(self.keys[1], self.name))
        fol = self.follower
        fol.start()
        cur = fol.segment
        if raw is None:
            if cur is not None:  # first start: a backlog, as serve would show
                fol.pos = backlog_start(cur.fd, fol.pos, self.agent.config.lines)
            return
        self.checkpoint = raw
        try:
            seq, ino, offset, check = (int(x) for x in raw.split())
        except ValueError:
            seq, ino, offset, check = 0, -1, 0, 0
        self.seq = seq
        if ino == 0:  # there was no file when the agent stopped
            if cur is not None:
                fol.pos = 0
                self.prelude += [b"k", b"appeared"]
            return
        if cur is not None and cur.ino == ino and _holds(cur, offset, check):
            fol.pos = offset
            log.info("%s: resuming at offset %d", fol.path, offset)
            return
        old = find_renamed(fol.path, ino, offset, check)
        if old is not None:
            log.info("%s: resuming in the rotated-away file at offset %d", fol.path, offset)
            fol.segment, fol.pos = old, offset
            if cur is not None:
                cur.kind = "rotated"
                fol.queue.append(cur)
            return
        detail = b"the agent's saved position is no longer in the file"
        if cur is not None:
            fol.pos = 0
            self.prelude += [b"k", b"truncated" if cur.ino == ino else b"lost\n" + detail]
        else:
            self.prelude += [b"k", b"lost\n" + detail, b"k", b"missing"]

    def wake(self) -> None:
        """Read and send whatever is new; safe to call at any time."""
        if not self.resumed:
            return
        if self._running:
            self._again = True
            return
        self._running = True
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            more = True
            while more or self._again:
                self._again = False
                items, more = self.follower.poll(self.agent.config.read_budget)
                entries = self.prelude
                self.prelude = []
                for item in items:
                    if isinstance(item, Batch):
                        entries.extend(chain.from_iterable(zip(repeat(b"d"), item.lines.data)))
                    elif isinstance(item, Change):
                        detail = b"\n" + item.detail.encode() if item.detail else b""
                        entries += [b"k", item.kind.encode() + detail]
                if entries:
                    await self._write(entries)
                if self.follower.state != self.reported_state:
                    state = self.follower.state
                    await self.agent.call(
                        lambda r, s=state: r.hset(state_key(self.agent.source), self.name, s)
                    )
                    self.reported_state = state
                if self.follower.wait:
                    IOLoop.current().call_later(self.follower.wait, self.wake)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: failed", self.follower.path)
        finally:
            self._running = False

    async def _write(self, entries: list[bytes]) -> None:
        """Append entries and move the checkpoint, in one step; retry until Redis has it."""
        fol = self.follower
        seg = fol.segment
        if seg is None:
            position = (0, 0, 0)
        else:
            position = (seg.ino, fol.pos, seg.fingerprint(fol.pos))
        checkpoint = b"%d %d %d %d" % (self.seq + 1, *position)
        args = [self.name, self.checkpoint, checkpoint, self.agent.config.retention, self.full_name, *entries]
        status = await self.agent.call(lambda r: self.agent.script(keys=self.keys, args=args, client=r))
        if status == 2:
            log.warning(
                "%s: its checkpoint was moved by someone else (another agent with this --source?)",
                self.full_name,
            )
        self.seq += 1
        self.checkpoint = checkpoint

    async def close(self) -> None:
        """Stop following (an unfinished write is retried by the next agent, not here)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self.follower.close()


class Agent:
    """Every followed file of one host, the watcher that wakes them, and the Redis client."""

    def __init__(self, config: Config, files: dict[str, str], source: str = "", redis: Any = None) -> None:
        self.config = config
        self.source = source or config.source or default_source()
        if not valid_source(self.source):
            raise ValueError(f"--source: use letters, digits, '.', '_' and '-' only: {self.source!r}")
        self.redis = redis if redis is not None else redis_client(config.redis)
        self.script = self.redis.register_script(WRITE_SCRIPT)
        self.files = [FileAgent(self, name, path) for name, path in files.items()]
        # Directories and globs among the PATHs can gain files while the agent runs.
        self._dynamic = tuple(p for p in config.paths if is_dynamic(p))
        self._adding: set[asyncio.Future[None]] = set()
        self.error = ""  # why Redis cannot be reached, while it cannot
        self._watcher: Watcher | None = None
        self._timer: PeriodicCallback | None = None
        self._closing = False
        self._alive_task: asyncio.Future[None] | None = None

    async def call(self, op: Any) -> Any:
        """Run ``op(client)``; while Redis is unreachable, log it and retry with backoff."""
        from redis.exceptions import ConnectionError, TimeoutError

        delay = BACKOFF_MIN
        while True:
            try:
                result = await op(self.redis)
            except (ConnectionError, TimeoutError, OSError) as exc:
                if self._closing:
                    raise
                if not self.error:
                    log.warning("redis unavailable (%s); retrying", exc)
                self.error = str(exc) or type(exc).__name__
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if self.error:
                log.info("redis available again")
                self.error = ""
            return result

    async def start(self) -> None:
        """Resume every file from its checkpoint, then watch and send. Call on the IOLoop."""
        loop = IOLoop.current()
        config = self.config
        self._watcher = Watcher(loop, self._changed, config.poll, config.check_interval)
        for directory in self._dynamic:
            self._watcher.watch_directory(dynamic_root(directory))
        for fa in self.files:
            self._watch(fa)
        await self.call(lambda r: r.sadd(FILES, *[fa.full_name for fa in self.files]))
        for fa in self.files:
            await fa.resume()
        self._watcher.start()
        await self._alive()
        self._timer = PeriodicCallback(self._check_all, config.check_interval * 1000)
        self._timer.start()
        self._check_all()

    def _watch(self, fa: FileAgent) -> None:
        assert self._watcher is not None
        # Watch before opening: a write in between is then seen by the first read.
        self._watcher.watch(fa.follower.path)
        fa.follower.moved_away = self._watcher.moved_away
        fa.follower.quiet_for = self._watcher.quiet_for

    def rescan(self) -> None:
        """Follow files that appeared in followed directories or now match a glob."""
        if not self._dynamic or self._watcher is None:
            return
        known = {fa.follower.path for fa in self.files}
        names = {fa.name for fa in self.files}
        for path in expand(self._dynamic):
            if path not in known:
                fa = FileAgent(self, unique_name(path, names), path)
                names.add(fa.name)
                self.files.append(fa)
                self._watch(fa)
                log.info("following %s as %s", path, fa.full_name)
                task = asyncio.ensure_future(self._add(fa))
                self._adding.add(task)
                task.add_done_callback(self._adding.discard)

    async def _add(self, fa: FileAgent) -> None:
        await self.call(lambda r: r.sadd(FILES, fa.full_name))
        await fa.resume()
        fa.wake()

    def _changed(self, path: str) -> None:
        if not path:
            self.rescan()
            return
        for fa in self.files:
            if fa.follower.path == path:
                fa.wake()

    def _check_all(self) -> None:
        if self._watcher is not None:
            self._watcher.rewatch()
        self.rescan()
        for fa in self.files:
            fa.wake()
        self._alive_task = asyncio.ensure_future(self._alive())

    async def _alive(self) -> None:
        """Tell web nodes this agent runs (the key expires a few checks after it stops)."""
        ttl = int(max(5.0, 3 * self.config.check_interval) * 1000)
        body = json.dumps({"host": default_source(), "pid": os.getpid(), "time": time.time()})
        try:
            await self.redis.set(alive_key(self.source), body, px=ttl)
        except Exception as exc:  # reported by the writes; this is only a hint for web nodes
            log.debug("alive: %s", exc)

    async def close(self) -> None:
        """Stop watching and following, and close the client."""
        self._closing = True
        if self._timer is not None:
            self._timer.stop()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        for task in list(self._adding):
            task.cancel()
        for fa in self.files:
            await fa.close()
        try:
            await self.redis.delete(alive_key(self.source))
        except Exception:
            pass
        await self.redis.aclose()


def add_agent_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``agent`` subcommand and its options."""
    from tailsse.cli import add_config_options  # cli imports this module
    from tailsse.config import cli_options

    parser = subparsers.add_parser(
        "agent",
        help="follow log files and append their lines to Redis streams",
        description="Follow log files like serve and append every line to one Redis stream per file, "
        "for web nodes started with serve --redis.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, glob or directory to follow")
    add_config_options(parser, [opt for opt in cli_options(agent=True) if opt[0] in AGENT_OPTIONS])
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``tailsse agent`` until SIGINT or SIGTERM."""
    from tailsse.config import cli_options
    from tailsse.files import expand, name_files

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args.redis = args.redis or os.environ.get(REDIS_ENV, "")
    options = {name: getattr(args, name) for name, _, _ in cli_options(agent=True) if name in AGENT_OPTIONS}
    try:
        config = Config(paths=tuple(args.paths), **options)
    except ValueError as exc:
        parser.error(str(exc))
    if not config.redis:
        parser.error(f"agent needs --redis URL (or ${REDIS_ENV})")
    files = name_files(expand(config.paths))
    if not files:
        parser.error("no file matches the given PATHs")
    try:
        return asyncio.run(_run(config, files, parser))
    except KeyboardInterrupt:
        return 0


async def _run(config: Config, files: dict[str, str], parser: argparse.ArgumentParser) -> int:
    try:
        agent = Agent(config, files)
    except (ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.ensure_future(agent.start())
    starting.add_done_callback(lambda task: task.cancelled() or task.exception() is None or stop.set())
    for name, path in files.items():
        log.info("following %s as %s/%s", path, agent.source, name)
    print(f"tailsse agent: source {agent.source}, writing to Redis", flush=True)
    await stop.wait()
    log.info("stopping")
    failed = starting.done() and not starting.cancelled() and starting.exception() is not None
    if failed:
        log.error("could not start: %s", starting.exception())
    elif not starting.done():
        starting.cancel()
    await agent.close()
    return 1 if failed else 0
