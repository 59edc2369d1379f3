"""Cal.com's input rules per template, derived from the templates' description.

Each field kind (``endpoints.Kind``) has one wording of what Cal.com expects and two tests
of a value: the full one, which names every problem, and a strict, cheap one for the
quick screen (this runs once per record, for millions of records). A body whose every
field passes its strict test, with the required fields there and the template's joined
rules holding, has no problems; any other body goes through the full rules, which name
every problem in the order of the description. A strict test may turn a clean value away
(the full rules then decide), never pass a bad one. Fields Cal.com does not know are
reported separately, because Cal.com strips them silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NamedTuple
from zoneinfo import available_timezones

from calsink.endpoints import BOOKING_LOCATION_VALUES, WEEKDAYS, Endpoint, Field, Kind
from calsink.instants import is_instant
from calsink.records import Problem, Record

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

_MISSING: Any = object()
Test = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The problems that stop a body, and the fields the endpoint does not know."""

    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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
    if value is _MISSING:
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


def _name(value: Any) -> bool:
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


_count = _at_least(1)


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
    return _name(value) and _HTTP_URL.match(value) is not None


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
    fast: Test
    hint: str | None = None  # shown when the value is a text
    object_hint: str | None = None  # shown when it is a date or date-time object


class _List(NamedTuple):
    what: str
    item_what: str
    item: Test


_INT = "convert it in the map, e.g. int(column)"
_ISO = "turn the date-time into text in the map, e.g. iso(column)"
_SIMPLE: dict[str, _Simple] = {
    "text": _Simple("a text", lambda v: isinstance(v, str), lambda v: type(v) is str),
    "name": _Simple("a non-empty text", _name, _name),
    "count": _Simple("a whole number ≥ 1", _count, lambda v: type(v) is int and v >= 1, _INT),
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
        lambda v: utc_moment(v) is not None,
        object_hint=_ISO,
    ),
    "zone": _Simple("an IANA time zone such as America/New_York", _zone, _zone),
    "email": _Simple("an e-mail address", is_email, is_email),
    "phone": _Simple(
        "a phone number in E.164 form such as +14155550123",
        lambda v: type(v) is str and _E164.match(v) is not None,
        lambda v: type(v) is str and _E164.match(v) is not None,
    ),
    "http-url": _Simple("an http(s) URL", _http_url, _http_url),
    "hh:mm": _Simple("a 24-hour time HH:MM such as 09:00", _hh_mm, _hh_mm),
    "date": _Simple("a date YYYY-MM-DD", _iso_date, _iso_date),
    "weekdays": _Simple("a non-empty list of weekdays such as Monday", _weekdays, _weekdays),
    "location": _Simple(
        "a location object (or a URL text)", lambda v: isinstance(v, str | dict), _location
    ),
    "metadata": _Simple("an object", lambda v: isinstance(v, dict), _metadata),
    "durations": _Simple(
        "a list of durations in minutes", lambda v: isinstance(v, list), _durations
    ),
}
_LISTS: dict[str, _List] = {
    "emails": _List("a list of e-mail addresses", "an e-mail address", is_email),
    "user-ids": _List("a list of user ids", "a user id (a number)", lambda v: type(v) is int),
    "typed-objects": _List(
        "a list of objects",
        "an object with a `type`",
        lambda v: type(v) is dict and type(v.get("type")) is str,
    ),
}


def _what(f: Field) -> str:
    if f.what:
        return f.what
    if f.kind == "choice":
        return "one of " + ", ".join(o for o in f.choices if o)
    if f.kind == "triggers":
        return "a non-empty list of webhook triggers such as BOOKING_CREATED"
    if f.kind == "objects":
        return "a list of objects"
    if f.kind in _LISTS:
        return _LISTS[f.kind].what
    return _SIMPLE[f.kind].what


# --- the full rules ---------------------------------------------------------------------------


class _Checker:
    """Collects the problems of one body."""

    __slots__ = ("body", "problems")

    def __init__(self, body: Record) -> None:
        self.body = body
        self.problems: list[Problem] = []

    def problem(
        self, path: str | None, expected: str, value: Any = _MISSING, hint: str | None = None
    ) -> None:
        self.problems.append(Problem(path, expected, describe(value), hint))

    def field(self, path: str, f: Field, value: Any) -> None:
        if value is _MISSING or value is None:
            if f.required:
                self.problem(path, f"{_what(f)} (required)", value)
            return
        kind = f.kind
        simple = _SIMPLE.get(kind)
        if simple is not None:
            if not simple.full(value):
                if isinstance(value, str):
                    hint = simple.hint
                else:
                    hint = simple.object_hint if isinstance(value, date) else None
                self.problem(path, simple.what, value, hint)
            elif kind in _DETAILS:
                _DETAILS[kind](self, path, value)
            elif f.children:
                for child in f.children:
                    self.field(f"{path}.{child.name}", child, value.get(child.name, _MISSING))
                if f.one_of and all(value.get(name) in (None, "") for name in f.one_of):
                    first, *others = (c for c in f.children if c.name in f.one_of)
                    alternatives = " or ".join(f"{path}.{c.name}" for c in others)
                    expected = f"{_what(first)} or {alternatives}"
                    self.problems.append(Problem(f"{path}.{first.name}", expected, "neither"))
        elif kind == "choice":
            if value not in f.choices:
                self.problem(path, _what(f), value)
        else:
            self.items(path, f, value)

    def items(self, path: str, f: Field, value: Any) -> None:
        """A list kind: the list itself, then each item."""
        if not isinstance(value, list) or (not value and f.kind == "triggers"):
            hint = f"write a list, e.g. [{value}]" if isinstance(value, str) else None
            self.problem(path, _what(f), value, hint)
            return
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if f.kind == "objects":
                if not isinstance(item, dict):
                    names = ", ".join(child.name for child in f.children)
                    self.problem(where, f"an object {{{names}}}", item)
                    continue
                for child in f.children:
                    self.field(f"{where}.{child.name}", child, item.get(child.name, _MISSING))
            elif f.kind == "triggers":
                if not isinstance(item, str) or item not in f.choices:
                    self.problem(where, "a webhook trigger: " + ", ".join(sorted(f.choices)), item)
            elif not _LISTS[f.kind].item(item):
                self.problem(where, _LISTS[f.kind].item_what, item)


def _location_detail(c: _Checker, path: str, value: Any) -> None:
    if isinstance(value, dict) and not isinstance(value.get("type"), str):
        c.problem(f"{path}.type", "a location type such as address or integration")


def _metadata_detail(c: _Checker, path: str, value: dict[str, Any]) -> None:
    if len(value) > 50:
        c.problem(path, "at most 50 keys", f"{len(value)} keys")
    for key, item in value.items():
        if len(str(key)) > 40:
            c.problem(f"{path}.{key}", "a key of at most 40 characters", str(key))
        if isinstance(item, str) and len(item) > 500:
            c.problem(f"{path}.{key}", "a text of at most 500 characters", item)


_DETAILS: dict[Kind, Callable[[_Checker, str, Any], None]] = {
    "location": _location_detail,
    "metadata": _metadata_detail,
}


# --- rules that join fields ---------------------------------------------------------------------
#
# Each has a full form that names the problem and a screen form that answers True when
# the full form finds nothing (given that every field passed its strict test).


class _Joint(NamedTuple):
    full: Callable[[_Checker], None]
    fast: Callable[[Record], bool]


def _event_type_named(c: _Checker) -> None:
    body = c.body
    has_id = body.get("eventTypeId") not in (None, "")
    slug = _name(body.get("eventTypeSlug"))
    owner = _name(body.get("username")) or _name(body.get("teamSlug"))
    if not has_id and not (slug and owner):
        found = "eventTypeSlug alone" if slug else ("no event type" if not owner else "no slug")
        c.problems.append(
            Problem("eventTypeId", "eventTypeId, or eventTypeSlug with username or teamSlug", found)
        )


def _has_event_type(body: Record) -> bool:
    if body.get("eventTypeId") is not None:
        return True
    return body.get("eventTypeSlug") is not None and (
        body.get("username") is not None or body.get("teamSlug") is not None
    )


def _length_among_options(c: _Checker) -> None:
    length, options = c.body.get("lengthInMinutes"), c.body.get("lengthInMinutesOptions")
    if not isinstance(options, list):
        return
    if not options or not all(type(o) is int and o >= 1 for o in options):
        c.problem("lengthInMinutesOptions", "a non-empty list of whole minutes ≥ 1", options)
    elif len(set(options)) != len(options):
        c.problem("lengthInMinutesOptions", "each duration once", options)
    elif _count(length) and length not in options:
        what = f"a list that includes lengthInMinutes ({length})"
        c.problem("lengthInMinutesOptions", what, options)


def _length_in_options(body: Record) -> bool:
    options = body.get("lengthInMinutesOptions")
    if options is None:
        return True
    length = body.get("lengthInMinutes")
    return length is None or length in options  # both passed their tests


def _enabled(value: Any) -> bool:
    return isinstance(value, dict) and value.get("disabled") is not True


def _recurrence_or_limit(c: _Checker) -> None:
    if not _one_of_recurrence_or_limit(c.body):
        c.problem("recurrence", "recurrence or bookerActiveBookingsLimit, not both", "both")


def _one_of_recurrence_or_limit(body: Record) -> bool:
    recurrence = body.get("recurrence")
    if recurrence is None:
        return True
    return not (_enabled(recurrence) and _enabled(body.get("bookerActiveBookingsLimit")))


def _something_to_change(c: _Checker) -> None:
    if not c.body:
        c.problems.append(
            Problem(None, "at least one field to change", "an empty record", "map the fields")
        )


def _end_not_before_start(c: _Checker) -> None:
    if not _in_order(c.body):
        start, end = c.body.get("start"), c.body.get("end")
        c.problem("end", f"an end not before start ({start})", end)


def _in_order(body: Record) -> bool:
    start, end = utc_moment(body.get("start")), utc_moment(body.get("end"))
    return start is None or end is None or start <= end


def _guests_count(c: _Checker) -> None:
    if not _one_to_ten_guests(c.body):
        guests: list[Any] = c.body["guests"]
        c.problem(
            "guests",
            "1 to 10 guests (Cal.com adds at most 10 at a time)",
            f"{len(guests)} guests",
            "split the guests over several records" if guests else None,
        )


def _one_to_ten_guests(body: Record) -> bool:
    guests = body.get("guests")
    return not isinstance(guests, list) or 1 <= len(guests) <= 10


def _location_value(c: _Checker) -> None:
    if not _location_has_value(c.body):
        location = c.body["location"]
        wanted = BOOKING_LOCATION_VALUES[location["type"]]
        c.problem(
            f"location.{wanted}",
            f"the {wanted} of a location of type {location['type']} (required)",
            location.get(wanted, _MISSING),
        )


def _location_has_value(body: Record) -> bool:
    location = body.get("location")
    if not isinstance(location, dict):
        return True
    kind = location.get("type")
    wanted = BOOKING_LOCATION_VALUES.get(kind) if isinstance(kind, str) else None
    return wanted is None or _given(location.get(wanted))


def _start_and_end_together(c: _Checker) -> None:
    # ooo.service.ts isStartBeforeEnd (upstream 03670679): 400 "Please specify both ooo
    # start and end time." when an update gives one of them
    if not _both_or_neither(c.body):
        given, missing = ("start", "end") if _given(c.body.get("start")) else ("end", "start")
        expected = f"{missing} with {given} (Cal.com moves the dates together)"
        c.problems.append(Problem(missing, expected, "none", f"map {missing} too, or neither"))


def _both_or_neither(body: Record) -> bool:
    return _given(body.get("start")) == _given(body.get("end"))


_JOINTS: dict[str, _Joint] = {
    "one event type": _Joint(_event_type_named, _has_event_type),
    "one length among the options": _Joint(_length_among_options, _length_in_options),
    "recurrence or active-bookings limit": _Joint(
        _recurrence_or_limit, _one_of_recurrence_or_limit
    ),
    "something to change": _Joint(_something_to_change, bool),
    "end not before start": _Joint(_end_not_before_start, _in_order),
    "one to ten guests": _Joint(_guests_count, _one_to_ten_guests),
    "the location's value for its type": _Joint(_location_value, _location_has_value),
    "start and end together": _Joint(_start_and_end_together, _both_or_neither),
}


def unknown_fields(endpoint: Endpoint, body: Record) -> list[str]:
    """Dotted names of the body's fields that ``endpoint`` does not know."""
    return _unknown(body, endpoint.known_fields, endpoint.nested_fields)


def _unknown(body: Record, known: frozenset[str], nested: dict[str, frozenset[str]]) -> list[str]:
    unknown = [name for name in body if name not in known]
    for parent, children in nested.items():
        value = body.get(parent)
        if isinstance(value, dict):
            unknown.extend(f"{parent}.{name}" for name in value if name not in children)
    return unknown


# --- the quick screen ---------------------------------------------------------------------------


def _never(value: Any) -> bool:
    return False


def _given(value: Any) -> bool:
    """Whether a field counts as given: not null, not blank."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _fast(f: Field) -> Test:
    """The strict test of one field's (non-null) value (a deprecated field's value goes the
    full way, which warns about it)."""
    kind = f.kind
    if f.deprecated:
        return _never
    if f.advice:  # a blank value warns: the full way
        given = _fast(Field(f.name, f.kind, f.required, f.choices, f.children, f.closed))
        return lambda v: _given(v) and given(v)
    if kind in ("choice", "triggers"):
        allowed = frozenset(f.choices)

        def _fast_choice(value: Any) -> bool:
            return type(value) is str and value in allowed

        return _every(_fast_choice, nonempty=True) if kind == "triggers" else _fast_choice
    if kind in _LISTS:
        return _every(_LISTS[kind].item)
    if kind == "objects":
        return _every(_fast_object(f.children, f.one_of))
    if f.children:
        return _fast_object(f.children, f.one_of)
    return _SIMPLE[kind].fast


def _every(item: Test, *, nonempty: bool = False) -> Test:
    """A list (non-empty if asked) whose every item passes ``item``."""

    def test(value: Any) -> bool:
        if type(value) is not list or (nonempty and not value):
            return False
        for one in value:  # noqa: SIM110 - a loop: no generator on the hot path
            if not item(one):
                return False
        return True

    return test


def _fast_object(children: tuple[Field, ...], one_of: tuple[str, ...] = ()) -> Test:
    """The strict test of an object, written out one child after the other (as a hand-written
    test would be: a loop over the children costs half as much again on the hot path)."""
    tests = {f"t{index}": _fast(child) for index, child in enumerate(children)}
    lines = ["def test(value):", "    if type(value) is not dict:", "        return False"]
    for index, child in enumerate(children):
        absent = "item is None or" if child.required else "item is not None and"
        lines += [
            f"    item = value.get({child.name!r})",
            f"    if {absent} not t{index}(item):",
            "        return False",
        ]
    if one_of:
        given = " or ".join(f"value.get({name!r}) is not None" for name in one_of)
        lines += [f"    if not ({given}):", "        return False"]
    lines.append("    return True")
    namespace: dict[str, Any] = dict(tests)
    exec("\n".join(lines), namespace)  # noqa: S102 - source made above from field names
    test: Test = namespace["test"]
    return test


_NO_PROBLEMS: tuple[Problem, ...] = ()
_NOTHING_UNKNOWN: tuple[str, ...] = ()

# What a compiled screen answers: None when the body needs the full rules, else the
# body's unknown fields (the body has no problems).
_Screening = Callable[[Record], "Sequence[str] | None"]


def _all_of(tests: tuple[Callable[[Record], bool], ...]) -> Callable[[Record], bool] | None:
    if len(tests) < 2:
        return tests[0] if tests else None
    first, rest = tests[0], _all_of(tests[1:])
    assert rest is not None
    return lambda body: first(body) and rest(body)


def _compile_screen(endpoint: Endpoint) -> _Screening:
    """One function that screens a body and lists its unknown fields in a single pass."""
    tests = {f.name: _fast(f) for f in endpoint.fields}
    required = tuple(f.name for f in endpoint.fields if f.required or f.advice)
    whole = _all_of(tuple(_JOINTS[rule].fast for rule in endpoint.rules))
    known = endpoint.known_fields
    nested = endpoint.nested_fields
    parents = tuple(nested.items())

    def screening(body: Record) -> Sequence[str] | None:
        unknown = False
        test_of = tests.get
        for name, value in body.items():
            test = test_of(name)
            if test is None:
                unknown = True
            elif value is not None and not test(value):
                return None
        for name in required:
            if body.get(name) is None:
                return None
        if whole is not None and not whole(body):
            return None
        if not unknown:
            for parent, children in parents:
                value = body.get(parent)
                if isinstance(value, dict) and not children.issuperset(value):
                    unknown = True
        return _unknown(body, known, nested) if unknown else _NOTHING_UNKNOWN

    return screening


class Contract:
    """One endpoint's rules, ready to run over many bodies (build it once per endpoint).

    ``screening(body)`` is the quick screen alone: None when the body needs the full
    rules, else its unknown fields (and then it has no problems).
    """

    __slots__ = ("_joints", "_known", "_nested", "_noted", "endpoint", "screening")

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._known = endpoint.known_fields
        self._nested = endpoint.nested_fields
        self._joints = tuple(_JOINTS[rule].full for rule in endpoint.rules)
        self._noted = tuple(f for f in endpoint.fields if f.deprecated or f.advice)
        self.screening: _Screening = _compile_screen(endpoint)

    def review(self, body: Record) -> tuple[Sequence[Problem], Sequence[str], Sequence[str]]:
        """The problems that stop ``body``, the fields the endpoint does not know, and the
        warnings (``warnings``) about it.

        All are empty tuples for a clean body (the screen passes no body with a warning);
        treat the answers as read-only.
        """
        unknown = self.screening(body)
        if unknown is not None:
            return _NO_PROBLEMS, unknown, _NOTHING_UNKNOWN
        problems, unknown = self.full_review(body)
        return problems, unknown, self.warnings(body) if self._noted else _NOTHING_UNKNOWN

    def full_review(self, body: Record) -> tuple[list[Problem], list[str]]:
        """The problems and the unknown fields, by the full rules alone."""
        checker = _Checker(body)
        for f in self.endpoint.fields:
            checker.field(f.name, f, body.get(f.name, _MISSING))
        for joint in self._joints:
            joint(checker)
        return checker.problems, _unknown(body, self._known, self._nested)

    def warnings(self, body: Record) -> list[str]:
        """What to tell about ``body`` that does not stop it: a deprecated field it sends, a
        field it lacks that Cal.com needs in the usual case."""
        found: list[str] = []
        for f in self._noted:
            given = _given(body.get(f.name))
            if f.deprecated and given:
                found.append(f"{f.name}: {f.deprecated}")
            elif f.advice and not given:
                found.append(f"{f.name}: {f.advice}")
        return found


@lru_cache(maxsize=64)
def contract_for(endpoint: Endpoint) -> Contract:
    """The (shared) Contract of ``endpoint``."""
    return Contract(endpoint)


def check(endpoint: Endpoint, body: Record) -> CheckResult:
    """Every problem Cal.com would refuse ``body`` for, and the fields it would strip."""
    problems, unknown, warnings = contract_for(endpoint).review(body)
    return CheckResult(list(problems), list(unknown), list(warnings))
