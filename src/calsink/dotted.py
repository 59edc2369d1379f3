"""Dotted paths into nested records: ``attendee.email``."""

from __future__ import annotations

from typing import Any

_MISSING: Any = object()


def split(path: str) -> list[str]:
    return path.split(".")


def get(record: dict[str, Any], path: str, default: Any = _MISSING) -> Any:
    """The value at ``path``; a flat key that itself contains dots wins over nesting."""
    if path in record:
        return record[path]
    current: Any = record
    for part in split(path):
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            if default is _MISSING:
                raise KeyError(path)
            return default
    return current


def delete(record: dict[str, Any], path: str) -> bool:
    """Remove ``path``; return whether anything was there."""
    if path in record:
        del record[path]
        return True
    parts = split(path)
    current: Any = record
    for part in parts[:-1]:
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    if isinstance(current, dict) and parts[-1] in current:
        del current[parts[-1]]
        return True
    return False
