"""``tailsse follow URL``: its options, and running it."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import TYPE_CHECKING, BinaryIO, TextIO
from urllib.parse import urlsplit

from tailsse.cli.bootstrap import discard_stdout
from tailsse.client.follow import PROG, Follower
from tailsse.client.http import OutputClosed, Target, output_fd

if TYPE_CHECKING:
    from tailsse.cli.options import Subcommands

_TOKEN = re.compile(r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL: {text!r}")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None
    return text


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.match(name):
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    if any(c in value for c in "\r\n\0"):
        raise argparse.ArgumentTypeError(f"line breaks are not allowed in a header: {text!r}")
    return name, value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_follow_parser(subparsers: Subcommands) -> argparse.ArgumentParser:
    """Add the ``follow`` subcommand and its options."""
    parser = subparsers.add_parser(
        "follow",
        help="print an event stream (tailsse or any SSE server)",
        description="Print the events of a Server-Sent Events stream to stdout, reconnecting by "
        "itself and resuming with Last-Event-ID. Status messages go to stderr.",
    )
    parser.add_argument(
        "url", type=_url, metavar="URL", help="event stream, e.g. http://host:8080/events/app.log"
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--raw",
        dest="mode",
        action="store_const",
        const="raw",
        help="print the stream exactly as received (fields, comments, heartbeats)",
    )
    shown.add_argument(
        "--events",
        dest="mode",
        action="store_const",
        const="events",
        help="print EVENT<TAB>ID<TAB>DATA for each data line",
    )
    shown.add_argument(
        "--json",
        dest="mode",
        action="store_const",
        const="json",
        help='print one JSON object per event: {"event", "id", "data"}',
    )
    parser.set_defaults(mode="data")
    parser.add_argument(
        "--no-label",
        dest="label",
        action="store_false",
        help="in a merged stream (/events?file=A&file=B), print the lines without their file's name",
    )
    parser.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="send this request header (repeatable)",
    )
    parser.add_argument(
        "--token", metavar="TOKEN", help="send 'Authorization: Bearer TOKEN' (default: $TAILSSE_TOKEN)"
    )
    parser.add_argument(
        "--last-event-id",
        default="",
        metavar="ID",
        help="resume after this event id instead of from the server's start",
    )
    parser.add_argument(
        "-k",
        "--insecure",
        action="store_true",
        help="do not verify the server's TLS certificate (self-signed)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for a connection and the response headers (default: 10)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no status messages, only errors")
    return parser


def target_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Target:
    """The request to make, from the parsed options and the environment."""
    environ = dict(os.environ) if environ is None else environ
    headers: dict[str, str] = {}
    token = (args.token or environ.get("TAILSSE_TOKEN", "")).strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    last_id = args.last_event_id
    for name, value in args.headers:
        if name.lower() == "last-event-id":
            # It changes with every event: a header given this way is only the start.
            last_id = last_id or value
            continue
        # An explicit -H wins over the token, and a repeated name keeps its last value.
        for old in [k for k in headers if k.lower() == name.lower()]:
            del headers[old]
        headers[name] = value
    for what, value in (("the token", token), ("--last-event-id", last_id)):
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"{what} must not contain line breaks or NUL")
    return Target(args.url, headers, args.insecure, args.timeout, last_id)


def run(args: argparse.Namespace, out: BinaryIO | None = None, err: TextIO | None = None) -> int:
    """Run ``tailsse follow``; returns the exit status."""
    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr
    try:
        target = target_from_args(args)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=err, flush=True)
        return 2
    watch_fd = output_fd(out)
    follower = Follower(target, out, args.mode, err, args.quiet, watch_fd, args.label)
    try:
        return follower.run()
    except KeyboardInterrupt:
        return 0
    except (OutputClosed, BrokenPipeError):
        discard_stdout(out)
        return 0
