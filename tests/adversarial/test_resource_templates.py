"""Changing and deleting schedules, webhooks and out-of-office entries through the real CLI
against the sandbox: the example flows have their effect, and a change whose answer was
lost is settled once, from upstream's answer to the resend (docs/templates.md has the
sources)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.adversarial.harness import cli
from tests.delivery.e2e import copy_examples, run_examples, run_flow
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

# create flow, then the flows that change and delete what it made
EXAMPLE_FLOWS = (
    "create-schedule",
    "update-schedule",
    "delete-schedule",
    "create-webhook",
    "update-webhook",
    "delete-webhook",
    "create-out-of-office",
    "update-out-of-office",
    "delete-out-of-office",
)


def test_the_example_flows_change_and_delete_what_the_create_flows_made(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    run_examples(copy_examples(tmp_path), sandbox, EXAMPLE_FLOWS)
    state = sandbox.state()
    mine = {s["name"]: s for s in state["schedules"] if s["ownerId"] == 1}
    assert set(mine) == {"Working hours", "Mornings"}
    assert mine["Mornings"]["timeZone"] == "America/Chicago"
    assert [(w["subscriberUrl"], w["active"]) for w in state["webhooks"]] == [
        ("https://hooks.example.org/cal/bookings", False)
    ]
    assert [(e["reason"], e["notes"]) for e in state["ooo"]] == [("travel", "Conference in Lisbon")]
    assert sandbox.api_key not in "".join(
        p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()
    )


def _flow(
    folder: Path,
    sandbox: SandboxHandle,
    template: str,
    rows: str,
    *,
    params: str = '{id: "{id}"}',
    key: str = "[id]",
    **extra: str,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rows.csv").write_text(rows)
    lines = [
        "version: 1",
        f"name: {template}-lost",
        "source: {path: rows.csv}",
        *extra.get("transform", "").splitlines(),
        "destination:",
        "  api_key_env: CAL_API_KEY",
        f"  base_url: {sandbox.url}",
        f"  template: {template}",
        f"  params: {params}",
        f"delivery: {{key: {key}, max_attempts: 4, timeout_s: 5}}",
        "responses: {jsonl: out/responses.jsonl}",
        "ledger: state/ledger.db",
    ]
    flow = folder / "flow.yaml"
    flow.write_text("\n".join(lines) + "\n")
    return flow


def _lose_first_answer(sandbox: SandboxHandle, method: str, path: str) -> None:
    rule = {"kind": "drop-after", "method": method, "path": path, "count": 1}
    sandbox.set_faults({"rules": [rule]})


def _settled_once(
    folder: Path, sandbox: SandboxHandle, method: str, route: str, refusal: int
) -> None:
    """The change was made once, its answer lost, and upstream's refusal of the resend
    (``refusal``) is counted as the change done: delivered, not failed."""
    counts = run_flow(folder, sandbox, "flow.yaml")
    assert counts["delivered"] == 1 and counts["failed"] == 0, counts
    sent = [r for r in sandbox.requests() if r["method"] == method and r["path"] == route]
    assert [r["status"] for r in sent] == [200, refusal], sent
    lines = (folder / "out" / "responses.jsonl").read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == [refusal]


def test_a_schedule_delete_whose_answer_was_lost_is_done_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """schedules.service.ts deleteUserSchedule: the resend gets 400 "does not exist"."""
    body = {"name": "Tmp", "timeZone": "UTC", "isDefault": False}
    made = sandbox.call("POST", "/v2/schedules", body).data
    flow_dir = tmp_path / "f"
    _flow(flow_dir, sandbox, "delete-schedule", f"id\n{made['id']}\n")
    _lose_first_answer(sandbox, "DELETE", "/v2/schedules/{id}")
    _settled_once(flow_dir, sandbox, "DELETE", f"/v2/schedules/{made['id']}", 400)
    assert made["id"] not in {s["id"] for s in sandbox.state()["schedules"]}


def test_a_webhook_delete_whose_answer_was_lost_is_done_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """IsUserWebhookGuard: the resend gets 404 "Webhook (<id>) not found"."""
    body = {"subscriberUrl": "https://hooks.example.org/x", "triggers": ["BOOKING_CREATED"]}
    hook = sandbox.call("POST", "/v2/webhooks", {**body, "active": True}).data
    flow_dir = tmp_path / "f"
    _flow(flow_dir, sandbox, "delete-webhook", f"id\n{hook['id']}\n")
    _lose_first_answer(sandbox, "DELETE", "/v2/webhooks/{id}")
    _settled_once(flow_dir, sandbox, "DELETE", f"/v2/webhooks/{hook['id']}", 404)
    assert sandbox.state()["webhooks"] == []


def test_an_ooo_delete_whose_answer_was_lost_is_done_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """is-user-ooo.ts: the resend gets 403 "This OOO entry does not belong to this user."."""
    body = {"start": "2030-03-01T00:00:00Z", "end": "2030-03-02T00:00:00Z"}
    entry = sandbox.call("POST", "/v2/me/ooo", body).data
    flow_dir = tmp_path / "f"
    _flow(flow_dir, sandbox, "delete-out-of-office", f"id\n{entry['id']}\n")
    _lose_first_answer(sandbox, "DELETE", "/v2/me/ooo/{id}")
    _settled_once(flow_dir, sandbox, "DELETE", f"/v2/me/ooo/{entry['id']}", 403)
    assert sandbox.state()["ooo"] == []


def test_an_ooo_date_change_whose_answer_was_lost_is_done_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """ooo.service.ts checkDuplicateOOOEntry finds the entry itself: the resend gets 409."""
    body = {"start": "2030-03-01T00:00:00Z", "end": "2030-03-02T00:00:00Z"}
    entry = sandbox.call("POST", "/v2/me/ooo", body).data
    flow_dir = tmp_path / "f"
    transform = 'transform:\n  map: {start: "{start}", end: "{end}"}'
    rows = f"id,start,end\n{entry['id']},2030-04-06T00:00:00Z,2030-04-08T00:00:00Z\n"
    _flow(flow_dir, sandbox, "update-out-of-office", rows, transform=transform)
    _lose_first_answer(sandbox, "PATCH", "/v2/me/ooo/{id}")
    _settled_once(flow_dir, sandbox, "PATCH", f"/v2/me/ooo/{entry['id']}", 409)
    [stored] = sandbox.state()["ooo"]
    assert stored["start"].startswith("2030-04-06") and stored["end"].startswith("2030-04-08")


def test_an_ooo_update_with_one_date_is_rejected_before_sending(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """ooo.service.ts isStartBeforeEnd: 400 "Please specify both ooo start and end time."."""
    flow_dir = tmp_path / "f"
    transform = 'transform:\n  map: {start: "{start}"}'
    _flow(
        flow_dir, sandbox, "update-out-of-office", "id,start\n1,2030-04-06T00:00:00Z\n",
        transform=transform,
    )  # fmt: skip
    result = cli("validate", "flow.yaml", "--all", key=sandbox.api_key, cwd=flow_dir)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "rows.csv:2" in output and "end: expected end with start" in output
    assert sandbox.requests() == []


def test_a_cancel_whose_answer_was_lost_is_done_once_by_upstreams_words(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """The bookings service's refusal of a second cancel today reads "… because it has been
    cancelled already. …" (BookingsService_2024_08_13.cancelBooking): it is the cancel
    done, as "has already been cancelled" was."""
    booking = {
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
    }
    made = sandbox.call("POST", "/v2/bookings", booking).data
    flow_dir = tmp_path / "f"
    transform = 'transform:\n  map: {cancellationReason: "{why}"}'
    _flow(
        flow_dir, sandbox, "cancel-booking", f"id,why\n{made['uid']},Moved\n",
        params='{uid: "{id}"}', transform=transform,
    )  # fmt: skip
    _lose_first_answer(sandbox, "POST", "/v2/bookings/{uid}/cancel")
    _settled_once(flow_dir, sandbox, "POST", f"/v2/bookings/{made['uid']}/cancel", 400)


TEAM_FLOWS = ("create-team-event-type", "update-team-event-type", "delete-team-event-type")


def test_the_team_event_type_flows_create_change_and_delete(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    run_examples(copy_examples(tmp_path), sandbox, TEAM_FLOWS)
    [left] = sandbox.state()["team_event_types"]
    assert (left["slug"], left["lengthInMinutes"], left["teamId"]) == ("team-demo", 45, 1)
    assert {h["userId"] for h in left["hosts"]} == {1, 2}


TEAM_ROWS = "team,title,slug\n1,Team Demo,team-demo\n1,Team Chat,team-chat\n"
TEAM_MAP = (
    "transform:\n  map: {title: '{title}', slug: '{slug}', lengthInMinutes: 30,"
    " schedulingType: collective, assignAllTeamMembers: true}"
)


def test_a_team_event_type_create_whose_answer_was_lost_is_not_made_twice(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """The create's answer is lost; reconcile lists the team's event types (GET on the
    create's own path) and finds it by slug, title and length: no second POST."""
    flow_dir = tmp_path / "f"
    _flow(
        flow_dir, sandbox, "create-team-event-type", TEAM_ROWS,
        params='{teamId: "{team}"}', key="[team, slug]", transform=TEAM_MAP,
    )  # fmt: skip
    _lose_first_answer(sandbox, "POST", "/v2/teams/{teamId}/event-types")
    counts = run_flow(flow_dir, sandbox, "flow.yaml")
    assert counts["delivered"] == 2 and counts["failed"] == 0, counts
    slugs = [e["slug"] for e in sandbox.state()["team_event_types"]]
    assert sorted(slugs) == ["team-chat", "team-demo"]
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert len(posts) == 2, posts
    again = run_flow(flow_dir, sandbox, "flow.yaml")
    assert again["delivered"] == 0 and len(sandbox.state()["team_event_types"]) == 2


def test_a_team_event_type_delete_whose_answer_was_lost_is_done_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """teams-event-types.service.ts deleteTeamEventType: the resend gets 404."""
    body = {"title": "T", "slug": "t", "lengthInMinutes": 30, "schedulingType": "collective"}
    made = sandbox.call("POST", "/v2/teams/1/event-types", body).data
    flow_dir = tmp_path / "f"
    rows = f"team,id\n1,{made['id']}\n"
    params = '{teamId: "{team}", id: "{id}"}'
    _flow(flow_dir, sandbox, "delete-team-event-type", rows, params=params)
    _lose_first_answer(sandbox, "DELETE", "/v2/teams/{teamId}/event-types/{id}")
    _settled_once(flow_dir, sandbox, "DELETE", f"/v2/teams/1/event-types/{made['id']}", 404)
    assert sandbox.state()["team_event_types"] == []


ORG_FLOWS = (
    "create-org-user-out-of-office",
    "update-org-user-out-of-office",
    "delete-org-user-out-of-office",
)


def test_the_org_user_ooo_flows_record_change_and_delete_a_members_entries(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    run_examples(copy_examples(tmp_path), sandbox, ORG_FLOWS)
    [left] = sandbox.state()["ooo"]
    assert (left["userId"], left["reason"], left["notes"]) == (2, "sick", "Back on Monday")


def test_an_org_user_ooo_create_whose_answer_was_lost_is_not_made_twice(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Reconcile lists the member's entries (GET on the create's own path) and finds the
    entry by its days: no second POST (upstream would answer it 409 in any case)."""
    flow_dir = tmp_path / "f"
    rows = "user,start,end\n2,2030-03-04T00:00:00Z,2030-03-05T00:00:00Z\n"
    transform = "transform:\n  map: {start: '{start}', end: '{end}'}"
    _flow(
        flow_dir, sandbox, "create-org-user-out-of-office", rows,
        params='{orgId: "2", userId: "{user}"}', key="[user, start]", transform=transform,
    )  # fmt: skip
    _lose_first_answer(sandbox, "POST", "/v2/organizations/{orgId}/users/{userId}/ooo")
    counts = run_flow(flow_dir, sandbox, "flow.yaml")
    assert counts["delivered"] == 1 and counts["failed"] == 0, counts
    assert [e["userId"] for e in sandbox.state()["ooo"]] == [2]
    assert len([r for r in sandbox.requests() if r["method"] == "POST"]) == 1
