"""Cal.com's input rules per template: every problem names the field, the expectation and
what was found; fields Cal.com does not know are reported."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsink.contract import Contract, check
from calsink.endpoints import TEMPLATES, Endpoint, get_template


def _booking(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/London"},
    }
    for key, value in changes.items():
        if key.startswith("attendee_"):
            name = key.removeprefix("attendee_")
            if value is None:
                body["attendee"].pop(name, None)
            else:
                body["attendee"][name] = value
        elif value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def _problems(template: str, body: dict[str, Any]) -> list[str]:
    return [str(p) for p in check(get_template(template), body).problems]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_each_template_example_passes(name: str) -> None:
    endpoint = TEMPLATES[name]
    body = {k: v for k, v in endpoint.example.items() if k not in endpoint.param_names}
    body.update({k: v for k, v in endpoint.defaults if k not in body})
    result = check(endpoint, body)
    assert result.problems == []
    assert result.unknown == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"attendee_email": "bob@"}, "attendee.email: expected an e-mail address, found 'bob@'"),
        (
            {"attendee_timeZone": "Mars/Olympus"},
            "attendee.timeZone: expected an IANA time zone such as America/New_York, "
            "found 'Mars/Olympus'",
        ),
        ({"start": "next tuesday"}, "start: expected an ISO 8601 date-time"),
        ({"start": "2030-01-07"}, "start: expected an ISO 8601 date-time"),
        (
            {"start": None},
            "start: expected an ISO 8601 date-time such as 2030-01-07T14:00:00Z "
            "(required), found nothing",
        ),
        (
            {"attendee_email": None},
            "attendee.email: expected an e-mail address or attendee.phoneNumber, found neither",
        ),
        (
            {"attendee_phoneNumber": "555-1234"},
            "attendee.phoneNumber: expected a phone number in E.164",
        ),
        ({"attendee_language": "klingon"}, "attendee.language: expected one of "),
        ({"attendee_name": None}, "attendee.name: expected a non-empty text (required)"),
        (
            {"eventTypeId": None, "eventTypeSlug": "30min"},
            "eventTypeId: expected eventTypeId, or eventTypeSlug with username or teamSlug, "
            "found eventTypeSlug alone",
        ),
        ({"eventTypeId": "1"}, "eventTypeId: expected a whole number ≥ 1, found '1'"),
        (
            {"guests": ["ok@example.com", "nope"]},
            "guests[1]: expected an e-mail address, found 'nope'",
        ),
        ({"attendee": "Ada"}, "attendee: expected an object, found 'Ada'"),
    ],
)
def test_booking_rejections_name_field_expectation_and_value(
    changes: dict[str, Any], expected: str
) -> None:
    problems = _problems("create-booking", _booking(**changes))
    assert any(p.startswith(expected) for p in problems), problems


def test_booking_either_or_rules_accept_each_form() -> None:
    assert (
        _problems(
            "create-booking", _booking(eventTypeId=None, eventTypeSlug="30min", username="demo")
        )
        == []
    )
    assert (
        _problems("create-booking", _booking(eventTypeId=None, eventTypeSlug="x", teamSlug="t"))
        == []
    )
    assert (
        _problems(
            "create-booking", _booking(attendee_email=None, attendee_phoneNumber="+14155550123")
        )
        == []
    )


def test_attendee_language_enum_accepts_cal_locales() -> None:
    assert _problems("create-booking", _booking(attendee_language="pt-BR")) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"subscriberUrl": "https://x.example/h", "triggers": "BOOKING_CREATED", "active": True},
            "triggers: expected a non-empty list of webhook triggers",
        ),
        (
            {"subscriberUrl": "https://x.example/h", "triggers": ["BOOKING_MADE"], "active": True},
            "triggers[0]: expected a webhook trigger",
        ),
        (
            {"subscriberUrl": "ftp://x", "triggers": ["BOOKING_CREATED"], "active": True},
            "subscriberUrl: expected an http(s) URL",
        ),
        (
            {
                "subscriberUrl": "https://x.example/h",
                "triggers": ["BOOKING_CREATED"],
                "active": "yes",
            },
            "active: expected true or false, found 'yes'",
        ),
    ],
)
def test_webhook_rules(body: dict[str, Any], expected: str) -> None:
    problems = _problems("create-webhook", body)
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"start": "2030-01-25T00:00:00Z", "end": "2030-01-21T23:59:59Z"},
            "end: expected an end not before start (2030-01-25T00:00:00Z), "
            "found '2030-01-21T23:59:59Z'",
        ),
        (
            {"start": "2030-01-21T00:00:00+01:00", "end": "2030-01-25T23:59:59Z"},
            "start: expected a UTC date-time YYYY-MM-DDTHH:MM:SSZ",
        ),
        (
            {"start": "2030-01-21T00:00:00Z", "end": "2030-01-25T23:59:59Z", "reason": "holiday"},
            "reason: expected one of unspecified, vacation, travel, sick, public_holiday, "
            "found 'holiday'",
        ),
        (
            {"start": "2030-01-21T00:00:00Z", "end": "2030-01-25T23:59:59Z", "toUserId": 0},
            "toUserId: expected a whole number ≥ 1",
        ),
        ({"end": "2030-01-25T23:59:59Z"}, "start: expected a UTC date-time"),
    ],
)
def test_out_of_office_rules(body: dict[str, Any], expected: str) -> None:
    problems = _problems("create-out-of-office", body)
    assert any(p.startswith(expected) for p in problems), problems


def test_schedule_rules() -> None:
    body = {
        "name": "x",
        "timeZone": "Europe/Berlin",
        "isDefault": False,
        "availability": [{"days": ["Funday"], "startTime": "9:00", "endTime": "25:00"}],
        "overrides": [{"date": "2030-02-30", "startTime": "10:00", "endTime": "12:00"}],
    }
    problems = _problems("create-schedule", body)
    assert (
        "availability[0].days: expected a non-empty list of weekdays such as Monday, "
        "found a list of 1" in problems
    )
    assert (
        "availability[0].startTime: expected a 24-hour time HH:MM such as 09:00, found '9:00'"
        in problems
    )
    assert any(p.startswith("availability[0].endTime:") for p in problems)
    assert "overrides[0].date: expected a date YYYY-MM-DD, found '2030-02-30'" in problems


def test_event_type_rules() -> None:
    problems = _problems("create-event-type", {"title": "", "slug": "x", "lengthInMinutes": 0})
    assert "title: expected a non-empty text, found an empty text" in problems
    assert "lengthInMinutes: expected a whole number ≥ 1, found the number 0" in problems
    options = _problems(
        "create-event-type",
        {"title": "t", "slug": "s", "lengthInMinutes": 30, "lengthInMinutesOptions": [15, 45]},
    )
    assert options == [
        "lengthInMinutesOptions: expected a list that includes lengthInMinutes (30), "
        "found a list of 2"
    ]
    assert _problems("update-event-type", {}) == [
        "expected at least one field to change, found an empty record (map the fields)"
    ]


def test_reschedule_needs_start_and_an_email_for_rescheduled_by() -> None:
    problems = _problems("reschedule-booking", {"rescheduledBy": "someone"})
    assert any(p.startswith("start: expected an ISO 8601 date-time") for p in problems)
    assert "rescheduledBy: expected an e-mail address, found 'someone'" in problems


def test_unknown_fields_are_reported_with_dotted_names() -> None:
    body = _booking(email="ada@example.com")
    body["attendee"]["company"] = "ACME"
    result = check(get_template("create-booking"), body)
    assert result.problems == []
    assert result.unknown == ["email", "attendee.company"]


# --- the quick screen gives the same answers as the full rules -----------------------------

_ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    "text",
    0,
    1,
    -1,
    1.0,
    2.5,
    True,
    False,
    [],
    [1],
    [True],
    ["ada@example.com"],
    ["nope"],
    ["BOOKING_CREATED"],
    ["BOOKING_MADE"],
    [["BOOKING_CREATED"]],
    ["Monday"],
    [{"type": "address"}],
    [{"days": ["Monday"], "startTime": "09:00", "endTime": "17:00"}],
    [{"days": [], "startTime": "09:00", "endTime": "17:00"}],
    [{"date": "2030-02-30", "startTime": "10:00", "endTime": "12:00"}],
    [{"date": "2030-02-03", "startTime": "10:00", "endTime": "12:00"}],
    {},
    {"type": "address"},
    {"type": 1},
    {"teamMemberIds": [1, 2]},
    {"teamMemberIds": [True]},
    {"k" * 41: "v"},
    {"note": "x" * 501},
    {"disabled": True},
    {"disabled": False},
    "ada@example.com",
    "+14155550123",
    "Europe/London",
    "Mars/Olympus",
    "2030-01-07T14:00:00Z",
    "2030-01-07T14:00:00.5Z",
    "2030-01-07T09:00:00-05:00",
    "2030-01-07",
    "2030-01-25T23:59:59Z",
    "0000-01-07T14:00:00Z",
    "2030-02-29T14:00:00Z",
    "2028-02-29T14:00:00Z",
    "2030-04-31T14:00:00Z",
    "2030-01-31T23:59:59Z",
    "2030-13-01T00:00:00Z",
    "2030-01-07T24:00:00Z",
    "2030-01-07T14:00:60Z",
    "\u0662\u0660\u0663\u0660-01-07T14:00:00Z",
    "2030-01-07T14:00:00Z\n",
    "ada@example.com\n",
    "a" * 250 + "@example.com",
    "09:00",
    "9:00",
    "en",
    "pt-BR",
    "klingon",
    "vacation",
    "2021-10-20",
    "https://example.com/hook",
    "ftp://example.com",
]
_ATTENDEE_VALUES: dict[str, list[Any]] = {
    "name": ["Ada", "", " ", None, 3],
    "email": ["ada@example.com", "bob@", "", None, 7],
    "timeZone": ["Europe/London", "UTC", "Mars/Olympus", "", None],
    "phoneNumber": ["+14155550123", "555-1234", "", None],
    "language": ["en", "es-419", "klingon", "", None, ["en"]],
    "company": ["ACME"],
}
_attendees = st.one_of(
    st.sampled_from(_ODD_VALUES),
    st.fixed_dictionaries(
        {},
        optional={name: st.sampled_from(values) for name, values in _ATTENDEE_VALUES.items()},
    ),
)


def _example_body(endpoint: Endpoint) -> dict[str, Any]:
    body = {k: v for k, v in endpoint.example.items() if k not in endpoint.param_names}
    body.update({k: v for k, v in endpoint.defaults if k not in body})
    return body


def _assert_same_answers(endpoint: Endpoint, body: dict[str, Any]) -> None:
    contract = Contract(endpoint)
    problems, unknown = contract.full_review(body)
    result = check(endpoint, body)
    assert [str(p) for p in result.problems] == [str(p) for p in problems], body
    assert result.unknown == unknown, body
    if contract.screening(body) is not None:  # clean by the quick screen alone
        assert problems == [], body


_DELETED: Any = object()


def _single_changes(endpoint: Endpoint) -> list[dict[str, Any]]:
    """The example with each field (and each attendee field) in turn gone or replaced."""
    bodies = []
    fields = sorted(endpoint.known_fields | {"extra"})
    for name in fields:
        for value in [_DELETED, *_ODD_VALUES]:
            body = copy.deepcopy(_example_body(endpoint))
            if value is _DELETED:
                body.pop(name, None)
            else:
                body[name] = copy.deepcopy(value)
            bodies.append(body)
    if endpoint.name == "create-booking":
        for name, values in _ATTENDEE_VALUES.items():
            for value in [_DELETED, *values, *_ODD_VALUES]:
                body = copy.deepcopy(_example_body(endpoint))
                if value is _DELETED:
                    body["attendee"].pop(name, None)
                else:
                    body["attendee"][name] = copy.deepcopy(value)
                bodies.append(body)
    return bodies


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_screened_check_matches_the_full_rules_field_by_field(name: str) -> None:
    endpoint = TEMPLATES[name]
    for body in _single_changes(endpoint):
        _assert_same_answers(endpoint, body)


@st.composite
def _near_example(draw: st.DrawFn, endpoint: Endpoint) -> dict[str, Any]:
    body = copy.deepcopy(_example_body(endpoint))
    fields = sorted(endpoint.known_fields | {"extra", "attendee"})
    for name in draw(st.lists(st.sampled_from(fields), min_size=2, max_size=4, unique=True)):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            body.pop(name, None)
        elif name == "attendee":
            body[name] = draw(_attendees)
        else:
            body[name] = copy.deepcopy(draw(st.sampled_from(_ODD_VALUES)))
    return body


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_screened_check_matches_the_full_rules_for_several_changes(
    name: str, data: st.DataObject
) -> None:
    endpoint = TEMPLATES[name]
    _assert_same_answers(endpoint, data.draw(_near_example(endpoint)))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_each_template_example_takes_the_quick_screen(name: str) -> None:
    assert Contract(TEMPLATES[name]).screening(_example_body(TEMPLATES[name])) is not None
