"""Server-Sent Events encoding: bytes in, bytes out.

Follows the WHATWG event-stream format. Only ``\\n`` is written, never a BOM, and every
event block is complete. A CR inside a value would be read by browsers as a line end
(and could inject a field), so values are split on CR into several ``data:`` lines: the
receiver sees a ``\\n`` where the line had a lone ``\\r``. This module imports nothing
from tailsse.
"""

from __future__ import annotations

import re
from functools import lru_cache

_ID_RE = re.compile(rb"\A[A-Za-z0-9._-]*\Z")
_NAME_RE = re.compile(rb"\A[A-Za-z0-9._-]+\Z")


def data_lines(value: bytes) -> bytes:
    """Encode a value as ``data:`` field lines; CR and LF start a new field line."""
    if b"\r" in value or b"\n" in value:
        value = value.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return b"data: " + value.replace(b"\n", b"\ndata: ") + b"\n"
    return b"data: " + value + b"\n"


def event(data: bytes, id: bytes | None = None, name: bytes | None = None) -> bytes:
    """Encode one complete event block."""
    head = b""
    if name is not None:
        if not _NAME_RE.match(name):
            raise ValueError(f"bad event name: {name!r}")
        head += b"event: " + name + b"\n"
    if id is not None:
        if not _ID_RE.match(id):
            raise ValueError(f"bad event id: {id!r}")
        head += b"id: " + id + b"\n"
    return head + data_lines(data) + b"\n"


@lru_cache(maxsize=256)
def _check_id_parts(prefix: bytes, suffix: bytes) -> None:
    """Refuse id parts that are not id-safe (once for each pair: they repeat batch after batch)."""
    if not _ID_RE.match(prefix + suffix):
        raise ValueError(f"bad event id parts: {prefix!r} {suffix!r}")


def numbered_events(
    prefix: bytes, numbers: list[int], suffix: bytes, data: list[bytes], cr: bool = True
) -> bytes:
    """Encode many ``message`` events whose ids are ``prefix + decimal number + suffix``.

    The hot path for batches of log lines: one format operation per event. ``prefix`` and
    ``suffix`` must be id-safe; values may contain CR (sent as a new ``data:`` line) but no LF.
    ``cr=False`` promises that none does, which saves looking.
    """
    _check_id_parts(prefix, suffix)
    if cr and any(b"\r" in d for d in data):
        data = [d.replace(b"\r", b"\ndata: ") for d in data]
    head = b"id: " + prefix
    tail = suffix + b"\ndata: "
    return b"".join([b"%s%d%s%s\n\n" % (head, n, tail, d) for n, d in zip(numbers, data, strict=True)])


def comment(text: bytes = b"") -> bytes:
    """Encode a comment line; it is not followed by a blank line."""
    if b"\r" in text or b"\n" in text:
        raise ValueError("a comment is a single line")
    return b":" + (b" " + text if text else b"") + b"\n"


def retry(milliseconds: int) -> bytes:
    """Encode a ``retry:`` field as its own block."""
    if milliseconds < 0:
        raise ValueError("retry must not be negative")
    return b"retry: %d\n\n" % milliseconds
