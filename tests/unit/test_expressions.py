from __future__ import annotations

from typing import Any

import pytest

from calsink.expressions import (
    EvaluationError,
    ExpressionError,
    MissingField,
    compile_expression,
)


def evaluate(text: str, record: dict[str, Any] | None = None) -> Any:
    return compile_expression(text).evaluate(record or {})


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("int(n)", {"n": " 42 "}, 42),
        ("int(n)", {"n": "42.0"}, 42),
        ("int(n)", {"n": 7.0}, 7),
        ("float(n)", {"n": "4.5"}, 4.5),
        ("bool(b)", {"b": "Yes"}, True),
        ("bool(b)", {"b": "0"}, False),
        ("bool(b)", {"b": "off"}, False),
        ("str(n)", {"n": 3}, "3"),
        ("str(n)", {"n": None}, ""),
        ("str(b)", {"b": True}, "true"),
        ("lower(email)", {"email": "A@B.COM"}, "a@b.com"),
        ("upper(x)", {"x": "abc"}, "ABC"),
        ("strip(x)", {"x": "  a b "}, "a b"),
        ("lower(x)", {"x": None}, None),
        ("len(x)", {"x": "abcd"}, 4),
        ("len(split(x, ';'))", {"x": "a;b;;c"}, 3),
        ("round(x)", {"x": "2.6"}, 3),
        ("round(x, 1)", {"x": 2.25}, 2.2),
        ("split(guests, ';')", {"guests": "a@x.com; b@x.com;"}, ["a@x.com", "b@x.com"]),
        ("split(guests)", {"guests": ""}, []),
        ("join(tags, '|')", {"tags": ["a", "b", None]}, "a|b"),
        ("concat(first, ' ', last)", {"first": "Ada", "last": "L"}, "Ada L"),
        ("coalesce(a, b, 'x')", {"a": "", "b": None}, "x"),
        ("coalesce(a, b)", {"a": "", "b": "B"}, "B"),
        ("none_if_empty(x)", {"x": "  "}, None),
        ("none_if_empty(x)", {"x": "v"}, "v"),
        ("get('First Name')", {"First Name": "Ada"}, "Ada"),
        ("get('contact.email')", {"contact": {"email": "e"}}, "e"),
        ("get('contact.phone', 'none')", {"contact": {}}, "none"),
        ("contact.email", {"contact": {"email": "e"}}, "e"),
        ("contact.email", {"contact.email": "flat"}, "flat"),
        ("iso(t, 'America/New_York')", {"t": "2030-01-07T09:00:00"}, "2030-01-07T14:00:00Z"),
        ("iso(t)", {"t": "2030-01-07T15:00:00+01:00"}, "2030-01-07T14:00:00Z"),
        ("status == 'demo'", {"status": "demo"}, True),
        ("status in ('demo', 'trial')", {"status": "trial"}, True),
        ("status not in ['demo']", {"status": "trial"}, True),
        ("int(n) > 3 and not done", {"n": "5", "done": False}, True),
        ("a or b", {"a": "", "b": "B"}, "B"),
        ("1 < int(n) < 3", {"n": "2"}, True),
        ("'yes' if bool(x) else 'no'", {"x": "true"}, "yes"),
        ("x is None", {"x": None}, True),
        ("x == null", {"x": None}, True),
        ("true", {}, True),
        ("tags[0]", {"tags": ["first", "second"]}, "first"),
        ("name[:3]", {"name": "Adalbert"}, "Ada"),
        ("int(a) * 2 + int(b) // 2 - 1 % 3", {"a": "3", "b": "5"}, 7),
        ("-int(a)", {"a": "3"}, -3),
        ("'vacation'", {}, "vacation"),
    ],
)
def test_expressions_evaluate_over_the_record(
    text: str, record: dict[str, Any], expected: Any
) -> None:
    assert evaluate(text, record) == expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("int(x)", "abc", "an integer"),
        ("int(x)", "4.5", "an integer"),
        ("int(x)", True, "an integer"),
        ("int(x)", "", "an integer"),
        ("float(x)", "nan", "a number"),
        ("float(x)", "1e400", "a number"),
        ("bool(x)", "maybe", "a boolean (true/false, yes/no, 1/0)"),
        ("iso(x)", "2030-01-07", "an ISO 8601 date-time with an offset or Z"),
    ],
)
def test_failed_casts_say_what_was_expected_and_found(text: str, value: Any, expected: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate(text, {"x": value})
    assert caught.value.expected.startswith(expected)
    assert caught.value.found is not None


def test_a_failed_cast_quotes_the_value() -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate("int(x)", {"x": "abc"})
    assert (caught.value.expected, caught.value.found) == ("an integer", "'abc'")


def test_an_empty_cell_suggests_none_if_empty() -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate("int(x)", {"x": ""})
    assert caught.value.hint is not None
    assert "none_if_empty" in caught.value.hint


def test_a_missing_field_names_the_fields_the_record_has() -> None:
    with pytest.raises(MissingField) as caught:
        evaluate("lower(emial)", {"email": "a@b", "name": "A"})
    assert caught.value.name == "emial"
    assert "email, name" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "record"),
    [
        ("a + b", {"a": "x", "b": 1}),
        ("1 / int(x)", {"x": "0"}),
        ("tags[5]", {"tags": []}),
        ("x['k']", {"x": {}}),
        ("x * 10000000", {"x": "abc"}),
        ("x % 3", {"x": "%999999999d"}),
        ("a < b", {"a": "x", "b": 2}),
    ],
)
def test_runtime_failures_are_evaluation_errors(text: str, record: dict[str, Any]) -> None:
    with pytest.raises(EvaluationError):
        evaluate(text, record)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x.__class__", "names starting with '_'"),
        ("__import__('os')", "unknown function __import__()"),
        ("open('/etc/passwd')", "unknown function open()"),
        ("email.lower()", "use the functions, e.g. lower(email)"),
        ("int({event_type_id})", "braces are not allowed"),
        ("[x for x in y]", "ListComp is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("f'{x}'", "f-strings are not allowed"),
        ("(x := 1)", "NamedExpr is not allowed"),
        ("iso(x, 'Mars/Olympus')", "unknown time zone 'Mars/Olympus'"),
        ("int(x=1)", "positional arguments only"),
        ("int(*xs)", "positional arguments only"),
        ("get('a').b", "`.b` is not allowed"),
        ("1 +", "not a valid expression"),
        ("", "the expression is empty"),
        ("x ** 2", "Pow is not allowed"),
        ("x | y", "BitOr is not allowed"),
    ],
)
def test_unsafe_or_broken_expressions_are_refused_when_compiled(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=None) as caught:
        compile_expression(text)
    assert message in str(caught.value)
