"""What every long-running subcommand does first and last: logging, and stopping on a signal."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
from typing import BinaryIO

from tailsse.webapp.security import HideMalformed


def setup_logging() -> None:
    """Log to stderr with times; Tornado's reports of malformed requests are scrubbed."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tornado.general").addFilter(HideMalformed())


def announce(text: str) -> None:
    """Print a line for the user on stdout; if stdout cannot be written, log it instead.

    A server must not die because its stdout is a full disk or a closed pipe.
    """
    try:
        print(text, flush=True)
    except OSError as exc:
        discard_stdout(sys.stdout.buffer)
        logging.getLogger("tailsse").warning("%s (stdout cannot be written: %s)", text, exc.strerror or exc)


def discard_stdout(out: BinaryIO) -> None:
    """Point stdout at /dev/null so later writes and the interpreter's final flush cannot fail."""
    try:
        fd = out.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM. Call inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
