"""The agent: follow files like ``serve`` and append every line to Redis.

Each file has a stream (see :mod:`tailsse.redis_streams.keys`). The agent is a FileSet —
the same followers and watcher as ``serve`` — whose members write to Redis instead of to
viewers: each batch goes with its checkpoint (inode, fingerprint, offset) in one Lua
script, so both land or neither does, and a retried write that had landed is recognised
(the two keys share a hash slot, so this holds on a Redis Cluster too). The script also
notices when Redis no longer has what the agent wrote (a failover to a replica that
lagged) and puts a lost notice in the stream.
After a restart the agent validates the checkpoint like an event id, so lines written
while it was down arrive once. While Redis is unreachable it retries with backoff and
reads no further: the file is the buffer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from itertools import chain, repeat
from typing import TYPE_CHECKING, TypeVar

from tornado.ioloop import IOLoop

from tailsse.config import Config
from tailsse.following.fileset import FileSet
from tailsse.following.follower import Batch, Change, Follower
from tailsse.following.lines import backlog_start
from tailsse.following.segment import find_rotated, holds
from tailsse.redis_streams.connect import close_client, redis_client
from tailsse.redis_streams.keys import (
    FILES,
    LOST_IN_REDIS,
    WRITE_SCRIPT,
    alive_key,
    as_bytes,
    checkpoint_key,
    default_source,
    legacy_checkpoint_key,
    state_key,
    stream_key,
    valid_source,
)
from tailsse.redis_streams.retry import Retrying

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

T = TypeVar("T")
BACKOFF_MAX = 5.0


class FileAgent:
    """One followed file and its stream."""

    def __init__(self, agent: Agent, name: str, follower: Follower) -> None:
        self.agent = agent
        self.name = name
        self.full_name = f"{agent.source}/{name}"
        self.keys = [stream_key(self.full_name), checkpoint_key(self.full_name)]
        self.follower = follower
        self.checkpoint = b""  # as stored in Redis
        self.seq = 0  # counts writes, so every checkpoint differs from the one before
        self.clock_ms = 0  # the agent's time of its last write, from which entry ids are made
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
        raw = await self.agent.call(self._checkpoint)
        fol = self.follower
        fol.start()
        cur = fol.segment
        if raw is None:
            if cur is not None:  # first start: a backlog, as serve would show
                fol.pos = backlog_start(cur.fd, fol.pos, self.agent.config.lines)
            return
        raw = as_bytes(raw)
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
        if cur is not None and cur.ino == ino and holds(cur, offset, check):
            fol.pos = offset
            log.info("%s: resuming at offset %d", fol.path, offset)
            return
        old = find_rotated(fol.path, ino, offset, check)
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

    async def _checkpoint(self, r: Redis) -> bytes | None:
        """The saved position; one kept in the hash of agents before the cluster layout moves here."""
        raw = await r.get(self.keys[1])
        if raw is not None:
            return as_bytes(raw)
        legacy = legacy_checkpoint_key(self.agent.source)
        raw = await r.hget(legacy, self.name)
        if raw is None:
            return None
        await r.set(self.keys[1], raw, nx=True)
        await r.hdel(legacy, self.name)
        log.info("%s: moved its checkpoint from %s", self.full_name, legacy)
        return as_bytes(await r.get(self.keys[1]) or raw)

    def wake(self, written: bool = False) -> bool:
        """Read and send whatever is new, in the background; safe to call at any time."""
        if not self.resumed:
            return False
        if self._running:
            self._again = True
            return False
        self._running = True
        self._task = asyncio.ensure_future(self._run())
        return False

    async def _run(self) -> None:
        unsent: list[bytes] = []  # read from the file, not yet in Redis
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
                unsent = entries
                if entries:
                    await self._write(entries)
                unsent = []
                if self.follower.state != self.reported_state:
                    state = self.follower.state
                    await self.agent.call(self._state_writer(state))
                    self.reported_state = state
                if self.follower.wait:
                    IOLoop.current().call_later(self.follower.wait, self.wake)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Whatever was read and not written goes first next time: nothing is dropped.
            self.prelude = unsent + self.prelude
            log.exception("%s: failed; retrying", self.follower.path)
            IOLoop.current().call_later(BACKOFF_MAX, self.wake)
        finally:
            self._running = False

    def _state_writer(self, state: str) -> Callable[[Redis], Awaitable[int]]:
        """The call that tells web nodes the follower's state (following, missing…)."""

        async def write(r: Redis) -> int:
            return await r.hset(state_key(self.agent.source), self.name, state)

        return write

    async def _write(self, entries: list[bytes]) -> None:
        """Append entries and move the checkpoint, in one step; retry until Redis has it."""
        fol = self.follower
        seg = fol.segment
        if seg is None:
            position = (0, 0, 0)
        else:
            position = (seg.ino, fol.pos, seg.fingerprint(fol.pos))
        checkpoint = b"%d %d %d %d" % (self.seq + 1, *position)
        # A retry sends the same time, so the script gives the entries the same ids.
        self.clock_ms = max(self.clock_ms, int(time.time() * 1000))
        args: list[bytes | str | int] = [
            self.checkpoint,
            checkpoint,
            self.agent.config.retention,
            self.clock_ms,
            LOST_IN_REDIS,
            *entries,
        ]
        status = await self.agent.call(lambda r: self.agent.script(keys=self.keys, args=args, client=r))
        if status == 2:
            log.warning(
                "%s: its checkpoint was moved by someone else (another agent with this --source?)",
                self.full_name,
            )
        elif status == 4:
            log.warning("%s: Redis lost lines written before (failover or restart); said so", self.full_name)
        if status in (3, 4):  # a new stream, or one Redis lost: web nodes must find it
            await self.agent.call(lambda r: r.sadd(FILES, self.full_name))
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
    """Every followed file of one host, as a FileSet whose members write to Redis."""

    def __init__(
        self, config: Config, files: dict[str, str], source: str = "", redis: Redis | None = None
    ) -> None:
        self.config = config
        self.source = source or config.source or default_source()
        if not valid_source(self.source):
            raise ValueError(f"--source: use letters, digits, '.', '_' and '-' only: {self.source!r}")
        self.redis: Redis = redis if redis is not None else redis_client(config.redis)
        self.retrying = Retrying(self.redis, BACKOFF_MAX, on_down=self._down, on_up=self._up, refusals=True)
        self.script = self.redis.register_script(WRITE_SCRIPT)
        self._adding: set[asyncio.Future[None]] = set()
        self.fileset: FileSet[FileAgent] = FileSet(
            config,
            files,
            lambda name, follower: FileAgent(self, name, follower),
            added=self._added,
            checked=self._check,
        )
        self._alive_task: asyncio.Future[None] | None = None

    @property
    def files(self) -> list[FileAgent]:
        return list(self.fileset.members.values())

    @property
    def error(self) -> str:
        """Why Redis cannot be reached, while it cannot."""
        return self.retrying.error

    def _down(self, error: str) -> None:
        log.warning("redis unavailable or refusing writes (%s); retrying, reading no further", error)

    def _up(self) -> None:
        log.info("redis available again")

    async def call(self, op: Callable[[Redis], Awaitable[T]]) -> T:
        """Run ``op(client)``; while Redis is unreachable, retry with backoff."""
        return await self.retrying.call(op)

    async def start(self) -> None:
        """Resume every file from its checkpoint, then watch and send. Call on the IOLoop."""
        files = self.files
        if files:
            await self.call(lambda r: r.sadd(FILES, *[fa.full_name for fa in files]))
        for fa in files:
            await fa.resume()
        self.fileset.start()
        await self._alive()

    def _added(self, fa: FileAgent) -> None:
        log.info("following %s as %s", fa.follower.path, fa.full_name)
        task = asyncio.ensure_future(self._add(fa))
        self._adding.add(task)
        task.add_done_callback(self._adding.discard)

    async def _add(self, fa: FileAgent) -> None:
        await self.call(lambda r: r.sadd(FILES, fa.full_name))
        await fa.resume()
        fa.wake()

    def _check(self) -> None:
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
        self.retrying.closing = True
        self.fileset.close()
        for task in list(self._adding):
            task.cancel()
        for fa in self.files:
            await fa.close()
        try:
            await self.redis.delete(alive_key(self.source))
        except Exception:
            pass
        await close_client(self.redis)
