"""Destructive safety: a cancel or delete flow sends nothing without an explicit yes, and a
run never destroys more than max_destructive, whatever its concurrency."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.adversarial.harness import assert_adds_up, cli, lead_rows, summary, write_flow
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

CANCEL = """transform:
  map: {cancellationReason: "adversarial cancel"}
"""


def book(sandbox: SandboxHandle, count: int) -> list[str]:
    uids = []
    for name, email, start in lead_rows(count):
        body = {
            "start": start,
            "eventTypeId": 1,
            "attendee": {"name": name, "email": email, "timeZone": "America/New_York"},
        }
        answer = sandbox.call("POST", "/v2/bookings", body)
        assert answer.status == 201, answer.body
        uids.append(answer.data["uid"])
    return uids


def cancel_flow(folder: Path, sandbox: SandboxHandle, uids: list[str], **flow: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_text("uid\n" + "\n".join(uids) + "\n")
    write_flow(
        folder,
        sandbox,
        source="leads.csv",
        template="cancel-booking",
        transform=CANCEL,
        key="[uid]",
        **flow,  # type: ignore[arg-type]
    )
    text = (folder / "flow.yaml").read_text()
    text = text.replace(
        "  template: cancel-booking", '  template: cancel-booking\n  params: {uid: "{uid}"}'
    )
    (folder / "flow.yaml").write_text(text)


def cancelled(sandbox: SandboxHandle) -> int:
    return sum(1 for b in sandbox.state()["bookings"] if b["status"] == "cancelled")


def destructive_requests(sandbox: SandboxHandle) -> list[dict[str, object]]:
    return [
        r
        for r in sandbox.requests()
        if str(r["path"]).endswith("/cancel") or r["method"] == "DELETE"
    ]


def test_a_run_never_cancels_more_than_max_destructive(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    uids = book(sandbox, 12)
    cancel_flow(tmp_path, sandbox, uids, delivery={"concurrency": 8, "max_destructive": 3})
    sandbox.clear_requests()
    result = cli("run", "flow.yaml", "--json", "--yes", key=sandbox.api_key, cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    counts = summary(result)
    assert_adds_up(counts)
    assert counts["aborted"] and "max_destructive" in (counts["abort_detail"] or "")
    assert counts["delivered"] == 3
    assert len(destructive_requests(sandbox)) == 3
    assert cancelled(sandbox) == 3
    again = cli("run", "flow.yaml", "--json", "--yes", key=sandbox.api_key, cwd=tmp_path)
    assert again.returncode == 3
    assert cancelled(sandbox) == 6, "the next run cancels at most the cap again"


@pytest.mark.parametrize("command", ["run", "test", "retry"])
def test_cancel_without_an_explicit_yes_sends_nothing(
    sandbox: SandboxHandle, tmp_path: Path, command: str
) -> None:
    uids = book(sandbox, 3)
    cancel_flow(tmp_path, sandbox, uids, delivery={"max_attempts": 2})
    if command == "retry":
        sandbox.set_faults({"spec": "503@1:POST /v2/bookings/{uid}/cancel"})
        first = cli("run", "flow.yaml", "--yes", key=sandbox.api_key, cwd=tmp_path)
        assert first.returncode == 1, first.stdout + first.stderr
        sandbox.clear_faults()
    sandbox.clear_requests()
    result = cli(command, "flow.yaml", key=sandbox.api_key, cwd=tmp_path, stdin="y\n")
    assert result.returncode in (2, 3), result.stdout + result.stderr
    assert "--yes" in result.stderr
    assert destructive_requests(sandbox) == []
    assert cancelled(sandbox) == 0


@pytest.mark.parametrize(
    "destination",
    [
        '  template: delete-event-type\n  params: {id: "{id}"}',
        "  manual: {method: DELETE, url: '%s/v2/event-types/{id}'}",
    ],
)
def test_delete_without_an_explicit_yes_sends_nothing(
    sandbox: SandboxHandle, tmp_path: Path, destination: str
) -> None:
    (tmp_path / "leads.csv").write_text("id\n1\n2\n")
    flow = write_flow(tmp_path, sandbox, source="leads.csv", transform="", key="[id]")
    text = flow.read_text().replace(
        "  template: create-booking", destination.replace("%s", sandbox.url)
    )
    flow.write_text(text)
    sandbox.clear_requests()
    for command in ("run", "test"):
        result = cli(command, "flow.yaml", key=sandbox.api_key, cwd=tmp_path, stdin="y\n")
        assert result.returncode in (2, 3), result.stdout + result.stderr
        assert "--yes" in result.stderr
    assert destructive_requests(sandbox) == []
    assert {e["id"] for e in sandbox.state()["event_types"]} >= {1, 2}
