"""Cal.com's input rules per template: every problem names the field, the expectation and
what was found; fields Cal.com does not know are reported."""

from __future__ import annotations

from typing import Any

import pytest

from calsink.contract import check
from calsink.endpoints import TEMPLATES, get_template


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
