"""Console script `flowpilot-docgen`: serves docgen on FLOWPILOT_DOCGEN_PORT."""

from __future__ import annotations

from docgen.app import create_app
from docgen.settings import DocgenSettings
from flowpilot_shared.service import serve


def main() -> None:
    """Run docgen (consumer, outbox relay and HTTP) until interrupted."""
    settings = DocgenSettings()
    serve(create_app(settings), port=settings.docgen_port, settings=settings)


if __name__ == "__main__":
    main()
