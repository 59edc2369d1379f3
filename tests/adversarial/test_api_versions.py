"""A server that does not know cal-api-version 2026-02-25 (an older or self-hosted Cal.com).

Cal.com answers an unknown version with its 2024-04-15 contract, silently
(apps/api/v2/src/bootstrap.ts). The sandbox emulates such a server with --api-versions;
`calsink credentials test` says which bookings versions answer and what to set, and a run
stops at its first answer instead of sending every record to the wrong contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.adversarial.harness import FAKE_KEY, cli, write_flow
from tests.support.sandbox import SandboxHandle, running_sandbox

OLDER_SERVER = "2024-04-15,2024-06-11,2024-06-14,2024-08-13,2024-09-04"
ADVICE = 'destination.api_version: "2024-08-13"'


@pytest.fixture
def older_server() -> Iterator[SandboxHandle]:
    with running_sandbox("--api-versions", OLDER_SERVER, api_key=FAKE_KEY) as handle:
        yield handle


@pytest.fixture
def current_server() -> Iterator[SandboxHandle]:
    with running_sandbox(api_key=FAKE_KEY) as handle:
        yield handle


def credentials_test(tmp_path: Path, sandbox: SandboxHandle) -> tuple[int, str, str]:
    env = {"CALSINK_CONFIG_DIR": str(tmp_path / "config")}
    added = cli("credentials", "add", "main", key=FAKE_KEY, cwd=tmp_path, env=env, stdin=FAKE_KEY)
    assert added.returncode == 0, added.stderr
    done = cli(
        "credentials",
        "test",
        "main",
        "--base-url",
        sandbox.url,
        key=FAKE_KEY,
        cwd=tmp_path,
        env=env,
    )
    assert FAKE_KEY not in done.stdout + done.stderr
    return done.returncode, done.stdout, done.stderr


def test_credentials_test_names_the_versions_a_current_server_answers(
    tmp_path: Path, current_server: SandboxHandle
) -> None:
    code, out, err = credentials_test(tmp_path, current_server)
    assert code == 0, err
    assert "bookings versions this server answers: 2026-02-25, 2024-08-13" in out
    assert "warning" not in err


def test_credentials_test_tells_what_to_set_on_an_older_server(
    tmp_path: Path, older_server: SandboxHandle
) -> None:
    code, out, err = credentials_test(tmp_path, older_server)
    assert code == 0, err  # the key works; the version is a warning
    assert "bookings versions this server answers: 2024-08-13" in out
    assert "does not know cal-api-version 2026-02-25" in err
    assert ADVICE in err


def test_a_run_stops_at_the_first_answer_of_the_older_contract(
    tmp_path: Path, older_server: SandboxHandle
) -> None:
    rows = [f"Lead {n},lead{n}@example.com,2030-01-07T{14 + n}:00:00Z" for n in range(4)]
    (tmp_path / "leads.csv").write_text("name,email,start\n" + "\n".join(rows) + "\n")
    write_flow(tmp_path, older_server, source="leads.csv", delivery={"concurrency": 1})
    stopped = cli("run", "flow.yaml", "--json", key=FAKE_KEY, cwd=tmp_path)
    assert stopped.returncode == 3, stopped.stderr
    report = json.loads(stopped.stdout.strip().splitlines()[-1])
    assert report["aborted"] == "cal-api-version unknown to the server"
    assert ADVICE in report["abort_detail"]
    posts = [r for r in older_server.requests() if r["method"] == "POST"]
    assert len(posts) == 1  # the first request went alone; nothing followed it

    flow = tmp_path / "flow.yaml"
    flow.write_text(
        flow.read_text().replace(
            "  template: create-booking", '  template: create-booking\n  api_version: "2024-08-13"'
        )
    )
    again = cli("run", "flow.yaml", "--json", key=FAKE_KEY, cwd=tmp_path)
    assert again.returncode in (0, 1), again.stderr
    booked = {b["attendees"][0]["email"] for b in older_server.state()["bookings"]}
    assert {f"lead{n}@example.com" for n in range(1, 4)} <= booked
