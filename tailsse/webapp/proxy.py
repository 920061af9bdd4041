"""The real client address and scheme of a request that came through a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from tornado.httputil import HTTPServerRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDR networks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``) as networks."""
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """Believes X-Forwarded-For and X-Forwarded-Proto only from the given proxies."""

    def __init__(self, specs: Iterable[str]) -> None:
        self.networks = parse_networks(specs)

    def trusts(self, address: Address) -> bool:
        """Whether an address is one of the trusted proxies."""
        return any(address in network for network in self.networks)

    def apply(self, request: HTTPServerRequest) -> None:
        """Rewrite ``remote_ip`` and ``protocol`` when the peer is a trusted proxy."""
        peer = _address(request.remote_ip or "")
        if peer is None or not self.trusts(peer):
            return
        hops = ",".join(request.headers.get_list("X-Forwarded-For")).split(",")
        # Each proxy appends the address it saw: walk back from the nearest one and stop
        # at the first hop no trusted proxy vouches for, which is the client.
        client = None
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break
            client = address
            if not self.trusts(address):
                break
        if client is not None:
            request.remote_ip = str(client)
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            request.protocol = proto
