"""One flow, many accounts: each record names the stored credential that sends it.

The sandbox accepts a key per user (--user-key USERNAME=KEY); a schedule belongs to the
user whose key created it (Cal.com: POST /v2/schedules acts for the key's owner), so the
sandbox's state shows which account sent each record.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import all_text, assert_adds_up, cli, dead_letters, where
from tests.support.sandbox import SandboxHandle, running_sandbox

from calsink.credentials import CredentialStore

KEYS = {
    "alice": "cal_test_MANY_alice_4b1d9e",
    "bob": "cal_test_MANY_bob_77c2a0",
    "carol": "cal_test_MANY_carol_e90f13",
}
MAIN_KEY = "cal_test_MANY_main_0a5c6d"
WRONG_KEY = "cal_test_MANY_wrong_d3e8b2"


@pytest.fixture(scope="module")
def accounts_sandbox_process() -> Iterator[SandboxHandle]:
    users = [arg for name, key in KEYS.items() for arg in ("--user-key", f"{name}={key}")]
    with running_sandbox(*users, api_key=MAIN_KEY) as handle:
        yield handle


@pytest.fixture
def accounts_sandbox(accounts_sandbox_process: SandboxHandle) -> SandboxHandle:
    """The sandbox with a key per user, reset for each test: the seeded account (the users
    are made again as their keys are first used), its own rate limit with every window
    empty, no faults, an empty log."""
    accounts_sandbox_process.reset()
    return accounts_sandbox_process


def store_credentials(folder: Path, keys: dict[str, str]) -> dict[str, str]:
    """``keys`` stored as credentials, as `calsink credentials add` stores them (that
    command is tested in test_secrets.py and tests/unit/test_credentials.py); the
    environment that finds them."""
    config = folder / "config"
    store = CredentialStore(config)
    for name, key in keys.items():
        store.add(name, key)
    return {"CALSINK_CONFIG_DIR": str(config)}


def write_flow(folder: Path, sandbox: SandboxHandle, records: list[dict[str, Any]]) -> None:
    (folder / "schedules.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "flow.yaml").write_text(
        f"""version: 1
name: team-schedules
source: {{path: schedules.jsonl}}
destination:
  credential: "{{owner}}"
  base_url: {sandbox.url}
  template: create-schedule
delivery: {{key: [name], concurrency: 4, max_attempts: 3, timeout_s: 5}}
dead_letters: out/dead-letters.jsonl
ledger: state/ledger.db
"""
    )


def schedule(owner: str, name: str) -> dict[str, Any]:
    return {"owner": owner, "name": name, "timeZone": "Europe/Berlin", "isDefault": False}


def owners(sandbox: SandboxHandle) -> dict[str, str]:
    """Each schedule the flow made (by name) and the username of the user it belongs to."""
    state = sandbox.state()
    usernames = {user["id"]: user["username"] for user in state["users"]}
    return {
        item["name"]: usernames[item["ownerId"]]
        for item in state["schedules"]
        if item["name"] != "Working hours"
    }


def run(folder: Path, env: dict[str, str], *more: str) -> tuple[int, str, str]:
    done = cli("run", "flow.yaml", *more, key="", cwd=folder, env=env)
    return done.returncode, done.stdout, done.stderr


def assert_no_key(*texts: str) -> None:
    for text in texts:
        for key in [*KEYS.values(), WRONG_KEY]:
            assert key not in text


def test_each_record_is_sent_with_the_key_of_the_credential_it_names(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    env = store_credentials(tmp_path, KEYS)
    records = [schedule(owner, f"{owner}-{n}") for n in range(2) for owner in KEYS]
    write_flow(tmp_path, accounts_sandbox, records)

    code, out, err = run(tmp_path, env, "--json")

    assert code == 0, out + err
    counts = json.loads(out)
    assert_adds_up(counts)
    assert counts["delivered"] == 6
    assert owners(accounts_sandbox) == {r["name"]: r["owner"] for r in records}
    # The field that names the credential is not sent to Cal.com.
    bodies = [r["json"] for r in accounts_sandbox.requests() if r["method"] == "POST"]
    assert bodies and all("owner" not in body for body in bodies)
    assert_no_key(out, err, all_text(tmp_path, skip=tmp_path / "config"))


def test_the_summary_counts_each_account_by_its_name(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    env = store_credentials(tmp_path, KEYS)
    records = [
        schedule("alice", "a1"),
        schedule("alice", "a2"),
        schedule("alice", "a3"),
        schedule("bob", "b1"),
        schedule("carol", "c1"),
        schedule("carol", "c2"),
    ]
    write_flow(tmp_path, accounts_sandbox, records)

    code, out, err = run(tmp_path, env, "--json")
    assert code == 0, out + err
    accounts = json.loads(out)["accounts"]
    assert {name: counts["delivered"] for name, counts in accounts.items()} == {
        "alice": 3,
        "bob": 1,
        "carol": 2,
    }
    assert all(counts["read"] == counts["delivered"] for counts in accounts.values())

    # A second run of the same export: every record is skipped, counted under its account.
    code, out, err = run(tmp_path, env)
    assert code == 0, err
    table = err.split("per account", 1)[1].replace("│", " ")
    rows = {cells[0]: cells[1:] for line in table.splitlines() if (cells := line.split())}
    # credential, delivered, skipped, failed, dead
    assert rows["alice"] == ["0", "3", "0", "0"]
    assert rows["bob"] == ["0", "1", "0", "0"]
    assert rows["carol"] == ["0", "2", "0", "0"]
    assert_no_key(out, err)


def test_a_record_keeps_its_key_when_it_moves_to_another_account(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """The record key leaves the credential out (docs/flow.md): a record given to another
    owner after it was delivered is the same record, and is not made a second time."""
    env = store_credentials(tmp_path, KEYS)
    write_flow(tmp_path, accounts_sandbox, [schedule("alice", "weekly"), schedule("bob", "b")])
    code, out, err = run(tmp_path, env, "--json")
    assert code == 0, out + err

    write_flow(tmp_path, accounts_sandbox, [schedule("carol", "weekly"), schedule("bob", "b")])
    accounts_sandbox.clear_requests()
    code, out, err = run(tmp_path, env, "--json")

    assert code == 0, out + err
    counts = json.loads(out)
    assert counts["skipped"] == 2 and counts["delivered"] == 0
    assert counts["accounts"]["carol"]["skipped"] == 1
    assert [r for r in accounts_sandbox.requests() if r["method"] == "POST"] == []
    assert owners(accounts_sandbox) == {"weekly": "alice", "b": "bob"}


def test_a_record_naming_an_unknown_credential_is_rejected_with_its_line(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    env = store_credentials(tmp_path, KEYS)
    records = [schedule("alice", "a"), schedule("dave", "d"), schedule("bob", "b")]
    write_flow(tmp_path, accounts_sandbox, records)

    checked = cli("validate", "flow.yaml", "--json", key="", cwd=tmp_path, env=env)
    assert checked.returncode == 1, checked.stderr
    assert "valid 2 · rejected 1" in checked.stderr
    [rejection] = [json.loads(line) for line in checked.stdout.splitlines()]
    assert rejection["position"] == "schedules.jsonl:2"
    assert rejection["field"] == "owner"
    assert "stored: alice, bob, carol" in rejection["reason"]
    assert "found 'dave'" in rejection["reason"]
    assert "calsink credentials add dave" in rejection["reason"]

    shown = cli("preview", "flow.yaml", "--json", key="", cwd=tmp_path, env=env)
    previews = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [p["credential"] for p in previews] == ["alice", "bob"]

    code, out, err = run(tmp_path, env, "--json")
    assert code == 1, out + err
    counts = json.loads(out)
    assert (counts["delivered"], counts["rejected"]) == (2, 1)
    assert owners(accounts_sandbox) == {"a": "alice", "b": "bob"}
    [letter] = dead_letters(tmp_path)
    assert where(letter) == "schedules.jsonl:2" and "dave" in letter["reason"]


def test_a_refused_key_fails_only_its_own_records(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    env = store_credentials(tmp_path, {**KEYS, "carol": WRONG_KEY})
    records = [
        schedule("alice", "a1"),
        schedule("carol", "c1"),
        schedule("carol", "c2"),
        schedule("bob", "b1"),
        schedule("carol", "c3"),
        schedule("alice", "a2"),
    ]
    write_flow(tmp_path, accounts_sandbox, records)
    (tmp_path / "flow.yaml").write_text(
        (tmp_path / "flow.yaml").read_text().replace("concurrency: 4", "concurrency: 1")
    )

    code, out, err = run(tmp_path, env)

    assert code == 1, out + err
    assert owners(accounts_sandbox) == {"a1": "alice", "a2": "alice", "b1": "bob"}
    # Carol's first record met the 401; her later records were not sent.
    statuses = Counter(r["status"] for r in accounts_sandbox.requests())
    assert statuses == Counter({201: 3, 401: 1})
    assert "credential carol: Cal.com refused its API key (401)" in err
    assert "calsink credentials test carol" in err
    assert "aborted" not in err
    failed = {where(letter) for letter in dead_letters(tmp_path)}
    assert failed == {"schedules.jsonl:2", "schedules.jsonl:3", "schedules.jsonl:5"}
    assert_no_key(out, err, all_text(tmp_path, skip=tmp_path / "config"))

    code, out, err = run(tmp_path, env, "--json")  # the next run: carol's records again
    counts = json.loads(out)
    assert counts["accounts"]["carol"] == {
        **counts["accounts"]["carol"],
        "failed": 3,
        "key_refused": True,
    }
    assert counts["accounts"]["alice"]["skipped"] == 2


def test_one_accounts_rate_limit_does_not_hold_up_the_others(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Cal.com counts requests per key: alice's spent budget (3 a window here) holds back
    only alice's records; bob's and carol's are all answered before alice's fourth.

    Alice has one record more than her budget: a fifth (calsink paces what is left of a
    budget) waited a further 14 s in this short window and showed nothing the fourth does
    not."""
    env = store_credentials(tmp_path, KEYS)
    accounts_sandbox.set_rate_limit(3, 4)
    records = [schedule("alice", f"a{n}") for n in range(4)]
    records += [schedule(owner, f"{owner}-{n}") for n in range(3) for owner in ("bob", "carol")]
    write_flow(tmp_path, accounts_sandbox, records)

    code, out, err = run(tmp_path, env, "--json")

    assert code == 0, out + err
    assert json.loads(out)["delivered"] == 10
    made = [
        r["json"]["name"]
        for r in accounts_sandbox.requests()
        if r["method"] == "POST" and r["status"] == 201
    ]
    fourth_of_alice = [i for i, name in enumerate(made) if name.startswith("a")][3]
    others = [i for i, name in enumerate(made) if not name.startswith("a")]
    assert max(others) < fourth_of_alice, made
    # Neither bob nor carol met a 429: each of their records was sent once.
    sent = Counter(r["json"]["name"] for r in accounts_sandbox.requests() if r["method"] == "POST")
    assert all(sent[name] == 1 for name in sent if not name.startswith("a")), sent


def test_the_sandbox_answers_each_user_key_as_that_user(accounts_sandbox: SandboxHandle) -> None:
    for name, key in KEYS.items():
        me = accounts_sandbox.call("GET", "/v2/me", api_key=key)
        assert (me.status, me.data["username"]) == (200, name)
    assert accounts_sandbox.call("GET", "/v2/me").data["username"] == "demo"
    assert accounts_sandbox.call("GET", "/v2/me", api_key=WRONG_KEY).status == 401


def test_the_library_sends_with_the_stored_credentials_the_records_name(
    accounts_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calsink

    env = store_credentials(tmp_path, KEYS)
    monkeypatch.setenv("CALSINK_CONFIG_DIR", env["CALSINK_CONFIG_DIR"])
    write_flow(tmp_path, accounts_sandbox, [schedule("bob", "b"), schedule("carol", "c")])

    report = calsink.run(tmp_path / "flow.yaml")

    assert report.exit_code == 0, report.to_json()
    assert {name: counts.delivered for name, counts in report.accounts.items()} == {
        "bob": 1,
        "carol": 1,
    }
    assert owners(accounts_sandbox) == {"b": "bob", "c": "carol"}


def test_a_credential_stored_with_its_own_base_url_is_sent_there(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    with running_sandbox("--user-key", f"bob={KEYS['bob']}", api_key=MAIN_KEY) as elsewhere:
        env = store_credentials(tmp_path, {"alice": KEYS["alice"]})
        added = cli(
            "credentials",
            "add",
            "bob",
            "--base-url",
            elsewhere.url,
            key="",
            cwd=tmp_path,
            env=env,
            stdin=KEYS["bob"] + "\n",
        )
        assert added.returncode == 0, added.stderr
        write_flow(tmp_path, accounts_sandbox, [schedule("alice", "a"), schedule("bob", "b")])

        code, out, err = run(tmp_path, env, "--json")

        assert code == 0, out + err
        assert owners(accounts_sandbox) == {"a": "alice"}
        assert owners(elsewhere) == {"b": "bob"}


def test_calsink_test_sends_with_the_key_of_the_credential_the_record_names(
    accounts_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    env = store_credentials(tmp_path, KEYS)
    write_flow(tmp_path, accounts_sandbox, [schedule("alice", "a"), schedule("carol", "c")])

    done = cli("test", "flow.yaml", "--record", "1", "--json", key="", cwd=tmp_path, env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == 201
    assert owners(accounts_sandbox) == {"c": "carol"}
    assert_no_key(done.stdout, done.stderr)
