"""Hostile input through the real CLI: each case ends in a clear error or a rejection naming
its record, in bounded time and memory, and costs nothing but itself.

The cases that used to exhaust memory or the stack run the CLI in a subprocess under an
address-space limit (and pytest-timeout), so that the earlier code fails instead of hanging
or swapping the machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.adversarial.harness import lead_rows
from tests.adversarial.test_malformed_sources import csv_lines, judge, run_flow
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def test_an_unbalanced_quote_costs_its_own_line_and_the_rows_after_it_are_booked(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    good = lead_rows(6)
    lines = csv_lines(good)
    # line 3 opens a quote it never closes; line 6 quotes a name properly
    lines[1] = '"Lead 1,lead1@example.com,' + good[1][2]
    lines[4] = f'"Lead, 4",{good[4][1]},{good[4][2]}'
    (tmp_path / "leads.csv").write_text("\n".join(["name,email,start", *lines]) + "\n")
    counts = run_flow(tmp_path, sandbox, "leads.csv")
    booked = [row for number, row in enumerate(good) if number != 1]
    judge(tmp_path, sandbox, counts, booked, {"leads.csv:3": "lines 3–6 were read as one record"})
    assert counts["read"] == 6


@pytest.mark.parametrize("depth", [2000, 300])
@pytest.mark.parametrize("name", ["leads.json", "leads.jsonl"])
def test_a_deeply_nested_item_is_rejected_and_the_items_after_it_are_booked(
    sandbox: SandboxHandle, tmp_path: Path, name: str, depth: int
) -> None:
    good = lead_rows(8)
    items = [json.dumps({"name": n, "email": e, "start": s}) for n, e, s in good]
    deep = {"name": "Deep", "email": "deep@example.com", "start": "2030-01-09T15:00:00Z"}
    nested = json.dumps(deep)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    items.insert(1, nested)
    text = "[" + ",\n".join(items) + "]" if name.endswith(".json") else "\n".join(items)
    (tmp_path / name).write_text(text + "\n")
    counts = run_flow(tmp_path, sandbox, name)
    position = f"{name}[1]" if name.endswith(".json") else f"{name}:2"
    judge(tmp_path, sandbox, counts, good, {position: "nested deeper than"})
