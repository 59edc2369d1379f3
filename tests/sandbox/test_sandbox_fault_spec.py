"""The --faults language: the documented examples mean what the documentation says."""

from __future__ import annotations

import pytest

from calsink.sandbox.faults import FaultPlan, FaultSpecError, parse_spec


def test_documented_examples_parse() -> None:
    rules, seed = parse_spec(
        "503@0.3,429=5@1#3,latency=200ms@1,timeout=30s@0.1:POST /v2/bookings,"
        "drop-before@0.1,drop-after@0.1,malformed@0.1,truncated@0.1,huge@0.01,"
        "503@1#2:POST /v2/bookings/{uid}/cancel,latency=50ms:/v2/*,seed=7"
    )
    assert seed == 7
    described = [rule.to_json() for rule in rules]
    assert described[0] == {"kind": "status", "status": 503, "rate": 0.3}
    assert described[1] == {
        "kind": "status",
        "status": 429,
        "retry_after": 5,
        "rate": 1.0,
        "count": 3,
    }
    assert described[2] == {"kind": "latency", "ms": 200, "rate": 1.0}
    assert described[3] == {
        "kind": "timeout",
        "ms": 30000,
        "rate": 0.1,
        "method": "POST",
        "path": "/v2/bookings",
    }
    assert [r.kind for r in rules[4:9]] == [
        "drop-before",
        "drop-after",
        "malformed",
        "truncated",
        "huge",
    ]
    cancel, prefix = rules[9], rules[10]
    assert cancel.matches("POST", "/v2/bookings/abc/cancel")
    assert not cancel.matches("POST", "/v2/bookings/abc/confirm")
    assert not cancel.matches("GET", "/v2/bookings/abc/cancel")
    assert prefix.matches("GET", "/v2/slots") and not prefix.matches("GET", "/health")


def test_counts_run_out_and_seeds_repeat() -> None:
    plan = FaultPlan(*parse_spec("503@1#2"))
    decisions = [plan.decide("GET", "/v2/me") for _ in range(3)]
    assert [d.describe() if d else None for d in decisions] == ["503", "503", None]
    first = FaultPlan(*parse_spec("500@0.5,seed=3"))
    second = FaultPlan(*parse_spec("500@0.5,seed=3"))
    pattern = [first.decide("GET", "/v2/me") is None for _ in range(50)]
    assert pattern == [second.decide("GET", "/v2/me") is None for _ in range(50)]
    assert 10 < pattern.count(True) < 40


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("explode@1", "unknown fault kind"),
        ("503@2", "between 0 and 1"),
        ("latency=fast", "not a duration"),
        ("drop-after=3", "takes no argument"),
        ("999", "between 100 and 599"),
        ("503#x", "whole number"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, complaint: str) -> None:
    with pytest.raises(FaultSpecError, match=complaint):
        parse_spec(spec)
