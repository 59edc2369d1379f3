"""Cal.com's input rules per template, derived from the templates' description.

Each field is tested as its kind says (`calsink.field_kinds`): the full test names every
problem, a strict, cheap one serves the quick screen (this runs once per record, for
millions of records). A body whose every
field passes its strict test, with the required fields there and the template's joined
rules holding, has no problems; any other body goes through the full rules, which name
every problem in the order of the description. A strict test may turn a clean value away
(the full rules then decide), never pass a bad one. Fields Cal.com does not know are
reported separately, because Cal.com strips them silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from calsink.endpoints import BOOKING_LOCATION_VALUES, Endpoint, Field, Kind
from calsink.field_kinds import (
    LIST_KINDS,
    MISSING,
    SIMPLE_KINDS,
    Test,
    describe,
    expected_of,
    is_count,
    is_given,
    is_name,
    utc_moment,
)
from calsink.records import Problem, Record


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The problems that stop a body, and the fields the endpoint does not know."""

    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- the full rules ---------------------------------------------------------------------------


class _Checker:
    """Collects the problems of one body."""

    __slots__ = ("body", "problems")

    def __init__(self, body: Record) -> None:
        self.body = body
        self.problems: list[Problem] = []

    def problem(
        self, path: str | None, expected: str, value: Any = MISSING, hint: str | None = None
    ) -> None:
        self.problems.append(Problem(path, expected, describe(value), hint))

    def field(self, path: str, f: Field, value: Any) -> None:
        if value is MISSING or value is None:
            if f.required:
                self.problem(path, f"{expected_of(f)} (required)", value)
            return
        kind = f.kind
        simple = SIMPLE_KINDS.get(kind)
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
                    self.field(f"{path}.{child.name}", child, value.get(child.name, MISSING))
                if f.one_of and all(value.get(name) in (None, "") for name in f.one_of):
                    first, *others = (c for c in f.children if c.name in f.one_of)
                    alternatives = " or ".join(f"{path}.{c.name}" for c in others)
                    expected = f"{expected_of(first)} or {alternatives}"
                    self.problems.append(Problem(f"{path}.{first.name}", expected, "neither"))
        elif kind == "choice":
            if value not in f.choices:
                self.problem(path, expected_of(f), value)
        else:
            self.items(path, f, value)

    def items(self, path: str, f: Field, value: Any) -> None:
        """A list kind: the list itself, then each item."""
        if not isinstance(value, list) or (not value and f.kind == "triggers"):
            hint = f"write a list, e.g. [{value}]" if isinstance(value, str) else None
            self.problem(path, expected_of(f), value, hint)
            return
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if f.kind == "objects":
                if not isinstance(item, dict):
                    names = ", ".join(child.name for child in f.children)
                    self.problem(where, f"an object {{{names}}}", item)
                    continue
                for child in f.children:
                    self.field(f"{where}.{child.name}", child, item.get(child.name, MISSING))
            elif f.kind == "triggers":
                if not isinstance(item, str) or item not in f.choices:
                    self.problem(where, "a webhook trigger: " + ", ".join(sorted(f.choices)), item)
            elif not LIST_KINDS[f.kind].item(item):
                self.problem(where, LIST_KINDS[f.kind].item_what, item)


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
# Each names the problem it finds, or answers None; the quick screen runs the same rule.

JointRule = Callable[[Record], "Problem | None"]


def _event_type_named(body: Record) -> Problem | None:
    if body.get("eventTypeId") not in (None, ""):
        return None
    slug = is_name(body.get("eventTypeSlug"))
    owner = is_name(body.get("username")) or is_name(body.get("teamSlug"))
    if slug and owner:
        return None
    found = "eventTypeSlug alone" if slug else ("no event type" if not owner else "no slug")
    return Problem("eventTypeId", "eventTypeId, or eventTypeSlug with username or teamSlug", found)


def _length_among_options(body: Record) -> Problem | None:
    length, options = body.get("lengthInMinutes"), body.get("lengthInMinutesOptions")
    if not isinstance(options, list):
        return None
    if not options or not all(type(o) is int and o >= 1 for o in options):
        expected = "a non-empty list of whole minutes ≥ 1"
    elif len(set(options)) != len(options):
        expected = "each duration once"
    elif is_count(length) and length not in options:
        expected = f"a list that includes lengthInMinutes ({length})"
    else:
        return None
    return Problem("lengthInMinutesOptions", expected, describe(options))


def _enabled(value: Any) -> bool:
    return isinstance(value, dict) and value.get("disabled") is not True


def _recurrence_or_limit(body: Record) -> Problem | None:
    if _enabled(body.get("recurrence")) and _enabled(body.get("bookerActiveBookingsLimit")):
        return Problem("recurrence", "recurrence or bookerActiveBookingsLimit, not both", "both")
    return None


def _something_to_change(body: Record) -> Problem | None:
    if body:
        return None
    return Problem(None, "at least one field to change", "an empty record", "map the fields")


def _end_not_before_start(body: Record) -> Problem | None:
    start, end = utc_moment(body.get("start")), utc_moment(body.get("end"))
    if start is None or end is None or start <= end:
        return None
    return Problem("end", f"an end not before start ({body['start']})", describe(body["end"]))


def _one_to_ten_guests(body: Record) -> Problem | None:
    guests = body.get("guests")
    if not isinstance(guests, list) or 1 <= len(guests) <= 10:
        return None
    return Problem(
        "guests",
        "1 to 10 guests (Cal.com adds at most 10 at a time)",
        f"{len(guests)} guests",
        "split the guests over several records" if guests else None,
    )


def _location_value(body: Record) -> Problem | None:
    location = body.get("location")
    if not isinstance(location, dict):
        return None
    kind = location.get("type")
    wanted = BOOKING_LOCATION_VALUES.get(kind) if isinstance(kind, str) else None
    if wanted is None or is_given(location.get(wanted)):
        return None
    return Problem(
        f"location.{wanted}",
        f"the {wanted} of a location of type {kind} (required)",
        describe(location.get(wanted, MISSING)),
    )


def _start_and_end_together(body: Record) -> Problem | None:
    # ooo.service.ts isStartBeforeEnd (upstream 03670679): 400 "Please specify both ooo
    # start and end time." when an update gives one of them
    start_given = is_given(body.get("start"))
    if start_given == is_given(body.get("end")):
        return None
    given, missing = ("start", "end") if start_given else ("end", "start")
    expected = f"{missing} with {given} (Cal.com moves the dates together)"
    return Problem(missing, expected, "none", f"map {missing} too, or neither")


_JOINTS: dict[str, JointRule] = {
    "one event type": _event_type_named,
    "one length among the options": _length_among_options,
    "recurrence or active-bookings limit": _recurrence_or_limit,
    "something to change": _something_to_change,
    "end not before start": _end_not_before_start,
    "one to ten guests": _one_to_ten_guests,
    "the location's value for its type": _location_value,
    "start and end together": _start_and_end_together,
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


def _fast(f: Field) -> Test:
    """The strict test of one field's (non-null) value (a deprecated field's value goes the
    full way, which warns about it)."""
    kind = f.kind
    if f.deprecated:
        return _never
    if f.advice:  # a blank value warns: the full way
        given = _fast(Field(f.name, f.kind, f.required, f.choices, f.children, f.closed))
        return lambda v: is_given(v) and given(v)
    if kind in ("choice", "triggers"):
        allowed = frozenset(f.choices)

        def _fast_choice(value: Any) -> bool:
            return type(value) is str and value in allowed

        return _every(_fast_choice, nonempty=True) if kind == "triggers" else _fast_choice
    if kind in LIST_KINDS:
        return _every(LIST_KINDS[kind].item)
    if kind == "objects":
        return _every(_fast_object(f.children, f.one_of))
    if f.children:
        return _fast_object(f.children, f.one_of)
    return SIMPLE_KINDS[kind].fast


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


def _compile_screen(endpoint: Endpoint) -> _Screening:
    """One function that screens a body and lists its unknown fields in a single pass."""
    tests = {f.name: _fast(f) for f in endpoint.fields}
    required = tuple(f.name for f in endpoint.fields if f.required or f.advice)
    joints = tuple(_JOINTS[rule] for rule in endpoint.rules)
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
        for joint in joints:
            if joint(body) is not None:
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
        self._joints = tuple(_JOINTS[rule] for rule in endpoint.rules)
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
            checker.field(f.name, f, body.get(f.name, MISSING))
        for joint in self._joints:
            if (problem := joint(checker.body)) is not None:
                checker.problems.append(problem)
        return checker.problems, _unknown(body, self._known, self._nested)

    def warnings(self, body: Record) -> list[str]:
        """What to tell about ``body`` that does not stop it: a deprecated field it sends, a
        field it lacks that Cal.com needs in the usual case."""
        found: list[str] = []
        for f in self._noted:
            given = is_given(body.get(f.name))
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
