"""A bounded log of the requests the sandbox received, for tests to assert on.

Entries keep the raw body and are turned into JSON only when the log is read, so
logging costs little and memory stays flat (the last ``capacity`` entries are kept).
Webhook secrets, and the refresh token and client secret of an OAuth token request, in
logged bodies are replaced by ``sha256:<hex digest>``: a test can still check which
secret arrived without the log ever holding it.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

import orjson

DEFAULT_CAPACITY = 100_000


class LogEntry:
    __slots__ = ("body", "fault", "method", "path", "query", "request_id", "seq", "status", "time")

    def __init__(
        self, time: float, method: str, path: str, query: str, request_id: str, body: bytes
    ) -> None:
        self.seq = 0
        self.time = time
        self.method = method
        self.path = path
        self.query = query
        self.request_id = request_id
        self.body = body
        self.status: int | None = None
        self.fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "request_id": self.request_id,
            "fault": self.fault,
            "json": _body_json(self.body),
        }


_HASHED = ("secret", "refresh_token", "client_secret")


def _body_json(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict):
        for name in _HASHED:
            if isinstance(data.get(name), str):
                data[name] = "sha256:" + hashlib.sha256(data[name].encode()).hexdigest()
    return data


class RequestLog:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self._seq = 0

    def add(self, entry: LogEntry) -> None:
        self._seq += 1
        entry.seq = self._seq
        self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self._entries]

    def clear(self) -> None:
        self._entries.clear()
