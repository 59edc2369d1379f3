"""Every body the example flows render is valid against Cal.com's published request schema.

The schemas are Cal.com's own, from two subsets of upstream's OpenAPI file, each a copy
of the shared one in ``tests/data``: the newer (upstream commit a36c1b79, with its README
beside it), which calsink follows, and the older (fea00aa8), kept so that every check it
made still runs. Their known quirks (CONTRACT.md §12, the newer subset's README) are
named in ``QUIRKS`` and corrected here, explicitly, before validating; a quirk upstream
has fixed is dropped from its subset's list, and the correction asserts the quirk is
still there so that a refreshed subset cannot be silently mis-corrected:

- ``TIME_FORMAT_HH_MM`` is a literal pattern (the constant's name, not its regex);
- schedule ``days`` carries the weekday enum on the array itself as well as on its items;
- POST /v2/bookings is ``oneOf`` three variants that a plain booking matches two of
  (nothing forbids extra properties), so the variants are tried as ``anyOf``;
- older only: webhook ``triggers`` is typed as one string of the enum, but Cal.com takes
  a list; ``lengthInMinutesOptions`` items are typed string, but are minutes (numbers).

The newer subset's other quirks concern responses or bodies no template sends
(ReassignBookingOutput's self-reference, EventTypeOutput.bookingWindow typed array,
UserWebhookOutputDto.id a number, update-event-type bookingFields without
UrlFieldInput, the slots ``format`` parameter without enum): nothing here corrects them.

Top-level request schemas are made strict (no additional properties) so that a field
Cal.com would silently strip fails the test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openapi_schema_validator import OAS30Validator

from calsink.flow import FlowReference, load_flow
from calsink.pipeline import prepare
from calsink.records import Request
from calsink.sources import open_source

ROOT = Path(__file__).resolve().parents[2]
NEWER = ROOT / "tests" / "data" / "openapi-subset-a36c1b79.json"
OLDER = ROOT / "tests" / "data" / "openapi-subset.json"
QUIRKS = {
    NEWER: ("literal HH:MM pattern", "days enum on the array", "booking oneOf"),
    OLDER: (
        "literal HH:MM pattern",
        "days enum on the array",
        "booking oneOf",
        "triggers typed as one string",
        "lengthInMinutesOptions typed as text",
    ),
}
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"

# Flow file -> the request schema its bodies must satisfy (None: no body is sent;
# "{}": an empty object, for confirm which has no request schema).
SCHEMAS = {
    "create-booking.yaml": "booking",
    "cancel-booking.yaml": "CancelBookingInput_2024_08_13",
    "reschedule-booking.yaml": "RescheduleBookingInput_2024_08_13",
    "confirm-booking.yaml": "{}",
    "create-event-type.yaml": "CreateEventTypeInput_2024_06_14",
    "update-event-type.yaml": "UpdateEventTypeInput_2024_06_14",
    "delete-event-type.yaml": None,
    "create-schedule.yaml": "CreateScheduleInput_2024_06_11",
    "create-webhook.yaml": "CreateWebhookInputDto",
    "create-out-of-office.yaml": "CreateOutOfOfficeEntryDto",
    "manual-decline-booking.yaml": "DeclineBookingInput_2024_08_13",
    "decline-booking.yaml": "DeclineBookingInput_2024_08_13",
    "add-guests.yaml": "AddGuestsInput_2024_08_13",
    "update-booking-location.yaml": "UpdateBookingLocationInput_2024_08_13",
    "mark-absent.yaml": "MarkAbsentBookingInput_2024_08_13",
    "reassign-booking.yaml": None,
    "reassign-booking-to-user.yaml": "ReassignToUserBookingInput_2024_08_13",
    "update-schedule.yaml": "UpdateScheduleInput_2024_06_11",
    "delete-schedule.yaml": None,
    "update-webhook.yaml": "UpdateWebhookInputDto",
    "delete-webhook.yaml": None,
    "update-out-of-office.yaml": "UpdateOutOfOfficeEntryDto",
    "delete-out-of-office.yaml": None,
    "create-team-event-type.yaml": "CreateTeamEventTypeInput_2024_06_14",
    "update-team-event-type.yaml": "UpdateTeamEventTypeInput_2024_06_14",
    "delete-team-event-type.yaml": None,
    "create-org-user-out-of-office.yaml": "CreateOutOfOfficeEntryDto",
    "update-org-user-out-of-office.yaml": "UpdateOutOfOfficeEntryDto",
    "delete-org-user-out-of-office.yaml": None,
}
STRICT = {
    "CreateRecurringBookingInput_2024_08_13",
    "CreateInstantBookingInput_2024_08_13",
    "CreateBookingInput_2024_08_13",
    "CreateBookingAttendee",
    "CancelBookingInput_2024_08_13",
    "RescheduleBookingInput_2024_08_13",
    "CreateEventTypeInput_2024_06_14",
    "UpdateEventTypeInput_2024_06_14",
    "CreateScheduleInput_2024_06_11",
    "ScheduleAvailabilityInput_2024_06_11",
    "ScheduleOverrideInput_2024_06_11",
    "CreateWebhookInputDto",
    "CreateOutOfOfficeEntryDto",
    "DeclineBookingInput_2024_08_13",
    "AddGuestsInput_2024_08_13",
    "Guest",
    "UpdateBookingLocationInput_2024_08_13",
    "MarkAbsentBookingInput_2024_08_13",
    "MarkAbsentAttendee",
    "ReassignToUserBookingInput_2024_08_13",
    "UpdateScheduleInput_2024_06_11",
    "UpdateWebhookInputDto",
    "UpdateOutOfOfficeEntryDto",
    "CreateTeamEventTypeInput_2024_06_14",
    "UpdateTeamEventTypeInput_2024_06_14",
}


def _corrected_components(subset: Path) -> dict[str, Any]:
    document = json.loads(subset.read_text(encoding="utf-8"))
    schemas: dict[str, Any] = copy.deepcopy(document["components"]["schemas"])
    quirks = QUIRKS[subset]
    if "literal HH:MM pattern" in quirks:
        for name in ("ScheduleAvailabilityInput_2024_06_11", "ScheduleOverrideInput_2024_06_11"):
            for field in ("startTime", "endTime"):
                assert schemas[name]["properties"][field]["pattern"] == "TIME_FORMAT_HH_MM"
                schemas[name]["properties"][field]["pattern"] = HH_MM
    if "days enum on the array" in quirks:
        days = schemas["ScheduleAvailabilityInput_2024_06_11"]["properties"]["days"]
        assert days["type"] == "array" and "enum" in days
        del days["enum"]
    triggers = schemas["CreateWebhookInputDto"]["properties"]["triggers"]
    if "triggers typed as one string" in quirks:
        assert triggers["type"] == "string"
        schemas["CreateWebhookInputDto"]["properties"]["triggers"] = {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "enum": triggers["enum"]},
        }
    else:
        assert triggers["type"] == "array"
        triggers["minItems"] = 1  # as for the older subset: calsink sends at least one
    if "lengthInMinutesOptions typed as text" in quirks:
        for name in ("CreateEventTypeInput_2024_06_14", "UpdateEventTypeInput_2024_06_14"):
            options = schemas[name]["properties"]["lengthInMinutesOptions"]
            assert options["items"] == {"type": "string"}
            options["items"] = {"type": "number"}
    for name in STRICT & schemas.keys():  # the older subset lacks the newer inputs
        schemas[name]["additionalProperties"] = False
    assert "booking oneOf" in quirks
    booking_variants = document["paths"]["/v2/bookings"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["oneOf"]
    schemas["booking"] = {"anyOf": booking_variants}
    schemas["{}"] = {"type": "object", "additionalProperties": False, "properties": {}}
    return schemas


COMPONENTS = {subset: _corrected_components(subset) for subset in QUIRKS}
SUBSETS = pytest.mark.parametrize("subset", list(QUIRKS), ids=lambda p: p.stem)


def _validator(schema_name: str, subset: Path = NEWER) -> OAS30Validator:
    root = {
        "$ref": f"#/components/schemas/{schema_name}",
        "components": {"schemas": COMPONENTS[subset]},
    }
    return OAS30Validator(root, format_checker=OAS30Validator.FORMAT_CHECKER)


def _resolve(reference: FlowReference, values: tuple[str, ...]) -> str:
    return "bk_" + "_".join(values).replace("@", "_at_") if reference.field == "uid" else "5"


def _requests(flow_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Request]:
    monkeypatch.chdir(ROOT)
    loaded = load_flow(flow_file)
    items = open_source(loaded.flow.source, loaded.base_dir)
    for outcome in prepare(loaded, items, resolve_reference=_resolve):
        if isinstance(outcome, Request):
            yield outcome
        else:
            assert outcome.__class__.__name__ == "Filtered", outcome


def test_every_example_flow_has_a_schema() -> None:
    assert sorted(p.name for p in EXAMPLES) == sorted(SCHEMAS)


def _has_schema(subset: Path, flow_file: Path) -> bool:
    schema = SCHEMAS[flow_file.name]
    return schema is None or schema in COMPONENTS[subset]


# A template newer than the older subset (add-guests) is checked against the newer one only.
CHECKED = [
    pytest.param(flow_file, subset, id=f"{flow_file.name}-{subset.stem}")
    for subset in QUIRKS
    for flow_file in EXAMPLES
    if _has_schema(subset, flow_file)
]


def test_every_example_is_checked_against_the_newer_subset() -> None:
    assert all(_has_schema(NEWER, flow_file) for flow_file in EXAMPLES)
    assert COMPONENTS[NEWER].keys() >= STRICT


@pytest.mark.parametrize(("flow_file", "subset"), CHECKED)
def test_example_bodies_match_the_request_schema(
    flow_file: Path, subset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = SCHEMAS[flow_file.name]
    requests = list(_requests(flow_file, monkeypatch))
    assert requests, f"{flow_file.name} renders no request"
    for request in requests:
        if schema is None:
            assert request.body is None
            continue
        body = orjson.loads(request.body or b"")
        errors = sorted(_validator(schema, subset).iter_errors(body), key=str)
        assert not errors, f"{request.position}: {errors[0].message}"


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("CreateWebhookInputDto", {"subscriberUrl": "u", "triggers": ["NOPE"], "active": True}),
        (
            "CreateScheduleInput_2024_06_11",
            {
                "name": "x",
                "timeZone": "UTC",
                "isDefault": False,
                "availability": [{"days": ["Monday"], "startTime": "9:00", "endTime": "10:00"}],
            },
        ),
        (
            "booking",
            {
                "start": "2030-01-07T14:00:00Z",
                "eventTypeId": 1,
                "attendee": {"name": "A", "timeZone": "UTC"},
                "email": "a@example.com",
            },
        ),
        ("CreateOutOfOfficeEntryDto", {"start": "soon", "end": "2030-01-01T00:00:00Z"}),
    ],
)
@SUBSETS
def test_the_corrected_schemas_still_refuse_bad_bodies(
    schema: str, body: dict[str, Any], subset: Path
) -> None:
    assert list(_validator(schema, subset).iter_errors(body))


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        # create-schedule without availability: upstream fills Monday to Friday, 09:00-17:00.
        (
            "CreateScheduleInput_2024_06_11",
            {"name": "Default", "timeZone": "UTC", "isDefault": False},
        ),
        (
            "CreateWebhookInputDto",
            {
                "subscriberUrl": "https://hooks.example.org/cal",
                "triggers": ["ROUTING_FORM_FALLBACK_HIT"],
                "active": True,
            },
        ),
        ("CancelBookingInput_2024_08_13", {"cancellationReason": "The lead asked to cancel"}),
    ],
)
def test_the_newer_subset_takes_what_calsink_now_sends(schema: str, body: dict[str, Any]) -> None:
    assert not list(_validator(schema, NEWER).iter_errors(body))


def test_calsink_knows_each_webhook_trigger_of_the_newer_subset() -> None:
    from calsink.endpoints import WEBHOOK_TRIGGERS

    document = json.loads(NEWER.read_text(encoding="utf-8"))
    triggers = document["components"]["schemas"]["CreateWebhookInputDto"]["properties"]["triggers"]
    assert set(triggers["items"]["enum"]) == set(WEBHOOK_TRIGGERS)


def test_confirm_takes_no_body_upstream_and_meeting_url_is_deprecated() -> None:
    document = json.loads(NEWER.read_text(encoding="utf-8"))
    assert "requestBody" not in document["paths"]["/v2/bookings/{bookingUid}/confirm"]["post"]
    booking = document["components"]["schemas"]["CreateBookingInput_2024_08_13"]
    assert booking["properties"]["meetingUrl"].get("deprecated") is True


@SUBSETS
def test_the_schema_copy_is_cal_coms_shared_subset(subset: Path) -> None:
    shared = ROOT.parent / "shared" / "calcom" / subset.name
    if shared.is_file():  # beside a checkout in CI; a lone clone tests with its copy
        assert subset.read_bytes() == shared.read_bytes(), "refresh tests/data from ../shared"
