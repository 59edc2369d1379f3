"""Instants in time as Cal.com wants them: ISO 8601 in UTC, ``2030-01-07T14:00:00Z``.

``normalise_instant`` accepts an ISO 8601 date-time with an offset or ``Z`` (or a
``datetime``), and, when a default zone is given, a naive date-time read in that
zone. It answers in UTC with whole seconds, keeping milliseconds only when they
are not zero (``.123Z``). A date without a time, and a naive date-time without a
zone, are refused: both are ambiguous.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EXPECTED = "an ISO 8601 date-time with an offset or Z, e.g. 2030-01-07T14:00:00Z"


class InstantError(ValueError):
    """A value that is not an unambiguous instant: what was found, and what to do."""

    def __init__(self, found: str, hint: str | None = None) -> None:
        self.expected = EXPECTED
        self.found = found
        self.hint = hint
        text = f"expected {EXPECTED}, found {found}"
        super().__init__(f"{text} ({hint})" if hint else text)


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The IANA time zone called ``name``; ValueError when there is none."""
    if name.upper() in {"UTC", "Z"}:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from None


def normalise_instant(value: object, default_tz: str | None = None) -> str:
    """``value`` as ``YYYY-MM-DDTHH:MM:SS[.mmm]Z``; InstantError (a ValueError) saying why not."""
    if type(value) is str and len(value) == 20 and value[10] == "T" and value[19] == "Z":
        try:  # already canonical: only check that it is a real date and time
            datetime.fromisoformat(value[:19])
        except ValueError:
            pass
        else:
            if value[4] + value[7] + value[13] + value[16] == "--::" and value[:4].isdigit():
                return value
    moment = _parse(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        if default_tz is None:
            raise InstantError(
                f"{_show(value)} without an offset",
                "add one, e.g. +01:00, or read it in a zone: iso(x, 'Europe/Berlin')",
            )
        moment = moment.replace(tzinfo=zone(default_tz))
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InstantError(_show(value), "out of range") from None
    text = utc.replace(tzinfo=None).isoformat(timespec="seconds")
    millis = utc.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def is_instant(value: object) -> bool:
    """Whether ``value`` is an unambiguous instant (a date-time with an offset or Z)."""
    try:
        normalise_instant(value)
    except ValueError:
        return False
    return True


def _parse(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        raise InstantError(f"the date {value.isoformat()} without a time")
    if not isinstance(value, str):
        raise InstantError(_show(value))
    text = value.strip()
    if len(text) < 11 or text[10] not in "Tt ":
        if len(text) == 10:
            raise InstantError(
                f"the date {text!r} without a time", "add one, e.g. 2030-01-07T09:00:00"
            )
        raise InstantError(_show(value))
    text = text[:10] + "T" + text[11:]
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InstantError(_show(value)) from None


def _show(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    return f"{type(value).__name__} {value!r}"[:80]
