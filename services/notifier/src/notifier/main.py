"""`flowpilot-notifier`: the notifier process on FLOWPILOT_NOTIFIER_PORT."""

from __future__ import annotations

from flowpilot_shared.service import serve
from notifier.app import create_app
from notifier.settings import NotifierSettings


def main() -> None:
    """Run the notifier until interrupted."""
    settings = NotifierSettings()
    serve(create_app(settings), port=settings.notifier_port, settings=settings)


if __name__ == "__main__":
    main()
