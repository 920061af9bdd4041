"""``tailsse COMMAND``: the parser of every subcommand, and the entry point."""

from __future__ import annotations

import argparse
import sys

from tailsse import __version__
from tailsse.cli import agent, follow, passwords, serve
from tailsse.cli.options import Parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, from the Config declaration."""
    parser = Parser(prog="tailsse", description="Follow log files and stream new lines to browsers.")
    parser.add_argument("--version", action="version", version=f"tailsse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    serve.add_serve_parser(sub)
    follow.add_follow_parser(sub)
    agent.add_agent_parser(sub)
    passwords.add_hash_password_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tailsse`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve.run(args, parser)
    if args.command == "follow":
        return follow.run(args)
    if args.command == "agent":
        return agent.run(args, parser)
    if args.command == "hash-password":
        return passwords.run(args, parser)
    parser.print_help(sys.stderr)
    return 2
