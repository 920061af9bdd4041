"""``tailsse serve PATH...``: build the app for the files (or for Redis) and run the server."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import shutil
import ssl
import sys
import tempfile
from typing import TYPE_CHECKING

from tornado.httpserver import HTTPServer
from tornado.ioloop import PeriodicCallback
from tornado.netutil import bind_sockets

from tailsse import __version__, logsim
from tailsse.cli.bootstrap import announce, setup_logging, stop_event
from tailsse.cli.options import add_config_options, load_config
from tailsse.config import REDIS_ENV, Config, cli_options
from tailsse.following.paths import expand, name_files
from tailsse.webapp.app import make_app
from tailsse.webapp.security import server_options, ssl_context

if TYPE_CHECKING:
    from tailsse.cli.options import Subcommands

log = logging.getLogger("tailsse")


def add_serve_parser(subparsers: Subcommands) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand and its options."""
    serve = subparsers.add_parser("serve", help="serve log files", description="Serve log files to browsers.")
    serve.add_argument("paths", nargs="*", metavar="PATH", help="file, glob or directory to follow")
    serve.add_argument("--demo", action="store_true", help="also serve a demo log that grows by itself")
    add_config_options(serve, cli_options())
    return serve


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``tailsse serve`` until SIGINT or SIGTERM."""
    setup_logging()
    # A Redis URL may hold a password: the environment keeps it out of the process list.
    args.redis = args.redis or os.environ.get(REDIS_ENV, "")
    if not args.paths and not args.demo and not args.redis:
        parser.error("serve needs at least one PATH (or --demo, or --redis URL)")
    if args.redis and (args.paths or args.demo):
        parser.error("serve --redis serves what agents write to Redis: run `tailsse agent PATH...` for files")
    demo_dir = tempfile.mkdtemp(prefix="tailsse-demo-") if args.demo else None
    try:
        paths = list(args.paths)
        if demo_dir:
            paths.append(_write_demo(demo_dir))
        options = {name: getattr(args, name) for name, _, _ in cli_options()}
        try:
            config = load_config(paths=tuple(paths), **options)
            context = ssl_context(config)
        except ValueError as exc:
            parser.error(str(exc))
        files = name_files(expand(config.paths))
        if not files and not config.redis:
            # Directories and globs: their files are picked up as they appear.
            log.warning("no file matches %s yet; waiting for files to appear", " ".join(config.paths))
        return asyncio.run(_serve(config, files, demo_dir, context))
    except KeyboardInterrupt:
        return 0
    finally:
        if demo_dir:
            shutil.rmtree(demo_dir, ignore_errors=True)


def _write_demo(directory: str) -> str:
    path = os.path.join(directory, "demo.log")
    source = logsim.lines()
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(200):
            f.write(next(source) + "\n")
    return path


def url(host: str, port: int, base: str, scheme: str = "http") -> str:
    """The address to open in a browser."""
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{base}"


async def _serve(
    config: Config, files: dict[str, str], demo_dir: str | None, context: ssl.SSLContext | None = None
) -> int:
    app = make_app(config, files)
    try:
        sockets = bind_sockets(config.port, config.host)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        print(f"tailsse: error: cannot listen on {config.host}:{config.port}: {reason}", file=sys.stderr)
        return 1
    server = HTTPServer(app, **server_options(config, context))
    server.add_sockets(sockets)
    app.catalog.start()
    # What start-up made lives as long as the server: a full garbage collection need not
    # look at it again (so one during a busy search costs far less than a whole heap walk).
    gc.collect()
    gc.freeze()
    port = sockets[0].getsockname()[1]
    for name, path in files.items():
        log.info("following %s as %s", path, name)
    scheme = "https" if context else "http"
    announce(f"tailsse {__version__}: open {url(config.host, port, config.base_path, scheme)}")
    if config.auth:
        log.info(
            "authentication required (%s)",
            "token and users" if config.token and config.users else "token" if config.token else "users",
        )

    demo = None
    if demo_dir:
        demo = _demo_writer(os.path.join(demo_dir, "demo.log"))
        demo.start()

    await stop_event().wait()
    log.info("stopping")
    if demo:
        demo.stop()
    server.stop()
    app.catalog.close()
    try:
        await asyncio.wait_for(server.close_all_connections(), timeout=0.5)
    except asyncio.TimeoutError:
        pass
    return 0


def _demo_writer(path: str) -> PeriodicCallback:
    source = logsim.lines()

    def write() -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(next(source) + "\n")

    return PeriodicCallback(write, 400, jitter=0.5)
