"""What a route handler receives and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calsink.sandbox.errors import ApiError
from calsink.sandbox.model import Store, User

BOOKINGS_VERSIONS = frozenset({"2024-08-13", "2026-02-25"})
LEGACY_BOOKINGS_VERSION = "2024-04-15"

Emit = Callable[[str, int, Callable[[], dict[str, Any]]], None]


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    version: str | None
    user: User | None
    now: datetime

    def require_user(self) -> User:
        if self.user is None:
            raise ApiError(
                401,
                "No authentication method provided. Either pass an API key as 'Bearer' header "
                "or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers",
            )
        return self.user


@dataclass
class Env:
    store: Store
    emit: Emit


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def success(data: Any, status: int = 200, **extra: Any) -> Reply:
    body: dict[str, Any] = {"status": "success", "data": data}
    body.update(extra)
    return Reply(status, body)
