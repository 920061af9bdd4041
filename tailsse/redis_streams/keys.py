"""The layout tailsse uses in Redis, shared by agents and web nodes.

``tailsse:files``                          set of ``source/name``, one per followed file
``tailsse:stream:source/name``             the file's stream: ``d`` = a line, or ``k`` = an event
``{tailsse:stream:source/name}:checkpoint`` the agent's position in that file
``tailsse:state:source``                   hash name -> the agent's follower state (following, missing…)
``tailsse:alive:source``                   set by a running agent, expires when it stops

The agent's one script touches a stream and its checkpoint only, and the checkpoint's key
carries the stream's whole key as its hash tag, so both live in one slot of a Redis
Cluster (a key without braces is hashed whole). Every other command touches one key.
Web nodes discover streams from the one ``tailsse:files`` set, wherever it lives.

Agents before the cluster layout kept positions in a hash per source
(``tailsse:checkpoint:source``); an agent moves its files' positions from there on start.

Nothing here imports redis, so the rest of tailsse runs without it installed.
"""

from __future__ import annotations

import re
import socket

PREFIX = "tailsse:"
FILES = PREFIX + "files"
_SOURCE_RE = re.compile(r"\A[A-Za-z0-9._-]{1,128}\Z")
_ID_RE = re.compile(r"\A([0-9]{1,20})-([0-9]{1,20})\Z")
MAX_SEQ = 2**64 - 1

# Atomically: append the entries and move the checkpoint, unless this very write was
# applied already (a retry after a reply was lost). Entry ids are chosen here from the
# agent's clock (ARGV[4], the same in a retry) and the stream's last id, so a write that
# was lost with a primary and is retried on its replica gets the ids viewers may have seen.
# Returns 0 (already there), 1 (written), 2 (written, but the checkpoint had been moved by
# someone else: two agents with one source name), 3 (written; there was no checkpoint:
# register the file) or 4 (written after a lost-notice entry: Redis no longer had what
# this agent had written, so it lost acknowledged writes; register the file again).
WRITE_SCRIPT = """
local cur = redis.call('GET', KEYS[2])
if cur == ARGV[2] then return 0 end
local status = 1
if not cur then
  status = 3
  if ARGV[1] ~= '' then status = 4 end
elseif cur ~= ARGV[1] then
  status = 2
  local had = tonumber(string.match(cur, '^%d+'))
  local expected = tonumber(string.match(ARGV[1], '^%d+'))
  if had and expected and had < expected then status = 4 end
end
local ms, seq = tonumber(ARGV[4]), 0
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
if type(info) == 'table' and not info.err then
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local last_ms, last_seq = string.match(info[i + 1], '^(%d+)-(%d+)$')
      last_ms, last_seq = tonumber(last_ms), tonumber(last_seq)
      if last_ms >= ms then ms, seq = last_ms, last_seq + 1 end
    end
  end
end
local function add(field, value)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], string.format('%.0f-%.0f', ms, seq), field, value)
  seq = seq + 1
end
if status == 4 then add('k', ARGV[5]) end
for i = 6, #ARGV, 2 do add(ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[2], ARGV[2])
return status
"""
# The kind of the entry the script writes first when Redis lost what the agent had written
# (web nodes send it as a ``lost`` event; older web nodes skip it, as every ``*-lost``).
LOST_IN_REDIS = b"redis-lost"


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


def checkpoint_key(full_name: str) -> str:
    """The agent's position in ``source/name``: in the slot of the file's stream."""
    return "{" + stream_key(full_name) + "}:checkpoint"


def legacy_checkpoint_key(source: str) -> str:
    """The hash of one agent's positions, as agents before the cluster layout kept them."""
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
