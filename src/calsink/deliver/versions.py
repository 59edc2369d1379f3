"""Which bookings ``cal-api-version`` values a Cal.com server really answers.

Cal.com routes a version it does not know (an older or self-hosted server may lack
``2026-02-25``) to its 2024-04-15 controllers without saying so
(apps/api/v2/src/bootstrap.ts, the versioning extractor). Their answers give it away:
bookings listed under ``data.bookings``, a booking with ``startTime`` and no ``start``,
validation errors on the older body's top-level fields, and no route at all for
reschedule, confirm and decline. This module reads those signs, and asks a server
(``GET /v2/bookings?take=1`` per version) when told to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

NEWEST = "2026-02-25"
STABLE = "2024-08-13"
BOOKINGS_VERSIONS = (NEWEST, STABLE)
# top-level fields only the 2024-04-15 create-booking body has (metadata is in both)
LEGACY_CREATE_FIELDS = frozenset({"responses", "timeZone", "language", "end"})

Get = Callable[[str, Mapping[str, str]], Awaitable[tuple[int, Any]]]


def _booking_path(url: str) -> str | None:
    path = urlsplit(url).path.rstrip("/")
    return path if path == "/v2/bookings" or path.startswith("/v2/bookings/") else None


def _error(body: Any) -> dict[str, Any]:
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _invalid_fields(body: Any) -> set[str]:
    details = _error(body).get("details")
    errors = details.get("errors") if isinstance(details, dict) else None
    if not isinstance(errors, list):
        return set()
    return {str(e.get("property")) for e in errors if isinstance(e, dict)}


def answered_by_legacy(method: str, url: str, status: int, body: Any) -> bool:
    """Whether a bookings answer came from the 2024-04-15 contract."""
    path = _booking_path(url)
    if path is None:
        return False
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and (
        "bookings" in data or ("startTime" in data and "start" not in data)
    ):
        return True
    if status == 404 and _error(body).get("message") == f"Cannot {method} {path}":
        return True
    return (
        status == 400
        and path == "/v2/bookings"
        and bool(_invalid_fields(body) & LEGACY_CREATE_FIELDS)
    )


def fallback_advice(version: str) -> str:
    return (
        f"this Cal.com server does not know cal-api-version {version} (an older or "
        "self-hosted Cal.com): it answered with its older 2024-04-15 bookings contract. Set "
        f'destination.api_version: "{STABLE}" in this flow (or upgrade the server), then '
        "run it again."
    )


@dataclass(frozen=True)
class VersionReport:
    """Per bookings version: True (answered as itself), False (fell back), None (no sign)."""

    answers: dict[str, bool | None]

    def advice(self) -> str | None:
        if self.answers.get(NEWEST) is not False:
            return None
        if self.answers.get(STABLE) is True:
            return (
                f"this server does not know cal-api-version {NEWEST}, the version calsink's "
                "bookings templates send: bookings would fall back to Cal.com's older "
                f'2024-04-15 contract. Set destination.api_version: "{STABLE}" in flows '
                "that use bookings templates, or upgrade the server."
            )
        return (
            f"this server knows neither cal-api-version {NEWEST} nor {STABLE}: its bookings "
            "answer only the older 2024-04-15 contract, which calsink's templates do not send."
        )

    def summary(self) -> str:
        known = [v for v, ok in self.answers.items() if ok]
        if not known:
            return "bookings versions: could not tell which ones this server knows"
        return "bookings versions this server answers: " + ", ".join(known)


def _verdict(status: int, body: Any) -> bool | None:
    if status != 200 or not isinstance(body, dict):
        return None
    data = body.get("data")
    if isinstance(data, list):
        return True
    if isinstance(data, dict) and "bookings" in data:
        return False
    return None


async def check_bookings_versions(get: Get, base_url: str) -> VersionReport:
    """Ask the server which bookings versions it answers as themselves."""
    url = f"{base_url.rstrip('/')}/v2/bookings?take=1"
    answers: dict[str, bool | None] = {}
    for version in BOOKINGS_VERSIONS:
        status, body = await get(url, {"cal-api-version": version, "Accept": "application/json"})
        answers[version] = _verdict(status, body)
    return VersionReport(answers)
