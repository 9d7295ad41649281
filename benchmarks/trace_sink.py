"""An OTLP/HTTP endpoint that accepts spans and throws them away: what a traced benchmark exports to.

`python -m benchmarks.trace_sink --port N`: answers 200 (an empty ExportTraceServiceResponse) to every
POST /v1/traces and counts the requests and bytes (GET /stats), so a run with tracing on pays for
building and exporting its spans without a collector's own work on the box.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

STATS = web.AppKey("stats", dict)


async def _accept(request: web.Request) -> web.Response:
    body = await request.read()
    stats = request.app[STATS]
    stats["requests"] += 1
    stats["bytes"] += len(body)
    return web.Response(body=b"", content_type=request.content_type or "application/x-protobuf")


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS])


def app() -> web.Application:
    """The sink's routes."""
    application = web.Application(client_max_size=64 * 1024 * 1024)
    application[STATS] = {"requests": 0, "bytes": 0}
    application.router.add_post("/v1/traces", _accept)
    application.router.add_get("/stats", _stats)
    return application


async def _serve(port: int) -> None:
    runner = web.AppRunner(app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
