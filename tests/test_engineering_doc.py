"""The examples in docs/engineering.md run against the real database: the guide stays true to the code."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.harness.factories import make_escalation, make_team

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "engineering.md"
EXAMPLE = re.compile(r"<!-- example -->\n```python\n(.*?)```", re.S)


def examples() -> list[str]:
    """Every block of the guide marked as an example."""
    return EXAMPLE.findall(GUIDE.read_text())


def test_the_guide_has_examples():
    assert len(examples()) >= 2


@pytest.mark.parametrize("index", range(len(examples())))
async def test_example_runs(index: int, db, core_settings):
    team = await make_team(db)
    escalation = await make_escalation(db, team, escalator=team.users[1])
    namespace: dict[str, Any] = {"db": db, "settings": core_settings, "escalation": escalation}
    body = textwrap.indent(examples()[index], "    ")
    exec(f"async def example():\n{body}", namespace)  # the guide's own code, as written
    await namespace["example"]()
