"""Cal.com's default throttler: a fixed window of N requests per key per 60 seconds.

``X-RateLimit-Reset-Default`` carries the whole seconds until the current window ends
(Cal.com sends the throttler's time-to-expire; the unit is not documented upstream).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

DEFAULT_LIMIT = 120
DEFAULT_WINDOW_S = 60.0

# Routes with their own @Throttle (apps/api/v2/src/platform/bookings/2024-08-13/controllers/
# booking-guests.controller.ts and booking-location.controller.ts@0e907a82): 5 a minute per
# credential and route. Upstream's guard (apps/api/v2/src/lib/throttler-guard.ts@42e7dc49,
# handleApiEndpointThrottle) counts them instead of the default budget, and names the
# X-RateLimit-* headers after the throttle.
ROUTE_LIMIT = 5
_ROUTE_THROTTLES = (
    ("POST", re.compile(r"^/v2/bookings/[^/]+/guests$"), "booking_guests_add"),
    ("PATCH", re.compile(r"^/v2/bookings/[^/]+/location$"), "booking_location_update"),
)


def route_throttle(method: str, path: str, version: str | None) -> str | None:
    """The name of the route's own throttle; only the 2024-08-13 controllers have one."""
    if version != "2024-08-13":
        return None
    for verb, pattern, name in _ROUTE_THROTTLES:
        if method == verb and pattern.match(path):
            return name
    return None


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    name: str = "default"

    def headers(self) -> list[tuple[bytes, bytes]]:
        suffix = self.name.encode()
        return [
            (b"x-ratelimit-limit-" + suffix, str(self.limit).encode()),
            (b"x-ratelimit-remaining-" + suffix, str(self.remaining).encode()),
            (b"x-ratelimit-reset-" + suffix, str(self.reset_s).encode()),
        ]


class RateLimiter:
    def __init__(self, limit: int = DEFAULT_LIMIT, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._windows: dict[str, list[float]] = {}

    def configure(self, limit: int, window_s: float | None = None) -> None:
        self.limit = limit
        if window_s is not None:
            self.window_s = window_s
        self._windows.clear()

    def hit(
        self,
        key: str,
        now: float | None = None,
        name: str = "default",
        *,
        limit: int | None = None,
    ) -> Verdict:
        """Count one request of ``key``; ``limit`` is its own budget when it has one (an
        access token's), else the configured one."""
        allowed = self.limit if limit is None else limit
        moment = time.monotonic() if now is None else now
        window = self._windows.get(key)
        if window is None or moment >= window[0] + self.window_s:
            if len(self._windows) > 100_000:
                self._windows.clear()
            window = [moment, 0.0]
            self._windows[key] = window
        reset_s = max(math.ceil(window[0] + self.window_s - moment), 0)
        if window[1] >= allowed:
            return Verdict(False, allowed, 0, reset_s, name)
        window[1] += 1
        return Verdict(True, allowed, allowed - int(window[1]), reset_s, name)
