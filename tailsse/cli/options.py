"""Command-line options from the Config declaration, and the secrets they name.

A Config is plain data; reading the files that ``--token-file`` and ``--users-file`` name
(or the token from the environment) happens here, once, before the Config is built.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, NoReturn

from tailsse.config import Config, check_token, option_name
from tailsse.webapp.auth import TOKEN_ENV, read_token, read_users


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[Parser]


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


def secrets(token_file: str, users_file: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The token and users to build a Config with: from the files named, or the environment.

    The token never comes from the command line, where every user of the machine could
    read it in the process list. Raises ValueError with a one-line message.
    """
    environ = dict(os.environ) if environ is None else environ
    out: dict[str, Any] = {}
    if token_file:
        out["token"] = read_token(token_file)
    else:
        token = environ.get(TOKEN_ENV, "").strip()
        if token:
            out["token"] = check_token(token, f"${TOKEN_ENV}")
    if users_file:
        out["users"] = read_users(users_file)
    return out


def load_config(**options: Any) -> Config:
    """A Config from command-line values, with the secrets their files name."""
    return Config(**options, **secrets(options.get("token_file", ""), options.get("users_file", "")))
