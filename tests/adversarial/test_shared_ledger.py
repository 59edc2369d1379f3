"""A PostgreSQL ledger shared by many runs of one flow at once: each record's effect once."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from tests.adversarial.harness import (
    assert_adds_up,
    booked_emails,
    cli,
    lead_rows,
    responses,
    start_cli,
    summary,
    write_flow,
)
from tests.support.postgres import fresh_database
from tests.support.sandbox import SandboxHandle


def shared_flow(
    folder: Path,
    sandbox: SandboxHandle,
    ledger: str,
    count: int,
    *,
    key: str = "[email, start]",
    delivery: dict[str, object] | None = None,
    name: str = "shared",
) -> Path:
    rows = ["name,email,start", *(",".join(row) for row in lead_rows(count))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_text("\n".join(rows) + "\n")
    flow = write_flow(folder, sandbox, source="leads.csv", key=key, delivery=delivery, name=name)
    flow.write_text(flow.read_text().replace("ledger: state/ledger.db", f'ledger: "{ledger}"'))
    return flow


def wait_for_claim(ledger: str) -> None:
    """Wait until some record of the ledger is claimed (in flight)."""
    deadline = time.monotonic() + 30
    with psycopg.connect(ledger, autocommit=True) as db:
        while True:
            with contextlib.suppress(psycopg.errors.UndefinedTable):
                found = db.execute("SELECT 1 FROM records WHERE state = 'in_flight'").fetchone()
                if found:
                    return
            assert time.monotonic() < deadline, "nothing was claimed"
            time.sleep(0.02)


def test_runs_of_one_flow_at_once_on_a_shared_ledger_book_each_record_once(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    count = 60
    shared_flow(tmp_path, sandbox, fresh_database(postgres_url), count)
    runs = [
        start_cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path) for _ in range(3)
    ]
    counts = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, out + err
        counts.append(summary(type("R", (), {"stdout": out})()))  # type: ignore[arg-type]
    for each in counts:
        assert_adds_up(each)
        assert each["delivered"] + each["skipped"] == count, each
    assert sum(each["delivered"] for each in counts) == count, counts
    assert booked_emails(sandbox) == Counter({f"lead{i}@example.com": 1 for i in range(count)})
    again = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert (summary(again)["skipped"], summary(again)["delivered"]) == (count, 0)


def test_a_record_a_killed_worker_left_in_flight_is_looked_up_after_its_lease_not_resent(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    count = 4
    ledger = fresh_database(postgres_url)
    shared_flow(
        tmp_path, sandbox, ledger, count, delivery={"concurrency": 1, "lease_s": 4, "timeout_s": 10}
    )
    sandbox.clear_requests()
    # The first booking is made 3 s after it arrives, long after its sender was killed.
    sandbox.set_faults({"spec": "timeout=3s@1#1:POST /v2/bookings"})
    first = start_cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    wait_for_claim(ledger)
    time.sleep(0.5)  # the claimed request reaches the sandbox
    first.send_signal(signal.SIGKILL)
    first.communicate()
    second = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    sandbox.clear_faults()
    assert second.returncode == 0, second.stdout + second.stderr
    counts = summary(second)
    assert_adds_up(counts)
    assert counts["delivered"] == count, second.stdout
    assert booked_emails(sandbox) == Counter({f"lead{i}@example.com": 1 for i in range(count)})
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert len(posts) == count, "the record the killed run had sent was found, not sent again"
    found = [line for line in responses(tmp_path) if line.get("found_by_look_up")]
    assert [json.loads(line["key"]) for line in found] == [list(lead_rows(1)[0][1:])]


def test_a_shared_ledger_needs_an_explicit_key(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    flow = shared_flow(tmp_path, sandbox, "postgresql://calsink@127.0.0.1:1/none", 2)
    flow.write_text(flow.read_text().replace("key: [email, start], ", ""))
    result = cli("run", "flow.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "delivery.key" in result.stderr, result.stderr
    assert "PostgreSQL ledger" in result.stderr, result.stderr
    assert booked_emails(sandbox) == Counter()


@pytest.mark.parametrize("force", [False, True])
def test_force_on_a_shared_ledger_never_downgrades_a_delivered_record(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path, force: bool
) -> None:
    shared_flow(tmp_path, sandbox, fresh_database(postgres_url), 3)
    assert cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path).returncode == 0
    uids = {b["uid"] for b in sandbox.state()["bookings"]}
    again = cli(
        "run", "flow.yaml", "--json", *(["--force"] if force else []),
        key=sandbox.api_key, cwd=tmp_path,
    )  # fmt: skip
    counts = summary(again)
    assert_adds_up(counts)
    # A re-send of a booked slot is refused by Cal.com: the records stay delivered.
    assert counts["skipped"] == (0 if force else 3), counts
    status = summary(cli("status", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path))
    assert status["delivered"] == 3, status
    assert {b["uid"] for b in sandbox.state()["bookings"] if b["status"] != "cancelled"} == uids
