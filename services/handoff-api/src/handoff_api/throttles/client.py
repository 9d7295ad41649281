"""Who the client is: the peer address, or what a trusted proxy in front of us says it was.

X-Forwarded-For and X-Real-IP are believed only from a peer inside FLOWPILOT_TRUSTED_PROXIES (the
gateway). Anyone can send those headers; a proxy appends the address it saw to X-Forwarded-For,
so the client is the right-most entry that is not itself a trusted proxy. Entries left of it are
whatever the client claimed, and are never used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def trusted_networks(spec: str) -> tuple[Network, ...]:
    """The networks of a comma-separated CIDR list (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket counts as that IPv4 address.
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def client_address(request: Request, networks: Sequence[Network]) -> str:
    """The client's address as text (what per-address throttles count under)."""
    peer = _parse(request.client.host) if request.client else None
    if peer is None:
        return UNKNOWN
    if not _trusted(peer, networks):
        return str(peer)
    for entry in reversed(request.headers.get("x-forwarded-for", "").split(",")):
        ip = _parse(entry)
        if ip is None:
            break  # garbage: what is left of it cannot be trusted either
        if not _trusted(ip, networks):
            return str(ip)
    real = _parse(request.headers.get("x-real-ip", ""))
    return str(real) if real is not None else str(peer)
