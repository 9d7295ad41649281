"""The outbound guard at connection time: every non-public address form refused, the checked address pinned."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from flowpilot_shared.security.urls import guarded_client, refusal

# Each reaches (or may reach) an internal address although Python's ipaddress calls several "global".
NON_PUBLIC_URLS = [
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata address 169.254.169.254
    "https://[64:ff9b:1::a9fe:a9fe]/",  # NAT64, local-use prefix
    "https://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://[::a9fe:a9fe]/",  # IPv4-compatible
    "https://[::ffff:a9fe:a9fe]/",  # IPv4-mapped
    "https://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated
    "https://[fec0::1]/",  # site-local
    "https://[fd00::1]/",  # unique local
    "https://[fe80::1]/",  # link-local
    "https://[::]/",
    "https://0.0.0.0/",
    "https://2130706433/",  # 127.0.0.1 as one decimal number
    "https://0x7f000001/",  # ... and in hex
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://169.254.169.254/",
]


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
async def test_non_public_addresses_refused_when_connecting(url):
    async with guarded_client(allow_loopback=False, timeout=5) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(url)
    assert refusal(caught.value) is not None, caught.value


class ConnectionCounter:
    """A loopback TCP listener standing for an internal service: counts who connects."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_a_rebinding_dns_answer_cannot_reach_inside(monkeypatch):
    internal = ConnectionCounter()
    port = await internal.start()
    real = socket.getaddrinfo
    answers = iter(["1.1.1.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"])

    def rebinding(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        # A hostile DNS server: a public answer for the check, the inside on every later question.
        if host in ("rebind.example", b"rebind.example"):  # anyio asks with the name IDNA-encoded
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        async with guarded_client(allow_loopback=False, timeout=2) as client:
            for _ in range(2):  # the first try goes to the public answer, the second is refused
                with pytest.raises(httpx.TransportError):
                    await client.post(f"https://rebind.example:{port}/hook", json={})
    finally:
        await internal.stop()
    assert internal.connections == 0


async def test_a_name_with_any_inside_address_is_refused_when_connecting(monkeypatch):
    internal = ConnectionCounter()
    port = await internal.start()
    real = socket.getaddrinfo

    def mixed(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        # One public answer beside an inside one: the connection must not pick the public one and go.
        if host in ("mixed.example", b"mixed.example"):
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("1.1.1.1", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    try:
        async with guarded_client(allow_loopback=False, timeout=2) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.post(f"https://mixed.example:{port}/hook", json={})
    finally:
        await internal.stop()
    assert "127.0.0.1 is not a public address" in str(refusal(caught.value))
    assert internal.connections == 0


async def test_plain_http_only_to_loopback_and_the_name_is_kept(monkeypatch):
    seen: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        seen.append(next(line.lower() for line in head.split("\r\n") if line.lower().startswith("host:")))
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    real = socket.getaddrinfo

    def local_name(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host in ("psa.localtest", b"psa.localtest"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_name)
    try:
        async with guarded_client(allow_loopback=True, timeout=5) as client:
            answer = await client.get(f"http://psa.localtest:{port}/x")
            assert answer.status_code == 204
        async with guarded_client(allow_loopback=False, timeout=5) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(f"http://psa.localtest:{port}/x")
            assert "https" in str(refusal(caught.value))
    finally:
        server.close()
        await server.wait_closed()
    assert seen == [f"host: psa.localtest:{port}"]
