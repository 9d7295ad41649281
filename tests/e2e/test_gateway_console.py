"""The gateway in front of the console: SPA fallback, cache rules, security headers, X-Request-ID."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Fakes
from tests.e2e.story import make_team
from tests.harness.people import API

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

YEAR = 365 * 24 * 3600


class Scripts(HTMLParser):
    """The <script> tags of a page: their src, or None for inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.sources.append(dict(attrs).get("src"))


def assert_secured(response: httpx.Response) -> None:
    """The security headers every gateway answer carries."""
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    csp = response.headers.get("content-security-policy", "")
    directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";") if d.strip())
    assert directives.get("script-src") == "'self'", where
    assert directives.get("connect-src") == "'self'", where
    assert directives.get("frame-ancestors") == "'none'", where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "same-origin", where
    assert response.headers.get("x-request-id"), where


async def test_console_routes_fall_back_to_the_app_and_assets_are_cached_for_good(
    gw: httpx.AsyncClient, console_build: Path
):
    index = (console_build / "index.html").read_text()
    for path in ("/", "/queue", f"/pilot/{uuid.uuid4()}?pickup=true", "/settings/users", "/no/such/page"):
        response = await gw.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.text == index, path
        assert response.headers["cache-control"] == "no-cache", path
        assert_secured(response)

    parser = Scripts()
    parser.feed(index)
    assert parser.sources and None not in parser.sources  # no inline script: the CSP allows none
    script = parser.sources[0]
    assert script is not None and re.fullmatch(r"/assets/index-[\w-]+\.js", script)
    asset = await gw.get(script, headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("application/javascript")
    assert asset.headers["content-encoding"] == "gzip"
    max_age = int(re.search(r"max-age=(\d+)", asset.headers["cache-control"]).group(1))  # type: ignore[union-attr]
    assert max_age >= YEAR
    assert_secured(asset)

    # A missing asset is a 404, not the app's page; API paths never fall back to the app.
    assert (await gw.get("/assets/index-missing.js")).status_code == 404
    for path in ("/api/v2/queue", f"{API}/no-such-endpoint"):
        response = await gw.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
        assert_secured(response)


async def test_security_headers_on_api_stream_and_gateway_answers(gw: httpx.AsyncClient, fakes: Fakes):
    team = await make_team(gw, fakes, slack=False, psa=False)
    answers = [
        await gw.get(f"{API}/auth/me", headers=team.owner.headers),
        await gw.get(f"{API}/auth/me"),
        await gw.post(f"{API}/auth/login", json={"email": "nobody@example.com", "password": "x"}),
        await gw.post(f"{API}/ai-sessions", headers=team.owner.headers, json={"title": ""}),
        await gw.get(f"{API}/notifications", headers=team.owner.headers),
        await gw.get("/gateway/healthz"),
    ]
    assert [r.status_code for r in answers] == [200, 401, 401, 422, 200, 200]
    for response in answers:
        assert_secured(response)
    async with gw.stream(
        "GET", f"{API}/ai-sessions/escalations/stream", headers=team.owner.headers
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert_secured(stream)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("req-42.retry_1", True),
        ("A" * 64, True),
        ("A" * 65, False),
        ("has space", False),
        ("<script>alert(1)</script>", False),
        ("id\tinjected", False),
        ("", False),
        (None, False),
    ],
)
async def test_request_id_is_passed_only_as_a_short_safe_token(
    gw: httpx.AsyncClient, sent: str | None, kept: bool
):
    headers = {} if sent is None else {"X-Request-ID": sent}
    for path in ("/gateway/healthz", f"{API}/auth/me", "/queue"):
        response = await gw.get(path, headers=headers)
        echoed = response.headers["x-request-id"]
        if kept:
            assert echoed == sent, path
        else:
            assert re.fullmatch(r"[0-9a-f]{32}", echoed), (path, echoed)  # nginx's own $request_id
