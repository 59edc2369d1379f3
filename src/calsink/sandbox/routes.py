"""The route table: path patterns, handlers, authentication and version rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from calsink.sandbox import (
    account,
    booking_actions,
    bookings,
    event_types,
    legacy,
    orgs,
    resources,
    slots,
    teams,
    webhook_routes,
)
from calsink.sandbox.context import Call, Env, Reply

Handler = Callable[[Call, Env], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth_required: bool
    version_group: str | None
    legacy_handler: Handler | None = None


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}$")


# version group -> the cal-api-version values the route answers to as its current contract
VERSION_GROUPS: dict[str, frozenset[str]] = {
    "bookings": frozenset({"2024-08-13", "2026-02-25"}),
    "event-types": frozenset({"2024-06-14"}),
    "schedules": frozenset({"2024-06-11"}),
    "slots": frozenset({"2024-09-04"}),
    # controllers of 2024-08-13 only, with no older one (guests, location)
    "bookings-2024-08-13": frozenset({"2024-08-13"}),
}

# Every cal-api-version Cal.com knows (API_VERSIONS in packages/platform/constants); any
# other value, like none, is routed to the 2024-04-15 controllers.
KNOWN_VERSIONS: frozenset[str] = frozenset(
    {"2024-04-15", "2024-06-11", "2024-06-14", "2024-08-13", "2024-09-04", "2026-02-25"}
)

# version group -> the known versions its 2024-04-15 controller also declares; a known
# version no controller of the path declares is a 404. Groups not named here: all of them
# (upstream's SlotsController_2024_04_15 declares four, and has no GET /v2/slots at all).
LEGACY_VERSIONS: dict[str, frozenset[str]] = {
    "event-types": frozenset({"2024-04-15", "2024-06-11"}),
    "schedules": frozenset({"2024-04-15"}),
    "bookings-2024-08-13": frozenset(),
}

_TABLE: list[tuple[str, str, Handler, bool, str | None, Handler | None]] = [
    ("POST", "/v2/bookings", bookings.create_booking, False, "bookings", bookings.create_booking),
    ("GET", "/v2/bookings", bookings.list_bookings, True, "bookings", bookings.list_bookings),
    ("GET", "/v2/bookings/{uid}", bookings.get_booking, False, "bookings", bookings.get_booking),
    (
        "POST",
        "/v2/bookings/{uid}/cancel",
        bookings.cancel_booking,
        False,
        "bookings",
        bookings.cancel_booking,
    ),
    (
        "POST",
        "/v2/bookings/{uid}/reschedule",
        bookings.reschedule_booking,
        False,
        "bookings",
        bookings.not_in_legacy,
    ),
    (
        "POST",
        "/v2/bookings/{uid}/confirm",
        bookings.confirm_booking,
        True,
        "bookings",
        bookings.not_in_legacy,
    ),
    (
        "POST",
        "/v2/bookings/{uid}/decline",
        bookings.decline_booking,
        True,
        "bookings",
        bookings.not_in_legacy,
    ),
    (
        "POST",
        "/v2/bookings/{uid}/mark-absent",
        booking_actions.mark_absent,
        True,
        "bookings",
        bookings.not_in_legacy,
    ),
    (
        "POST",
        "/v2/bookings/{uid}/reassign",
        booking_actions.reassign_booking,
        True,
        "bookings",
        bookings.not_in_legacy,
    ),
    (
        "POST",
        "/v2/bookings/{uid}/reassign/{userId}",
        booking_actions.reassign_booking_to_user,
        True,
        "bookings",
        bookings.not_in_legacy,
    ),
    (
        "POST",
        "/v2/bookings/{uid}/guests",
        booking_actions.add_guests,
        True,
        "bookings-2024-08-13",
        bookings.not_in_legacy,
    ),
    (
        "PATCH",
        "/v2/bookings/{uid}/location",
        booking_actions.update_location,
        True,
        "bookings-2024-08-13",
        bookings.not_in_legacy,
    ),
    (
        "POST",
        "/v2/event-types",
        event_types.create_event_type,
        True,
        "event-types",
        legacy.event_types,
    ),
    (
        "GET",
        "/v2/event-types",
        event_types.list_event_types,
        False,
        "event-types",
        legacy.event_types,
    ),
    (
        "GET",
        "/v2/event-types/{id}",
        event_types.get_event_type,
        True,
        "event-types",
        legacy.event_types,
    ),
    (
        "PATCH",
        "/v2/event-types/{id}",
        event_types.update_event_type,
        True,
        "event-types",
        legacy.event_types,
    ),
    (
        "DELETE",
        "/v2/event-types/{id}",
        event_types.delete_event_type,
        True,
        "event-types",
        legacy.event_types,
    ),
    ("POST", "/v2/schedules", account.create_schedule, True, "schedules", legacy.schedules),
    ("GET", "/v2/schedules", account.list_schedules, True, "schedules", legacy.schedules),
    ("GET", "/v2/schedules/{id}", account.get_schedule, True, "schedules", legacy.schedules),
    ("PATCH", "/v2/schedules/{id}", resources.update_schedule, True, "schedules", legacy.schedules),
    (
        "DELETE",
        "/v2/schedules/{id}",
        resources.delete_schedule,
        True,
        "schedules",
        legacy.schedules,
    ),
    ("POST", "/v2/webhooks", webhook_routes.create_webhook, True, None, None),
    ("GET", "/v2/webhooks", webhook_routes.list_webhooks, True, None, None),
    ("GET", "/v2/webhooks/{id}", webhook_routes.get_webhook, True, None, None),
    ("PATCH", "/v2/webhooks/{id}", webhook_routes.update_webhook, True, None, None),
    ("DELETE", "/v2/webhooks/{id}", webhook_routes.delete_webhook, True, None, None),
    ("POST", "/v2/me/ooo", account.create_ooo, True, None, None),
    ("GET", "/v2/me/ooo", account.list_ooo, True, None, None),
    ("GET", "/v2/me/ooo/{id}", account.get_ooo, True, None, None),
    ("PATCH", "/v2/me/ooo/{id}", resources.update_ooo, True, None, None),
    ("DELETE", "/v2/me/ooo/{id}", resources.delete_ooo, True, None, None),
    ("POST", "/v2/teams/{teamId}/event-types", teams.create_team_event_type, True, None, None),
    ("GET", "/v2/teams/{teamId}/event-types", teams.list_team_event_types, False, None, None),
    ("GET", "/v2/teams/{teamId}/event-types/{id}", teams.get_team_event_type, True, None, None),
    (
        "PATCH",
        "/v2/teams/{teamId}/event-types/{id}",
        teams.update_team_event_type,
        True,
        None,
        None,
    ),
    (
        "DELETE",
        "/v2/teams/{teamId}/event-types/{id}",
        teams.delete_team_event_type,
        True,
        None,
        None,
    ),
    (
        "POST",
        "/v2/organizations/{orgId}/users/{userId}/ooo",
        orgs.create_org_user_ooo,
        True,
        None,
        None,
    ),
    (
        "GET",
        "/v2/organizations/{orgId}/users/{userId}/ooo",
        orgs.list_org_user_ooo,
        True,
        None,
        None,
    ),
    (
        "PATCH",
        "/v2/organizations/{orgId}/users/{userId}/ooo/{id}",
        orgs.update_org_user_ooo,
        True,
        None,
        None,
    ),
    (
        "DELETE",
        "/v2/organizations/{orgId}/users/{userId}/ooo/{id}",
        orgs.delete_org_user_ooo,
        True,
        None,
        None,
    ),
    ("GET", "/v2/slots", slots.get_slots, False, "slots", bookings.not_in_legacy),
    ("GET", "/v2/me", account.me, True, None, None),
]

ROUTES: dict[str, list[Route]] = {}
for _method, _template, _handler, _auth, _group, _legacy in _TABLE:
    ROUTES.setdefault(_method, []).append(
        Route(_method, _compile(_template), _handler, _auth, _group, _legacy)
    )
EXACT: dict[tuple[str, str], Route] = {
    (method, template): route
    for method, template, *_ in _TABLE
    if "{" not in template
    for route in ROUTES[method]
    if route.pattern.pattern == f"^{template}$"
}


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    exact = EXACT.get((method, path))
    if exact is not None:
        return exact, {}
    for route in ROUTES.get(method, ()):
        found = route.pattern.match(path)
        if found is not None:
            return route, found.groupdict()
    return None
