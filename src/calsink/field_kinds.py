"""What a value of each field kind (``endpoints.Kind``) must be: one wording of it for
messages, the test of a value, and, where it is cheaper, a strict test for the quick screen
(it may turn a clean value away, never pass a bad one). `calsink.contract` applies them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, NamedTuple
from zoneinfo import available_timezones

from calsink.endpoints import WEEKDAYS, Field
from calsink.instants import is_instant

# The WHATWG HTML e-mail syntax: fast (well under a microsecond) and what browsers accept.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UTC_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
# The canonical form 2030-01-07T14:00:00Z with every part in range (year 0000 does not exist).
_CANONICAL_INSTANT = re.compile(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
)

MISSING: Any = object()
Test = Callable[[Any], bool]


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


@cache
def _listed_zones() -> frozenset[str]:
    """The zones the tzdata package lists: part of ``time_zones()``, read from one file
    instead of a walk over every zone file on the system."""
    try:
        text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    except (ImportError, OSError, UnicodeDecodeError):
        return frozenset({"UTC"})
    return (frozenset(text.split()) - {"posixrules"}) | {"UTC"}


def describe(value: Any) -> str:
    """How a found value reads in a message."""
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        if value == "":
            return "an empty text"
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


# --- the value tests ------------------------------------------------------------------------


def is_email(value: object) -> bool:
    return type(value) is str and len(value) <= 254 and _EMAIL.match(value) is not None


def is_name(value: Any) -> bool:
    return type(value) is str and value.strip() != ""


def _whole(value: Any) -> int | None:
    """``value`` as a whole number (2.0 counts), None when it is not one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _at_least(minimum: int) -> Test:
    def test(value: Any) -> bool:
        number = _whole(value)
        return number is not None and number >= minimum

    return test


is_count = _at_least(1)


def _fast_instant(value: Any) -> bool:
    if type(value) is not str:
        return False
    if _CANONICAL_INSTANT.fullmatch(value) is not None:
        if value[8:10] <= "28":
            return True
        try:  # the 29th to the 31st exist in some months only
            datetime.fromisoformat(value[:19])
        except ValueError:
            return False
        return True
    return is_instant(value)


def utc_moment(value: Any) -> datetime | None:
    if type(value) is not str or _UTC_INSTANT.match(value) is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _zone(value: Any) -> bool:
    return type(value) is str and (value in _listed_zones() or value in time_zones())


def _hh_mm(value: Any) -> bool:
    return type(value) is str and _HH_MM.match(value) is not None


def _iso_date(value: Any) -> bool:
    if type(value) is not str or _ISO_DATE.match(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _http_url(value: Any) -> bool:
    return is_name(value) and _HTTP_URL.match(value) is not None


def _weekdays(value: Any) -> bool:
    if type(value) is not list or not value:
        return False
    for day in value:  # noqa: SIM110 - a loop: no generator on the hot path
        if day not in WEEKDAYS:
            return False
    return True


def _location(value: Any) -> bool:
    if type(value) is dict:
        return type(value.get("type")) is str
    return type(value) is str


def _metadata(value: Any) -> bool:
    if type(value) is not dict or len(value) > 50:
        return False
    for key, item in value.items():
        if type(key) is not str or len(key) > 40:
            return False
        if isinstance(item, str) and len(item) > 500:
            return False
    return True


def _durations(value: Any) -> bool:
    return (
        type(value) is list
        and bool(value)
        and all(type(v) is int and v >= 1 for v in value)
        and len(set(value)) == len(value)
    )


class _Simple(NamedTuple):
    what: str
    full: Test
    strict: Test | None = None  # the quick screen's test, when cheaper than ``full``
    hint: str | None = None  # shown when the value is a text
    object_hint: str | None = None  # shown when it is a date or date-time object

    @property
    def fast(self) -> Test:
        return self.strict or self.full


class _List(NamedTuple):
    what: str
    item_what: str
    item: Test


_INT = "convert it in the map, e.g. int(column)"
_ISO = "turn the date-time into text in the map, e.g. iso(column)"
SIMPLE_KINDS: dict[str, _Simple] = {
    "text": _Simple("a text", lambda v: isinstance(v, str), lambda v: type(v) is str),
    "name": _Simple("a non-empty text", is_name),
    "count": _Simple("a whole number ≥ 1", is_count, lambda v: type(v) is int and v >= 1, _INT),
    "count0": _Simple(
        "a whole number ≥ 0", _at_least(0), lambda v: type(v) is int and v >= 0, _INT
    ),
    "boolean": _Simple(
        "true or false",
        lambda v: isinstance(v, bool),
        lambda v: type(v) is bool,
        "convert it in the map, e.g. bool(column)",
    ),
    "object": _Simple("an object", lambda v: isinstance(v, dict), lambda v: type(v) is dict),
    "instant": _Simple(
        "an ISO 8601 date-time such as 2030-01-07T14:00:00Z",
        lambda v: isinstance(v, str) and is_instant(v),
        _fast_instant,
        object_hint=_ISO,
    ),
    "utc-instant": _Simple(
        "a UTC date-time YYYY-MM-DDTHH:MM:SSZ such as 2030-01-21T00:00:00Z",
        lambda v: utc_moment(v) is not None,
        object_hint=_ISO,
    ),
    "zone": _Simple("an IANA time zone such as America/New_York", _zone),
    "email": _Simple("an e-mail address", is_email),
    "phone": _Simple(
        "a phone number in E.164 form such as +14155550123",
        lambda v: type(v) is str and _E164.match(v) is not None,
    ),
    "http-url": _Simple("an http(s) URL", _http_url),
    "hh:mm": _Simple("a 24-hour time HH:MM such as 09:00", _hh_mm),
    "date": _Simple("a date YYYY-MM-DD", _iso_date),
    "weekdays": _Simple("a non-empty list of weekdays such as Monday", _weekdays),
    "location": _Simple(
        "a location object (or a URL text)", lambda v: isinstance(v, str | dict), _location
    ),
    "metadata": _Simple("an object", lambda v: isinstance(v, dict), _metadata),
    "durations": _Simple(
        "a list of durations in minutes", lambda v: isinstance(v, list), _durations
    ),
}
LIST_KINDS: dict[str, _List] = {
    "emails": _List("a list of e-mail addresses", "an e-mail address", is_email),
    "user-ids": _List("a list of user ids", "a user id (a number)", lambda v: type(v) is int),
    "typed-objects": _List(
        "a list of objects",
        "an object with a `type`",
        lambda v: type(v) is dict and type(v.get("type")) is str,
    ),
}


def expected_of(f: Field) -> str:
    if f.what:
        return f.what
    if f.kind == "choice":
        return "one of " + ", ".join(o for o in f.choices if o)
    if f.kind == "triggers":
        return "a non-empty list of webhook triggers such as BOOKING_CREATED"
    if f.kind == "objects":
        return "a list of objects"
    if f.kind in LIST_KINDS:
        return LIST_KINDS[f.kind].what
    return SIMPLE_KINDS[f.kind].what


def is_given(value: Any) -> bool:
    """Whether a field counts as given: not null, not blank."""
    return value is not None and not (isinstance(value, str) and not value.strip())
