"""Console script `flowpilot-handoff-api`: serve the API on FLOWPILOT_API_PORT."""

from __future__ import annotations

from fastapi import FastAPI

from flowpilot_shared.logging import configure_logging
from flowpilot_shared.service import serve
from handoff_api.app import create_app
from handoff_api.settings import ApiSettings


def app_from_environment() -> FastAPI:
    """The app as each worker process builds it (uvicorn's factory when FLOWPILOT_API_WORKERS > 1)."""
    settings = ApiSettings()
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(settings)


def main() -> None:
    """Read the environment, build the app (once per worker), serve it."""
    settings = ApiSettings()
    if settings.api_workers > 1:
        serve(
            "handoff_api.main:app_from_environment",
            port=settings.api_port,
            settings=settings,
            workers=settings.api_workers,
        )
    else:
        serve(create_app(settings), port=settings.api_port, settings=settings)


if __name__ == "__main__":
    main()
