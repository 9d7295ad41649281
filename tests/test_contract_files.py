"""The contract's generated files in docs/api match the code (regenerate with `make contract`)."""

from __future__ import annotations

import json

from scripts.export_contract import API_DIR, documents, stale


def test_checked_in_contract_files_match_the_code():
    assert stale() == [], "docs/api is out of date: run `make contract` and commit the result"


def test_event_schema_names_every_event_type():
    schema = json.loads(documents()["events.schema.json"])
    types = {
        variant["properties"]["type"]["const"]
        for variant in schema["$defs"].values()
        if "type" in variant.get("properties", {}) and "const" in variant["properties"]["type"]
    }
    assert {"handoff.escalated", "handoff.claimed", "documentation.generated", "psa.push_failed"} <= types
    assert (API_DIR / "openapi-handoff-api.json").exists()
