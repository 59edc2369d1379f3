"""One flow, many accounts, round two: a key without permission (403) fails only its own
account, the ledger and `calsink status` tell which account delivered each record, the
availability check asks each account's own API, and each key's shared PostgreSQL budget.

The sandbox accepts a key per user (--user-key USERNAME=KEY). An event type belongs to the
user whose key created it; deleting another user's event type is refused with 403
(Cal.com: "User with ID=… does not own event type with ID=…").
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.adversarial.harness import cli, dead_letters, where
from tests.adversarial.test_many_accounts import (
    KEYS,
    accounts_sandbox,
    assert_no_key,
    store_credentials,
)
from tests.support.sandbox import SandboxHandle

__all__ = ["accounts_sandbox"]


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
