"""Arbitrary records through transform → render → contract check (what validate, preview,
test and run share): no exception escapes, every record ends rendered, rejected or left
out, and what is rendered stays under base_url with clean headers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.adversarial.harness import cli, write_flow

from calsink.flow import LoadedFlow, parse_flow
from calsink.pipeline import prepare
from calsink.records import Filtered, Position, Rejection, Request, SourceItem

BASE = "https://cal.example.com/api"
FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PATHLIKE = [
    "..",
    ".",
    "../..",
    "../../v1/users",
    "%2e%2e",
    "%2E%2E%2F",
    "..%2f..",
    "a/b",
    "?admin=1",
    "#frag",
    "//evil.example",
    "https://evil.example/x",
    "@evil.example",
    "a\r\nX-Injected: 1",
    "line\nbreak",
    "\r",
    "nul\x00byte",
    "\u2028\u2029",
    "\ufeff",
    " ",
    "",
    "%00",
    "%0d%0a",
    "\\..\\..",
]
text = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Co"]), max_size=8),
    st.sampled_from(PATHLIKE),
    st.builds(lambda a, b: a + b, st.sampled_from(PATHLIKE), st.text(max_size=5)),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.integers(max_value=-(10**18)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False).map(float),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
FIELDS = [
    "start",
    "eventTypeId",
    "name",
    "email",
    "tz",
    "note",
    "uid",
    "reason",
    "id",
    "x",
    "url",
    "triggers",
    "end",
]
# A record every flow would send, with some of its fields (and some others) replaced by junk.
VALID = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "tz": "America/New_York",
    "note": "n",
    "uid": "abc123",
    "reason": "r",
    "id": 7,
    "x": "30",
    "url": "https://hooks.example.com/in",
    "triggers": ["BOOKING_CREATED"],
    "end": "2030-01-08T00:00:00Z",
}
records = st.builds(
    lambda overrides, extra: {**VALID, **extra, **overrides},
    st.dictionaries(st.sampled_from(FIELDS), junk, max_size=4),
    st.dictionaries(text, junk, max_size=3),
)

# Each flow: its destination (after base_url) and its transform map, in YAML.
FLOWS: dict[str, tuple[str, str]] = {
    "create-booking": (
        "template: create-booking",
        """start: "{start}"
eventTypeId: "{eventTypeId}"
attendee: {name: "{name}", email: "{email}", timeZone: "{tz}"}
metadata: {note: "{note}"}""",
    ),
    "cancel-booking": (
        'template: cancel-booking\nparams: {uid: "{uid}"}',
        'cancellationReason: "{reason}"',
    ),
    "reschedule-booking": (
        'template: reschedule-booking\nparams: {uid: "{uid}-{x}"}',
        'start: "iso(start)"\nreschedulingReason: "{reason}"',
    ),
    "update-event-type": (
        'template: update-event-type\nparams: {id: "{id}"}',
        'title: "{name}"\nlengthInMinutes: "int(x)"',
    ),
    "delete-event-type": ('template: delete-event-type\nparams: {id: "{id}"}', ""),
    "create-webhook": (
        "template: create-webhook",
        'subscriberUrl: "{url}"\ntriggers: "{triggers}"',
    ),
    "create-out-of-office": (
        "template: create-out-of-office",
        'start: "{start}"\nend: "{end}"\nnotes: "{note}"\ntoUserId: "{id}"',
    ),
    "manual": (
        f"""manual:
  method: POST
  url: "{BASE}/v2/things/{{uid}}/do?for={{x}}&note={{note}}"
  headers: {{x-source: "{{x}}", x-trace: "{{name}}"}}""",
        'name: "{name}"',
    ),
}


def loaded_flow(name: str) -> LoadedFlow:
    destination, fields = FLOWS[name]
    mapping = f"  map:\n{_indent(fields, 4)}" if fields else ""
    text = f"""version: 1
name: fuzz
source: {{path: records.jsonl}}
transform:
  where: "get('skip') != True"
{mapping}
destination:
  base_url: {BASE}
{_indent(destination, 2)}
delivery: {{key: [uid, email, start]}}
"""
    return LoadedFlow(flow=parse_flow(text), path=None, base_dir=Path("."))


def _indent(block: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in block.splitlines())


PIPELINES = {name: loaded_flow(name) for name in FLOWS}
BASE_PARTS = urlsplit(BASE)


def check_request(request: Request) -> None:
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc) == (BASE_PARTS.scheme, BASE_PARTS.netloc), request.url
    assert parts.path.startswith(BASE_PARTS.path + "/v2/"), request.url
    assert not parts.fragment, request.url
    for segment in parts.path.split("/"):
        assert unquote(segment) not in (".", ".."), request.url
    assert not any(c in request.url for c in "\r\n\x00 \\"), request.url
    for name, value in request.headers:
        assert not any(c in name + value for c in "\r\n\x00"), (name, value)
        assert name.lower() != "authorization"
    if request.body:
        orjson.loads(request.body)


def outcomes_of(name: str, items: list[SourceItem]) -> list[Request | Rejection | Filtered]:
    return list(prepare(PIPELINES[name], iter(items)))


@FUZZ
@given(batch=st.lists(records, min_size=1, max_size=4))
def test_any_record_ends_rendered_or_rejected_and_stays_under_base_url(
    batch: list[dict[str, Any]],
) -> None:
    items = [SourceItem(Position("records.jsonl", i, i + 1), r) for i, r in enumerate(batch)]
    for name in FLOWS:
        outcomes = outcomes_of(name, items)
        assert [o.position for o in outcomes] == [item.position for item in items], name
        for outcome in outcomes:
            if isinstance(outcome, Request):
                check_request(outcome)
            elif isinstance(outcome, Rejection):
                assert outcome.problems and all(p.reason for p in outcome.problems)


@FUZZ
@given(uid=text, x=text, note=text, name=text)
def test_path_like_values_never_leave_their_segment(uid: str, x: str, note: str, name: str) -> None:
    record = {**VALID, "uid": uid, "x": x, "note": note, "name": name}
    item = SourceItem(Position("records.jsonl", 0, 1), record)
    for flow in ("cancel-booking", "reschedule-booking", "manual"):
        (outcome,) = outcomes_of(flow, [item])
        if isinstance(outcome, Request):
            check_request(outcome)
            segments = urlsplit(outcome.url).path.split("/")
            assert len(segments) == len(urlsplit(BASE).path.split("/")) + 4, outcome.url


def test_huge_and_non_finite_numbers_are_rejected_not_raised() -> None:
    values: list[Any] = [10**400, -(10**400), math.inf, -math.inf, math.nan, 1e308 * 10]
    items = [
        SourceItem(Position("records.jsonl", i, i + 1), {"id": v, "x": v, "eventTypeId": v})
        for i, v in enumerate(values)
    ]
    for name in ("create-booking", "update-event-type", "delete-event-type"):
        outcomes = outcomes_of(name, items)
        assert len(outcomes) == len(items)
        assert all(isinstance(o, Rejection) for o in outcomes), (name, outcomes)


@pytest.mark.parametrize("value", PATHLIKE)
def test_a_path_like_uid_is_one_encoded_segment_or_a_rejection(value: str) -> None:
    item = SourceItem(Position("records.jsonl", 0, 1), {**VALID, "uid": value})
    (outcome,) = outcomes_of("cancel-booking", [item])
    if isinstance(outcome, Rejection):
        assert unquote(value).strip() in ("", ".", "..") or any(ord(c) < 32 for c in value), outcome
        assert outcome.problems[0].field == "uid"
        return
    check_request(outcome)
    path = urlsplit(outcome.url).path.removeprefix(BASE_PARTS.path)
    _, v2, bookings, segment, cancel = path.split("/")
    assert (v2, bookings, cancel) == ("v2", "bookings", "cancel")
    assert unquote(segment) == value


def test_a_key_field_holding_a_list_with_a_huge_integer_is_an_outcome_not_a_crash(
    tmp_path: Path,
) -> None:
    """A JSON array keeps integers of any size; a key on a list holding one used to stop
    validate, preview and run with a traceback."""
    rows = [
        {"name": "A", "email": "a@example.com", "start": "2030-01-07T14:00:00Z", "ref": [10**30]},
        {"name": "B", "email": "b@example.com", "start": "2030-01-07T15:00:00Z", "ref": [1]},
    ]
    (tmp_path / "leads.json").write_text(json.dumps(rows))
    write_flow(tmp_path, "http://127.0.0.1:9", source="leads.json", key="[ref]")
    result = cli("validate", "flow.yaml", key="cal_test_unused", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
