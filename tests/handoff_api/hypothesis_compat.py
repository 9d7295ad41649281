"""hypothesis-jsonschema 0.23 (used by schemathesis 3.x) calls `many.more()`, gone from recent Hypothesis.

Recent Hypothesis made `many` a context manager driven by iteration; `more()` below is the old
protocol expressed with the new one (enter on first call, one `next()` per element, exit at the end).
"""

from __future__ import annotations

from typing import Any

from hypothesis.internal.conjecture import utils as conjecture_utils


def _more(self: Any) -> bool:
    if getattr(self, "_compat_iter", None) is None:
        self.__enter__()
        self._compat_iter = iter(self)
    try:
        next(self._compat_iter)
    except StopIteration:
        self.__exit__(None)
        return False
    return True


def install() -> None:
    """Give `many` its old `more()` when this Hypothesis lacks it (idempotent)."""
    many: Any = conjecture_utils.many
    if not hasattr(many, "more"):
        many.more = _more
