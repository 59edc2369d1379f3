"""Changing and deleting the caller's schedules and out-of-office entries.

Upstream (calcom/cal.com, apps/api/v2/src):
- ee/schedules/schedules_2024_06_11/services/schedules.service.ts (commit 03670679):
  ``updateUserSchedule`` answers 404 and ``deleteUserSchedule`` 400 "Schedule with ID=… does
  not exist." for a missing schedule, both 403 for another user's; an update's
  availability (or overrides) replaces the whole list (schedules.repository.ts).
- modules/ooo/guards/is-user-ooo.ts (commit 61a9c305): a missing entry, like another
  user's, is 403 "This OOO entry does not belong to this user." (user-ooo.controller
  e2e: "should fail to update/delete a non-existent ooo entry" expect 403).
- modules/ooo/services/ooo.service.ts (commit 03670679) ``updateUserOOO``: start and end
  together or neither, start before end, and the duplicate check, which finds the entry
  itself when its own dates are sent again (409).
"""

from __future__ import annotations

from typing import Any

from calsink.sandbox import output
from calsink.sandbox.account import (
    check_no_duplicate,
    check_redirect,
    check_time_ranges,
    ooo_body,
    ooo_days,
    schedule_lists,
)
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request
from calsink.sandbox.model import OutOfOffice, Schedule, User
from calsink.sandbox.validation import (
    Validator,
    is_boolean,
    is_string,
    is_time_zone_check,
    require_object,
)


def _schedule(call: Call, env: Env, missing: int) -> tuple[User, Schedule]:
    user = call.require_user()
    raw = call.params["id"]
    record = env.store.schedules.get(int(raw)) if raw.isdigit() else None
    if record is None:
        raise ApiError(missing, f"Schedule with ID={raw} does not exist.")
    if record.owner_id != user.id:
        raise ApiError(403, f"User with ID={user.id} does not own schedule with ID={raw}")
    return user, record


def update_schedule(call: Call, env: Env) -> Reply:
    user, record = _schedule(call, env, 404)
    v = Validator(require_object(call.body))
    v.field("name", is_string)
    v.field("timeZone", is_time_zone_check)
    v.field("isDefault", is_boolean)
    availability, overrides = schedule_lists(v)
    v.raise_if_invalid()
    data = v.clean
    check_time_ranges((availability or []) + (overrides or []))
    changed: list[Any] = [record]
    record.name = data.get("name", record.name)
    record.time_zone = data.get("timeZone", record.time_zone)
    if availability is not None:
        record.availability = availability
    if overrides is not None:
        record.overrides = overrides
    if data.get("isDefault") is True:
        changed += _make_default(env, user, record)
    env.store.touch(*changed)
    return success(output.schedule(record))


def _make_default(env: Env, user: User, record: Schedule) -> list[Any]:
    changed: list[Any] = [user]
    for other in env.store.schedules.values():
        if other.owner_id == user.id and other.is_default and other is not record:
            other.is_default = False
            changed.append(other)
    record.is_default = True
    user.default_schedule_id = record.id
    return changed


def delete_schedule(call: Call, env: Env) -> Reply:
    user, record = _schedule(call, env, 400)
    del env.store.schedules[record.id]
    changed: list[Any] = [record]
    if user.default_schedule_id == record.id:
        user.default_schedule_id = None
        changed.append(user)
    env.store.touch(*changed)
    return Reply(200, {"status": "success"})


def _ooo(call: Call, env: Env, user: User) -> OutOfOffice:
    raw = call.params["id"]
    if not raw.isdigit():
        raise bad_request("Validation failed (numeric string is expected)")
    record = env.store.ooo.get(int(raw))
    if record is None or record.user_id != user.id:
        raise ApiError(403, "This OOO entry does not belong to this user.")
    return record


def update_ooo(call: Call, env: Env) -> Reply:
    return change_ooo(call.require_user(), call, env)


def delete_ooo(call: Call, env: Env) -> Reply:
    return remove_ooo(call.require_user(), call, env)


def change_ooo(user: User, call: Call, env: Env) -> Reply:
    """Update ``user``'s out-of-office entry named by the path."""
    record = _ooo(call, env, user)
    data = ooo_body(call.body, creating=False)
    if ("start" in data) != ("end" in data):
        raise bad_request("Please specify both ooo start and end time.")
    if "start" in data:
        start, end = ooo_days(data)
        check_no_duplicate(env, user.id, start, end)
        record.start, record.end = start, end
    if "toUserId" in data:
        check_redirect(user, data["toUserId"], env)
        record.to_user_id = data["toUserId"]
    record.notes = data.get("notes", record.notes)
    record.reason = data.get("reason", record.reason)
    env.store.touch(record)
    return success(output.ooo(record))


def remove_ooo(user: User, call: Call, env: Env) -> Reply:
    """Delete ``user``'s out-of-office entry named by the path."""
    record = _ooo(call, env, user)
    del env.store.ooo[record.id]
    env.store.touch(record)
    return success(output.ooo(record))
