"""Every option, default and limit of tailsse, in one frozen dataclass.

Fields that carry ``help`` metadata are command-line options: the CLI, ``--help`` and
the README's option table all come from this one declaration. A Config is plain data:
it checks and normalises its values and reads nothing (the command line loads the
secrets that ``--token-file`` and ``--users-file`` name).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import unquote, urlsplit


def _opt(
    default: Any, help: str, minimum: float | None = None, metavar: str = "", agent_only: bool = False
) -> Any:
    meta = {"help": help, "min": minimum, "metavar": metavar, "agent_only": agent_only}
    return field(default=default, metadata=meta)


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
    allowed_host: tuple[str, ...] = _opt(
        (),
        "host names (comma-separated, repeatable) the server may be reached as, besides IP addresses,"
        " localhost and --host; '.example.com' for a domain and its subdomains, '*' for any",
        metavar="NAME[,NAME...]",
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
    header_timeout: float = _opt(
        10.0,
        "seconds a client may take to send a request's headers (also how long an idle"
        " keep-alive connection stays open; event streams are never cut)",
        0.1,
        "SECONDS",
    )
    token_file: str = _opt(
        "",
        "file whose first line is the shared access token (or set $TAILSSE_TOKEN); enables auth",
        metavar="FILE",
    )
    users_file: str = _opt(
        "",
        "file of user:hash lines for HTTP basic auth (make lines with: tailsse hash-password USER)",
        metavar="FILE",
    )
    certfile: str = _opt("", "PEM certificate (chain) to serve HTTPS directly", metavar="FILE")
    keyfile: str = _opt("", "PEM private key of --certfile (if not inside it)", metavar="FILE")
    cors_origin: tuple[str, ...] = _opt(
        (),
        "origin (scheme://host[:port]) whose pages may open event streams; repeatable; '*' for any, without credentials",
        metavar="ORIGIN",
    )
    token: str = field(default="", repr=False)  # the shared token itself (from the file or the environment)
    users: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (user, password hash)
    max_header_bytes: int = 65536  # larger request headers are answered 431
    redis: str = _opt(
        "",
        "Redis URL: serve every file that agents write there, or, for `tailsse agent`, where to write;"
        " redis://host:6379/0 (one server), redis+cluster://host:port[,host:port...] (a Redis Cluster,"
        " by any of its nodes), redis+sentinel://host:port[,host:port...]/SERVICE[/DB] (the primary"
        " that these Sentinels name); rediss... for TLS",
        metavar="URL",
    )
    source: str = _opt(
        "",
        "agent only: the name of this host's files in Redis (empty: the hostname)",
        metavar="NAME",
        agent_only=True,
    )
    retention: int = _opt(
        100_000,
        "agent only: lines kept per file in Redis (approximate, trimmed by Redis)",
        1,
        "N",
        agent_only=True,
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
        object.__setattr__(self, "allowed_host", _host_names(self.allowed_host))
        if self.redis:
            redis_target(self.redis)  # raises ValueError for a URL that is not one
        if self.port > 65535:
            raise ValueError(f"--port must be at most 65535, got {self.port}")
        if self.host and not _HOST.match(self.host):
            raise ValueError(f"--host: not an address or host name: {self.host!r}")
        if not _BASE.match(self.base_path) or "/../" in self.base_path or "/./" in self.base_path:
            raise ValueError(
                f"--base-path: use letters, digits and . _ ~ - between slashes, got {self.base_path!r}"
            )
        object.__setattr__(self, "cors_origin", _origins(self.cors_origin))
        if self.keyfile and not self.certfile:
            raise ValueError("--keyfile needs --certfile")
        if self.token:
            check_token(self.token, "token")
        object.__setattr__(self, "users", tuple((user, encoded) for user, encoded in self.users))

    @property
    def auth(self) -> bool:
        """Whether credentials are required."""
        return bool(self.token or self.users)


MIN_TOKEN_CHARS = 16
REDIS_ENV = "TAILSSE_REDIS"  # read when --redis is not given


REDIS_SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+cluster",
    "rediss+cluster",
    "redis+sentinel",
    "rediss+sentinel",
)


@dataclass(frozen=True)
class RedisTarget:
    """What ``--redis`` names: one server (``url``, as redis-py reads it), a cluster or Sentinels."""

    kind: str  # "server", "cluster" or "sentinel"
    url: str
    tls: bool = False
    nodes: tuple[tuple[str, int], ...] = ()  # a cluster's seed nodes, or the Sentinels
    username: str | None = None
    password: str | None = None
    service: str = ""  # the name the Sentinels know the primary by
    db: int = 0


def redis_target(url: str) -> RedisTarget:
    """Parse ``--redis``; a ValueError says what is wrong, without repeating a password."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in REDIS_SCHEMES:
        raise ValueError(
            "--redis: not a Redis URL (redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://):"
            f" {_without_password(url)!r}"
        )
    if "+" not in scheme:
        return RedisTarget("server", url)
    base, _, kind = scheme.partition("+")
    shown = _without_password(url)
    netloc, _, path = rest.partition("/")
    if "?" in url or "#" in url:
        raise ValueError(f"--redis: {scheme}:// takes no query or fragment: {shown!r}")
    userinfo, _, hosts = netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    default_port = 6379 if kind == "cluster" else 26379
    nodes = tuple(_host_port(item, default_port, shown) for item in hosts.split(","))
    parts = [unquote(part) for part in path.split("/")] if path else []
    service, db = "", 0
    if kind == "cluster":
        if parts not in ([], ["0"], [""]):
            raise ValueError(f"--redis: a Redis Cluster has database 0 only: {shown!r}")
    else:
        if not parts or not parts[0] or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            raise ValueError(
                f"--redis: use redis+sentinel://host:port[,host:port...]/SERVICE[/DB]: {shown!r}"
            )
        service, db = parts[0], int(parts[1]) if len(parts) == 2 else 0
    return RedisTarget(
        kind,
        url,
        tls=base == "rediss",
        nodes=nodes,
        username=unquote(user) or None,
        password=unquote(password) if has_password else None,
        service=service,
        db=db,
    )


def _host_port(item: str, default_port: int, shown: str) -> tuple[str, int]:
    host, port = item, str(default_port)
    if item.startswith("["):  # [IPv6]:port
        host, _, tail = item[1:].partition("]")
        if tail:
            port = tail.removeprefix(":")
    elif item.count(":") == 1:
        host, _, port = item.partition(":")
    if not host or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--redis: not host:port: {item!r} in {shown!r}")
    return host, int(port)


def _without_password(url: str) -> str:
    return re.sub(r"(://[^/@]*?:)[^/@]*@", r"\1***@", url)


def check_token(token: str, source: str) -> str:
    """A token fit to guard logs: long enough, and safe in a header and a URL."""
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{source}: the token must be at least {MIN_TOKEN_CHARS} characters")
    if not all(c.isascii() and c.isprintable() and c not in " ,;\"'\\" for c in token):
        raise ValueError(f"{source}: the token may hold printable ASCII except spaces and , ; \" ' \\")
    return token


_HOST = re.compile(
    r"\A(?:[0-9A-Fa-f:.]+|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)\Z"
)
_BASE = re.compile(r"\A/(?:[A-Za-z0-9._~-]+/)*\Z")


def _origins(specs: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Origins as browsers send them in ``Origin``: scheme://host[:port], nothing more."""
    if isinstance(specs, str):
        specs = (specs,)
    out: list[str] = []
    for spec in specs:
        text = spec.strip().rstrip("/")
        if text == "*":
            out.append(text)
            continue
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username
            or parts.password
        ):
            raise ValueError(f"--cors-origin: not an origin such as https://dash.example.com: {spec!r}")
        host = parts.hostname.lower()
        host = f"[{host}]" if ":" in host else host
        default = {"http": 80, "https": 443}[parts.scheme]
        out.append(f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else ""))
    return tuple(dict.fromkeys(out))


def _host_names(specs: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Comma-separated host names for --allowed-host, checked and lower-cased."""
    if isinstance(specs, str):
        specs = (specs,)
    items = tuple(item.strip().lower() for spec in specs for item in spec.split(",") if item.strip())
    for item in items:
        if item != "*" and not _HOST.match(item.removeprefix(".")):
            raise ValueError(f"--allowed-host: not a host name, '.domain' or '*': {item!r}")
    return items


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


def cli_options(agent: bool = False) -> list[tuple[str, Any, dict[str, Any]]]:
    """(field name, default, metadata) for each Config field that is a CLI option of serve (or agent)."""
    return [
        (f.name, f.default, dict(f.metadata))
        for f in fields(Config)
        if "help" in f.metadata and (agent or not f.metadata.get("agent_only"))
    ]


def options_markdown() -> str:
    """The README's table of command-line options."""
    rows = ["| option | default | meaning |", "| --- | --- | --- |"]
    for name, default, meta in cli_options(agent=True):
        flag = option_name(name)
        if isinstance(default, bool):
            shown, spelled = "off", f"`{flag}`"
        else:
            shown = f"`{default}`" if default not in ("", ()) else "(none)"
            spelled = f"`{flag} {meta['metavar']}`"
        rows.append(f"| {spelled} | {shown} | {meta['help']} |")
    return "\n".join(rows) + "\n"
