"""Outbound integration URLs: https to public addresses only, unless loopback is allowed (dev)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx


class UnsafeUrl(ValueError):
    """The URL may not be called (scheme, private or loopback address, unresolvable host)."""


def _is_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def check_address(ip_text: str, *, allow_loopback: bool) -> None:
    """Refuse anything but a global address (or loopback when allowed)."""
    ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_loopback and _is_loopback(ip):
        return
    if not ip.is_global or ip.is_multicast:
        raise UnsafeUrl(f"address {ip} is not a public address")


def _split(url: str, *, allow_loopback: bool) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrl("URL must be an absolute https URL")
    if parts.username or parts.password:
        raise UnsafeUrl("URL must not carry credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "http" and not allow_loopback:
        raise UnsafeUrl("URL must use https")
    return parts.hostname, port


async def resolve_and_check(url: str, *, allow_loopback: bool) -> None:
    """Resolve the URL's host and refuse it unless every address is allowed; http only to loopback."""
    host, port = _split(url, allow_loopback=allow_loopback)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeUrl(f"host {host} does not resolve") from exc
    addresses = {info[4][0] for info in infos}
    if not addresses:
        raise UnsafeUrl(f"host {host} does not resolve")
    for address in addresses:
        check_address(str(address), allow_loopback=allow_loopback)
    if urlsplit(url).scheme == "http":
        # Plain http is a dev convenience for loopback servers only.
        for address in addresses:
            if not _is_loopback(ipaddress.ip_address(str(address).split("%", 1)[0])):
                raise UnsafeUrl("URL must use https")


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """Checks every request's destination right before it is sent (DNS can change after saving)."""

    def __init__(self, *, allow_loopback: bool, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._allow_loopback = allow_loopback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            await resolve_and_check(str(request.url), allow_loopback=self._allow_loopback)
        except UnsafeUrl as exc:
            raise httpx.ConnectError(f"refused outbound URL: {exc}", request=request) from exc
        return await super().handle_async_request(request)


def guarded_client(*, allow_loopback: bool, timeout: float = 10.0) -> httpx.AsyncClient:
    """An httpx client for integration calls: destination checked per request, redirects not followed."""
    return httpx.AsyncClient(
        transport=_GuardedTransport(allow_loopback=allow_loopback),
        follow_redirects=False,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
    )
