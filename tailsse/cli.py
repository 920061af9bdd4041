"""Command line: ``tailsse serve PATH...``; logging; signals; runs the server."""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import logging
import os
import shutil
import signal
import ssl
import sys
import tempfile
from typing import Any, NoReturn

from tornado.httpserver import HTTPServer
from tornado.ioloop import PeriodicCallback
from tornado.netutil import bind_sockets

from tailsse import __version__, agent, auth, client, logsim
from tailsse.app import make_app
from tailsse.config import Config, cli_options, option_name
from tailsse.files import expand, name_files
from tailsse.security import HideMalformed, server_options, ssl_context

log = logging.getLogger("tailsse")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(kind: type, minimum: float | None) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text}")
        return value

    return convert


def add_config_options(
    parser: argparse.ArgumentParser, options: list[tuple[str, Any, dict[str, Any]]]
) -> None:
    """Add Config fields (as from ``cli_options()``) to a subcommand's parser."""
    for name, default, meta in options:
        flag = option_name(name)
        help_text = f"{meta['help']} (default: {default})" if default not in ("", ()) else meta["help"]
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", default=default, help=meta["help"])
        elif isinstance(default, (int, float)):
            conv = _number(type(default), meta.get("min"))
            parser.add_argument(flag, type=conv, default=default, metavar=meta["metavar"], help=help_text)
        elif isinstance(default, tuple):
            # Repeatable; Config splits commas and checks each item.
            parser.add_argument(
                flag, action="append", default=list(default), metavar=meta["metavar"], help=meta["help"]
            )
        else:
            parser.add_argument(flag, default=default, metavar=meta["metavar"], help=help_text)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, from the Config declaration."""
    parser = Parser(prog="tailsse", description="Follow log files and stream new lines to browsers.")
    parser.add_argument("--version", action="version", version=f"tailsse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    serve = sub.add_parser("serve", help="serve log files", description="Serve log files to browsers.")
    serve.add_argument("paths", nargs="*", metavar="PATH", help="file, glob or directory to follow")
    serve.add_argument("--demo", action="store_true", help="also serve a demo log that grows by itself")
    add_config_options(serve, cli_options())
    client.add_follow_parser(sub)
    agent.add_agent_parser(sub)
    hasher = sub.add_parser(
        "hash-password",
        help="print a users-file line for --users-file",
        description="Read a password (prompted, or the first line of stdin) and print USER:HASH"
        " for --users-file. The password never goes on the command line.",
    )
    hasher.add_argument("user", metavar="USER", help="user name (no ':')")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tailsse`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "follow":
        return client.run(args)
    if args.command == "agent":
        return agent.run(args, parser)
    if args.command == "hash-password":
        return _hash_password(parser, args.user)
    if args.command != "serve":
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tornado.general").addFilter(HideMalformed())
    # A Redis URL may hold a password: the environment keeps it out of the process list.
    args.redis = args.redis or os.environ.get(agent.REDIS_ENV, "")
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
        # The token comes from a file or the environment, never from the command line,
        # where every user of the machine could read it in the process list.
        token = "" if args.token_file else os.environ.get(auth.TOKEN_ENV, "").strip()
        try:
            if token:
                auth.check_token(token, f"${auth.TOKEN_ENV}")
            config = Config(paths=tuple(paths), token=token, **options)
            context = ssl_context(config)
        except ValueError as exc:
            parser.error(str(exc))
        files = name_files(expand(config.paths))
        if not files and not config.redis:
            parser.error("no file matches the given PATHs")
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


def _url(host: str, port: int, base: str, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{base}"


def _hash_password(parser: argparse.ArgumentParser, user: str) -> int:
    """``tailsse hash-password USER``: print a users-file line."""
    if not user or ":" in user or any(c.isspace() for c in user):
        parser.error("hash-password: USER must be non-empty, without ':' or spaces")
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("tailsse: error: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("tailsse: error: empty password", file=sys.stderr)
        return 1
    print(f"{user}:{auth.hash_password(password)}")
    return 0


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
    app.hub.start()
    port = sockets[0].getsockname()[1]
    for name, path in files.items():
        log.info("following %s as %s", path, name)
    scheme = "https" if context else "http"
    print(f"tailsse {__version__}: open {_url(config.host, port, config.base_path, scheme)}", flush=True)
    if config.auth:
        log.info(
            "authentication required (%s)",
            "token and users" if config.token and config.users else "token" if config.token else "users",
        )

    demo = None
    if demo_dir:
        demo = _demo_writer(os.path.join(demo_dir, "demo.log"))
        demo.start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    if demo:
        demo.stop()
    server.stop()
    app.hub.close()
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
