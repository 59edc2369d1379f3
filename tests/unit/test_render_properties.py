"""For any record, render either rejects it or yields a URL under base_url with clean headers."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsink.flow import DestinationSettings
from calsink.instants import is_instant, normalise_instant
from calsink.records import Position, Rejection, Request
from calsink.render import Renderer, key_value

BASE = "https://api.cal.com"
HERE = Position("p.jsonl", 0, 1)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.sampled_from([".", "..", "%2e%2e", "../..", "/", "?x=1", "#f", "a\r\nb", "\x00", "@h:1"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=8,
)
records = st.dictionaries(
    st.one_of(
        st.sampled_from(["uid", "id", "start", "attendee", "reason", "x"]), st.text(max_size=6)
    ),
    values,
    max_size=6,
)

RENDERERS = [
    Renderer(DestinationSettings(template=name))
    for name in ("cancel-booking", "update-event-type", "delete-event-type", "create-booking")
] + [
    Renderer(
        DestinationSettings.model_validate(
            {
                "manual": {
                    "method": "POST",
                    "url": "/v2/things/{uid}/do?for={x}",
                    "headers": "x-source:test",
                }
            }
        )
    )
]


def _check(out: Request | Rejection) -> None:
    if isinstance(out, Rejection):
        assert out.problems
        return
    assert out.url.startswith(BASE + "/v2/")
    parts = urlsplit(out.url)
    assert (parts.scheme, parts.netloc) == ("https", "api.cal.com")
    segments = parts.path.split("/")
    assert ".." not in segments and "." not in segments
    for name, value in out.headers:
        assert not any(c in name + value for c in "\r\n\x00")
        assert name.lower() != "authorization"
    assert all(c not in out.url for c in "\r\n\x00 ")


@settings(max_examples=300, deadline=None)
@given(record=records, source=records)
def test_render_rejects_or_stays_under_base_url(
    record: dict[str, Any], source: dict[str, Any]
) -> None:
    for renderer in RENDERERS:
        _check(renderer.render(HERE, source, record))


@settings(max_examples=300, deadline=None)
@given(uid=st.text(min_size=1))
def test_any_uid_stays_one_segment(uid: str) -> None:
    out = RENDERERS[0].render(HERE, {}, {"uid": uid})
    _check(out)
    if isinstance(out, Request):
        path = urlsplit(out.url).path
        assert path.startswith("/v2/bookings/") and path.endswith("/cancel")
        assert path.count("/") == 4


_BOOKING = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/London"},
}
_ODD_BOOKING_VALUES: list[Any] = [
    {"paid": Decimal("12.50"), "on": date(2030, 1, 7), "tags": {"a"}},
    {"opaque": object()},
    ["ada@example.com"],
    "2030-01-07T09:00:00-05:00",
]
_booking_changes = st.dictionaries(
    st.sampled_from(["start", "eventTypeId", "metadata", "guests", "instant", "nickname"]),
    st.one_of(values, st.sampled_from(_ODD_BOOKING_VALUES)),
    max_size=3,
)
_attendee_changes = st.dictionaries(
    st.sampled_from(["name", "email", "timeZone", "phoneNumber", "language", "company"]),
    scalars,
    max_size=2,
)


def _assert_alike_on_every_path(record: dict[str, Any]) -> None:
    """A create-booking destination that excludes an absent field renders every record
    through the general path; the plain one takes its quick path when it can. Both must
    give the same request or the same rejection, with or without delivery keys."""
    for key_fields in (None, ["attendee.email", "start"], ["nickname"]):
        plain = Renderer(DestinationSettings(template="create-booking"), key_fields=key_fields)
        general = Renderer(
            DestinationSettings(template="create-booking", exclude=["zz_absent"]),
            key_fields=key_fields,
        )
        checking = Renderer(
            DestinationSettings(template="create-booking"),
            key_fields=key_fields,
            content_keys=False,
        )
        quick = plain.render(HERE, {}, copy.deepcopy(record))
        slow = general.render(HERE, {}, copy.deepcopy(record))
        checked = checking.render(HERE, {}, copy.deepcopy(record))
        assert type(quick) is type(slow) is type(checked)
        if isinstance(quick, Request) and isinstance(slow, Request):
            assert (quick.url, quick.body, quick.key, quick.warnings) == (
                slow.url,
                slow.body,
                slow.key,
                slow.warnings,
            )
            assert quick.payload == slow.payload
        elif isinstance(quick, Rejection) and isinstance(slow, Rejection):
            assert quick.to_json() == slow.to_json()
        if isinstance(checked, Request) and isinstance(quick, Request):
            assert checked.key == (quick.key if key_fields else "")
            assert (checked.body, checked.warnings) == (quick.body, quick.warnings)
        elif isinstance(checked, Rejection) and isinstance(quick, Rejection):
            assert checked.to_json() == quick.to_json()


@settings(max_examples=300, deadline=None)
@given(changes=_booking_changes, attendee=_attendee_changes)
def test_records_render_alike_on_every_path(
    changes: dict[str, Any], attendee: dict[str, Any]
) -> None:
    _assert_alike_on_every_path(
        {**_BOOKING, **changes, "attendee": {**_BOOKING["attendee"], **attendee}}
    )


@pytest.mark.parametrize("name", ["metadata", "bookingFieldsResponses", "nickname"])
@pytest.mark.parametrize("value", _ODD_BOOKING_VALUES)
def test_values_json_cannot_carry_render_alike_on_every_path(name: str, value: Any) -> None:
    _assert_alike_on_every_path({**_BOOKING, name: value})


_instant_like = st.builds(
    lambda day, sep, time, zone, pad: f"{pad}2030-01-{day:02d}{sep}{time}{zone}{pad}",
    st.integers(0, 32),
    st.sampled_from(["T", "t", " ", "_", ""]),
    st.sampled_from(["14:00:00", "14:00", "9:00", "14:00:00.250", ""]),
    st.sampled_from(["Z", "z", "+01:00", "-05:00", ""]),
    st.sampled_from(["", " ", "\t"]),
)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=30), _instant_like))
def test_key_text_of_a_text_is_its_instant_in_utc_or_itself(text: str) -> None:
    expected = normalise_instant(text) if is_instant(text) else text
    assert key_value(text) == expected
