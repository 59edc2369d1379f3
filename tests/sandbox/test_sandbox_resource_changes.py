"""Changing and deleting schedules, webhooks and out-of-office entries, as upstream answers.

Each expected answer names its upstream source (calcom/cal.com, apps/api/v2/src); every
answer is also checked against the newer OpenAPI subset by the ``api`` fixture.
"""

from __future__ import annotations

from sandbox_contract import Api

MORNINGS = {
    "name": "Mornings",
    "timeZone": "America/New_York",
    "isDefault": False,
    "availability": [{"days": ["Monday"], "startTime": "08:00", "endTime": "12:00"}],
}


def test_update_schedule_changes_only_what_is_sent_and_replaces_lists(api: Api) -> None:
    """schedules.service.ts updateUserSchedule + schedules.repository.ts updateSchedule
    (03670679): availability given replaces every opening-hours row."""
    made = api("POST", "/v2/schedules", MORNINGS).data
    hours = [{"days": ["Tuesday", "Thursday"], "startTime": "13:00", "endTime": "17:00"}]
    changed = api("PATCH", f"/v2/schedules/{made['id']}", {"availability": hours})
    assert changed.status == 200
    assert changed.data["availability"] == hours
    assert changed.data["name"] == "Mornings" and changed.data["timeZone"] == "America/New_York"
    again = api("PATCH", f"/v2/schedules/{made['id']}", {"availability": hours})
    assert again.status == 200 and again.data == changed.data
    renamed = api("PATCH", f"/v2/schedules/{made['id']}", {"name": "Afternoons"}).data
    assert renamed["name"] == "Afternoons" and renamed["availability"] == hours


def test_update_schedule_to_default_moves_the_users_default(api: Api) -> None:
    made = api("POST", "/v2/schedules", MORNINGS).data
    assert api("PATCH", f"/v2/schedules/{made['id']}", {"isDefault": True}).data["isDefault"]
    assert api("GET", "/v2/me").data["defaultScheduleId"] == made["id"]
    assert api("GET", "/v2/schedules/1").data["isDefault"] is False


def test_update_schedule_refuses_bad_fields_a_missing_or_anothers_schedule(api: Api) -> None:
    """updateUserSchedule: 404 "Schedule with ID=… does not exist.", 403 for a schedule of
    another user (checkUserOwnsSchedule); schedule 2 belongs to the teammate."""
    bad = api("PATCH", "/v2/schedules/1", {"timeZone": "Nowhere/City"})
    assert bad.status == 400
    missing = api("PATCH", "/v2/schedules/99", {"name": "x"})
    assert missing.status == 404
    assert missing.json["error"]["message"] == "Schedule with ID=99 does not exist."
    assert api("PATCH", "/v2/schedules/2", {"name": "x"}).status == 403


def test_delete_schedule_then_again_is_upstreams_400(api: Api) -> None:
    """schedules.service.ts deleteUserSchedule (03670679): a schedule that does not exist
    is a BadRequestException, 400; the DELETE answers {status: success} alone."""
    made = api("POST", "/v2/schedules", MORNINGS).data
    deleted = api("DELETE", f"/v2/schedules/{made['id']}")
    assert deleted.status == 200 and deleted.json == {"status": "success"}
    assert api("GET", f"/v2/schedules/{made['id']}").status == 404
    again = api("DELETE", f"/v2/schedules/{made['id']}")
    assert again.status == 400
    assert again.json["error"]["message"] == f"Schedule with ID={made['id']} does not exist."
    assert api("DELETE", "/v2/schedules/2").status == 403


def test_deleting_the_default_schedule_leaves_the_user_without_one(api: Api) -> None:
    assert api("DELETE", "/v2/schedules/1").status == 200
    assert api("GET", "/v2/me").data["defaultScheduleId"] is None


def test_webhook_delete_then_again_is_upstreams_404(api: Api) -> None:
    """IsUserWebhookGuard → WebhooksService.getWebhookById: 404 "Webhook (<id>) not found"."""
    body = {"subscriberUrl": "https://hooks.example.org/a", "triggers": ["BOOKING_CREATED"]}
    hook = api("POST", "/v2/webhooks", {**body, "active": True}).data
    patched = api("PATCH", f"/v2/webhooks/{hook['id']}", {"triggers": ["OOO_CREATED"]})
    assert patched.status == 200 and patched.data["triggers"] == ["OOO_CREATED"]
    deleted = api("DELETE", f"/v2/webhooks/{hook['id']}")
    assert deleted.status == 200 and deleted.data["id"] == hook["id"]
    again = api("DELETE", f"/v2/webhooks/{hook['id']}")
    assert again.status == 404
    assert again.json["error"]["message"] == f"Webhook ({hook['id']}) not found"


VACATION = {"start": "2030-05-01T00:00:00Z", "end": "2030-05-03T00:00:00Z", "reason": "vacation"}


def test_update_ooo_changes_notes_and_reason_and_moves_whole_days(api: Api) -> None:
    """user-ooo.controller e2e "should update an ooo entry": dates snap to whole UTC days."""
    entry = api("POST", "/v2/me/ooo", VACATION).data
    changed = api("PATCH", f"/v2/me/ooo/{entry['id']}", {"notes": "Lisbon", "reason": "travel"})
    assert changed.status == 200
    assert changed.data["notes"] == "Lisbon" and changed.data["reason"] == "travel"
    assert changed.data["start"] == entry["start"]
    moved = api(
        "PATCH",
        f"/v2/me/ooo/{entry['id']}",
        {"start": "2030-06-01T10:00:00Z", "end": "2030-06-02T10:00:00Z"},
    )
    assert moved.data["start"] == "2030-06-01T00:00:00.000Z"
    assert moved.data["end"] == "2030-06-02T23:59:59.999Z"


def test_update_ooo_needs_both_dates_in_order(api: Api) -> None:
    """ooo.service.ts isStartBeforeEnd (03670679): "Please specify both ooo start and end
    time." and "Start date must be before end date.", both 400."""
    entry = api("POST", "/v2/me/ooo", VACATION).data
    alone = api("PATCH", f"/v2/me/ooo/{entry['id']}", {"start": "2030-06-01T00:00:00Z"})
    assert alone.status == 400
    assert alone.json["error"]["message"] == "Please specify both ooo start and end time."
    backwards = {"start": "2030-06-05T00:00:00Z", "end": "2030-06-01T00:00:00Z"}
    assert api("PATCH", f"/v2/me/ooo/{entry['id']}", backwards).status == 400
    to_self = api("PATCH", f"/v2/me/ooo/{entry['id']}", {"toUserId": 1})
    assert to_self.status == 400


def test_update_ooo_resending_its_own_dates_is_a_409(api: Api) -> None:
    """ooo.service.ts checkDuplicateOOOEntry (03670679) looks for an entry of the user with
    the same days, and finds the entry being updated: a resent date change answers 409."""
    entry = api("POST", "/v2/me/ooo", VACATION).data
    dates = {"start": "2030-07-01T00:00:00Z", "end": "2030-07-04T00:00:00Z"}
    assert api("PATCH", f"/v2/me/ooo/{entry['id']}", dates).status == 200
    resent = api("PATCH", f"/v2/me/ooo/{entry['id']}", dates)
    assert resent.status == 409


def test_ooo_update_or_delete_of_a_missing_entry_is_upstreams_403(api: Api) -> None:
    """guards/is-user-ooo.ts (61a9c305) and the e2e "should fail to update/delete a
    non-existent ooo entry": 403 "This OOO entry does not belong to this user."."""
    entry = api("POST", "/v2/me/ooo", VACATION).data
    deleted = api("DELETE", f"/v2/me/ooo/{entry['id']}")
    assert deleted.status == 200 and deleted.data["id"] == entry["id"]
    assert api("GET", "/v2/me/ooo").data == []
    for method, body in (("DELETE", None), ("PATCH", {"notes": "x"})):
        again = api(method, f"/v2/me/ooo/{entry['id']}", body)
        assert again.status == 403
        assert again.json["error"]["message"] == "This OOO entry does not belong to this user."


TEAM_DEMO = {
    "title": "Team Demo",
    "slug": "team-demo",
    "lengthInMinutes": 30,
    "schedulingType": "roundRobin",
    "hosts": [{"userId": 1}, {"userId": 2, "mandatory": True}],
}


def test_team_event_types_create_list_update_delete(api: Api) -> None:
    """teams-event-types.controller.ts (007f9b2b) and its service (0936ee52): the seeded
    team 1 has the key's user as admin and the teammate as member."""
    created = api("POST", "/v2/teams/1/event-types", TEAM_DEMO)
    assert created.status == 201
    made = created.data
    assert made["teamId"] == 1 and made["schedulingType"] == "roundRobin"
    assert [h["userId"] for h in made["hosts"]] == [1, 2]
    assert made["id"] == 5  # ids are shared with the personal event types (1-4 seeded)
    listed = api("GET", "/v2/teams/1/event-types", api_key=None)
    assert [e["slug"] for e in listed.data] == ["team-demo"]
    assert api("GET", "/v2/teams/1/event-types?eventSlug=nope").data == []
    assert [e["slug"] for e in api("GET", "/v2/event-types").data].count("team-demo") == 0
    changed = api("PATCH", f"/v2/teams/1/event-types/{made['id']}", {"lengthInMinutes": 45})
    assert changed.status == 200 and changed.data["lengthInMinutes"] == 45
    assert changed.data["title"] == "Team Demo"
    deleted = api("DELETE", f"/v2/teams/1/event-types/{made['id']}")
    assert deleted.status == 200 and deleted.data == {"id": made["id"], "title": "Team Demo"}
    again = api("DELETE", f"/v2/teams/1/event-types/{made['id']}")
    assert again.status == 404
    assert again.json["error"]["message"] == f"Event type with ID={made['id']} does not exist."


def test_team_event_types_refuse_what_upstream_refuses(api: Api) -> None:
    """CreateTeamEventTypeInput_2024_06_14 requires schedulingType; a slug is unique in the
    team; hosts are members; only a team admin writes (RolesGuard: 403); ids are numbers
    (ParseIntPipe: 400)."""
    missing = api("POST", "/v2/teams/1/event-types", {**TEAM_DEMO, "schedulingType": None})
    assert missing.status == 400
    assert api("POST", "/v2/teams/1/event-types", TEAM_DEMO).status == 201
    assert api("POST", "/v2/teams/1/event-types", TEAM_DEMO).status == 400
    stranger = {**TEAM_DEMO, "slug": "other", "hosts": [{"userId": 99}]}
    assert api("POST", "/v2/teams/1/event-types", stranger).status == 400
    assert api("POST", "/v2/teams/7/event-types", {**TEAM_DEMO, "slug": "x"}).status == 403
    assert api("PATCH", "/v2/teams/1/event-types/abc", {"title": "x"}).status == 400
    assert api("PATCH", "/v2/teams/1/event-types/1", {"title": "x"}).status == 404


ORG_OOO = "/v2/organizations/2/users/2/ooo"


def test_an_org_admin_records_changes_and_deletes_a_members_ooo(api: Api) -> None:
    """organizations-users-ooo.controller.ts (222d5801): the seeded organisation 2 has the
    key's user as admin and the teammate (user 2) as member; UserOOOService for that user."""
    created = api("POST", ORG_OOO, VACATION)
    assert created.status == 201 and created.data["userId"] == 2
    entry = created.data
    assert [e["id"] for e in api("GET", ORG_OOO).data] == [entry["id"]]
    assert api("GET", "/v2/me/ooo").data == []
    changed = api("PATCH", f"{ORG_OOO}/{entry['id']}", {"notes": "Flu"})
    assert changed.status == 200 and changed.data["notes"] == "Flu"
    assert api("DELETE", f"{ORG_OOO}/{entry['id']}").status == 200
    again = api("DELETE", f"{ORG_OOO}/{entry['id']}")
    assert again.status == 403
    assert again.json["error"]["message"] == "This OOO entry does not belong to this user."


def test_org_ooo_needs_an_org_its_admin_and_a_member(api: Api) -> None:
    """IsOrgGuard/RolesGuard: team 1 is not an organisation (403); IsUserInOrg: a user who
    is not a member is refused (403 "Forbidden resource"); ParseIntPipe on userId (400)."""
    assert api("POST", "/v2/organizations/1/users/2/ooo", VACATION).status == 403
    stranger = api("POST", "/v2/organizations/2/users/99/ooo", VACATION)
    assert stranger.status == 403 and stranger.json["error"]["message"] == "Forbidden resource"
    assert api("POST", "/v2/organizations/2/users/abc/ooo", VACATION).status == 400
    mine = api("POST", "/v2/me/ooo", VACATION).data
    not_theirs = api("DELETE", f"{ORG_OOO}/{mine['id']}")
    assert not_theirs.status == 403
