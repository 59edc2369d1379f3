"""What `calsink.run` tells as it goes: each record once as it settles (`on_result`,
`calsink.stream`), with no secret in it, and progress that ends with the report's counts."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from tests.support.sandbox import SandboxHandle
from tests.test_library import FLOW, booked, rows

import calsink


@pytest.mark.e2e
def test_each_record_is_told_as_it_settles_and_progress_ends_with_the_report(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    given = rows(3, "told")
    sent = [*given, {**given[0], "name": "again"}, {"name": "no email", "start": given[1]["start"]}]
    results: list[calsink.RecordResult] = []
    events: list[calsink.ProgressEvent] = []
    report = calsink.run(
        flow,
        sent,
        api_key=sandbox.api_key,
        base_url=sandbox.url,
        on_result=results.append,
        on_progress=events.append,
    )
    told = {str(result.position): result for result in results}
    assert len(results) == report.summary.read == 5, "each record is told once"
    assert Counter(result.outcome for result in results) == {
        "delivered": 3,
        "skipped": 1,
        "rejected": 1,
    }
    uids = {booking["uid"] for booking in sandbox.state()["bookings"]}
    for number in range(3):
        delivered = told[f"rows[{number}]"]
        assert (delivered.outcome, delivered.status, delivered.error) == ("delivered", 201, None)
        assert delivered.uid in uids and delivered.attempts == 1
    assert told["rows[3]"].error == "duplicate of rows[0]"
    assert told["rows[3]"].key == told["rows[0]"].key
    assert told["rows[4]"].outcome == "rejected" and "email" in (told["rows[4]"].error or "")
    assert events[-1].done and events[-1].summary == report.summary

    again: list[calsink.RecordResult] = []
    calsink.run(flow, given, api_key=sandbox.api_key, base_url=sandbox.url, on_result=again.append)
    assert [(str(r.position), r.outcome) for r in again] == [
        (f"rows[{number}]", "skipped") for number in range(3)
    ]


def test_a_told_error_never_holds_the_api_key(tmp_path: Path) -> None:
    key = "told-secret-0123456789abcdef"
    flow = calsink.load(FLOW, base_dir=tmp_path)
    results: list[calsink.RecordResult] = []
    report = calsink.run(
        flow,
        [{"name": "Key", "email": "key@example.com", "start": key}],
        api_key=key,
        dry_run=True,
        on_result=results.append,
    )
    assert report.summary.rejected == 1
    assert [result.outcome for result in results] == ["rejected"]
    assert key not in json.dumps([result.to_json() for result in results])


@pytest.mark.e2e
def test_results_come_in_async_for_and_leaving_early_stops_the_run_cleanly(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    given = rows(12, "stream")

    async def main() -> tuple[list[calsink.RecordResult], calsink.ResultStream]:
        whole = calsink.stream(flow, given[:4], api_key=sandbox.api_key, base_url=sandbox.url)
        results = [result async for result in whole]
        async for _ in calsink.stream(flow, given, api_key=sandbox.api_key, base_url=sandbox.url):
            break  # the rest of the run is stopped; a later run sends what is left
        return results, whole

    results, whole = asyncio.run(main())
    assert sorted(str(r.position) for r in results) == [f"rows[{n}]" for n in range(4)]
    assert whole.report is not None and whole.report.summary.delivered == 4
    rest = calsink.run(flow, given, api_key=sandbox.api_key, base_url=sandbox.url)
    assert rest.summary.read == 12 and rest.summary.not_through == 0
    assert set(booked(sandbox).values()) == {1} and len(booked(sandbox)) == 12


@pytest.mark.e2e
def test_a_stream_left_early_inside_async_with_has_ended_when_the_block_ends(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Break out of the results, and run the flow again at once in the same event loop:
    the block's end waited for the first run to finish what was on the wire."""
    flow = calsink.load(FLOW, base_dir=tmp_path)
    given = rows(12, "withstream")

    async def main() -> tuple[calsink.ResultStream, calsink.RunReport]:
        async with calsink.stream(
            flow, given, api_key=sandbox.api_key, base_url=sandbox.url
        ) as results:
            async for _ in results:
                break
        again = await calsink.arun(flow, given, api_key=sandbox.api_key, base_url=sandbox.url)
        return results, again

    results, again = asyncio.run(main())
    assert results.report is not None and results.report.aborted == "interrupted"
    first = results.report.summary.delivered
    assert (again.summary.skipped, again.summary.delivered) == (first, 12 - first)
    mine = {email: n for email, n in booked(sandbox).items() if email.startswith("withstream")}
    assert len(mine) == 12 and set(mine.values()) == {1}


def test_a_stream_refuses_what_arun_would_not_take_when_it_is_made(tmp_path: Path) -> None:
    flow = calsink.load(FLOW, base_dir=tmp_path)
    with pytest.raises(TypeError, match="leave on_result out"):
        calsink.stream(flow, rows(1, "opt"), on_result=print)
    with pytest.raises(TypeError, match=r"calsink\.stream: .*'bogus'"):
        calsink.stream(flow, rows(1, "opt"), bogus=1)
