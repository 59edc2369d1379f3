"""The ledger's promises on every path: dead letters belong to their flow and keep their
history, `--force` never takes a delivery back, `calsink test` is recorded, and every
command counts the same rows the same way."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import (
    BOOKING_MAP,
    FAKE_KEY,
    booked_emails,
    cli,
    lead_rows,
    summary,
    write_flow,
)
from tests.adversarial.test_destructive import book
from tests.delivery.e2e import slots
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def flow_file(
    folder: Path, name: str, sandbox: SandboxHandle, *, template: str, body: str, params: str
) -> Path:
    """A flow file named ``<name>.yaml`` without a `dead_letters:` key (the default path)."""
    extra = "  allow_destructive: true\n" if template == "cancel-booking" else ""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"""version: 1
name: {name}
source: {{path: {name}.csv}}
transform:
  map: {body}
destination:
  api_key_env: CAL_API_KEY
  base_url: {sandbox.url}
  template: {template}
  params: {params}
delivery:
  key: [uid]
  max_attempts: 2
{extra}"""
    )
    return path


def letters(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_json(*args: str, key: str, cwd: Path, code: int | None = None) -> dict[str, Any]:
    result = cli(*args, "--json", key=key, cwd=cwd)
    if code is not None:
        assert result.returncode == code, result.stdout + result.stderr
    return summary(result)


def cancelled_uids(sandbox: SandboxHandle) -> set[str]:
    """Bookings a cancel flow cancelled (not those a reschedule replaced)."""
    return {b["uid"] for b in sandbox.state()["bookings"] if b.get("cancellationReason") == "gone"}


def test_retry_sends_only_what_its_own_flow_failed(sandbox: SandboxHandle, tmp_path: Path) -> None:
    uids = book(sandbox, 4)
    taken = lead_rows(1)[0][2]  # the slot of the first booking, which stays booked
    free = slots(8)[5:7]
    (tmp_path / "move.csv").write_text(
        f"uid,start\n{uids[1]},{free[0]}\n{uids[2]},{taken}\n"
    )  # the second row asks for a slot already booked
    (tmp_path / "cancel.csv").write_text(f"uid\n{uids[3]}\n")
    flow_file(
        tmp_path,
        "move",
        sandbox,
        template="reschedule-booking",
        body='{start: "{start}"}',
        params='{uid: "{uid}"}',
    )
    flow_file(
        tmp_path,
        "cancel",
        sandbox,
        template="cancel-booking",
        body='{cancellationReason: "gone"}',
        params='{uid: "{uid}"}',
    )
    first = run_json("run", "move.yaml", key=sandbox.api_key, cwd=tmp_path, code=1)
    assert (first["delivered"], first["failed"]) == (1, 1)
    run_json("run", "cancel.yaml", key=sandbox.api_key, cwd=tmp_path, code=0)
    run_json("run", "move.yaml", key=sandbox.api_key, cwd=tmp_path, code=1)
    retried = run_json("retry", "cancel.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert cancelled_uids(sandbox) == {uids[3]}, "only the cancel flow's booking is cancelled"
    assert retried["read"] == 0, retried
    move_letters = letters(tmp_path / "out" / "move.dead-letters.jsonl")
    assert [letter["flow"] for letter in move_letters] == ["move"]
    assert letters(tmp_path / "out" / "cancel.dead-letters.jsonl") == []

    never_ran = flow_file(
        tmp_path,
        "other",
        sandbox,
        template="cancel-booking",
        body='{cancellationReason: "gone"}',
        params='{uid: "{uid}"}',
    )
    (tmp_path / "other.csv").write_text("uid\n")
    assert run_json("retry", never_ran.name, key=sandbox.api_key, cwd=tmp_path)["read"] == 0
    assert cancelled_uids(sandbox) == {uids[3]}


def test_retry_refuses_an_entry_another_flow_wrote_to_a_shared_file(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    uids = book(sandbox, 2)
    (tmp_path / "move.csv").write_text(f"uid,start\n{uids[1]},{lead_rows(1)[0][2]}\n")
    (tmp_path / "cancel.csv").write_text("uid\n")
    for name, template, body in (
        ("move", "reschedule-booking", '{start: "{start}"}'),
        ("cancel", "cancel-booking", '{cancellationReason: "gone"}'),
    ):
        path = flow_file(
            tmp_path, name, sandbox, template=template, body=body, params='{uid: "{uid}"}'
        )
        path.write_text(path.read_text() + "dead_letters: out/shared.jsonl\n")
    run_json("run", "move.yaml", key=sandbox.api_key, cwd=tmp_path, code=1)
    assert [entry["flow"] for entry in letters(tmp_path / "out" / "shared.jsonl")] == ["move"]

    result = cli("retry", "cancel.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    report = summary(result)
    assert report["read"] == 0 and not cancelled_uids(sandbox)
    assert "1 dead letter(s) of flow 'move'" in (report["refused"] or ""), report
    shown = cli("retry", "cancel.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert "dead letter(s) of flow 'move'" in shown.stderr and "not sent" in shown.stderr
    assert f"calsink retry {tmp_path / 'move.yaml'}" in shown.stderr


def test_a_partial_run_keeps_what_an_earlier_run_left_undelivered(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    rows = lead_rows(30)
    lines = ["name,email,start"]
    for number, (name, email, start) in enumerate(rows):
        lines.append(f"{name},{'not-an-email' if number % 5 == 4 else email},{start}")
    (tmp_path / "leads.csv").write_text("\n".join(lines) + "\n")
    write_flow(tmp_path, sandbox, source="leads.csv")
    path = tmp_path / "out" / "dead-letters.jsonl"

    full = run_json("run", "flow.yaml", key=sandbox.api_key, cwd=tmp_path, code=1)
    assert full["rejected"] == 6 and len(letters(path)) == 6
    partial = run_json(
        "run", "flow.yaml", "--limit", "8", key=sandbox.api_key, cwd=tmp_path, code=1
    )
    assert partial["rejected"] == 1
    kept = letters(path)
    assert sorted(entry["position"]["line"] for entry in kept) == [6, 11, 16, 21, 26, 31]
    assert {entry["run"] for entry in kept} == {full["run"], partial["run"]}

    status = run_json("status", "flow.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert status["dead_letters"] == 6
    assert status["dead_letters_by_run"] == {str(full["run"]): 5, str(partial["run"]): 1}
    shown = cli("status", "flow.yaml", key=sandbox.api_key, cwd=tmp_path).stderr
    assert "6 waiting" in shown and f"run {full['run']}: 5" in shown, shown


def ledger_rows(folder: Path, flow: str) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(folder / "state" / "ledger.db") as db:
        rows = db.execute(
            "SELECT key, state, identifier FROM records WHERE flow = ?", (flow,)
        ).fetchall()
    return {key: (state, identifier) for key, state, identifier in rows}


def test_force_never_takes_back_a_delivery_or_its_uid(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    rows = lead_rows(12)
    (tmp_path / "leads.csv").write_text(
        "name,email,start\n" + "".join(f"{n},{e},{s}\n" for n, e, s in rows)
    )
    write_flow(tmp_path, sandbox, source="leads.csv")
    run_json("run", "flow.yaml", key=sandbox.api_key, cwd=tmp_path, code=0)
    before = ledger_rows(tmp_path, "adversarial")
    assert {state for state, _ in before.values()} == {"delivered"}

    wrong = cli("run", "flow.yaml", "--force", "--limit", "5", "--json", key=FAKE_KEY, cwd=tmp_path)
    assert wrong.returncode == 3, wrong.stdout + wrong.stderr
    # The slots are booked now: each forced re-send is refused by Cal.com.
    again = run_json(
        "run", "flow.yaml", "--force", "--limit", "6", key=sandbox.api_key, cwd=tmp_path, code=1
    )
    assert again["failed"] == 6
    assert ledger_rows(tmp_path, "adversarial") == before
    status = run_json("status", "flow.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert (status["delivered"], status["failed"]) == (12, 0)

    dependent = tmp_path / "cancel"
    dependent.mkdir()
    (dependent / "leads.csv").write_text(
        "name,email,start\n" + "".join(f"{n},{e},{s}\n" for n, e, s in rows)
    )
    write_flow(
        dependent,
        sandbox,
        source="leads.csv",
        name="cancel-them",
        template="cancel-booking",
        transform='transform:\n  map: {cancellationReason: "moved"}\n',
        extra="",
    )
    text = (dependent / "flow.yaml").read_text()
    text = text.replace(
        "  template: cancel-booking",
        "  template: cancel-booking\n  params: {uid: {flow: adversarial, key: [email, start]}}",
    ).replace("ledger: state/ledger.db", f"ledger: {tmp_path / 'state' / 'ledger.db'}")
    (dependent / "flow.yaml").write_text(text)
    checked = cli("validate", "flow.yaml", key=sandbox.api_key, cwd=dependent)
    assert checked.returncode == 0, checked.stderr
    assert "found no uid" not in checked.stderr


def test_a_record_sent_by_calsink_test_is_skipped_by_the_next_run(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    rows = lead_rows(4)
    (tmp_path / "leads.csv").write_text(
        "name,email,start\n" + "".join(f"{n},{e},{s}\n" for n, e, s in rows)
    )
    write_flow(tmp_path, sandbox, source="leads.csv")
    tested = cli("test", "flow.yaml", "--record", "1", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    uid = json.loads(tested.stdout)["body"]["data"]["uid"]
    edited = tmp_path / "edited.json"
    edited.write_text(
        json.dumps(
            {
                "start": rows[2][2],
                "eventTypeId": 1,
                "attendee": {"name": "Edited", "email": rows[2][1], "timeZone": "UTC"},
            }
        )
    )
    with_payload = cli(
        "test", "flow.yaml", "--record", "2", "--payload", str(edited), key=sandbox.api_key,
        cwd=tmp_path,
    )  # fmt: skip
    assert with_payload.returncode == 0, with_payload.stderr

    report = run_json("run", "flow.yaml", key=sandbox.api_key, cwd=tmp_path, code=0)
    assert (report["delivered"], report["skipped"], report["failed"]) == (2, 2, 0)
    assert set(booked_emails(sandbox).values()) == {1}
    recorded = ledger_rows(tmp_path, "adversarial")
    assert uid in {identifier for _, identifier in recorded.values()}
    with sqlite3.connect(tmp_path / "state" / "ledger.db") as db:
        notes = sorted(
            n for (n,) in db.execute("SELECT error FROM records WHERE error IS NOT NULL")
        )
    assert notes == ["sent by `calsink test`", "sent by `calsink test` with an edited payload"]


def test_calsink_test_no_record_leaves_the_ledger_alone(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    (tmp_path / "leads.csv").write_text(
        "name,email,start\n" + "".join(f"{n},{e},{s}\n" for n, e, s in lead_rows(2))
    )
    write_flow(tmp_path, sandbox, source="leads.csv")
    tested = cli("test", "flow.yaml", "--no-record", key=sandbox.api_key, cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr
    status = run_json("status", "flow.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert status["delivered"] == 0


def test_every_command_counts_the_same_rows_read(sandbox: SandboxHandle, tmp_path: Path) -> None:
    rows = lead_rows(20)
    lines = ["name,email,start,status"]
    for number, (name, email, start) in enumerate(rows):
        wanted = "skip" if number % 7 == 3 else "demo"
        lines.append(f"{name},{'bad' if number % 6 == 5 else email},{start},{wanted}")
    lines += [lines[1], lines[2], lines[1]]  # three duplicate rows (lines 22-24)
    (tmp_path / "leads.csv").write_text("\n".join(lines) + "\n")
    where = BOOKING_MAP.replace("transform:\n", "transform:\n  where: \"status == 'demo'\"\n")
    write_flow(tmp_path, sandbox, source="leads.csv", transform=where)
    total = 23

    validated = cli("validate", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    listed = [json.loads(line) for line in validated.stdout.splitlines() if line.strip()]
    duplicates = [entry for entry in listed if entry["reason"].startswith("duplicate of")]
    assert [entry["reason"] for entry in duplicates] == [
        "duplicate of leads.csv:2",
        "duplicate of leads.csv:3",
        "duplicate of leads.csv:2",
    ]
    counted = dict(
        part.rsplit(" ", 1) for part in validated.stderr.strip().splitlines()[-1].split(" · ")
    )
    numbers = {name: int(value) for name, value in counted.items()}
    assert numbers["read"] == total
    assert sum(v for k, v in numbers.items() if k not in ("read", "warnings")) == total, numbers

    dry = run_json("run", "flow.yaml", "--dry-run", key=sandbox.api_key, cwd=tmp_path)
    real = run_json("run", "flow.yaml", key=sandbox.api_key, cwd=tmp_path, code=1)
    run_json("run", "flow.yaml", "--dry-run", key=sandbox.api_key, cwd=tmp_path)
    status = run_json("status", "flow.yaml", key=sandbox.api_key, cwd=tmp_path)
    outcomes = ("delivered", "skipped", "rejected", "failed", "dead", "planned")
    for counts in (dry, real, status):
        assert counts["read"] == total, counts
        assert sum(counts.get(name, 0) for name in (*outcomes, "in_flight")) == total, counts
    assert (dry["planned"], dry["delivered"]) == (real["delivered"], 0)
    assert (real["skipped"], status["skipped"]) == (3 + 3, 3 + 3)
    dead = [
        entry
        for entry in letters(tmp_path / "out" / "dead-letters.jsonl")
        if entry["reason"].startswith("duplicate of")
    ]
    assert [entry["position"]["line"] for entry in dead] == [22, 23, 24]
