"""The layout tailsse uses in Redis, shared by agents and web nodes.

``tailsse:files``                 set of ``source/name``, one per followed file
``tailsse:stream:source/name``    the file's stream: ``d`` = a line, or ``k`` = an event
``tailsse:checkpoint:source``     hash name -> the agent's position in each file
``tailsse:state:source``          hash name -> the agent's follower state (following, missing…)
``tailsse:alive:source``          set by a running agent, expires when it stops

Nothing here imports redis, so the rest of tailsse runs without it installed.
"""

from __future__ import annotations

import re
import socket
from typing import Any

PREFIX = "tailsse:"
FILES = PREFIX + "files"
_SOURCE_RE = re.compile(r"\A[A-Za-z0-9._-]{1,128}\Z")
_ID_RE = re.compile(r"\A([0-9]{1,20})-([0-9]{1,20})\Z")
MAX_SEQ = 2**64 - 1

# Atomically: append the entries and move the checkpoint, unless this very write was
# applied already (a retry after a reply was lost). Returns 1, 0 (already there) or 2
# (the checkpoint had been moved by someone else: two agents with one source name).
WRITE_SCRIPT = """
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur == ARGV[3] then return 0 end
local status = 1
if cur and cur ~= ARGV[2] then status = 2 end
for i = 6, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[5])
return status
"""


def valid_source(name: str) -> bool:
    """Whether a source name is usable (it becomes part of URLs and keys)."""
    return bool(_SOURCE_RE.match(name))


def default_source() -> str:
    """The host name, made URL-safe."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", socket.gethostname()).strip(".") or "localhost"
    return name[:128]


def stream_key(full_name: str) -> str:
    """The stream of ``source/name``."""
    return PREFIX + "stream:" + full_name


def checkpoint_key(source: str) -> str:
    """The hash of one agent's positions."""
    return PREFIX + "checkpoint:" + source


def state_key(source: str) -> str:
    """The hash of one agent's follower states."""
    return PREFIX + "state:" + source


def alive_key(source: str) -> str:
    """The key a running agent keeps refreshing."""
    return PREFIX + "alive:" + source


def parse_id(text: str | bytes | None) -> tuple[int, int] | None:
    """A stream entry id as (milliseconds, sequence), or None if it is not one."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    m = _ID_RE.match(text.strip())
    if not m:
        return None
    ms, seq = int(m.group(1)), int(m.group(2))
    if ms > MAX_SEQ or seq > MAX_SEQ:
        return None
    return ms, seq


def as_bytes(value: bytes | str) -> bytes:
    """A reply as bytes (tailsse's clients never decode replies; the types allow both)."""
    return value if isinstance(value, bytes) else value.encode("utf-8")


def as_entries(reply: object) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Stream entries from an XRANGE, XREVRANGE or XREAD reply: (id, fields) each."""
    out: list[tuple[bytes, dict[bytes, bytes]]] = []
    for item in reply if isinstance(reply, list) else ():
        entry_id, fields = item
        if isinstance(entry_id, bytes) and isinstance(fields, dict):
            out.append((entry_id, fields))
    return out


def format_id(entry: tuple[int, int]) -> str:
    """The text form of an entry id."""
    return f"{entry[0]}-{entry[1]}"


def previous_id(entry: tuple[int, int]) -> tuple[int, int]:
    """The largest id smaller than ``entry`` (so a range can start at ``entry`` exclusively)."""
    ms, seq = entry
    if seq > 0:
        return ms, seq - 1
    if ms > 0:
        return ms - 1, MAX_SEQ
    return 0, 0


def redis_client(url: str, **kwargs: Any) -> Any:
    """An asyncio Redis client that fails fast (one immediate reconnect), so callers can retry and report outages."""
    try:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError:
        raise RuntimeError("Redis support needs the redis package: pip install 'tailsse[redis]'") from None
    options: dict[str, Any] = {"socket_connect_timeout": 2, "retry": Retry(NoBackoff(), 1)}
    options.update(kwargs)
    return aioredis.Redis.from_url(url, **options)
