"""Instants in time as Cal.com wants them: ISO 8601 in UTC, ``2030-01-07T14:00:00Z``.

``normalise_instant`` accepts an ISO 8601 date-time with an offset or ``Z`` (or a
``datetime``), and, when a default zone is given, a naive date-time read in that
zone. It answers in UTC with whole seconds, keeping milliseconds only when they
are not zero (``.123Z``). A date without a time, and a naive date-time without a
zone, are refused: both are ambiguous.

``normalise_formatted`` reads other ways of writing a moment: a format named in
``FORMATS`` (``mdy``, the US month-first ``12/03/2026 14:30``; ``dmy``, day-first
``03.12.2026``; ``epoch`` and ``epoch_ms``, seconds or milliseconds since
1970-01-01 UTC) or a strptime format such as ``%d/%m/%Y %H:%M``. The format says
which is the day and which the month, so a date alone is read as midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EXPECTED = "an ISO 8601 date-time with an offset or Z, e.g. 2030-01-07T14:00:00Z"


class InstantError(ValueError):
    """A value that is not an unambiguous instant: what was found, and what to do."""

    def __init__(self, found: str, hint: str | None = None, expected: str = EXPECTED) -> None:
        self.expected = expected
        self.found = found
        self.hint = hint
        text = f"expected {expected}, found {found}"
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
    return _in_utc(_parse(value), value, default_tz, "iso(x, 'Europe/Berlin')")


def _in_utc(moment: datetime, value: object, default_tz: str | None, example: str) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        if default_tz is None:
            raise InstantError(
                f"{_show(value)} without an offset",
                f"add one, e.g. +01:00, or read it in a zone: {example}",
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
        raise InstantError(_show(value), _NUMBER_HINT if _is_number(value) else None)
    text = value.strip()
    if len(text) < 11 or text[10] not in "Tt ":
        if len(text) == 10 and text[4:5] == "-":
            raise InstantError(
                f"the date {text!r} without a time", "add one, e.g. 2030-01-07T09:00:00"
            )
        raise InstantError(_show(value), _hint_for(text))
    text = text[:10] + "T" + text[11:]
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        hint = _why_not_a_date(text) or _hint_for(value.strip())
        raise InstantError(_show(value), hint) from None


_NUMBER_HINT = (
    "if it counts seconds or milliseconds since 1970, say which: "
    "iso(x, 'epoch') or iso(x, 'epoch_ms')"
)
_SLASHED_HINT = (
    "say which number is the month: iso(x, 'mdy', zone) for US month/day/year "
    "(12/03/2026 14:30), iso(x, 'dmy', zone) for day/month/year (03/12/2026 14:30)"
)
_ISO_PARTS = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _hint_for(text: str) -> str | None:
    if text.isdigit():
        return _NUMBER_HINT
    if re.match(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", text):
        return _SLASHED_HINT
    return None


def _why_not_a_date(text: str) -> str | None:
    """What is out of range in an ISO-looking text ("month must be in 1..12"), if anything."""
    parts = _ISO_PARTS.match(text)
    if parts is None:
        return None
    try:
        year, month, day, hour, minute = (int(part) for part in parts.groups()[:5])
        datetime(year, month, day, hour, minute, int(parts.group(6) or 0))
    except ValueError as exc:
        return str(exc)
    return None


# --- other ways of writing a moment ---------------------------------------------------------


@dataclass(frozen=True)
class DateFormat:
    """A named way of writing dates: how it reads, and the strptime patterns that read it."""

    described: str
    patterns: tuple[str, ...]


def _patterns(*dates: str) -> tuple[str, ...]:
    times = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")
    return tuple(f"{day} {time}" for day in dates for time in times) + dates


FORMATS: dict[str, DateFormat] = {
    "mdy": DateFormat(
        "a US date, month first (MM/DD/YYYY[ HH:MM[:SS][ AM/PM]]), e.g. 12/03/2026 14:30",
        _patterns("%m/%d/%Y", "%m-%d-%Y"),
    ),
    "dmy": DateFormat(
        "a day-first date (DD/MM/YYYY, DD.MM.YYYY or DD-MM-YYYY, then [HH:MM[:SS]]), "
        "e.g. 03.12.2026 14:30",
        _patterns("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"),
    ),
    "epoch": DateFormat("seconds since 1970-01-01 UTC, e.g. 1796308200", ()),
    "epoch_ms": DateFormat("milliseconds since 1970-01-01 UTC, e.g. 1796308200000", ()),
}


def is_format(name: str) -> bool:
    """Whether ``name`` is a date format (named, or strptime with ``%``) rather than a zone."""
    return name in FORMATS or "%" in name


def normalise_formatted(value: object, fmt: str, default_tz: str | None = None) -> str:
    """``value`` written as ``fmt`` (a name in FORMATS or a strptime format), in UTC."""
    if fmt in ("epoch", "epoch_ms"):
        return _from_epoch(value, fmt)
    named = FORMATS.get(fmt)
    expected = named.described if named else f"a date-time in the format {fmt!r}"
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = _strptime(value, named.patterns if named else (fmt,), fmt, expected)
    else:
        raise InstantError(_show(value), None, expected)
    try:
        return _in_utc(moment, value, default_tz, f"iso(x, {fmt!r}, 'America/New_York')")
    except InstantError as exc:
        raise InstantError(exc.found, exc.hint, expected) from None


def _strptime(value: str, patterns: tuple[str, ...], fmt: str, expected: str) -> datetime:
    text = " ".join(value.split())
    reasons: list[str] = []
    for pattern in patterns:
        try:
            return datetime.strptime(text, pattern)
        except ValueError as exc:
            reasons.append(str(exc))
    out_of_range = [reason for reason in reasons if "does not match" not in reason]
    hint = out_of_range[0] if out_of_range else None
    if fmt == "mdy" and hint is None and _first_number(text) > 12:
        hint = f"{_first_number(text)} is not a month: for day-first dates use 'dmy'"
    raise InstantError(_show(value), hint, expected)


def _first_number(text: str) -> int:
    digits = re.match(r"\d+", text)
    return int(digits.group(0)) if digits else 0


def _from_epoch(value: object, fmt: str) -> str:
    expected = FORMATS[fmt].described
    number: float | None = None
    if _is_number(value):
        number = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,20}(\.\d{1,9})?\s*", value):
        number = float(value)
    if number is None:
        raise InstantError(_show(value), None, expected)
    seconds = number / 1000 if fmt == "epoch_ms" else number
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        hint = "out of range" + (
            "; if it counts milliseconds use 'epoch_ms'" if fmt == "epoch" else ""
        )
        raise InstantError(_show(value), hint, expected) from None
    return _in_utc(moment, value, None, "")


def _show(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    return f"{type(value).__name__} {value!r}"[:80]
