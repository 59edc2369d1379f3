"""`import calsink` as a user would: the examples of docs/python.md run against the sandbox,
type-check under `mypy --strict`, and rows come from lists, pyarrow tables and DataFrames."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.support.cli import calsink as run_calsink
from tests.support.sandbox import SandboxHandle

import calsink

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python.md"


def doc_examples() -> dict[str, str]:
    """Each ```python block of docs/python.md under the heading it follows."""
    text = DOC.read_text()
    found: dict[str, str] = {}
    for match in re.finditer(r"^## (.+?)\n.*?```python\n(.*?)```", text, re.S | re.M):
        found[match.group(1)] = match.group(2)
    return found


EXAMPLES = doc_examples()


def booked(sandbox: SandboxHandle) -> Counter[str]:
    emails: Counter[str] = Counter()
    for booking in sandbox.state()["bookings"]:
        if booking.get("status") in ("accepted", "pending"):
            for attendee in booking.get("attendees", []):
                emails[attendee.get("email", "")] += 1
    return emails


def run_script(path: Path, sandbox: SandboxHandle) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAL_API_KEY": sandbox.api_key, "CAL_BASE_URL": sandbox.url}
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documentation_has_a_script_a_notebook_cell_and_a_task() -> None:
    assert set(EXAMPLES) == {
        "A script",
        "A notebook cell, or any code inside a running event loop",
        "An Airflow-style task",
        "Each record as it settles",
    }


@pytest.mark.e2e
@pytest.mark.parametrize("heading", sorted(EXAMPLES))
def test_each_documented_example_sends_once_and_a_second_call_skips(
    heading: str, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    script = tmp_path / "example.py"
    script.write_text(EXAMPLES[heading])
    result = run_script(script, sandbox)
    assert result.returncode == 0, result.stdout + result.stderr
    emails = booked(sandbox)
    assert emails and set(emails.values()) == {1}, emails
    again = run_script(script, sandbox)
    assert again.returncode == 0, again.stdout + again.stderr
    assert booked(sandbox) == emails, "a second call sent nothing"
    assert (tmp_path / ".calsink").is_dir(), "the ledger is kept beside the script"


def test_the_examples_pass_mypy_strict(tmp_path: Path) -> None:
    for number, code in enumerate(EXAMPLES.values()):
        (tmp_path / f"example_{number}.py").write_text(code)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


FLOW: dict[str, Any] = {
    "version": 1,
    "name": "library-rows",
    "source": {"path": "-"},
    "transform": {
        "map": {
            "start": "{start}",
            "eventTypeId": 1,
            "attendee": {"name": "{name}", "email": "{email}", "timeZone": "UTC"},
        }
    },
    "destination": {"api_key_env": "CAL_API_KEY", "template": "create-booking"},
    "delivery": {"key": ["email", "start"]},
}


def rows(count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {"name": f"{prefix} {i}", "email": f"{prefix}{i}@example.com", "start": start}
        for i, start in enumerate(
            f"2030-01-{7 + i // 8:02d}T{14 + i % 8}:00:00Z" for i in range(count)
        )
    ]


@pytest.mark.e2e
def test_rows_from_a_pyarrow_table_and_record_batch(sandbox: SandboxHandle, tmp_path: Path) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    table = pa.Table.from_pylist(rows(6, "table"))
    report = calsink.run(flow, table, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (report.summary.read, report.summary.delivered) == (6, 6)
    batch = table.to_batches()[0]
    again = calsink.run(flow, batch, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (again.summary.read, again.summary.skipped) == (6, 6)
    assert set(booked(sandbox).values()) == {1} and len(booked(sandbox)) == 6


@pytest.mark.e2e
def test_rows_from_a_pandas_dataframe_with_missing_values(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    import pandas

    frame = pandas.DataFrame(rows(4, "frame"))
    frame.loc[3, "email"] = None  # a missing cell: that record is rejected, named by position
    flow = calsink.load(FLOW, base_dir=tmp_path)
    report = calsink.run(flow, frame, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (report.summary.delivered, report.summary.rejected) == (3, 1)
    letters = report.dead_letters_path
    assert letters is not None and "rows[3]" in letters.read_text()


@pytest.mark.e2e
def test_a_call_inside_a_running_event_loop_works_in_both_forms(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)

    async def main() -> tuple[calsink.RunReport, calsink.RunReport]:
        first = await calsink.arun(
            flow, rows(2, "loop"), api_key=sandbox.api_key, base_url=sandbox.url
        )
        second = calsink.run(flow, rows(3, "loop"), api_key=sandbox.api_key, base_url=sandbox.url)
        return first, second

    first, second = asyncio.run(main())
    assert first.summary.delivered == 2
    assert (second.summary.skipped, second.summary.delivered) == (2, 1)


def test_a_flow_loads_from_a_path_text_or_mapping_and_says_what_is_wrong(tmp_path: Path) -> None:
    file = tmp_path / "flow.yaml"
    file.write_text(
        "version: 1\nname: from-file\nsource: {path: x.csv}\n"
        "destination: {template: create-booking}\n"
    )
    assert calsink.load(file).flow.name == "from-file"
    assert calsink.load(str(file)).flow.name == "from-file"
    assert calsink.load(file.read_text()).flow.name == "from-file"
    assert calsink.load({**FLOW, "name": "from-dict"}).flow.name == "from-dict"
    with pytest.raises(calsink.FlowError) as caught:
        calsink.load({**FLOW, "delivery": {"concurrency": "many"}})
    assert "`delivery.concurrency`" in str(caught.value)


@pytest.mark.parametrize(
    ("flow", "said"), [("", "an empty text"), ([1], "a list"), (None, "a NoneType")]
)
def test_what_cannot_be_a_flow_is_refused_saying_what_can(flow: Any, said: str) -> None:
    with pytest.raises(TypeError, match=f"flow is {said}: pass a flow file's path, the YAML"):
        calsink.load(flow)


def test_retry_refuses_an_only_it_does_not_know(tmp_path: Path) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    with pytest.raises(ValueError, match="only='failures': expected 'failed', 'dead' or None"):
        calsink.retry(flow, only="failures", api_key="k")  # type: ignore[arg-type]


def test_a_row_that_is_not_a_mapping_is_rejected_by_name_and_the_others_go_on(
    tmp_path: Path,
) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    good = rows(3, "mapped")
    given = [good[0], ["not", "a", "mapping"], good[1], None, good[2]]
    report = calsink.run(flow, given, api_key="k", dry_run=True)
    assert (report.summary.read, report.summary.rejected, report.planned) == (5, 2, 3)
    checked = calsink.validate(flow, given)
    belongs = "where a row (a mapping of columns) belongs"
    assert [(str(r.position), r.reason) for r in checked.rejections] == [
        ("rows[1]", f"expected a readable record, found a list {belongs}"),
        ("rows[3]", f"expected a readable record, found nothing (None) {belongs}"),
    ]


def test_a_json_line_that_is_not_an_object_says_what_was_expected_once(tmp_path: Path) -> None:
    (tmp_path / "leads.jsonl").write_text(
        '{"name": "Ada", "email": "ada@example.com", "start": "2030-01-07T14:00:00Z"}\n5\n'
    )
    flow = calsink.load({**FLOW, "source": {"path": "leads.jsonl"}}, base_dir=tmp_path)
    (rejection,) = calsink.validate(flow).rejections
    assert str(rejection.position) == "leads.jsonl:2"
    assert rejection.reason == "expected a JSON object {...} on the line, found a number"


@pytest.mark.parametrize(
    ("rows_given", "said"),
    [
        ({"name": "Ada", "email": "ada@example.com"}, "rows is one mapping"),
        ("leads.csv", "rows is a str"),
        (b"name,email", "rows is a bytes"),
        (42, "rows is a int"),
    ],
)
def test_what_cannot_be_rows_at_all_is_refused_before_anything_is_read(
    rows_given: Any, said: str, tmp_path: Path
) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    for call in (calsink.validate, calsink.preview):
        with pytest.raises(TypeError, match=said):
            call(flow, rows=rows_given)
    with pytest.raises(TypeError, match=said):
        calsink.run(flow, rows_given, api_key="k", dry_run=True)
    assert calsink.status(flow).last_run_started is None  # no run was started


def test_positions_given_with_the_rows_are_kept() -> None:
    given = calsink.Position("crm.csv", 4, line=17)
    items = list(calsink.items_of([(given, {"a": 1}), ("crm", {"b": 2}), {"c": 3}]))
    assert [str(item.position) for item in items] == ["crm.csv:17", "crm[1]", "rows[2]"]


def test_the_public_names_are_documented_and_exported() -> None:
    text = DOC.read_text()
    for name in (
        "run",
        "arun",
        "test",
        "atest",
        "retry",
        "aretry",
        "status",
        "templates",
        "template",
        "load",
    ):
        assert callable(getattr(calsink, name))
        assert f"calsink.{name}(" in text or f"calsink.{name}`" in text or name in text
    assert set(calsink.__all__) <= set(dir(calsink))


# Each command of `calsink` and the library call it stands on: the same name where Python
# allows it (`calsink ui` cannot be `calsink.ui`, the page's package; `credentials` is the
# public module holding the key store).
COMMAND_CALLS = {
    "demo": "calsink.run_demo",
    "templates": "calsink.templates",
    "init": "calsink.init",
    "schema": "calsink.flow_schema",
    "validate": "calsink.validate",
    "preview": "calsink.preview",
    "test": "calsink.test",
    "run": "calsink.run",
    "status": "calsink.status",
    "retry": "calsink.retry",
    "ledger": "calsink.copy_ledger",
    "credentials": "calsink.credentials.CredentialStore",
    "source": "calsink.read_calcom",
    "listen": "calsink.serve_listener",
    "sandbox": "calsink.sandbox.serve",
    "ui": "calsink.serve_page",
}


def test_every_command_is_listed_with_its_library_call() -> None:
    from calsink.cli import COMMANDS

    assert set(COMMAND_CALLS) == set(COMMANDS), "a command without its library call, or gone"


@pytest.mark.parametrize("name", sorted(COMMAND_CALLS))
def test_each_command_has_its_library_call_and_both_are_documented(name: str) -> None:
    from calsink.cli import COMMANDS

    dotted = COMMAND_CALLS[name]
    module_name, _, attribute = dotted.rpartition(".")
    call = getattr(importlib.import_module(module_name), attribute)
    assert callable(call)
    # the command's own module calls it (a call, not the command's own `def`): the
    # command is the call's skin
    command_source = (ROOT / "src/calsink/cli" / f"{COMMANDS[name][0]}.py").read_text()
    called = re.search(rf"(?<!def ){re.escape(attribute)}\(", command_source)
    assert called, f"`calsink {name}` does not call {dotted}"
    docs = DOC.read_text()
    shown = f"`{dotted}(" in docs or f"`{attribute}`" in docs or f"{attribute}(" in docs
    assert shown, f"docs/python.md does not show {dotted}"
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    documented = "".join(page.read_text() for page in pages)
    assert f"`calsink {name}" in documented, f"`calsink {name}` is not documented"


def checked_flow(folder: Path) -> Path:
    (folder / "leads.csv").write_text(
        "name,email,start,status\n"
        "Ada,ada@example.com,2030-01-07T14:00:00Z,demo\n"
        "Ada again,ada@example.com,2030-01-07T14:00:00Z,demo\n"
        "Bad,bad@example.com,not a date,demo\n"
        "Lost,lost@example.com,2030-01-07T15:00:00Z,lost\n"
        "Grace,grace@example.com,2030-01-07T16:00:00Z,demo\n"
    )
    flow = folder / "flow.yaml"
    flow.write_text(
        "version: 1\nname: checked\nsource: {path: leads.csv}\n"
        "transform:\n  where: \"status == 'demo'\"\n  map:\n"
        '    start: "iso(start)"\n    eventTypeId: 1\n'
        '    attendee: {name: "{name}", email: "{email}", timeZone: UTC}\n'
        "destination: {api_key_env: CAL_API_KEY, template: create-booking}\n"
        "delivery: {key: [email, start]}\n"
    )
    return flow


def test_validate_counts_as_the_command_does_and_names_each_record(tmp_path: Path) -> None:
    flow = checked_flow(tmp_path)
    report = calsink.validate(flow)
    counts = report.to_json()
    assert {k: counts[k] for k in ("read", "valid", "rejected", "filtered", "duplicates")} == {
        "read": 5,
        "valid": 2,
        "rejected": 1,
        "filtered": 1,
        "duplicates": 1,
    }
    (rejection,) = report.rejections
    assert (str(rejection.position), rejection.field) == ("leads.csv:4", "start")
    (problem,) = rejection.problems
    assert problem.expected.startswith("an ISO 8601 date-time") and problem.found == "'not a date'"
    (duplicate,) = report.duplicate_records
    assert (str(duplicate.position), duplicate.reason) == (
        "leads.csv:3",
        "duplicate of leads.csv:2",
    )
    assert counts["rejections"][0]["field"] == "start"
    assert counts["duplicate_records"] == [
        {"position": "leads.csv:3", "reason": "duplicate of leads.csv:2"}
    ]
    assert not report.ok
    shown = run_calsink("validate", str(flow), timeout=60)
    assert (
        "read 5 · valid 2 · rejected 1 · filtered 1 · duplicates 1" in shown.stdout + shown.stderr
    )


def test_validate_hands_each_finding_over_as_it_is_found(tmp_path: Path) -> None:
    flow = checked_flow(tmp_path)
    found: list[calsink.Finding] = []
    report = calsink.validate(flow, on_finding=found.append)
    assert [(type(f).__name__, str(f.position)) for f in found] == [
        ("Duplicate", "leads.csv:3"),
        ("Rejection", "leads.csv:4"),
    ]
    assert (report.counts.read, report.counts.rejected, report.counts.duplicates) == (5, 1, 1)
    assert report.rejections == [] and report.duplicate_records == []  # handed over, not kept

    rejected: list[calsink.Rejection | calsink.Notice] = []
    requests = calsink.preview(flow, count=3, on_finding=rejected.append)
    assert [r["position"] for r in requests] == ["leads.csv:2", "leads.csv:3", "leads.csv:6"]
    assert [str(f.position) for f in rejected] == ["leads.csv:4"]


def test_preview_gives_what_the_command_prints_with_the_key_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = checked_flow(tmp_path)
    monkeypatch.setenv("CAL_API_KEY", "cal_test_library_preview_0000")
    requests = calsink.preview(flow, count=2)
    printed = run_calsink("preview", str(flow), "-n", "2", "--json", timeout=60)
    lines = [json.loads(line) for line in printed.stdout.splitlines() if line.startswith("{")]
    assert requests == lines
    assert [r["position"] for r in requests] == ["leads.csv:2", "leads.csv:3"]
    assert "cal_test_library_preview_0000" not in json.dumps(requests)


def test_a_dry_run_tells_each_planned_record(tmp_path: Path) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    results: list[calsink.RecordResult] = []
    calsink.run(flow, rows(2, "planned"), dry_run=True, on_result=results.append)
    assert [(str(r.position), r.outcome) for r in results] == [
        ("rows[0]", "planned"),
        ("rows[1]", "planned"),
    ]


def test_init_gives_the_starter_flow_and_writes_it_with_an_example_record(tmp_path: Path) -> None:
    text = calsink.init("create-booking").text
    assert "template: create-booking" in text
    flow = tmp_path / "book-leads.yaml"
    written = calsink.init("create-booking", flow)
    assert written.flow_path == flow and flow.read_text() == written.text
    assert "name: book-leads" in written.text
    assert written.data_path == tmp_path / "book-leads-records.jsonl"
    report = calsink.validate(flow)
    assert report.counts.valid == 1, report
    with pytest.raises(FileExistsError, match="--force"):
        calsink.init("create-booking", flow)
    again = calsink.init("create-booking", flow, force=True)
    assert again.data_path is None  # the data file beside it is kept
    with pytest.raises(ValueError, match="no-such-template"):
        calsink.init("no-such-template")


@pytest.mark.e2e
def test_the_demo_runs_inside_a_running_event_loop(sandbox: SandboxHandle, tmp_path: Path) -> None:
    async def notebook_cell() -> list[calsink.DemoStep]:
        return calsink.run_demo(tmp_path / "demo", base_url=sandbox.url, api_key=sandbox.api_key)

    steps = asyncio.run(notebook_cell())
    assert steps and all(step.report.exit_code in (0, 1) for step in steps), steps
    assert sum(step.report.summary.delivered for step in steps) > 0


@pytest.mark.e2e
@pytest.mark.parametrize("callback", ["on_result", "on_progress"])
def test_a_callback_that_raises_stops_the_run_its_error_reaches_the_caller_and_no_record_is_lost(
    callback: str, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = calsink.load(
        {
            **FLOW,
            "name": f"raising-{callback}".replace("_", "-"),
            "delivery": {"key": ["email", "start"], "concurrency": 2},
        },
        base_dir=tmp_path,
    )
    prefix = f"raise{callback}"
    records = rows(24, prefix)
    # progress comes at the start, at most every so often, and at the end: the second call
    # is mid-run or the last one
    failing_call, calls = (3 if callback == "on_result" else 2), 0

    def fails_once_called_enough(_: object) -> None:
        nonlocal calls
        calls += 1
        if calls == failing_call:
            raise ValueError("the caller's own bug")

    options: dict[str, Any] = {callback: fails_once_called_enough}
    with pytest.raises(ValueError, match="the caller's own bug") as raised:
        calsink.run(flow, records, api_key=sandbox.api_key, base_url=sandbox.url, **options)
    note = " ".join(getattr(raised.value, "__notes__", []))
    first = sum(n for email, n in booked(sandbox).items() if email.startswith(prefix))
    assert f"calsink stopped the run of flow {flow.flow.name!r} there: {first} delivered" in note
    status = calsink.status(flow)
    assert status.counts.get("delivered", 0) == first
    assert status.last_run_aborted == "a callback raised"

    again = calsink.run(flow, records, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (again.summary.skipped, again.summary.delivered) == (first, 24 - first)
    mine = {email: n for email, n in booked(sandbox).items() if email.startswith(prefix)}
    assert len(mine) == 24 and set(mine.values()) == {1}


@pytest.mark.e2e
def test_rows_that_raise_mid_run_stop_it_as_ctrl_c_does_and_no_record_is_lost(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """A database cursor that breaks after 200 rows: the requests on the wire finish and are
    recorded, the run is closed in the ledger, and the cursor's error reaches the caller."""
    import datetime as dt

    flow = calsink.load(
        {
            **FLOW,
            "name": "broken-cursor",
            "delivery": {"key": ["email", "start"], "concurrency": 4},
        },
        base_dir=tmp_path,
    )
    day, slots = dt.date(2031, 3, 3), list[str]()
    while len(slots) < 240:
        if day.weekday() < 5:
            slots += [
                f"{day}T{hour:02d}:{minute:02d}:00Z" for hour in range(14, 21) for minute in (0, 30)
            ]
        day += dt.timedelta(days=1)
    records = [
        {"name": f"Cursor {i}", "email": f"cursor{i}@example.com", "start": start}
        for i, start in enumerate(slots[:240])
    ]

    def cursor() -> Iterator[dict[str, Any]]:
        for number, record in enumerate(records):
            if number == 200:
                raise ConnectionError("the database went away")
            yield record

    with pytest.raises(ConnectionError, match="the database went away") as raised:
        calsink.run(flow, cursor(), api_key=sandbox.api_key, base_url=sandbox.url)
    first = sum(n for email, n in booked(sandbox).items() if email.startswith("cursor"))
    note = " ".join(getattr(raised.value, "__notes__", []))
    assert f"calsink stopped the run of flow 'broken-cursor' there: {first} delivered" in note
    status = calsink.status(flow)
    assert status.last_run_aborted == "the source raised"
    assert status.counts.get("delivered", 0) == first and status.counts.get("in_flight", 0) == 0

    again = calsink.run(flow, records, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (again.summary.skipped, again.summary.delivered) == (first, 240 - first)
    mine = {email: n for email, n in booked(sandbox).items() if email.startswith("cursor")}
    assert len(mine) == 240 and set(mine.values()) == {1}


@pytest.mark.e2e
def test_rows_with_values_json_cannot_hold_end_in_one_outcome_each(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Rows from a database cursor carry Decimals, dates, bytes and numbers as keys: the
    records calsink keeps (dead letters, the ledger) hold them as JSON can, and the run
    neither stops nor loses one."""
    import datetime as dt
    from decimal import Decimal

    flow = calsink.load({**FLOW, "name": "cursor-values"}, base_dir=tmp_path)
    weekend = "2030-01-12T15:00:00Z"  # a Saturday: the sandbox's schedule has no slot then
    odd: list[dict[Any, Any]] = [
        {
            "name": "Bad \udc80",  # a byte the source could not decode, as surrogateescape keeps it
            "email": "not-an-email",
            "start": "2030-01-07T15:00:00Z",
            "amount": Decimal("12.50"),
            7: "a number as a key",
            "tags": {"a"},
            "big": 2**70,
        },
        {
            "name": "Sat",
            "email": "sat@example.com",
            "start": weekend,
            "amount": Decimal("Infinity"),
            "raw": b"\xff bytes",
            "seen": dt.date(2030, 1, 1),
        },
        {
            "name": "Ok",
            "email": "cursor-ok@example.com",
            "start": "2030-01-08T15:00:00Z",
            "amount": Decimal("3"),
        },
    ]
    report = calsink.run(flow, odd, api_key=sandbox.api_key, base_url=sandbox.url)
    summary = report.summary
    assert (summary.read, summary.rejected, summary.failed, summary.delivered) == (3, 1, 1, 1)
    assert report.dead_letters_path is not None
    letters = {
        str(letter.position): letter for letter in calsink.dead_letters(report.dead_letters_path)
    }
    assert letters["rows[0]"].record == {
        "name": "Bad \\udc80",
        "email": "not-an-email",
        "start": "2030-01-07T15:00:00Z",
        "amount": 12.5,
        "7": "a number as a key",
        "tags": ["a"],
        "big": str(2**70),
    }
    assert letters["rows[1]"].record is not None
    assert letters["rows[1]"].record["amount"] == "Infinity"
    assert letters["rows[1]"].record["seen"] == "2030-01-01"
    again = calsink.run(flow, odd, api_key=sandbox.api_key, base_url=sandbox.url)
    assert again.summary.skipped == 1  # the delivered one, from the ledger

    in_the_body = calsink.validate(flow, [{**odd[2], "name": "Ok \udc80"}])
    (rejection,) = in_the_body.rejections
    assert "a lone surrogate" in rejection.reason and "source.encoding" in rejection.reason

    by_name = calsink.load(
        {**FLOW, "name": "surrogate-key", "delivery": {"key": ["ref", "start"]}},
        base_dir=tmp_path,
    )
    keyed = [
        {
            "ref": "L\udc80",
            "name": "Lin",
            "email": "lin@example.com",
            "start": "2030-01-10T19:00:00Z",
        }
    ]
    first = calsink.run(by_name, keyed, api_key=sandbox.api_key, base_url=sandbox.url)
    second = calsink.run(by_name, keyed, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (first.summary.delivered, second.summary.skipped) == (1, 1), (first, second)


@pytest.mark.e2e
def test_a_dataframes_date_time_column_is_rejected_with_what_to_write_and_sent_with_iso(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "name": ["Ada", "Grace"],
            "email": ["frame-ada@example.com", "frame-grace@example.com"],
            "start": pd.to_datetime(["2030-01-09T15:00:00Z", "2030-01-09T16:00:00Z"]),
        }
    )
    raw = calsink.load({**FLOW, "name": "frame-times"}, base_dir=tmp_path)
    report = calsink.validate(raw, frame)
    assert (report.counts.read, report.counts.rejected) == (2, 2)
    reason = report.rejections[0].reason
    assert "found a Timestamp" in reason and "e.g. iso(column)" in reason, reason

    as_text = {**FLOW, "name": "frame-times"}
    as_text["transform"] = {"map": {**FLOW["transform"]["map"], "start": "iso(start)"}}
    converted = calsink.load(as_text, base_dir=tmp_path)
    (first,) = calsink.preview(converted, 1, rows=frame)
    assert first["body"]["start"] == "2030-01-09T15:00:00Z"
    sent = calsink.run(converted, frame, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (sent.summary.read, sent.summary.delivered) == (2, 2)


@pytest.mark.e2e
def test_test_sends_one_of_the_rows_given_and_the_run_then_skips_it(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = calsink.load({**FLOW, "name": "test-rows"}, base_dir=tmp_path)
    records = rows(3, "testrows")
    tried = calsink.test(
        flow, records, record="rows[1]", api_key=sandbox.api_key, base_url=sandbox.url
    )
    assert tried.ok and str(tried.position) == "rows[1]", tried
    report = calsink.run(flow, records, api_key=sandbox.api_key, base_url=sandbox.url)
    assert (report.summary.skipped, report.summary.delivered) == (1, 2)


def test_a_negative_limit_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    pulled: list[int] = []

    def endless() -> Iterator[dict[str, Any]]:
        for number in itertools.count():
            pulled.append(number)
            yield rows(1, f"endless{number}")[0]

    flow = calsink.load(FLOW, base_dir=tmp_path)
    with pytest.raises(ValueError, match=r"limit=-1: expected how many records to read"):
        calsink.run(flow, endless(), limit=-1, dry_run=True)
    five = calsink.run(flow, endless(), limit=5, dry_run=True)
    assert five.summary.read == 5 and len(pulled) == 5


def test_preview_refuses_a_count_below_one_as_the_command_does(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"count=0: expected how many requests to show"):
        calsink.preview(calsink.load(FLOW, base_dir=tmp_path), 0, rows=rows(2, "count"))
    assert len(calsink.preview(calsink.load(FLOW, base_dir=tmp_path), 1, rows=rows(2, "n"))) == 1
