"""A bounded log of the requests the sandbox received, for tests to assert on."""

from __future__ import annotations

from collections import deque
from typing import Any

DEFAULT_CAPACITY = 100_000


class RequestLog:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._seq = 0

    def add(self, entry: dict[str, Any]) -> None:
        self._seq += 1
        entry["seq"] = self._seq
        self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
