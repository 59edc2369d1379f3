"""A bound on how deeply a record's lists and objects may nest.

Deeper values are refused as the record is read (a rejection naming the field), so
that nothing after the source (rules, the ledger, dead letters) meets a value
nested deeper than it can encode.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 100
TOO_DEEP = (
    f"nested deeper than {MAX_DEPTH} levels of lists and objects; "
    "flatten the record or leave that field out"
)


def may_be_too_deep(text: str | bytes, start: int = 0, end: int | None = None) -> bool:
    """A cheap first look: False when the text cannot hold ``MAX_DEPTH`` open brackets."""
    if isinstance(text, bytes):
        return text.count(b"[", start, end) + text.count(b"{", start, end) > MAX_DEPTH
    return text.count("[", start, end) + text.count("{", start, end) > MAX_DEPTH


def depth_problem(record: dict[str, Any]) -> str | None:
    """Why ``record`` nests too deeply (naming the field), or None."""
    for name, value in record.items():
        if _deeper_than(value, MAX_DEPTH - 1):
            return f"`{name}` is {TOO_DEEP}"
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth >= limit:
            return True
        pending.extend((child, depth + 1) for child in item)
    return False
