"""The ten templates match SPEC.md's table; the version guard knows Cal.com's versioned routes."""

from __future__ import annotations

import pytest

from calsink.endpoints import TEMPLATES, find_known_endpoint, get_template

SPEC_TABLE = {
    # name: (method, path, cal-api-version, path parameters, body rule, required, defaults)
    "create-booking": (
        "POST",
        "/v2/bookings",
        "2026-02-25",
        (),
        "record",
        {"start", "attendee"},
        {},
    ),
    "cancel-booking": (
        "POST",
        "/v2/bookings/{uid}/cancel",
        "2026-02-25",
        ("uid",),
        "fields",
        set(),
        {},
    ),
    "reschedule-booking": (
        "POST",
        "/v2/bookings/{uid}/reschedule",
        "2026-02-25",
        ("uid",),
        "fields",
        {"start"},
        {},
    ),
    "confirm-booking": (
        "POST",
        "/v2/bookings/{uid}/confirm",
        "2026-02-25",
        ("uid",),
        "empty",
        set(),
        {},
    ),
    "decline-booking": (
        "POST",
        "/v2/bookings/{uid}/decline",
        "2026-02-25",
        ("uid",),
        "fields",
        set(),
        {},
    ),
    "add-guests": (
        "POST",
        "/v2/bookings/{uid}/guests",
        "2024-08-13",
        ("uid",),
        "fields",
        {"guests"},
        {},
    ),
    "update-booking-location": (
        "PATCH",
        "/v2/bookings/{uid}/location",
        "2024-08-13",
        ("uid",),
        "fields",
        {"location"},
        {},
    ),
    "mark-absent": (
        "POST",
        "/v2/bookings/{uid}/mark-absent",
        "2026-02-25",
        ("uid",),
        "fields",
        set(),
        {},
    ),
    "reassign-booking": (
        "POST",
        "/v2/bookings/{uid}/reassign",
        "2026-02-25",
        ("uid",),
        "none",
        set(),
        {},
    ),
    "reassign-booking-to-user": (
        "POST",
        "/v2/bookings/{uid}/reassign/{userId}",
        "2026-02-25",
        ("uid", "userId"),
        "fields",
        set(),
        {},
    ),
    "create-event-type": (
        "POST",
        "/v2/event-types",
        "2024-06-14",
        (),
        "record",
        {"title", "slug", "lengthInMinutes"},
        {},
    ),
    "update-event-type": (
        "PATCH",
        "/v2/event-types/{id}",
        "2024-06-14",
        ("id",),
        "fields",
        set(),
        {},
    ),
    "delete-event-type": (
        "DELETE",
        "/v2/event-types/{id}",
        "2024-06-14",
        ("id",),
        "none",
        set(),
        {},
    ),
    "create-schedule": (
        "POST",
        "/v2/schedules",
        "2024-06-11",
        (),
        "record",
        {"name", "timeZone"},  # upstream (a36c1b79): availability optional, Mon-Fri 9-17
        {"isDefault": False},
    ),
    "create-webhook": (
        "POST",
        "/v2/webhooks",
        None,
        (),
        "record",
        {"subscriberUrl", "triggers"},
        {"active": True},
    ),
    "create-out-of-office": ("POST", "/v2/me/ooo", None, (), "record", {"start", "end"}, {}),
    # schedules, webhooks and out-of-office entries: change and delete
    "update-schedule": ("PATCH", "/v2/schedules/{id}", "2024-06-11", ("id",), "fields", set(), {}),
    "delete-schedule": ("DELETE", "/v2/schedules/{id}", "2024-06-11", ("id",), "none", set(), {}),
    "update-webhook": ("PATCH", "/v2/webhooks/{id}", None, ("id",), "fields", set(), {}),
    "delete-webhook": ("DELETE", "/v2/webhooks/{id}", None, ("id",), "none", set(), {}),
    "update-out-of-office": ("PATCH", "/v2/me/ooo/{id}", None, ("id",), "fields", set(), {}),
    "delete-out-of-office": ("DELETE", "/v2/me/ooo/{id}", None, ("id",), "none", set(), {}),
    # team event types (TeamsEventTypesController: no cal-api-version)
    "create-team-event-type": (
        "POST",
        "/v2/teams/{teamId}/event-types",
        None,
        ("teamId",),
        "record",
        {"title", "slug", "lengthInMinutes", "schedulingType"},
        {},
    ),
    "update-team-event-type": (
        "PATCH",
        "/v2/teams/{teamId}/event-types/{id}",
        None,
        ("teamId", "id"),
        "fields",
        set(),
        {},
    ),
    "delete-team-event-type": (
        "DELETE",
        "/v2/teams/{teamId}/event-types/{id}",
        None,
        ("teamId", "id"),
        "none",
        set(),
        {},
    ),  # out-of-office entries of an organisation's users (OrganizationsUsersOOOController)
    "create-org-user-out-of-office": (
        "POST",
        "/v2/organizations/{orgId}/users/{userId}/ooo",
        None,
        ("orgId", "userId"),
        "record",
        {"start", "end"},
        {},
    ),
    "update-org-user-out-of-office": (
        "PATCH",
        "/v2/organizations/{orgId}/users/{userId}/ooo/{id}",
        None,
        ("orgId", "userId", "id"),
        "fields",
        set(),
        {},
    ),
    "delete-org-user-out-of-office": (
        "DELETE",
        "/v2/organizations/{orgId}/users/{userId}/ooo/{id}",
        None,
        ("orgId", "userId", "id"),
        "none",
        set(),
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(SPEC_TABLE))
def test_template_matches_the_spec_table(name: str) -> None:
    method, path, version, params, rule, required, defaults = SPEC_TABLE[name]
    endpoint = get_template(name)
    assert (endpoint.method, endpoint.path, endpoint.api_version) == (method, path, version)
    assert endpoint.param_names == params
    assert endpoint.body_rule == rule
    assert set(endpoint.required) == required
    assert dict(endpoint.defaults) == defaults


def test_the_templates_are_exactly_those_of_the_table() -> None:
    assert set(TEMPLATES) == set(SPEC_TABLE)


def test_destructive_and_created_resources() -> None:
    destructive = {name for name, e in TEMPLATES.items() if e.destructive}
    assert destructive == {
        "cancel-booking",
        "delete-event-type",
        "decline-booking",
        "delete-schedule",
        "delete-webhook",
        "delete-out-of-office",
        "delete-team-event-type",
        "delete-org-user-out-of-office",
    }
    assert TEMPLATES["create-booking"].creates == "booking"
    assert TEMPLATES["create-booking"].identifier == "uid"
    assert TEMPLATES["create-event-type"].identifier == "id"
    assert TEMPLATES["create-out-of-office"].creates == "ooo"


def test_unknown_template_lists_the_names() -> None:
    with pytest.raises(ValueError, match="create-booking") as info:
        get_template("create-bookings")
    assert "unknown template 'create-bookings'" in str(info.value)


@pytest.mark.parametrize(
    ("method", "path", "version"),
    [
        ("POST", "/v2/bookings/x/decline", "2026-02-25"),
        ("POST", "/v2/bookings/x/guests", "2024-08-13"),
        ("PATCH", "/v2/bookings/x/location", "2024-08-13"),
        ("POST", "/v2/bookings", "2026-02-25"),
        ("PATCH", "/v2/event-types/x", "2024-06-14"),
        ("POST", "/v2/schedules", "2024-06-11"),
        ("GET", "/v2/slots", "2024-09-04"),
    ],
)
def test_known_endpoints_for_the_version_guard(method: str, path: str, version: str) -> None:
    known = find_known_endpoint(method, path)
    assert known is not None
    assert known.recommended == version


def test_unversioned_routes_are_not_guarded() -> None:
    assert find_known_endpoint("POST", "/v2/webhooks") is None
    assert find_known_endpoint("POST", "/v2/me/ooo") is None


def test_the_page_form_and_calsink_templates_read_the_one_description() -> None:
    from calsink.cli.templates import template_json
    from calsink.ui.views import template_view

    for endpoint in TEMPLATES.values():
        view, shown = template_view(endpoint), template_json(endpoint)
        assert [f["name"] for f in view["fields"]] == [f.name for f in endpoint.fields]
        assert view["required"] == shown["required"] == list(endpoint.required)
        assert view["destructive"] == shown["destructive"] == endpoint.action.destructive
        assert view["guidance"] == endpoint.guidance
    webhook = template_view(TEMPLATES["create-webhook"])
    triggers = next(f for f in webhook["fields"] if f["name"] == "triggers")
    assert "ROUTING_FORM_FALLBACK_HIT" in triggers["choices"] and triggers["required"]
    booking = template_view(TEMPLATES["create-booking"])
    attendee = next(f for f in booking["fields"] if f["name"] == "attendee")
    assert [c["name"] for c in attendee["children"] if c["required"]] == ["name", "timeZone"]
