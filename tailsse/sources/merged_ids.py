"""The ids of merged streams: one event id that holds a position in every file.

``m.`` then, for each file of the stream (in name order), a 6-hex-digit tag of its name
followed by that file's own event id, or ``_`` while it had none; joined by dots, so an
id stays within the characters ``[A-Za-z0-9._-]``. About 30 characters per file: a
stream of MAX_FILES files has ids under 1.7 KB, well inside proxies' header limits.
Nothing here needs a server: clients read merged events with :func:`split_line`.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

MAX_FILES = 50  # files in one merged stream: ids stay under about 1.7 KB
PREFIX = b"m."
MISSING = b"_"  # a file that had no position (it was missing)


def tags(names: Sequence[str]) -> list[bytes]:
    """Each file's tag in ids: 24 bits of its name's CRC-32, made unique within the stream."""
    out: list[bytes] = []
    for name in names:
        salt = 0
        while True:
            tag = b"%06x" % (zlib.crc32(f"{name}\0{salt}".encode() if salt else name.encode()) & 0xFFFFFF)
            if tag not in out:
                break
            salt += 1
        out.append(tag)
    return out


def parse_merged(text: str | None, known: Sequence[bytes]) -> dict[bytes, str] | None:
    """The per-file ids in a merged id, by tag (only tags of this stream); None if not one."""
    if not text or not text.startswith("m."):
        return None
    parts = text[2:].split(".")
    found: dict[bytes, str] = {}
    for part in parts:
        tag = part[:6].encode()
        if len(part) < 7 or tag not in known:
            return None
        found[tag] = part[6:]
    return found


def split_line(event_id: str, data: str) -> tuple[str, str, bool]:
    """A merged line event as (file, text, piece): its data is the file's name, a newline, the line.

    ``piece`` says the line is a piece of an over-long one (its file's id ends in ``-p``).
    """
    name, _, text = data.partition("\n")
    tag = tags([name])[0].decode()
    own = next((part[6:] for part in event_id[2:].split(".") if part.startswith(tag)), "")
    return name, text, own.endswith("-p")


def is_merged(event_id: str) -> bool:
    """Whether an event id is one of a merged stream."""
    return event_id.startswith("m.")
