"""Console script `flowpilot-psa-sync`."""

from __future__ import annotations

from flowpilot_shared.service import serve
from psa_sync.app import create_app
from psa_sync.settings import PsaSyncSettings


def main() -> None:
    """Run psa-sync on FLOWPILOT_PSA_SYNC_PORT."""
    settings = PsaSyncSettings()
    serve(create_app(settings), port=settings.psa_sync_port, settings=settings)


if __name__ == "__main__":
    main()
