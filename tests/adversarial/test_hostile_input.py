"""Hostile input through the real CLI: each case ends in a clear error or a rejection naming
its record, in bounded time and memory, and costs nothing but itself.

The cases that used to exhaust memory or the stack run the CLI in a subprocess under an
address-space limit (and pytest-timeout), so that the earlier code fails instead of hanging
or swapping the machine."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from tests.adversarial.harness import FAKE_KEY, environment, lead_rows, write_flow
from tests.adversarial.test_malformed_sources import csv_lines, judge, run_flow
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

MEMORY_LIMIT = 1024 * 1024 * 1024
NOWHERE = "http://127.0.0.1:9"


def limited_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a process that cannot take more than ``MEMORY_LIMIT`` of address space."""
    return limited_python("-m", "calsink", *args, cwd=cwd)


def limited_python(
    *args: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment(FAKE_KEY),
        capture_output=True,
        text=True,
        timeout=90,
        preexec_fn=limit,
        input=stdin,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    """Exit 2 with a message holding each of ``parts``, and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    for part in parts:
        assert part in result.stderr, result.stderr[-2000:]


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
    assert_validate_reports(tmp_path, "leads.csv:3", "read 6 · valid 5 · rejected 1")


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
    assert_validate_reports(tmp_path, position, "read 9 · valid 8 · rejected 1")


def assert_validate_reports(folder: Path, position: str, totals: str) -> None:
    """`calsink validate` names the bad record's position, and its totals add up."""
    result = limited_cli("validate", "flow.yaml", "--all", cwd=folder)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"{position}  " in result.stderr and totals in result.stderr, result.stderr[-2000:]


def alias_bomb(levels: int) -> str:
    """A YAML mapping of ``levels`` anchors, each a list of nine aliases of the one before."""
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"  l{level}: &l{level} [{aliases}]")
    return "\n".join(lines)


YAML_BOMBS = {
    "alias-bomb": (f"unknown:\n{alias_bomb(9)}\n", "expands"),
    "recursive-alias": ("x: &x [*x]\n", "refers to itself"),
    "deep-nesting": ("deep: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than"),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", list(YAML_BOMBS))
def test_a_yaml_bomb_in_the_flow_file_is_refused_with_its_line(
    tmp_path: Path, case: str, command: str
) -> None:
    text, problem = YAML_BOMBS[case]
    flow = write_flow(tmp_path, NOWHERE, source="leads.csv", extra=text)
    (tmp_path / "leads.csv").write_text("name,email,start\n")
    lines = flow.read_text().splitlines()
    first = lines.index(text.splitlines()[0]) + 1
    result = limited_cli(command, "flow.yaml", cwd=tmp_path)
    assert_refused(result, "flow.yaml", problem)
    reported = re.search(r"line (\d+): ", result.stderr)
    assert reported, result.stderr
    assert first <= int(reported.group(1)) < first + len(text.splitlines()), result.stderr


DRAFT_CHECK = """
import sys
from pathlib import Path
from calsink.ui.drafts import DraftError, load_draft
draft = {"transform": {"map": sys.stdin.read()}}
try:
    load_draft(draft, base_dir=Path("."))
except DraftError as exc:
    print("; ".join(exc.problems))
"""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", ["alias-bomb", "recursive-alias"])
def test_the_pages_map_is_read_with_the_same_bounds(tmp_path: Path, case: str) -> None:
    text, problem = YAML_BOMBS[case]
    (tmp_path / "check.py").write_text(DRAFT_CHECK)
    result = limited_python("check.py", cwd=tmp_path, stdin=text)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "transform.map: " in result.stdout and problem in result.stdout, result.stdout


def booking_map(more: str) -> str:
    """The booking map of the harness with ``more`` (YAML lines of the map) added."""
    return f"""transform:
  map:
    start: "{{start}}"
    eventTypeId: 1
    attendee: {{name: "{{name}}", email: "{{email}}", timeZone: "America/New_York"}}
    {more}
"""


FLOW_EXPRESSIONS = {
    "200,000-term sum": ("= " + " + ".join(["1"] * 200_000), "longer than"),
    "100,000 unary minus": ("= " + "-" * 100_000 + "1", "longer than"),
    "50,000 not": ("= " + "not " * 50_000 + "True", "longer than"),
    "5,000 unary minus": ("= " + "-" * 5_000 + "1", "nested deeper than"),
    "a tuple of 8.1 billion": ("= ((1,)*90000,)*90000", "more than 100,000 items"),
    "an overflow": ("= 1e308*10", "a finite number"),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", list(FLOW_EXPRESSIONS))
def test_an_expression_too_long_deep_or_large_is_refused_when_the_flow_loads(
    tmp_path: Path, case: str
) -> None:
    expression, problem = FLOW_EXPRESSIONS[case]
    write_flow(
        tmp_path,
        NOWHERE,
        source="leads.csv",
        transform=booking_map(f'bookingFieldsResponses: {{score: "{expression}"}}'),
    )
    (tmp_path / "leads.csv").write_text("name,email,start\n" + "\n".join(csv_lines(lead_rows(2))))
    result = limited_cli("validate", "flow.yaml", cwd=tmp_path)
    lines = (tmp_path / "flow.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "bookingFieldsResponses:" in text)
    key = "`transform.map.bookingFieldsResponses.score`"
    assert_refused(result, "flow.yaml", f"line {line}: {key}", problem)
    assert len(result.stderr) < 2000, "the message shows the start of the expression, not all"


@pytest.mark.timeout(180)
def test_an_expression_that_grows_too_large_or_overflows_on_a_record_rejects_that_record(
    tmp_path: Path,
) -> None:
    good = lead_rows(4)
    rows = [f"{n},{e},{s},1,1" for n, e, s in good]
    rows.insert(1, "Big,big@example.com,2030-01-09T15:00:00Z,90000,1")
    rows.insert(3, "Inf,inf@example.com,2030-01-09T16:00:00Z,1,1e308")
    (tmp_path / "leads.csv").write_text("name,email,start,size,scale\n" + "\n".join(rows) + "\n")
    transform = booking_map(
        """metadata: {note: "= ((name,) * int(size),) * int(size)"}
    bookingFieldsResponses: {score: "= float(scale) * 10"}"""
    )
    write_flow(tmp_path, NOWHERE, source="leads.csv", transform=transform)
    result = limited_cli("validate", "flow.yaml", "--json", cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    rejected = {r["position"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(rejected) == {"leads.csv:3", "leads.csv:5"}, rejected
    assert rejected["leads.csv:3"]["field"] == "metadata.note"
    assert "more than 100,000 items" in rejected["leads.csv:3"]["reason"]
    assert rejected["leads.csv:5"]["field"] == "bookingFieldsResponses.score"
    assert "a finite number" in rejected["leads.csv:5"]["reason"]
    assert "read 6 · valid 4 · rejected 2" in result.stderr
