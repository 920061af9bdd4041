"""What every long-running subcommand does first and last: logging, and stopping on a signal."""

from __future__ import annotations

import asyncio
import logging
import signal

from tailsse.webapp.security import HideMalformed


def setup_logging() -> None:
    """Log to stderr with times; Tornado's reports of malformed requests are scrubbed."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tornado.general").addFilter(HideMalformed())


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM. Call inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
