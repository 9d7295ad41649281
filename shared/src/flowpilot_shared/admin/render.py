"""How operator commands print what they found: a table for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar


class Viewable(Protocol):
    """Anything with a JSON-ready view."""

    def as_dict(self) -> dict[str, Any]: ...


V = TypeVar("V", bound=Viewable)


def render(items: Sequence[V], as_json: bool, *, empty: str, header: str, line: Callable[[V], str]) -> str:
    """JSON of every item's view, or `empty`, or the header and one line per item."""
    if as_json:
        return json.dumps([item.as_dict() for item in items], indent=2)
    if not items:
        return empty
    return "\n".join([header, *(line(item) for item in items)])
