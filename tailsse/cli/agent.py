"""``tailsse agent PATH... --redis URL``: follow files and append their lines to Redis."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import TYPE_CHECKING

from tailsse.cli.bootstrap import announce, setup_logging, stop_event
from tailsse.cli.options import add_config_options
from tailsse.config import REDIS_ENV, Config, cli_options
from tailsse.following.paths import expand, name_files

if TYPE_CHECKING:
    from tailsse.cli.options import Subcommands

log = logging.getLogger("tailsse")

AGENT_OPTIONS = ("redis", "source", "retention", "lines", "max_line_bytes", "poll", "check_interval")


def add_agent_parser(subparsers: Subcommands) -> argparse.ArgumentParser:
    """Add the ``agent`` subcommand and its options."""
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
    setup_logging()
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
        log.warning("no file matches %s yet; waiting for files to appear", " ".join(config.paths))
    try:
        return asyncio.run(_run(config, files, parser))
    except KeyboardInterrupt:
        return 0


async def _run(config: Config, files: dict[str, str], parser: argparse.ArgumentParser) -> int:
    from tailsse.redis_streams.agent import Agent  # needs the redis package

    try:
        agent = Agent(config, files)
    except (ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    stop = stop_event()
    starting = asyncio.ensure_future(agent.start())

    def started(task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            stop.set()  # it could not start: stop now, and say why below

    starting.add_done_callback(started)
    for name, path in files.items():
        log.info("following %s as %s/%s", path, agent.source, name)
    announce(f"tailsse agent: source {agent.source}, writing to Redis")
    await stop.wait()
    log.info("stopping")
    failed = starting.done() and not starting.cancelled() and starting.exception() is not None
    if failed:
        log.error("could not start: %s", starting.exception())
    elif not starting.done():
        starting.cancel()
    await agent.close()
    return 1 if failed else 0
