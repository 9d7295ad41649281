"""Outbound integration URLs: https to public addresses only, unless loopback is allowed (dev).

A URL is checked when it is saved and again on every connection. The connection check is the one
that counts: the host is resolved once, every address it resolves to must be public, and the
connection goes to one of those very addresses. A DNS answer that changes between a check and the
connection (rebinding) therefore cannot send a request inside; TLS still verifies the certificate
against the host name (SNI), since only the address the socket connects to is pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to; the event loop's getaddrinfo unless a test swaps it.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# IPv6 ranges that lead to an IPv4 address or out of the public internet although Python's
# `is_global` counts most of them as global: a NAT64 gateway turns 64:ff9b::a9fe:a9fe into
# 169.254.169.254 (the cloud metadata service), 6to4 and Teredo tunnel to embedded IPv4 addresses.
NON_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # IPv4-compatible (deprecated), with :: and ::1
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefixes
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4
        "fec0::/10",  # site-local (deprecated, still routed inside some networks)
    )
)


class UnsafeUrl(ValueError):
    """The URL may not be called (scheme, private or loopback address, unresolvable host)."""


def refusal(exc: BaseException | None) -> UnsafeUrl | None:
    """The UnsafeUrl behind an HTTP client error (however many wrappers deep), if that is what it was."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, UnsafeUrl):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _address(text: str) -> IpAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])


def check_address(ip_text: str, *, allow_loopback: bool) -> None:
    """Refuse anything but a public address (or loopback 127.0.0.0/8 and ::1 when allowed)."""
    ip = _address(ip_text)
    if allow_loopback and ip.is_loopback:
        return
    if isinstance(ip, ipaddress.IPv6Address) and any(ip in net for net in NON_PUBLIC_V6):
        raise UnsafeUrl(f"address {ip} leads to an IPv4 or non-public address")
    if not ip.is_global or ip.is_multicast:
        raise UnsafeUrl(f"address {ip} is not a public address")


def _split(url: str, *, allow_loopback: bool) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrl("URL must be an absolute https URL")
    if parts.username or parts.password:
        raise UnsafeUrl("URL must not carry credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "http" and not allow_loopback:
        raise UnsafeUrl("URL must use https")
    return parts.scheme, parts.hostname, port


async def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def checked_addresses(
    host: str, port: int, *, allow: Callable[[str], None], resolve: Resolver | None = None
) -> list[str]:
    """The addresses `host` resolves to, once; UnsafeUrl unless `allow` passes every one of them."""
    try:
        found = await (resolve or _getaddrinfo)(host, port)
    except OSError as exc:
        raise UnsafeUrl(f"host {host} does not resolve") from exc
    addresses = list(dict.fromkeys(found))  # in the resolver's order, each once
    if not addresses:
        raise UnsafeUrl(f"host {host} does not resolve")
    for address in addresses:
        allow(address)
    return addresses


def _public_or_loopback(allow_loopback: bool) -> Callable[[str], None]:
    return lambda address: check_address(address, allow_loopback=allow_loopback)


def _loopback_only(address: str) -> None:
    # Plain http is a dev convenience for loopback servers only.
    if not _address(address).is_loopback:
        raise UnsafeUrl("URL must use https")


async def resolve_and_check(url: str, *, allow_loopback: bool) -> list[str]:
    """Resolve the URL's host and refuse it unless every address is allowed; http only to loopback."""
    scheme, host, port = _split(url, allow_loopback=allow_loopback)
    allow = _loopback_only if scheme == "http" else _public_or_loopback(allow_loopback)
    return await checked_addresses(host, port, allow=allow)


# Connections one guarded client keeps open at once: per host, so one tenant's slow PSA cannot hold
# them all, and in all.
POOL_PER_HOST = 10
POOL_TOTAL = 100


class _PinnedResolver(AbstractResolver):
    """aiohttp's resolver for guarded connections: the host is resolved once per new connection and the
    connection may only go to the checked addresses it answers (the name stays for TLS and Host)."""

    def __init__(self, allow: Callable[[str], None], resolve: Resolver | None) -> None:
        self._allow = allow
        self._resolve = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The host's checked addresses; UnsafeUrl (out through the transport) when one is not allowed."""
        addresses = await checked_addresses(host, port, allow=self._allow, resolve=self._resolve)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release."""


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once per process: loading the CA bundle costs milliseconds, and one context serves every
    # connection. No SSL_CERT_FILE from the environment, as no proxy from it either.
    return httpx.create_ssl_context(trust_env=False)


def _pinned_transport(allow: Callable[[str], None], resolve: Resolver | None) -> AiohttpTransport:
    """httpx over an aiohttp pool whose every connection goes through `_PinnedResolver`.

    aiohttp's pool costs a fraction of httpcore's CPU per request (docs/benchmarks.md); httpx stays the
    API the callers and their tests use.
    """

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=_PinnedResolver(allow, resolve),
            use_dns_cache=False,  # resolved (and checked) again for every new connection
            ssl=_ssl_context(),
            limit=POOL_TOTAL,
            limit_per_host=POOL_PER_HOST,
        )
        return aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=False)

    return AiohttpTransport(verify=_ssl_context(), trust_env=False, client=session)


def _literal_address(host: str) -> str | None:
    """The address a host written as an IP address stands for, in any form the C library reads
    (`2130706433`, `0x7f000001`, `127.1` too): aiohttp connects to literals without the resolver."""
    try:
        return str(_address(host))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


class GuardedTransport(httpx.AsyncBaseTransport):
    """https to public addresses (plus loopback when allowed); http only to loopback when allowed."""

    def __init__(self, *, allow_loopback: bool, resolve: Resolver | None = None) -> None:
        self._allow_loopback = allow_loopback
        self._allow_https = _public_or_loopback(allow_loopback)
        self._https = _pinned_transport(self._allow_https, resolve)
        self._http = _pinned_transport(_loopback_only, resolve) if allow_loopback else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse a malformed, plain-http or unsafe URL at once; connect through the pinned pools otherwise."""
        try:
            scheme, host, _ = _split(str(request.url), allow_loopback=self._allow_loopback)
            allow = self._allow_https if scheme == "https" else _loopback_only
            if (literal := _literal_address(host)) is not None:
                allow(literal)
            transport = self._https if scheme == "https" else self._http
            assert transport is not None  # _split refused http without loopback
            return await transport.handle_async_request(request)
        except UnsafeUrl as exc:
            raise httpx.ConnectError(f"refused outbound URL: {exc}", request=request) from exc

    async def aclose(self) -> None:
        """Close both pools."""
        await self._https.aclose()
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()


def guarded_client(
    *, allow_loopback: bool, timeout: float = 10.0, resolve: Resolver | None = None
) -> httpx.AsyncClient:
    """An httpx client for integration calls: addresses checked and pinned per connection, no redirects.

    No proxy from the environment either: a proxy would make the connection, not us.
    """
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_loopback=allow_loopback, resolve=resolve),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
    )


class SharedGuardedClient:
    """A process's guarded client for its calls to integrations: made on first use (inside the event
    loop), shared so calls to one host reuse their connections, closed once on shutdown."""

    def __init__(self, *, allow_loopback: bool, timeout: float) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        """The client, made now if this is the first call (or the first since `aclose`)."""
        if self._client is None:
            self._client = guarded_client(allow_loopback=self._allow_loopback, timeout=self._timeout)
        return self._client

    async def aclose(self) -> None:
        """Close the pool, if one was made."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
