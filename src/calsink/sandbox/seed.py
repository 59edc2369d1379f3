"""The demo account every example and test relies on (ids fixed; see docs/sandbox.md)."""

from __future__ import annotations

from calsink.sandbox.model import EventType, Schedule, Store, Team, User

WORKING_HOURS = [
    {
        "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "startTime": "09:00",
        "endTime": "17:00",
    }
]


def base_store() -> Store:
    """The users only: what `--empty` starts from."""
    store = Store()
    store.users[1] = User(1, "demo", "demo@example.com", "Demo User", "America/New_York", None, [2])
    store.users[2] = User(
        2, "teammate", "teammate@example.com", "Team Mate", "America/New_York", None, [1]
    )
    store.counters["user"] = 2
    # the key's user administers a team and an organisation the teammate belongs to
    store.teams[1] = Team(1, "Demo Team", "demo-team", [1, 2], [1])
    store.teams[2] = Team(2, "Demo Org", "demo-org", [1, 2], [1], is_organization=True)
    store.counters["team"] = 2
    return store


def seeded_store() -> Store:
    store = base_store()
    store.schedules[1] = Schedule(
        1, 1, "Working hours", "America/New_York", WORKING_HOURS, True, []
    )
    store.users[1].default_schedule_id = 1
    store.schedules[2] = Schedule(
        2, 2, "Working hours", "America/New_York", WORKING_HOURS, True, []
    )
    store.users[2].default_schedule_id = 2
    store.counters["schedule"] = 2
    specs = [
        {"title": "30 Minute Meeting", "slug": "30min", "lengthInMinutes": 30},
        {
            "title": "Intro Call",
            "slug": "intro-call",
            "lengthInMinutes": 30,
            "confirmationPolicy": {"type": "always", "blockUnconfirmedBookingsInBooker": True},
        },
        {
            "title": "Weekly Check-in",
            "slug": "weekly-check-in",
            "lengthInMinutes": 30,
            "recurrence": {"interval": 1, "occurrences": 4, "frequency": "weekly"},
        },
        {
            "title": "Group Workshop",
            "slug": "workshop",
            "lengthInMinutes": 60,
            "seats": {
                "seatsPerTimeSlot": 5,
                "showAttendeeInfo": False,
                "showAvailabilityCount": True,
            },
        },
    ]
    for index, spec in enumerate(specs, start=1):
        spec.setdefault("description", "")
        store.event_types[index] = EventType(index, 1, spec)
    store.counters["event_type"] = len(specs)
    return store
