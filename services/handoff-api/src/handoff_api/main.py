"""Console script `flowpilot-handoff-api`: serve the API on FLOWPILOT_API_PORT."""

from __future__ import annotations

from flowpilot_shared.service import serve
from handoff_api.app import create_app
from handoff_api.settings import ApiSettings


def main() -> None:
    """Read the environment, build the app, serve it."""
    settings = ApiSettings()
    serve(create_app(settings), port=settings.api_port, settings=settings)


if __name__ == "__main__":
    main()
