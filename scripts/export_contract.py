"""The contract's machine-readable forms, generated from the code: one OpenAPI document per service
and a JSON Schema of every event (`make contract` writes them; a test checks the files match)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from flowpilot_shared.events import AnyEvent

API_DIR = Path(__file__).resolve().parents[1] / "docs" / "api"


def _apps() -> dict[str, Callable[[], Any]]:
    # Imported here: building an app reads settings, which a plain import of this module should not.
    from docgen.app import create_app as docgen
    from handoff_api.app import create_app as handoff_api
    from notifier.app import create_app as notifier
    from psa_sync.app import create_app as psa_sync

    return {"handoff-api": handoff_api, "notifier": notifier, "docgen": docgen, "psa-sync": psa_sync}


def documents() -> dict[str, str]:
    """File name -> content, for every generated file."""
    files = {f"openapi-{name}.json": _dump(create().openapi()) for name, create in sorted(_apps().items())}
    files["events.schema.json"] = _dump(TypeAdapter(AnyEvent).json_schema(mode="serialization"))
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def stale() -> list[str]:
    """The generated files whose checked-in copy differs from the code (or is missing)."""
    return [
        name
        for name, content in documents().items()
        if not (API_DIR / name).exists() or (API_DIR / name).read_text() != content
    ]


def main() -> None:
    """Write every file (or, with --check, exit 1 naming the stale ones)."""
    if "--check" in sys.argv:
        names = stale()
        if names:
            sys.exit(f"out of date (run `make contract`): {', '.join(names)}")
        return
    API_DIR.mkdir(parents=True, exist_ok=True)
    for name, content in documents().items():
        (API_DIR / name).write_text(content)
        print(f"wrote docs/api/{name}")


if __name__ == "__main__":
    main()
