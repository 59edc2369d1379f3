"""Defects in render.py found by the adversarial suite, kept together for the fix there.

Each test shows what a user meets today; they pass once render.py is fixed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adversarial.harness import cli, write_flow
from tests.adversarial.test_fuzz_records import loaded_flow

from calsink.pipeline import prepare
from calsink.records import Position, Rejection, Request, SourceItem


def test_a_key_field_holding_a_list_with_a_huge_integer_is_an_outcome_not_a_crash(
    tmp_path: Path,
) -> None:
    """A JSON array source keeps integers of any size; keyed on a list holding one, render's
    key_value() calls orjson.dumps, which raises TypeError ("Integer exceeds 64-bit range")
    and the run, validate and preview stop with a traceback."""
    items = [
        json.dumps(
            {
                "name": "A",
                "email": "a@example.com",
                "start": "2030-01-07T14:00:00Z",
                "ref": [10**30],
            }
        ),
        json.dumps(
            {"name": "B", "email": "b@example.com", "start": "2030-01-07T15:00:00Z", "ref": [1]}
        ),
    ]
    (tmp_path / "leads.json").write_text("[" + ",".join(items) + "]")
    write_flow(tmp_path, "http://127.0.0.1:9", source="leads.json", key="[ref]")
    result = cli("validate", "flow.yaml", key="cal_test_unused", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "leads.json[1]" not in result.stderr, "the second record is valid"


def test_render_keeps_every_key_value_outcome_in_process() -> None:
    item = SourceItem(Position("records.jsonl", 0, 1), {"uid": [-(2**63) - 1], "reason": "r"})
    (outcome,) = list(prepare(loaded_flow("cancel-booking"), iter([item])))
    assert isinstance(outcome, Request | Rejection)
