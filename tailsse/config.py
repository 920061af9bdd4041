"""Every option, default and limit of tailsse, in one frozen dataclass.

Fields that carry ``help`` metadata are command-line options: the CLI, ``--help`` and
the README's option table all come from this one declaration.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from typing import Any


def _opt(default: Any, help: str, minimum: float | None = None, metavar: str = "") -> Any:
    return field(default=default, metadata={"help": help, "min": minimum, "metavar": metavar})


@dataclass(frozen=True)
class Config:
    """Options for one tailsse server."""

    paths: tuple[str, ...] = ()
    host: str = _opt("127.0.0.1", "address to listen on", metavar="ADDR")
    port: int = _opt(8080, "port to listen on (0 picks a free one)", 0, "PORT")
    lines: int = _opt(100, "lines of backlog sent to a new viewer", 0, "N")
    heartbeat: float = _opt(15.0, "seconds of silence before a keep-alive comment (0: never)", 0, "SECONDS")
    base_path: str = _opt("/", "URL prefix to serve under, for reverse proxies", metavar="/PREFIX")
    frame_ancestors: str = _opt(
        "",
        "who may show the viewer in a frame, as CSP frame-ancestors sources"
        " (e.g. \"'self' https://dash.example.com\"; empty: any page)",
        metavar="SOURCES",
    )
    trusted_proxy: tuple[str, ...] = _opt(
        (),
        "proxy addresses or networks (comma-separated, repeatable) whose X-Forwarded-For/-Proto are believed",
        metavar="ADDR[,ADDR...]",
    )
    max_line_bytes: int = _opt(
        65536, "longer lines are sent as several pieces of at most this size", 64, "BYTES"
    )
    max_clients: int = _opt(1000, "open event streams allowed at once; more are asked to retry later", 1, "N")
    poll: bool = _opt(False, "watch files by polling (network filesystems, some mounts)")
    check_interval: float = _opt(
        2.0,
        "seconds between safety-net checks of every file (and polls with --poll)",
        0.01,
        "SECONDS",
    )
    retry_ms: int = 1000  # the retry: field; EventSource waits this long before reconnecting
    busy_retry_ms: int = 5000  # retry: sent with a "busy" answer (plus up to as much again at random)
    max_backlog: int = 100_000  # largest ?lines= a request may ask for
    read_chunk: int = 256 * 1024  # bytes read from a file in one go
    read_budget: int = 1024 * 1024  # bytes read per wake-up before yielding to the loop
    write_buffer_limit: int = 1024 * 1024  # unsent bytes a viewer may hold before it reads from the file

    def __post_init__(self) -> None:
        for f in fields(self):
            minimum = f.metadata.get("min")
            value = getattr(self, f.name)
            if minimum is not None and value < minimum:
                raise ValueError(f"{option_name(f.name)} must be at least {minimum:g}, got {value}")
        base = "/" + self.base_path.strip("/")
        object.__setattr__(self, "base_path", base.rstrip("/") + "/")
        if any(c in self.frame_ancestors for c in ";,\r\n"):
            raise ValueError(
                "--frame-ancestors: sources are separated by spaces; ';' ',' and newlines are not allowed"
            )
        object.__setattr__(self, "trusted_proxy", _networks(self.trusted_proxy))


def _networks(specs: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Comma-separated addresses and CIDR networks, checked and flattened."""
    if isinstance(specs, str):
        specs = (specs,)
    items = tuple(item.strip() for spec in specs for item in spec.split(",") if item.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"--trusted-proxy: not an address or network: {item!r}") from None
    return items


def option_name(name: str) -> str:
    """The command-line spelling of a Config field."""
    return "--" + name.replace("_", "-")


def cli_options() -> list[tuple[str, Any, dict[str, Any]]]:
    """(field name, default, metadata) for each Config field that is a CLI option."""
    return [(f.name, f.default, dict(f.metadata)) for f in fields(Config) if "help" in f.metadata]


def options_markdown() -> str:
    """The README's table of command-line options."""
    rows = ["| option | default | meaning |", "| --- | --- | --- |"]
    for name, default, meta in cli_options():
        flag = option_name(name)
        if isinstance(default, bool):
            shown, spelled = "off", f"`{flag}`"
        else:
            shown = f"`{default}`" if default not in ("", ()) else "(none)"
            spelled = f"`{flag} {meta['metavar']}`"
        rows.append(f"| {spelled} | {shown} | {meta['help']} |")
    return "\n".join(rows) + "\n"
