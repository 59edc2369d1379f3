"""Render: record + destination → the exact request, or a rejection saying why."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pytest

from calsink.flow import DestinationSettings, FlowReference, LoadedFlow, parse_flow
from calsink.pipeline import prepare
from calsink.records import Filtered, Position, Rejection, Request, SourceItem
from calsink.render import BATCH_WARNING, RenderConfigError, Renderer, key_string

HERE = Position("records.csv", 0, 2)
BOOKING = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/London"},
}


def _renderer(**settings: Any) -> Renderer:
    key_fields = settings.pop("key_fields", None)
    resolve = settings.pop("resolve_reference", None)
    return Renderer(
        DestinationSettings.model_validate(settings),
        key_fields=key_fields,
        resolve_reference=resolve,
    )


def _request(
    renderer: Renderer, record: dict[str, Any], source: dict[str, Any] | None = None
) -> Request:
    out = renderer.render(HERE, source or {}, record)
    assert isinstance(out, Request), out
    return out


def _rejection(
    renderer: Renderer, record: dict[str, Any], source: dict[str, Any] | None = None
) -> Rejection:
    out = renderer.render(HERE, source or {}, record)
    assert isinstance(out, Rejection), out
    return out


@pytest.mark.parametrize(
    ("template", "record", "method", "url", "version", "body"),
    [
        ("create-booking", BOOKING, "POST", "/v2/bookings", "2026-02-25", BOOKING),
        (
            "cancel-booking",
            {"uid": "bk1", "cancellationReason": "r"},
            "POST",
            "/v2/bookings/bk1/cancel",
            "2026-02-25",
            {"cancellationReason": "r"},
        ),
        (
            "reschedule-booking",
            {"uid": "bk1", "start": "2030-01-14T15:00:00Z"},
            "POST",
            "/v2/bookings/bk1/reschedule",
            "2026-02-25",
            {"start": "2030-01-14T15:00:00Z"},
        ),
        (
            "confirm-booking",
            {"uid": "bk1", "email": "x@example.com"},
            "POST",
            "/v2/bookings/bk1/confirm",
            "2026-02-25",
            {},
        ),
        (
            "confirm-booking",  # upstream's confirm takes no body: a reason is decline's
            {"uid": "bk1", "reason": "ok"},
            "POST",
            "/v2/bookings/bk1/confirm",
            "2026-02-25",
            {},
        ),
        (
            "create-event-type",
            {"title": "T", "slug": "t", "lengthInMinutes": 30},
            "POST",
            "/v2/event-types",
            "2024-06-14",
            {"title": "T", "slug": "t", "lengthInMinutes": 30},
        ),
        (
            "update-event-type",
            {"id": 4, "title": "New"},
            "PATCH",
            "/v2/event-types/4",
            "2024-06-14",
            {"title": "New"},
        ),
        ("delete-event-type", {"id": 4}, "DELETE", "/v2/event-types/4", "2024-06-14", None),
        (
            "create-schedule",
            {"name": "M", "timeZone": "UTC", "availability": []},
            "POST",
            "/v2/schedules",
            "2024-06-11",
            {"name": "M", "timeZone": "UTC", "availability": [], "isDefault": False},
        ),
        (
            "create-webhook",
            {"subscriberUrl": "https://h.example/x", "triggers": ["OOO_CREATED"]},
            "POST",
            "/v2/webhooks",
            None,
            {"subscriberUrl": "https://h.example/x", "triggers": ["OOO_CREATED"], "active": True},
        ),
        (
            "create-out-of-office",
            {"start": "2030-01-21T00:00:00Z", "end": "2030-01-22T00:00:00Z"},
            "POST",
            "/v2/me/ooo",
            None,
            {"start": "2030-01-21T00:00:00Z", "end": "2030-01-22T00:00:00Z"},
        ),
    ],
)
def test_each_template_renders_its_request(
    template: str,
    record: dict[str, Any],
    method: str,
    url: str,
    version: str | None,
    body: dict[str, Any] | None,
) -> None:
    request = _request(_renderer(template=template), record)
    headers = dict(request.headers)
    assert request.method == method
    assert request.url == "https://api.cal.com" + url
    assert headers.get("cal-api-version") == version
    assert "Authorization" not in headers
    assert headers["Accept"] == "application/json"
    if body is None:
        assert request.body is None
        assert "Content-Type" not in headers
    else:
        assert headers["Content-Type"] == "application/json"
        assert request.body is not None
        assert orjson.loads(request.body) == body
        assert request.body == orjson.dumps(body)


def test_api_version_override() -> None:
    request = _request(_renderer(template="create-booking", api_version="2024-08-13"), BOOKING)
    assert dict(request.headers)["cal-api-version"] == "2024-08-13"


def test_record_is_not_changed_by_render() -> None:
    record = {**BOOKING, "attendee": dict(BOOKING["attendee"]), "internal": 1}
    before = orjson.dumps(record)
    renderer = _renderer(template="create-booking", exclude=["internal", "attendee.email"])
    assert isinstance(renderer.render(HERE, {}, record), Rejection)
    renderer = _renderer(template="create-booking", exclude=["internal", "attendee.name"])
    assert isinstance(renderer.render(HERE, {}, record), Rejection)
    assert orjson.dumps(record) == before


def test_exclude_removes_dotted_paths() -> None:
    record = {
        **BOOKING,
        "attendee": {**BOOKING["attendee"], "phoneNumber": "+14155550123"},
        "crm_id": 7,
    }
    request = _request(
        _renderer(template="create-booking", exclude=["crm_id", "attendee.email"]), record
    )
    assert request.payload["attendee"] == {
        "name": "Ada",
        "timeZone": "Europe/London",
        "phoneNumber": "+14155550123",
    }
    assert "crm_id" not in request.payload
    assert request.warnings == ()


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("../../admin", "..%2F..%2Fadmin"),
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("x%2e%2ey", "x%252e%252ey"),
        ("ümlaut uid", "%C3%BCmlaut%20uid"),
        ("@evil.example:80", "%40evil.example%3A80"),
    ],
)
def test_path_macros_are_single_encoded_segments(value: str, encoded: str) -> None:
    request = _request(_renderer(template="cancel-booking"), {"uid": value})
    assert request.url == f"https://api.cal.com/v2/bookings/{encoded}/cancel"


@pytest.mark.parametrize("value", [".", "..", "%2e%2e", "%2E"])
def test_dot_segments_are_rejected(value: str) -> None:
    rejection = _rejection(_renderer(template="cancel-booking"), {"uid": value})
    assert rejection.field == "uid"
    assert "other than '.' or '..'" in rejection.reason


@pytest.mark.parametrize("value", [None, "", "  ", True, {"a": 1}])
def test_missing_path_parameter_is_a_rejection_naming_it(value: Any) -> None:
    record = {"cancellationReason": "r"}
    if value is not None:
        record["booking_uid"] = value
    rejection = _rejection(
        _renderer(template="cancel-booking", params={"uid": "{booking_uid}"}), record
    )
    assert rejection.field == "booking_uid"
    assert "a value for the path parameter uid (Booking UID)" in rejection.reason


def test_path_parameter_falls_back_to_the_source_row_and_is_left_out_of_the_body() -> None:
    renderer = _renderer(template="update-event-type", params={"id": "{event_type_id}"})
    from_source = _request(renderer, {"title": "x"}, {"event_type_id": "12"})
    assert from_source.url.endswith("/v2/event-types/12")
    assert from_source.payload == {"title": "x"}
    from_record = _request(renderer, {"title": "x", "event_type_id": 13.0})
    assert from_record.url.endswith("/v2/event-types/13")
    assert from_record.payload == {"title": "x"}


def test_flow_reference_uses_the_resolver_with_normalised_key_values() -> None:
    calls: list[tuple[FlowReference, tuple[str, ...]]] = []

    def resolve(ref: FlowReference, values: tuple[str, ...]) -> str | None:
        calls.append((ref, values))
        return "bk-42" if values == ("ada@example.com", "2030-01-07T14:00:00Z") else None

    renderer = _renderer(
        template="reschedule-booking",
        params={"uid": {"flow": "book-demos", "key": ["email", "booked_at"]}},
        resolve_reference=resolve,
    )
    source = {"email": "ada@example.com", "booked_at": "2030-01-07T09:00:00-05:00"}
    request = _request(renderer, {"start": "2030-01-14T15:00:00Z"}, source)
    assert request.url == "https://api.cal.com/v2/bookings/bk-42/reschedule"
    assert calls[0][0].flow == "book-demos"
    other = _rejection(
        renderer, {"start": "2030-01-14T15:00:00Z"}, {**source, "email": "x@example.com"}
    )
    assert other.field == "uid"
    assert (
        'no uid recorded by flow book-demos for key ["x@example.com","2030-01-07T14:00:00Z"]'
        in other.reason
    )


def test_flow_reference_without_a_ledger_rejects_with_the_reason() -> None:
    renderer = _renderer(
        template="confirm-booking", params={"uid": {"flow": "book-demos", "key": ["email"]}}
    )
    rejection = _rejection(renderer, {}, {"email": "ada@example.com"})
    assert 'no uid recorded by flow book-demos for key ["ada@example.com"]' in rejection.reason
    assert "run flow book-demos first" in rejection.reason


def test_key_fields_give_a_canonical_key_with_instants_in_utc() -> None:
    renderer = _renderer(template="create-booking", key_fields=["attendee.email", "start"])
    a = _request(renderer, {**BOOKING, "start": "2030-01-07T09:00:00-05:00"})
    b = _request(renderer, BOOKING)
    assert a.key == b.key == '["ada@example.com","2030-01-07T14:00:00Z"]'
    missing = _rejection(_renderer(template="create-booking", key_fields=["crm_id"]), BOOKING)
    assert missing.field == "crm_id"


def test_default_key_is_the_rendered_request() -> None:
    renderer = _renderer(template="create-booking")
    assert _request(renderer, BOOKING).key == _request(renderer, dict(BOOKING)).key
    assert (
        _request(renderer, BOOKING).key
        != _request(renderer, {**BOOKING, "start": "2030-01-08T14:00:00Z"}).key
    )


def test_unknown_fields_warn_reject_or_drop() -> None:
    record = {**BOOKING, "email": "ada@example.com"}
    warned = _request(_renderer(template="create-booking"), record)
    assert warned.payload["email"] == "ada@example.com"
    assert len(warned.warnings) == 1 and warned.warnings[0].startswith(
        "email: create-booking does not know"
    )
    rejected = _rejection(_renderer(template="create-booking", unknown_fields="reject"), record)
    assert rejected.field == "email"
    dropped = _request(_renderer(template="create-booking", unknown_fields="drop"), record)
    assert "email" not in dropped.payload and dropped.warnings == ()
    assert orjson.loads(dropped.body or b"") == BOOKING


def test_contract_problems_and_path_problems_come_together() -> None:
    rejection = _rejection(_renderer(template="reschedule-booking"), {"start": "soon"})
    fields = [p.field for p in rejection.problems]
    assert fields == ["uid", "start"]
    assert rejection.position == HERE


def test_values_json_cannot_carry_are_rejected() -> None:
    rejection = _rejection(
        _renderer(template="create-booking"), {**BOOKING, "metadata": {"x": object()}}
    )
    assert "JSON" in rejection.reason


# --- manual mode ------------------------------------------------------------------------


def _manual(**manual: Any) -> Renderer:
    extra = manual.pop("destination", {})
    return _renderer(manual={"method": "POST", **manual}, **extra)


def test_manual_mode_url_headers_and_body() -> None:
    renderer = _manual(
        url="/v2/bookings/{uid}/decline",
        headers="cal-api-version:2026-02-25, x-source : crm",
        destination={"exclude": ["uid"]},
    )
    request = _request(renderer, {"uid": "a/b", "reason": "no"})
    assert request.url == "https://api.cal.com/v2/bookings/a%2Fb/decline"
    assert dict(request.headers) == {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "cal-api-version": "2026-02-25",
        "x-source": "crm",
    }
    assert request.payload == {"reason": "no"}
    mapping = _manual(
        url="https://api.cal.com/v2/bookings/{uid}/decline",
        headers={"cal-api-version": "2024-08-13"},
    )
    assert _request(mapping, {"uid": "u"}).url == "https://api.cal.com/v2/bookings/u/decline"


@pytest.mark.parametrize(
    ("manual", "message"),
    [
        ({"url": "https://api.cal.com/v1/bookings"}, "retired /v1/ API"),
        ({"url": "/v2/bookings/{uid}/cancel"}, "needs the header cal-api-version: 2026-02-25"),
        (
            {"url": "/v2/bookings", "headers": "cal-api-version:2024-04-15"},
            "found cal-api-version 2024-04-15",
        ),
        ({"url": "/v2/event-types/{id}", "method": "PATCH"}, "cal-api-version: 2024-06-14"),
        (
            {"url": "/v2/webhooks", "headers": "Authorization:Bearer cal_live_x"},
            "calsink adds Authorization itself",
        ),
        ({"url": "/v2/webhooks", "headers": {"authorization": "Bearer x"}}, "Authorization"),
        ({"url": "/v2/webhooks", "headers": {"x-a": "1\r\nx-b: 2"}}, "CR, LF and NUL"),
        ({"url": "/v2/webhooks", "headers": "x-a:1\nx-b:2"}, "CR, LF and NUL"),
        ({"url": "/v2/webhooks", "headers": "no-colon"}, "expected 'name:value'"),
        ({"url": "/v2/webhooks", "headers": {"bad name": "1"}}, "not a valid HTTP header name"),
        ({"url": "https://{host}/v2/webhooks"}, "macros may only stand in the path"),
        ({"url": "http://api.cal.com/v2/webhooks"}, "plain http is allowed only for this machine"),
        ({"url": "/v2/../admin"}, "may not contain '..' segments"),
    ],
)
def test_manual_mode_guards(manual: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderConfigError, match=None) as info:
        _manual(**manual)
    assert message in str(info.value)


def test_manual_version_guard_names_the_fix() -> None:
    with pytest.raises(RenderConfigError) as info:
        _manual(url="https://api.cal.com/v2/bookings/{uid}/decline")
    text = str(info.value)
    assert 'headers: "cal-api-version:2026-02-25"' in text
    assert "silently falls back to an older contract" in text


def test_unversioned_manual_endpoints_need_no_header() -> None:
    request = _request(_manual(url="/v2/webhooks"), {"subscriberUrl": "https://x.example"})
    assert "cal-api-version" not in dict(request.headers)


def test_template_configuration_errors() -> None:
    with pytest.raises(RenderConfigError, match="unknown template"):
        _renderer(template="create-bookings")
    with pytest.raises(RenderConfigError, match="has no path parameter 'id'"):
        _renderer(template="cancel-booking", params={"id": "{x}"})
    with pytest.raises(RenderConfigError, match="plain http"):
        _renderer(template="create-booking", base_url="http://api.cal.com")
    assert _renderer(template="create-booking", base_url="http://127.0.0.1:8765").prefix == (
        "http://127.0.0.1:8765/v2/"
    )


# --- the pipeline -----------------------------------------------------------------------

FLOW = """
version: 1
name: t
source: {path: records.jsonl}
transform:
  where: "status != 'lost'"
  map:
    start: "{start}"
    eventTypeId: "int(event_type_id)"
    attendee: {name: "{name}", email: "{email}", timeZone: "UTC"}
destination:
  template: create-booking
  %s
"""


def _flow(extra: str = "") -> LoadedFlow:
    from pathlib import Path

    return LoadedFlow(flow=parse_flow(FLOW % extra), path=None, base_dir=Path("."))


def _items(rows: list[dict[str, Any] | None]) -> list[SourceItem]:
    return [
        SourceItem(Position("records.jsonl", i, i + 1), row, None if row else "broken line")
        for i, row in enumerate(rows)
    ]


def _row(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "start": f"2030-01-{7 + n:02d}T14:00:00Z",
        "event_type_id": "1",
        "name": f"P{n}",
        "email": f"p{n}@example.com",
        "status": "demo",
        "account": "a" if n % 2 else "b",
        **extra,
    }


def test_prepare_gives_one_outcome_per_item_in_order() -> None:
    rows = [
        _row(0),
        None,
        _row(1, status="lost"),
        _row(2, event_type_id="x"),
        _row(3, email="bob@"),
    ]
    outcomes = list(prepare(_flow(), _items(rows)))
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["Request", "Rejection", "Filtered", "Rejection", "Rejection"]
    assert isinstance(outcomes[1], Rejection) and "broken line" in outcomes[1].reason
    assert isinstance(outcomes[2], Filtered) and "status != 'lost'" in outcomes[2].reason
    assert isinstance(outcomes[3], Rejection) and outcomes[3].field == "eventTypeId"
    assert isinstance(outcomes[4], Rejection)
    assert str(outcomes[4].position) == "records.jsonl:5"
    assert outcomes[4].reason == "attendee.email: expected an e-mail address, found 'bob@'"


def test_batching_groups_by_size_and_group_by() -> None:
    loaded = _flow("batch: {size: 2, group_by: account}")
    rows = [_row(n) for n in range(5)]
    outcomes = list(prepare(loaded, _items(rows)))
    assert all(isinstance(o, Request) for o in outcomes)
    batches = [o for o in outcomes if isinstance(o, Request)]
    groups = sorted([str(p) for p in b.positions] for b in batches)
    assert groups == [
        ["records.jsonl:1", "records.jsonl:3"],
        ["records.jsonl:2", "records.jsonl:4"],
        ["records.jsonl:5"],
    ]
    for batch in batches:
        payload = orjson.loads(batch.body or b"")
        assert isinstance(payload, list) and len(payload) == len(batch.positions)
        assert batch.payload == payload
    renderer = Renderer(loaded.flow.destination, key_fields=None)
    assert BATCH_WARNING in renderer.warnings
    with pytest.raises(RenderConfigError, match="no body to batch"):
        _renderer(template="delete-event-type", batch={"size": 3})


def test_a_key_field_holding_values_json_lacks_still_gives_a_key() -> None:
    renderer = _renderer(template="create-booking", key_fields=["metadata"])
    record = {**BOOKING, "metadata": {"paid": Decimal("12.50"), "on": date(2030, 1, 7)}}
    request = _request(renderer, record)
    assert request.key == key_string(['{"on":"2030-01-07","paid":12.5}'])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([10**30], "[1000000000000000000000000000000]"),
        ({"b": [-(2**63) - 1], "a": 1}, '{"a":1,"b":[-9223372036854775809]}'),
        ({1: "x", "y": 2}, "{1: 'x', 'y': 2}"),
    ],
)
def test_a_key_field_holding_what_orjson_cannot_write_still_gives_a_key(
    value: Any, text: str
) -> None:
    renderer = _renderer(template="create-booking", key_fields=["ref"])
    request = _request(renderer, {**BOOKING}, {"ref": value})
    assert request.key == key_string([text])
