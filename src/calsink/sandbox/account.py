"""The caller's account: /v2/me, schedules (2024-06-11) and out-of-office entries."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from calsink.sandbox import output
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request, conflict, not_found
from calsink.sandbox.model import OutOfOffice, Schedule, User
from calsink.sandbox.seed import WORKING_HOURS
from calsink.sandbox.timeutil import WEEKDAYS, minutes_of, parse_iso
from calsink.sandbox.validation import (
    Validator,
    at_least,
    each,
    is_array,
    is_boolean,
    is_hh_mm,
    is_in,
    is_int,
    is_string,
    is_time_zone_check,
    matches,
    require_object,
    validation_error,
)


def me(call: Call, env: Env) -> Reply:
    return success(output.me(call.require_user()))


def _availability_rules(v: Validator) -> None:
    v.field("days", is_array, each(is_in(WEEKDAYS)), required=True)
    v.field("startTime", is_hh_mm, required=True)
    v.field("endTime", is_hh_mm, required=True)


def _override_rules(v: Validator) -> None:
    v.field(
        "date",
        matches(r"^\d{4}-\d{2}-\d{2}$", "{prop} must be a valid ISO 8601 date string"),
        required=True,
    )
    v.field("startTime", is_hh_mm, required=True)
    v.field("endTime", is_hh_mm, required=True)


def schedule_lists(v: Validator) -> tuple[list[Any] | None, list[Any] | None]:
    """The availability and overrides a schedule body gives (None when absent)."""
    return (
        v.nested_list("availability", _availability_rules),
        v.nested_list("overrides", _override_rules),
    )


def check_time_ranges(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        if (
            minutes_of(rule["endTime"]) <= minutes_of(rule["startTime"])
            and rule["endTime"] != "00:00"
        ):
            raise bad_request(
                f"endTime {rule['endTime']} must be after startTime {rule['startTime']}."
            )


def create_schedule(call: Call, env: Env) -> Reply:
    user = call.require_user()
    v = Validator(require_object(call.body))
    v.field("name", is_string, required=True)
    v.field("timeZone", is_time_zone_check, required=True)
    v.field("isDefault", is_boolean, required=True)
    availability, overrides = schedule_lists(v)
    v.raise_if_invalid()
    data = v.clean
    check_time_ranges((availability or []) + (overrides or []))
    store = env.store
    record = Schedule(
        id=store.next_id("schedule"),
        owner_id=user.id,
        name=data["name"],
        time_zone=data["timeZone"],
        availability=availability if availability is not None else [dict(r) for r in WORKING_HOURS],
        is_default=data["isDefault"],
        overrides=overrides or [],
    )
    changed: list[Any] = [record]
    if record.is_default:
        for other in store.schedules.values():
            if other.owner_id == user.id:
                other.is_default = False
                changed.append(other)
        user.default_schedule_id = record.id
        changed.append(user)
    store.schedules[record.id] = record
    store.touch(*changed)
    return success(output.schedule(record), 201)


def list_schedules(call: Call, env: Env) -> Reply:
    user = call.require_user()
    mine = [s for s in env.store.schedules.values() if s.owner_id == user.id]
    return success([output.schedule(s) for s in sorted(mine, key=lambda s: s.id)])


def get_schedule(call: Call, env: Env) -> Reply:
    user = call.require_user()
    raw = call.params["id"]
    record = env.store.schedules.get(int(raw)) if raw.isdigit() else None
    if record is None or record.owner_id != user.id:
        raise not_found(f"Schedule with id={raw} not found")
    return success(output.schedule(record))


_OOO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
REASONS = ("unspecified", "vacation", "travel", "sick", "public_holiday")


def _ooo_date(prop: str, value: Any) -> tuple[str, str] | None:
    ok = (
        isinstance(value, str)
        and _OOO_DATE.match(value) is not None
        and parse_iso(value) is not None
    )
    return None if ok else ("isDate", "Invalid Date.")


def ooo_body(body: Any, *, creating: bool) -> dict[str, Any]:
    """The out-of-office fields of ``body``, checked (all optional for an update)."""
    v = Validator(require_object(body))
    v.field("start", _ooo_date, required=creating)
    v.field("end", _ooo_date, required=creating)
    v.field("notes", is_string)
    v.field("toUserId", is_int, at_least(1))
    v.field("reason", is_in(REASONS))
    v.raise_if_invalid()
    return v.clean


def ooo_days(data: dict[str, Any]) -> tuple[datetime, datetime]:
    """The whole UTC days ``data``'s start and end fall on, checked in order."""
    start_day = parse_iso(data["start"])
    end_day = parse_iso(data["end"])
    assert start_day is not None and end_day is not None
    start = datetime.combine(start_day.date(), time(0), tzinfo=UTC)
    end = datetime.combine(end_day.date(), time(0), tzinfo=UTC) + timedelta(days=1, milliseconds=-1)
    if start > end:
        raise bad_request("Start date must be before end date.")
    return start, end


def check_redirect(user: User, to_user_id: int | None, env: Env) -> None:
    if to_user_id is not None:
        if to_user_id == user.id:
            raise bad_request("You can't redirect to yourself.")
        if to_user_id not in user.teammate_ids or to_user_id not in env.store.users:
            raise bad_request(f"User with id={to_user_id} is not a member of your team.")


def check_no_duplicate(env: Env, user_id: int, start: datetime, end: datetime) -> None:
    for entry in env.store.ooo.values():
        if entry.user_id == user_id and entry.start == start and entry.end == end:
            raise conflict("Cannot create a duplicate out of office entry for the same dates.")


def create_ooo(call: Call, env: Env) -> Reply:
    return add_ooo(call.require_user(), call, env)


def add_ooo(user: User, call: Call, env: Env) -> Reply:
    """A new out-of-office entry for ``user`` from the call's body."""
    data = ooo_body(call.body, creating=True)
    start, end = ooo_days(data)
    to_user_id = data.get("toUserId")
    check_redirect(user, to_user_id, env)
    store = env.store
    check_no_duplicate(env, user.id, start, end)
    record = OutOfOffice(
        id=store.next_id("ooo"),
        uuid=str(uuid.uuid4()),
        user_id=user.id,
        to_user_id=to_user_id,
        start=start,
        end=end,
        notes=data.get("notes"),
        reason=data.get("reason", "unspecified"),
        created_at=call.now,
    )
    store.ooo[record.id] = record
    store.touch(record)
    env.emit("OOO_CREATED", user.id, lambda: output.ooo_webhook_payload(store, record))
    return success(output.ooo(record), 201)


def list_ooo(call: Call, env: Env) -> Reply:
    user = call.require_user()
    query = call.query
    errors: list[dict[str, Any]] = []
    take, skip = 250, 0
    for name, low, high in (("take", 1, 250), ("skip", 0, 10**9)):
        if name in query:
            raw = query[name]
            value = int(raw) if raw.isdigit() else -1
            if not low <= value <= high:
                message = (
                    f"{name} must not be less than {low}"
                    if value < low
                    else f"{name} must not be greater than {high}"
                )
                errors.append(
                    {
                        "value": raw,
                        "property": name,
                        "children": [],
                        "constraints": {"min" if value < low else "max": message},
                    }
                )
            elif name == "take":
                take = value
            else:
                skip = value
    if errors:
        raise validation_error(errors)
    mine = [e for e in env.store.ooo.values() if e.user_id == user.id]
    mine.sort(key=lambda e: e.id)
    for param, attribute in (("sortStart", "start"), ("sortEnd", "end")):
        if query.get(param) in ("asc", "desc"):
            mine.sort(key=lambda e: getattr(e, attribute), reverse=query[param] == "desc")
    return success([output.ooo(e) for e in mine[skip : skip + take]])


def get_ooo(call: Call, env: Env) -> Reply:
    user = call.require_user()
    raw = call.params["id"]
    record = env.store.ooo.get(int(raw)) if raw.isdigit() else None
    if record is None:
        raise not_found(f"Out of office entry with id={raw} not found")
    if record.user_id != user.id:
        raise ApiError(403, "This out of office entry belongs to another user.")
    return success(output.ooo(record))
