"""Parsing and formatting of the date-times Cal.com exchanges."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ISO_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}:?\d{2})?)?$"
)


def now() -> datetime:
    return datetime.now(UTC)


def parse_iso(value: object) -> datetime | None:
    """An ISO-8601 date or date-time as an aware UTC datetime, or None when it is not one."""
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        return None
    text = value.replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def is_date_only(value: str) -> bool:
    return len(value) == 10


def format_utc(moment: datetime) -> str:
    """Cal.com's output form: 2030-01-07T14:00:00.000Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    """ISO with the zone's offset and milliseconds: 2030-01-07T09:00:00.000-05:00."""
    local = moment.astimezone(zone)
    text = local.isoformat(timespec="milliseconds")
    return text


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None


def is_time_zone(value: object) -> bool:
    return isinstance(value, str) and bool(value) and zone(value) is not None


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def minutes_of(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)
