"""The time a log line says it was written, in the formats logs commonly use.

Recognised near the start of a line (the first PREFIX bytes):

- ISO 8601 / RFC 3339: ``2026-12-01T12:03:04.123Z``, ``2026-12-01 12:03:04,123+01:00``;
- syslog (RFC 3164): ``Dec  1 12:03:04`` — no year, so the latest year that does not put
  the line after the file's last change;
- common log format (nginx, Apache): ``[01/Dec/2026:12:03:04 +0000]``;
- JSON lines: a ``time``, ``ts`` or ``timestamp`` field, ISO 8601 or seconds (or
  milliseconds) since the epoch.

A time without a zone is the server's local time, as the program that wrote the line
most likely meant. Every result is seconds since the epoch (a float).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

PREFIX = 512  # only this many bytes of a line are looked at

_ISO = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    rb" ?(Z|z|[+-]\d\d(?::?\d\d)?)?"
)
_JSON_NUMBER = re.compile(rb'"(?:time|ts|timestamp)"\s*:\s*(\d{9,13}(?:\.\d+)?)[,}\s]')
_SYSLOG = re.compile(rb"\A(?:<\d{1,3}>)?([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)")
_COMMON = re.compile(rb"\[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})\]")
_MONTHS = {
    name.encode(): i for i, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}


def _zone(text: bytes | None) -> timezone | None:
    """A zone from ``Z``, ``+01``, ``+0100`` or ``+01:00``; None for a local time."""
    if not text:
        return None
    if text in (b"Z", b"z"):
        return timezone.utc
    digits = text[1:].replace(b":", b"")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
    return timezone(timedelta(minutes=-minutes if text[:1] == b"-" else minutes))


def _epoch(moment: datetime) -> float:
    """Seconds since the epoch; a naive time is taken as local time."""
    return moment.timestamp() if moment.tzinfo is not None else moment.astimezone().timestamp()


def _iso(m: re.Match[bytes]) -> float | None:
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=_zone(zone)
        )
    except ValueError:
        return None
    return _epoch(moment) + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def line_time(line: bytes, year_of: float | None = None) -> float | None:
    """The time a line says it was written, or None.

    ``year_of`` (seconds since the epoch, e.g. the file's mtime) dates syslog lines,
    which carry no year: the line is put in the latest year that is not after it.
    """
    head = line[:PREFIX]
    m = _COMMON.search(head)
    if m:
        day, month, year, hour, minute, second, zone = m.groups()
        if month in _MONTHS:
            try:
                moment = datetime(
                    int(year),
                    _MONTHS[month],
                    int(day),
                    int(hour),
                    int(minute),
                    int(second),
                    tzinfo=_zone(zone),
                )
            except ValueError:
                return None
            return moment.timestamp()
    m = _SYSLOG.match(head)
    if m and m.group(1) in _MONTHS:
        return _syslog(m, year_of)
    m = _ISO.search(head)
    if m:
        return _iso(m)
    m = _JSON_NUMBER.search(head)
    if m:
        value = float(m.group(1))
        return value / 1000 if value >= 1e11 else value
    return None


def _syslog(m: re.Match[bytes], year_of: float | None) -> float | None:
    month, day, hour, minute, second = m.groups()
    latest = datetime.fromtimestamp(year_of) if year_of is not None else datetime.now()
    for year in (latest.year, latest.year - 1):
        try:
            moment = datetime(year, _MONTHS[month], int(day), int(hour), int(minute), int(second))
        except ValueError:
            continue  # 29 Feb in a year that has none
        if moment <= latest + timedelta(days=1):
            return _epoch(moment)
    return None


def parse_time(text: str) -> float:
    """A time asked for (``?t=``): ISO 8601, or seconds since the epoch. ValueError if neither."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _ISO.fullmatch(text.encode("ascii", "replace"))
    if m is None:
        # A date alone means its midnight.
        day = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", text)
        if day is None:
            raise ValueError("t must be an ISO 8601 time (2026-12-01T12:03:04Z) or seconds since the epoch")
        m = _ISO.fullmatch(text.encode() + b"T00:00")
    value = _iso(m) if m is not None else None
    if value is None:
        raise ValueError(f"t is not a valid time: {text!r}")
    return value


def iso(seconds: float) -> str:
    """A time as ISO 8601 in UTC, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
