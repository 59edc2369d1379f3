"""A team's event types: /v2/teams/{teamId}/event-types (no cal-api-version).

Upstream (calcom/cal.com, apps/api/v2/src/modules/teams/event-types/):
- controllers/teams-event-types.controller.ts (commit 007f9b2b): create, read one,
  update and delete need the TEAM_ADMIN role (RolesGuard); the list is public;
  ``teamId`` and, for update and delete, ``eventTypeId`` go through ParseIntPipe.
- services/teams-event-types.service.ts (commit 0936ee52): update of an event type not in
  the team is 404 "Event type with id … not found", delete 404 "Event type with ID=…
  does not exist."; the delete answers ``{id, title}``.
The body rules are the personal event types' (2024-06-14) plus the team's own fields
(CreateTeamEventTypeInput_2024_06_14 requires ``schedulingType``); hosts must be members.
"""

from __future__ import annotations

from typing import Any

from calsink.sandbox import output
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request, not_found
from calsink.sandbox.event_types import updated_spec, validate_event_type
from calsink.sandbox.model import Team, TeamEventType
from calsink.sandbox.validation import (
    Validator,
    at_least,
    is_boolean,
    is_in,
    is_int,
    is_object,
    require_object,
)

SCHEDULING_TYPES = ("collective", "roundRobin", "managed")
PRIORITIES = ("lowest", "low", "medium", "high", "highest")
NUMERIC = "Validation failed (numeric string is expected)"


def _number(raw: str) -> int:
    if not raw.isdigit():
        raise bad_request(NUMERIC)
    return int(raw)


def _team(call: Call, env: Env) -> Team:
    """The team of the path, which the caller must administer (RolesGuard, TEAM_ADMIN)."""
    user = call.require_user()
    team_id = _number(call.params["teamId"])
    team = env.store.teams.get(team_id)
    if team is None or team.is_organization or user.id not in team.admin_ids:
        raise ApiError(403, f"User is not a team admin of the team with id={team_id}.")
    return team


def _host_rules(v: Validator) -> None:
    v.field("userId", is_int, at_least(1), required=True)
    v.field("mandatory", is_boolean)
    v.field("priority", is_in(PRIORITIES))


def _team_fields(body: Any, *, creating: bool) -> dict[str, Any]:
    v = Validator(require_object(body))
    v.field("schedulingType", is_in(SCHEDULING_TYPES), required=creating)
    v.nested_list("hosts", _host_rules)
    v.field("assignAllTeamMembers", is_boolean)
    v.field("rescheduleWithSameRoundRobinHost", is_boolean)
    v.field("emailSettings", is_object)
    v.raise_if_invalid()
    return v.clean


def _checked_body(call: Call, team: Team, *, creating: bool) -> dict[str, Any]:
    data = validate_event_type(call.body, creating=creating)
    data.update(_team_fields(call.body, creating=creating))
    for host in data.get("hosts") or []:
        if host["userId"] not in team.member_ids:
            raise bad_request(f"User with id={host['userId']} is not a member of the team.")
    return data


def _slug_taken(env: Env, team_id: int, slug: str, except_id: int | None = None) -> bool:
    return any(
        et.team_id == team_id and et.spec["slug"] == slug and et.id != except_id
        for et in env.store.team_event_types.values()
    )


def create_team_event_type(call: Call, env: Env) -> Reply:
    team = _team(call, env)
    data = _checked_body(call, team, creating=True)
    if _slug_taken(env, team.id, data["slug"]):
        raise bad_request("Team already has an event type with this slug.")
    record = TeamEventType(env.store.next_id("event_type"), team.id, data)
    env.store.team_event_types[record.id] = record
    env.store.touch(record)
    return success(output.team_event_type(env.store, record), 201)


def list_team_event_types(call: Call, env: Env) -> Reply:
    team_id = _number(call.params["teamId"])
    found = [et for et in env.store.team_event_types.values() if et.team_id == team_id]
    slug = call.query.get("eventSlug")
    if slug is not None:
        found = [et for et in found if et.spec["slug"] == slug]
    return success([output.team_event_type(env.store, et) for et in found])


def _of_team(call: Call, env: Env, missing: str) -> tuple[Team, TeamEventType]:
    team = _team(call, env)
    event_type_id = _number(call.params["id"])
    record = env.store.team_event_types.get(event_type_id)
    if record is None or record.team_id != team.id:
        raise not_found(missing.format(event_type_id))
    return team, record


def get_team_event_type(call: Call, env: Env) -> Reply:
    _, record = _of_team(call, env, "Event type with id {} not found")
    return success(output.team_event_type(env.store, record))


def update_team_event_type(call: Call, env: Env) -> Reply:
    team, record = _of_team(call, env, "Event type with id {} not found")
    data = _checked_body(call, team, creating=False)
    if "slug" in data and _slug_taken(env, team.id, data["slug"], record.id):
        raise bad_request("Team already has an event type with this slug.")
    record.spec = updated_spec(record.spec, data)
    env.store.touch(record)
    return success(output.team_event_type(env.store, record))


def delete_team_event_type(call: Call, env: Env) -> Reply:
    _, record = _of_team(call, env, "Event type with ID={} does not exist.")
    del env.store.team_event_types[record.id]
    env.store.touch(record)
    return success({"id": record.id, "title": record.spec["title"]})
