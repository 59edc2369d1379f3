"""calsink as a dlt destination: a real dlt pipeline fed by a generator resource (rows calsink
cannot read itself), loads that fail or are killed half-way, and the re-runs after them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import psycopg
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from tests.adversarial.harness import booked_emails, lead_rows, write_flow
from tests.support.postgres import fresh_database
from tests.support.sandbox import SandboxHandle

import calsink
import calsink.dlt

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _dlt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dlt reads `.dlt/` in the working folder and its secrets from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAL_API_KEY", raising=False)


def leads(count: int, *, first: int = 0) -> Any:
    @dlt.resource(name="leads", primary_key="email")
    def generate() -> Iterator[dict[str, str]]:
        for name, email, start in lead_rows(count, first=first):
            yield {"name": name, "email": email, "start": start}

    return generate


def pipeline(tmp_path: Path, destination: Any) -> Any:
    return dlt.pipeline(
        pipeline_name="leads_to_cal",
        pipelines_dir=str(tmp_path / "dlt-pipelines"),
        destination=destination,
    )


def booking_posts(sandbox: SandboxHandle) -> int:
    return sum(
        1
        for entry in sandbox.requests()
        if entry.get("method") == "POST" and entry.get("path") == "/v2/bookings"
    )


@pytest.mark.e2e
def test_a_failed_load_job_run_again_by_dlt_sends_each_booking_once(
    sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION__CALSINK__API_KEY", sandbox.api_key)  # dlt's secret
    flow = write_flow(tmp_path, sandbox, source="-", key="[email]")
    flow.write_text(flow.read_text().replace("max_attempts: 6", "max_attempts: 1"))
    sandbox.set_faults(
        {"rules": [{"kind": "status", "status": 503, "count": 3, "path": "/v2/bookings"}]}
    )
    sandbox.clear_requests()

    info = pipeline(tmp_path, calsink.dlt.destination(flow=flow)).run(leads(8))

    assert not info.has_failed_jobs
    assert booked_emails(sandbox) == {f"lead{i}@example.com": 1 for i in range(8)}
    # the first attempt delivered 5 and lost 3 to the faults; dlt ran the whole job
    # again and only those 3 were sent a second time
    assert booking_posts(sandbox) == 8 + 3
    status = calsink.status(flow)
    assert status.counts.get("delivered") == 8, status.to_json()
    assert not status.ledger_path.is_relative_to(tmp_path / "dlt-pipelines")


PIPELINE_SCRIPT = """\
import sys

import dlt

import calsink.dlt
from tests.adversarial.harness import lead_rows


@dlt.resource(name="leads")
def leads():
    for name, email, start in lead_rows(int(sys.argv[3])):
        yield {"name": name, "email": email, "start": start}


pipeline = dlt.pipeline(
    pipeline_name="killed",
    pipelines_dir=sys.argv[2],
    destination=calsink.dlt.destination(flow=sys.argv[1]),
)
pipeline.run(leads())
print("loaded")
"""


@pytest.mark.e2e
def test_a_load_killed_half_way_then_run_again_books_each_lead_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    count = 12
    flow = write_flow(tmp_path, sandbox, source="-", key="[email]")
    flow.write_text(flow.read_text().replace("concurrency: 4", "concurrency: 1"))
    script = tmp_path / "load.py"
    script.write_text(PIPELINE_SCRIPT)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CAL_API_KEY": sandbox.api_key,  # the flow's own credential (api_key_env)
    }
    args = [sys.executable, str(script), str(flow), str(tmp_path / "pipes"), str(count)]
    sandbox.set_faults({"rules": [{"kind": "latency", "ms": 150, "path": "/v2/bookings"}]})

    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        while sum(booked_emails(sandbox).values()) < 3 and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    half = sum(booked_emails(sandbox).values())
    assert 3 <= half < count, "the kill landed in the middle of the load"

    sandbox.clear_faults()
    again = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert again.returncode == 0, again.stderr[-3000:]
    assert booked_emails(sandbox) == {f"lead{i}@example.com": 1 for i in range(count)}


@pytest.mark.e2e
@pytest.mark.filterwarnings("ignore:`detect_precision_hints` argument is deprecated")
def test_rows_from_dlts_sql_database_over_postgresql_book_once_with_their_timestamps(
    sandbox: SandboxHandle, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlt.sources.sql_database import sql_database

    database = fresh_database(postgres_url)
    with psycopg.connect(database) as db:
        db.execute(b"create table leads (name text, email text primary key, start timestamptz)")
        for name, email, start in lead_rows(3):
            db.execute(b"insert into leads values (%s, %s, %s)", (name, email, start))
    monkeypatch.setenv("CAL_API_KEY", sandbox.api_key)
    flow = write_flow(tmp_path, sandbox, source="-", key="[email]")
    source = sql_database(
        credentials=database.replace("postgresql://", "postgresql+psycopg://"),
        table_names=["leads"],
    )

    first = pipeline(tmp_path, calsink.dlt.destination(flow=flow)).run(source)
    again = pipeline(tmp_path, calsink.dlt.destination(flow=flow)).run(source)

    assert not first.has_failed_jobs and not again.has_failed_jobs
    assert booked_emails(sandbox) == {f"lead{i}@example.com": 1 for i in range(3)}
    starts = sorted(booking["start"] for booking in sandbox.state()["bookings"])
    assert starts == sorted(start.replace("Z", ".000Z") for _, _, start in lead_rows(3)), starts


def test_a_flow_without_a_delivery_key_is_refused_with_the_reason(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, "http://127.0.0.1:9", source="-")
    text = flow.read_text().replace("key: [email, start], ", "")
    flow.write_text(text)

    with pytest.raises(calsink.FlowError) as refused:
        calsink.dlt.destination(flow=flow)

    message = str(refused.value)
    assert "delivery.key" in message and "dlt" in message and str(flow) in message


@pytest.mark.e2e
def test_each_table_goes_through_its_own_flow(
    sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAL_API_KEY", sandbox.api_key)
    leads_flow = write_flow(tmp_path / "a", sandbox, source="-", key="[email]", name="dlt-leads")
    vips_flow = write_flow(tmp_path / "b", sandbox, source="-", key="[email]", name="dlt-vips")

    @dlt.resource(name="vips")
    def vips() -> Iterator[dict[str, str]]:
        for name, email, start in lead_rows(2, first=5):
            yield {"name": name, "email": email, "start": start}

    destination = calsink.dlt.destination(flow={"leads": leads_flow, "vips": vips_flow})
    pipeline(tmp_path, destination).run([leads(2), vips()])

    assert booked_emails(sandbox) == {f"lead{i}@example.com": 1 for i in (0, 1, 5, 6)}
    assert calsink.status(leads_flow).counts == {"delivered": 2}
    assert calsink.status(vips_flow).counts == {"delivered": 2}


def test_a_table_without_a_flow_fails_its_load_naming_the_tables_that_have_one(
    tmp_path: Path,
) -> None:
    flow = write_flow(tmp_path, "http://127.0.0.1:9", source="-", key="[email]")

    @dlt.resource(name="contacts")
    def contacts() -> Iterator[dict[str, str]]:
        yield {"email": "x@example.com"}

    destination = calsink.dlt.destination(flow={"leads": flow})
    with pytest.raises(PipelineStepFailed) as failed:
        pipeline(tmp_path, destination).run(contacts())

    assert "no flow for table 'contacts'; flows are given for leads" in str(failed.value)


@pytest.mark.e2e
def test_a_ledger_inside_the_pipelines_folder_is_refused_before_sending(
    sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAL_API_KEY", sandbox.api_key)
    flow = write_flow(tmp_path, sandbox, source="-", key="[email]")
    flow.write_text(
        flow.read_text().replace("ledger: state/ledger.db", "ledger: dlt-pipelines/ledger.db")
    )

    with pytest.raises(PipelineStepFailed) as failed:
        pipeline(tmp_path, calsink.dlt.destination(flow=flow)).run(leads(2))

    assert "inside dlt's pipelines folder" in str(failed.value)
    assert not booked_emails(sandbox)


def test_the_module_docstring_names_where_the_ledger_lives() -> None:
    assert "pipeline folder" in textwrap.dedent(calsink.dlt.__doc__ or "")
