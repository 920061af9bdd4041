"""``tailsse hash-password USER``: print a line for ``--users-file``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from tailsse.webapp.auth import hash_password

if TYPE_CHECKING:
    from tailsse.cli.options import Subcommands


def add_hash_password_parser(subparsers: Subcommands) -> argparse.ArgumentParser:
    """Add the ``hash-password`` subcommand."""
    parser = subparsers.add_parser(
        "hash-password",
        help="print a users-file line for --users-file",
        description="Read a password (prompted, or the first line of stdin) and print USER:HASH"
        " for --users-file. The password never goes on the command line.",
    )
    parser.add_argument("user", metavar="USER", help="user name (no ':')")
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Read the password and print the line."""
    user = args.user
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
    print(f"{user}:{hash_password(password)}")
    return 0
