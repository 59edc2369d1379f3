"""One flow, many accounts, round two: a key without permission (403) fails only its own
account, the ledger and `calsink status` tell which account delivered each record, the
availability check asks each account's own API, and each key's shared PostgreSQL budget.

The sandbox accepts a key per user (--user-key USERNAME=KEY). An event type belongs to the
user whose key created it; deleting another user's event type is refused with 403
(Cal.com: "User with ID=… does not own event type with ID=…").
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
from tests.adversarial.harness import all_text, cli, dead_letters, start_cli, where
from tests.adversarial.test_many_accounts import (
    KEYS,
    MAIN_KEY,
    WRONG_KEY,
    accounts_sandbox,
    accounts_sandbox_process,
    assert_no_key,
    owners,
    run,
    schedule,
    store_credentials,
    write_flow,
)
from tests.support.postgres import fresh_database
from tests.support.sandbox import SandboxHandle, running_sandbox

from calsink.ledger_pg import SCHEMA, credential_digest

__all__ = ["accounts_sandbox", "accounts_sandbox_process"]


def event_type(sandbox: SandboxHandle, owner: str, slug: str) -> int:
    """An event type made in ``owner``'s account; its id."""
    made = sandbox.call(
        "POST",
        "/v2/event-types",
        {"title": slug, "slug": slug, "lengthInMinutes": 30},
        api_key=KEYS[owner],
    )
    assert made.status == 201, made.data
    return int(made.data["id"])


def delete_flow(
    folder: Path, sandbox: SandboxHandle, records: list[dict[str, Any]], credential: str
) -> None:
    (folder / "deletions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "flow.yaml").write_text(
        f"""version: 1
name: tidy-event-types
source: {{path: deletions.jsonl}}
destination:
  credential: "{credential}"
  base_url: {sandbox.url}
  template: delete-event-type
transform:
  map: {{id: "{{id}}"}}
delivery: {{key: [id], concurrency: 1, max_attempts: 2, timeout_s: 5}}
dead_letters: out/dead-letters.jsonl
ledger: state/ledger.db
"""
    )


def remaining(sandbox: SandboxHandle) -> set[int]:
    return {item["id"] for item in sandbox.state()["event_types"]}


def test_a_key_refused_403_on_every_request_fails_only_its_own_accounts_records(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Carol's key may not delete alice's event types: her first three requests are
    answered 403, her later records are not sent, and alice's and bob's go on."""
    env = store_credentials(tmp_path, KEYS)
    alices = [event_type(accounts_sandbox, "alice", f"alice-{n}") for n in range(5)]
    bobs = event_type(accounts_sandbox, "bob", "bob-0")
    records = [{"owner": "carol", "id": i} for i in alices[:4]]
    records += [{"owner": "alice", "id": alices[4]}, {"owner": "bob", "id": bobs}]
    delete_flow(tmp_path, accounts_sandbox, records, "{owner}")
    accounts_sandbox.clear_requests()

    done = cli("run", "flow.yaml", "--yes", key="", cwd=tmp_path, env=env)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "aborted" not in done.stderr
    assert alices[4] not in remaining(accounts_sandbox)
    assert bobs not in remaining(accounts_sandbox)
    assert set(alices[:4]) <= remaining(accounts_sandbox)
    deletes = Counter(r["status"] for r in accounts_sandbox.requests() if r["method"] == "DELETE")
    assert deletes == Counter({403: 3, 200: 2})
    assert "credential carol: Cal.com refused its key's requests (403)" in done.stderr
    assert "calsink credentials test carol" in done.stderr
    failed = {where(letter): letter["reason"] for letter in dead_letters(tmp_path)}
    assert set(failed) == {f"deletions.jsonl:{n}" for n in range(1, 5)}
    assert "'carol'" in failed["deletions.jsonl:4"] and "403" in failed["deletions.jsonl:4"]
    assert_no_key(done.stdout, done.stderr)

    again = cli("run", "flow.yaml", "--yes", "--json", key="", cwd=tmp_path, env=env)
    accounts = json.loads(again.stdout)["accounts"]
    assert accounts["carol"]["key_forbidden"] is True
    assert accounts["alice"]["key_forbidden"] is False


def test_with_one_key_three_403s_before_any_success_still_stop_the_run(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    env = store_credentials(tmp_path, KEYS)
    alices = [event_type(accounts_sandbox, "alice", f"alice-{n}") for n in range(5)]
    delete_flow(tmp_path, accounts_sandbox, [{"id": i} for i in alices], "carol")
    accounts_sandbox.clear_requests()

    done = cli("run", "flow.yaml", "--yes", key="", cwd=tmp_path, env=env)

    assert done.returncode == 3, done.stdout + done.stderr
    assert "aborted — permission denied on every request" in done.stderr
    assert [r["status"] for r in accounts_sandbox.requests()] == [403, 403, 403]
    assert remaining(accounts_sandbox) >= set(alices)


def schedules_flow(folder: Path, sandbox: SandboxHandle, owners: list[str], ledger: str) -> None:
    records = [schedule(owner, f"{owner}-{n}") for n, owner in enumerate(owners)]
    write_flow(folder, sandbox, records)
    flow = folder / "flow.yaml"
    flow.write_text(flow.read_text().replace("ledger: state/ledger.db", f"ledger: {ledger}"))


def ledger_credentials(path: Path) -> Counter[str | None]:
    with sqlite3.connect(path) as db:
        return Counter(row[0] for row in db.execute("SELECT credential FROM records"))


def test_status_counts_each_account_and_the_ledger_names_who_delivered(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    env = store_credentials(tmp_path, {**KEYS, "carol": WRONG_KEY})
    schedules_flow(
        tmp_path, accounts_sandbox, ["alice", "bob", "alice", "carol"], "state/ledger.db"
    )
    code, out, err = run(tmp_path, env)
    assert code == 1, out + err

    shown = cli("status", "flow.yaml", "--json", key="", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    accounts = json.loads(shown.stdout)["accounts"]
    assert accounts == {
        "alice": {"delivered": 2, "failed": 0, "dead": 0, "in_flight": 0},
        "bob": {"delivered": 1, "failed": 0, "dead": 0, "in_flight": 0},
        "carol": {"delivered": 0, "failed": 1, "dead": 0, "in_flight": 0},
    }
    human = cli("status", "flow.yaml", key="", cwd=tmp_path, env=env)
    assert human.returncode == 0, human.stderr
    assert "  per account\n    alice      delivered 2\n    bob        delivered 1\n" in (
        human.stderr
    )
    assert "    carol      failed 1\n" in human.stderr
    assert_no_key(shown.stdout, human.stdout, human.stderr)
    # The ledger keeps the credential's name with each record, never its key.
    assert ledger_credentials(tmp_path / "state/ledger.db") == Counter(
        {"alice": 2, "bob": 1, "carol": 1}
    )
    assert_no_key(all_text(tmp_path, skip=tmp_path / "config"))


OLD_LEDGER = """
CREATE TABLE records (
    flow TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, status INTEGER, error TEXT, identifier TEXT,
    fingerprint TEXT, unsure INTEGER NOT NULL DEFAULT 0, position TEXT, record TEXT,
    key_values TEXT, ids TEXT, run_id INTEGER, first_at REAL NOT NULL,
    updated_at REAL NOT NULL, UNIQUE (flow, key)
);
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, flow TEXT NOT NULL,
    kind TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL, summary TEXT, aborted TEXT);
INSERT INTO runs VALUES (1, 'team-schedules', 'run', 1, NULL, NULL, NULL);
INSERT INTO records VALUES ('team-schedules', '["alice-0"]', 'delivered', 1, 201, NULL, '3',
    NULL, 0, 'schedules.jsonl:1', NULL, NULL, '{"id": 3}', 1, 1, 1);
"""


def test_a_ledger_and_journal_written_before_records_named_their_credential_go_on(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """A ledger of an earlier calsink (no credential column), and the journal a run of it
    left when it was killed (outcome rows without the credential): the next run takes
    both in, skips what they show delivered, and names the credential of what it sends."""
    env = store_credentials(tmp_path, KEYS)
    schedules_flow(tmp_path, accounts_sandbox, ["alice", "bob", "carol"], "state/ledger.db")
    (tmp_path / "state").mkdir()
    with sqlite3.connect(tmp_path / "state/ledger.db") as old:
        old.executescript(OLD_LEDGER)
    killed = ["team-schedules", '["bob-1"]', "delivered", 1, 201, None, "4", None, 0]
    killed += ["schedules.jsonl:2", None, None, '{"id": 4}', 1, 2.0, 2.0]
    segment = tmp_path / "state/ledger.db.team-schedules.journal.000001"
    segment.write_text(json.dumps(["outcome", [killed]]) + "\n")

    code, out, err = run(tmp_path, env, "--json")

    assert code == 0, out + err
    counts = json.loads(out)
    assert (counts["skipped"], counts["delivered"]) == (2, 1)
    assert [r["json"]["name"] for r in accounts_sandbox.requests() if r["method"] == "POST"] == [
        "carol-2"
    ]
    assert ledger_credentials(tmp_path / "state/ledger.db") == Counter({None: 2, "carol": 1})
    shown = cli("status", "flow.yaml", "--json", key="", cwd=tmp_path, env=env)
    status = json.loads(shown.stdout)
    assert status["delivered"] == 3
    assert status["accounts"] == {"carol": {"delivered": 1, "failed": 0, "dead": 0, "in_flight": 0}}


def pg_flow(
    folder: Path, sandbox: SandboxHandle, ledger: str, names: list[tuple[str, str]]
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    schedules_flow(folder, sandbox, [], f'"{ledger}"')
    records = [schedule(owner, name) for owner, name in names]
    (folder / "schedules.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    flow = folder / "flow.yaml"
    flow.write_text(flow.read_text().replace("concurrency: 4,", "concurrency: 8, rate_limit: 360,"))


def old_postgres_ledger(postgres_url: str) -> str:
    """A new database holding the tables of a calsink before records named their credential."""
    ledger = fresh_database(postgres_url)
    old_schema = SCHEMA.replace("ALTER TABLE records ADD COLUMN IF NOT EXISTS credential TEXT;", "")
    assert old_schema != SCHEMA
    with psycopg.connect(ledger, autocommit=True) as db:
        for statement in old_schema.split(";"):
            if statement.strip():
                db.execute(statement.encode())
    return ledger


EACH = 8


def test_with_a_postgresql_ledger_each_key_shares_its_own_budget_across_processes(
    accounts_sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    """Two processes send for alice and bob at once. The sandbox lets each key make 8
    requests a second and the flow asks for 6 a second: two processes each pacing a key
    alone would send twice that, and meet 429s. Each key draws from its own bucket in the
    ledger's database, named by the key's digest (never the key)."""
    ledger = old_postgres_ledger(postgres_url)
    env = store_credentials(tmp_path, {"alice": KEYS["alice"], "bob": KEYS["bob"]})
    folders = [tmp_path / f"worker{n}" for n in range(2)]
    for n, folder in enumerate(folders):
        names = [(owner, f"{owner}-{n}-{i}") for i in range(EACH) for owner in ("alice", "bob")]
        pg_flow(folder, accounts_sandbox, ledger, names)
    accounts_sandbox.set_rate_limit(8, 1)
    accounts_sandbox.clear_requests()

    runs = [
        start_cli("run", "flow.yaml", "--json", key="", cwd=folder, env=env) for folder in folders
    ]
    for process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err
        assert json.loads(out)["delivered"] == 2 * EACH

    sent = [r for r in accounts_sandbox.requests() if r["method"] == "POST"]
    assert Counter(r["status"] for r in sent) == Counter({201: 4 * EACH})
    made = Counter(owners(accounts_sandbox).values())
    assert made == Counter({"alice": 2 * EACH, "bob": 2 * EACH})
    with psycopg.connect(ledger) as db:
        buckets = {row[0] for row in db.execute("SELECT credential FROM rate_buckets")}
        named = Counter(row[0] for row in db.execute("SELECT credential FROM records"))
    assert buckets == {credential_digest(KEYS["alice"]), credential_digest(KEYS["bob"])}
    assert named == Counter({"alice": 2 * EACH, "bob": 2 * EACH})

    shown = cli("status", "flow.yaml", "--json", key="", cwd=folders[0], env=env)
    accounts = json.loads(shown.stdout)["accounts"]
    assert {name: counts["delivered"] for name, counts in accounts.items()} == {
        "alice": 2 * EACH,
        "bob": 2 * EACH,
    }


def test_availability_is_asked_of_the_api_the_records_credential_is_stored_with(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Bob's credential was stored with its own base URL: his slot is asked for there (where
    it is free), not at destination.base_url (where it is taken)."""
    taken = "2030-01-07T14:00:00Z"
    booked = accounts_sandbox.call(
        "POST",
        "/v2/bookings",
        {
            "start": taken,
            "eventTypeId": 1,
            "attendee": {"name": "First", "email": "first@example.com", "timeZone": "UTC"},
        },
    )
    assert booked.status == 201, booked.data
    with running_sandbox("--user-key", f"bob={KEYS['bob']}", api_key=MAIN_KEY) as elsewhere:
        env = store_credentials(tmp_path, {"alice": KEYS["alice"]})
        added = cli(
            "credentials", "add", "bob", "--base-url", elsewhere.url,
            key="", cwd=tmp_path, env=env, stdin=KEYS["bob"] + "\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        records = [
            {"owner": "bob", "start": taken, "email": "bob-guest@example.com"},
            {"owner": "alice", "start": "2030-01-07T15:00:00Z", "email": "alice-guest@example.com"},
        ]
        (tmp_path / "guests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        (tmp_path / "flow.yaml").write_text(
            f"""version: 1
name: bookings-per-owner
source: {{path: guests.jsonl}}
destination:
  credential: "{{owner}}"
  base_url: {accounts_sandbox.url}
  template: create-booking
  check_availability: true
transform:
  map:
    start: "{{start}}"
    eventTypeId: 1
    attendee: {{name: Guest, email: "{{email}}", timeZone: UTC}}
delivery: {{key: [email], concurrency: 1}}
dead_letters: out/dead-letters.jsonl
ledger: state/ledger.db
"""
        )
        accounts_sandbox.clear_requests()

        code, out, err = run(tmp_path, env, "--json")

        assert code == 0, out + err
        assert json.loads(out)["delivered"] == 2
        here = [r["path"] for r in accounts_sandbox.requests() if r["method"] == "GET"]
        there = [r["path"] for r in elsewhere.requests() if r["method"] == "GET"]
        assert here == ["/v2/slots"] and there == ["/v2/slots"], (here, there)
        guests = [b["attendees"][0]["email"] for b in elsewhere.state()["bookings"]]
        assert guests == ["bob-guest@example.com"]
