from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsink.flow import TransformSettings, parse_flow
from calsink.transform import RecordError, TransformConfigError, Transformer

LEAD = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "tz": "Europe/Berlin",
    "demo_at": "2030-01-07T09:00:00",
    "event_type_id": "1",
    "status": "demo",
    "phone": "",
}

BOOKING_MAP = {
    "start": "iso(demo_at, tz)",
    "eventTypeId": "int(event_type_id)",
    "attendee": {
        "name": "{first_name} {last_name}",
        "email": "{email}",
        "timeZone": "{tz}",
        "phoneNumber": "none_if_empty(phone)",
    },
}


def transformer(where: str | None = None, map: dict[str, Any] | None = None) -> Transformer:
    return Transformer(TransformSettings(where=where, map=map))


def test_the_spec_example_builds_a_create_booking_record() -> None:
    result = transformer("status == 'demo'", BOOKING_MAP).apply(LEAD)
    assert result == {
        "start": "2030-01-07T08:00:00Z",
        "eventTypeId": 1,
        "attendee": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "timeZone": "Europe/Berlin",
        },
    }


def test_where_false_leaves_the_record_out() -> None:
    t = transformer("status == 'demo'", BOOKING_MAP)
    assert t.apply({**LEAD, "status": "lost"}) is None
    assert t.where == "status == 'demo'"


def test_without_settings_or_map_the_record_passes_as_a_copy() -> None:
    record = {"a": {"b": [1, 2]}, "c": "x"}
    for t in (Transformer(None), transformer(where="c == 'x'")):
        result = t.apply(record)
        assert result == record
        assert result is not record
        assert result is not None
        result["a"]["b"].append(3)
        assert record["a"]["b"] == [1, 2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{email}", "ada@example.com"),
        ("{first_name} {last_name}", "Ada Lovelace"),
        ("<{email}>", "<ada@example.com>"),
        ("{{literal}} {tz}", "{literal} Europe/Berlin"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("BOOKING_CREATED", "BOOKING_CREATED"),
        ("Meeting (30 min)", "Meeting (30 min)"),
        ("'vacation'", "vacation"),
        ('"quoted"', "quoted"),
        ("= int(event_type_id) + 1", 2),
        ("=status == 'demo'", True),
        ("lower(email)", "ada@example.com"),
        (42, 42),
        (True, True),
        (["{email}", "x", 3], ["ada@example.com", "x", 3]),
        ("{phone}", ""),
    ],
)
def test_map_values_follow_the_documented_rules(value: Any, expected: Any) -> None:
    assert transformer(map={"out": value}).apply(LEAD) == {"out": expected}


def test_a_single_field_template_keeps_the_type() -> None:
    record = {"n": 5, "ok": True, "tags": ["a"], "contact": {"email": "e"}}
    t = transformer(
        map={
            "n": "{n}",
            "ok": "{ok}",
            "tags": "{tags}",
            "email": "{contact.email}",
            "s": "{n}/{ok}",
        }
    )
    assert t.apply(record) == {"n": 5, "ok": True, "tags": ["a"], "email": "e", "s": "5/true"}


def test_null_values_leave_the_key_out_but_a_yaml_null_is_kept() -> None:
    t = transformer(map={"a": "{x}", "b": "none_if_empty(y)", "c": None, "d": {"e": "{x}"}})
    assert t.apply({"x": None, "y": ""}) == {"c": None, "d": {}}


def test_dotted_output_problems_name_the_output_key() -> None:
    t = transformer(map=BOOKING_MAP)
    with pytest.raises(RecordError) as caught:
        t.apply({**LEAD, "event_type_id": "abc", "email": None} | {"tz": "Nowhere/Land"})
    problems = {problem.field: problem for problem in caught.value.problems}
    assert set(problems) == {"start", "eventTypeId"}
    assert problems["eventTypeId"].expected == "an integer"
    assert problems["eventTypeId"].found == "'abc'"


def test_a_missing_field_names_the_key_and_the_fields_there_are() -> None:
    t = transformer(map={"attendee": {"email": "{emial}"}})
    with pytest.raises(RecordError) as caught:
        t.apply({"email": "a@b", "name": "A"})
    (problem,) = caught.value.problems
    assert problem.field == "attendee.email"
    assert "`emial`" in problem.expected
    assert problem.hint is not None
    assert "email, name" in problem.hint


def test_a_record_nested_too_deeply_is_a_record_error() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    for t in (Transformer(None), transformer(map={"copy": "{x}", "text": "a {x}"})):
        with pytest.raises(RecordError) as caught:
            t.apply(deep)
        assert "nested" in caught.value.problems[0].expected


def test_a_where_that_cannot_be_evaluated_is_a_record_error() -> None:
    with pytest.raises(RecordError) as caught:
        transformer("int(n) > 1").apply({"n": "x"})
    assert caught.value.problems[0].field == "where"


@pytest.mark.parametrize(
    ("where", "map", "key", "message"),
    [
        ("status ==", None, "where", "not a valid expression"),
        ("email.lower() == 'x'", None, "where", "methods are not available"),
        (None, {"a": {"b": "itn(x)"}}, "map.a.b", "unknown function itn()"),
        (None, {"a": "{first"}, "map.a", "unbalanced '{'"),
        (None, {"a": "x}"}, "map.a", "unbalanced '}'"),
        (None, {"a": "{}"}, "map.a", "empty {}"),
        (None, {"a": ["ok", "int({x})"]}, "map.a[1]", "braces are not allowed"),
        (None, {"when": "iso(t, 'Mars/Olympus')"}, "map.when", "unknown time zone"),
    ],
)
def test_bad_configuration_is_refused_before_any_record(
    where: str | None, map: dict[str, Any] | None, key: str, message: str
) -> None:
    with pytest.raises(TransformConfigError) as caught:
        transformer(where, map)
    assert caught.value.key == key
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"transform.{key}: ")


def test_a_flow_file_transform_works_end_to_end() -> None:
    flow = parse_flow(
        """
version: 1
name: book-demos
source: {path: leads.csv}
transform:
  where: "status == 'demo'"
  map:
    start: "{demo_at}"
    eventTypeId: "int(event_type_id)"
    attendee:
      name: "{first_name} {last_name}"
      email: "{email}"
      timeZone: "{tz}"
destination: {template: create-booking}
"""
    )
    record = {**LEAD, "demo_at": "2030-01-07T14:00:00Z"}
    assert Transformer(flow.transform).apply(record) == {
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "timeZone": "Europe/Berlin",
        },
    }


# --- properties ------------------------------------------------------------------------------

field_names = st.text(min_size=1, max_size=12).filter(
    lambda name: "{" not in name and "}" not in name and name.strip() == name and "." not in name
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
records = st.dictionaries(field_names, st.one_of(scalars, st.lists(scalars, max_size=3)))

EVERYTHING = Transformer(
    TransformSettings(
        where="coalesce(get('status'), 'demo') != 'lost'",
        map={
            "start": "iso(get('demo_at'), 'Europe/Berlin')",
            "eventTypeId": "int(get('event_type_id'))",
            "flag": "bool(get('flag', 'no'))",
            "ratio": "float(coalesce(get('ratio'), 1))",
            "attendee": {
                "name": "{first_name} {last_name}",
                "email": "lower(get('email'))",
                "guests": "split(get('guests'), ';')",
                "count": "len(str(get('x')))",
            },
            "joined": "join(split(str(get('tags')), ','), '|')",
            "first": "get('tags')[0]",
            "text": "concat(get('a'), get('b'), 1, true)",
        },
    )
)


@settings(max_examples=150, deadline=None)
@given(records)
def test_arbitrary_records_fail_only_with_record_errors(record: dict[str, Any]) -> None:
    try:
        EVERYTHING.apply(record)
    except RecordError as exc:
        assert exc.problems
        assert all(problem.field for problem in exc.problems)


@settings(max_examples=100, deadline=None)
@given(records.filter(bool), st.data())
def test_templates_round_trip(record: dict[str, Any], data: st.DataObject) -> None:
    names = data.draw(st.lists(st.sampled_from(sorted(record)), min_size=1, max_size=4))
    separator = data.draw(st.text(max_size=3).filter(lambda s: "{" not in s and "}" not in s))
    template = separator.join("{" + name + "}" for name in names)
    result = transformer(map={"out": template, "same": "{" + names[0] + "}"}).apply(record)
    assert result is not None
    if record[names[0]] is not None:
        assert result["same"] == record[names[0]]
    if len(names) > 1:
        expected = separator.join(_text(record[name]) for name in names)
        assert result["out"] == expected


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    import json

    import orjson

    try:  # lists and objects are written as compact JSON
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
