"""A PostgreSQL ledger shared by many runs of one flow at once: each record's effect once."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from tests.adversarial.harness import (
    BOOKING_MAP,
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
    template: str = "create-booking",
    transform: str = BOOKING_MAP,
) -> Path:
    rows = ["name,email,start", *(",".join(row) for row in lead_rows(count))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_text("\n".join(rows) + "\n")
    flow = write_flow(
        folder,
        sandbox,
        source="leads.csv",
        key=key,
        delivery=delivery,
        name=name,
        template=template,
        transform=transform,
    )
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


def test_status_and_retry_read_a_shared_ledger_from_another_machine(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    ledger = fresh_database(postgres_url)
    here, there = tmp_path / "here", tmp_path / "there"
    shared_flow(here, sandbox, ledger, 6, delivery={"max_attempts": 1})
    sandbox.set_faults({"spec": "400@1#2:POST /v2/bookings"})
    first = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=here)
    sandbox.clear_faults()
    assert (summary(first)["delivered"], summary(first)["failed"]) == (4, 2), first.stdout
    # Another machine: the same flow and rows, none of this one's files (no dead letters).
    shared_flow(there, sandbox, ledger, 6, delivery={"max_attempts": 1})
    status = summary(cli("status", "flow.yaml", "--json", key=sandbox.api_key, cwd=there))
    assert (status["delivered"], status["failed"]) == (4, 2), status
    retried = cli("retry", "flow.yaml", "--json", key=sandbox.api_key, cwd=there)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert summary(retried)["delivered"] == 2, retried.stdout
    assert booked_emails(sandbox) == Counter({f"lead{i}@example.com": 1 for i in range(6)})
    status = summary(cli("status", "flow.yaml", "--json", key=sandbox.api_key, cwd=here))
    assert (status["delivered"], status["failed"]) == (6, 0), status


def test_a_later_flow_takes_uids_from_a_shared_ledger(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    ledger = fresh_database(postgres_url)
    shared_flow(tmp_path / "book", sandbox, ledger, 3)
    assert cli("run", "flow.yaml", key=sandbox.api_key, cwd=tmp_path / "book").returncode == 0
    cancel = tmp_path / "cancel"
    flow = shared_flow(
        cancel,
        sandbox,
        ledger,
        3,
        name="cancel-them",
        template="cancel-booking",
        transform='transform:\n  map: {cancellationReason: "moved"}\n',
    )
    flow.write_text(
        flow.read_text().replace(
            "template: cancel-booking",
            "template: cancel-booking\n  params: {uid: {flow: shared, key: [email, start]}}",
        )
    )
    done = cli("run", "flow.yaml", "--json", "--yes", key=sandbox.api_key, cwd=cancel)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(done)["delivered"] == 3, done.stdout
    assert all(b["status"] == "cancelled" for b in sandbox.state()["bookings"])


def test_ledger_copy_moves_an_sqlite_ledger_to_postgresql(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    flow = shared_flow(tmp_path, sandbox, "state/ledger.db", 5)
    assert cli("run", "flow.yaml", key=sandbox.api_key, cwd=tmp_path).returncode == 0
    ledger = fresh_database(postgres_url)
    copied = cli(
        "ledger", "copy", "state/ledger.db", ledger, "--json", key=sandbox.api_key, cwd=tmp_path
    )
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert summary(copied) | {"destination": None} == {
        "flows": ["shared"], "runs": 1, "records": 5, "kept": 0, "destination": None,
    }  # fmt: skip
    flow.write_text(flow.read_text().replace('ledger: "state/ledger.db"', f'ledger: "{ledger}"'))
    again = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert (summary(again)["skipped"], summary(again)["delivered"]) == (5, 0), again.stdout
    assert booked_emails(sandbox) == Counter({f"lead{i}@example.com": 1 for i in range(5)})
    status = summary(cli("status", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path))
    assert status["delivered"] == 5, status


def test_no_secret_reaches_a_shared_ledger_or_its_output(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    database = fresh_database(postgres_url)
    password = "pw-SHARED-ledger-7d1c"
    ledger = database.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")
    flow = shared_flow(tmp_path, sandbox, ledger, 3, key="[name]", delivery={"max_attempts": 1})
    secret_names = [f"{sandbox.api_key}-{i}" for i in range(3)]
    rows = lead_rows(3)
    (tmp_path / "leads.csv").write_text(
        "name,email,start\n"
        + "".join(f"{n},{e},{s}\n" for n, (_, e, s) in zip(secret_names, rows, strict=True))
    )
    sandbox.set_faults({"spec": "400@1#1:POST /v2/bookings"})
    run = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    sandbox.clear_faults()
    assert (summary(run)["delivered"], summary(run)["failed"]) == (2, 1), run.stdout
    status = cli("status", "flow.yaml", key=sandbox.api_key, cwd=tmp_path)
    for output in (run.stdout, run.stderr, status.stdout, status.stderr):
        assert password not in output
        assert sandbox.api_key not in output
    assert "postgres@" in status.stderr, status.stderr
    with psycopg.connect(database) as db:
        stored = "\n".join(
            str(row)
            for table in ("records", "runs")
            for row in db.execute(f"SELECT * FROM {table}").fetchall()
        )
    assert sandbox.api_key not in stored
    assert len(set(re.findall(r"sha256:[0-9a-f]{64}", stored))) == 3, stored
    assert flow.read_text().count(password) == 1
