"""The sandbox's state: users, schedules, event types, bookings, webhooks, out-of-office entries.

Everything lives in one ``Store``. Handlers change it synchronously (no await between
a check and its commit), which is what makes concurrent requests safe on one event loop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from calsink.sandbox.timeutil import format_utc, parse_iso

ACTIVE_STATUSES = frozenset({"accepted", "pending"})


@dataclass
class User:
    id: int
    username: str
    email: str
    name: str
    time_zone: str
    default_schedule_id: int | None
    teammate_ids: list[int] = field(default_factory=list)


@dataclass
class Team:
    """A team, or an organisation (``is_organization``): its members and admins."""

    id: int
    name: str
    slug: str
    member_ids: list[int]
    admin_ids: list[int]
    is_organization: bool = False


@dataclass
class TeamEventType:
    id: int
    team_id: int
    spec: dict[str, Any]


@dataclass
class Schedule:
    id: int
    owner_id: int
    name: str
    time_zone: str
    availability: list[dict[str, Any]]
    is_default: bool
    overrides: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EventType:
    id: int
    owner_id: int
    spec: dict[str, Any]

    @property
    def slug(self) -> str:
        return str(self.spec["slug"])

    @property
    def length(self) -> int:
        return int(self.spec["lengthInMinutes"])

    @property
    def requires_confirmation(self) -> bool:
        policy = self.spec.get("confirmationPolicy")
        if isinstance(policy, dict) and not policy.get("disabled", False):
            return True
        return bool(self.spec.get("requiresConfirmation", False))

    @property
    def seats(self) -> int | None:
        seats = self.spec.get("seats")
        if isinstance(seats, dict) and not seats.get("disabled", False):
            count = seats.get("seatsPerTimeSlot")
            return int(count) if isinstance(count, int) else None
        return None

    @property
    def recurrence(self) -> dict[str, Any] | None:
        recurrence = self.spec.get("recurrence")
        if isinstance(recurrence, dict) and not recurrence.get("disabled", False):
            return recurrence
        return None

    @property
    def before_buffer(self) -> int:
        return int(self.spec.get("beforeEventBuffer") or 0)

    @property
    def after_buffer(self) -> int:
        return int(self.spec.get("afterEventBuffer") or 0)


@dataclass
class Booking:
    id: int
    uid: str
    event_type_id: int
    host_id: int
    title: str
    description: str
    status: str
    start: datetime
    end: datetime
    attendees: list[dict[str, Any]]
    guests: list[str]
    location: str
    metadata: dict[str, Any]
    responses: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    ics_uid: str
    before_buffer: int = 0
    after_buffer: int = 0
    seated: bool = False
    recurring_booking_uid: str | None = None
    cancellation_reason: str | None = None
    cancelled_by_email: str | None = None
    rescheduling_reason: str | None = None
    rescheduled_by_email: str | None = None
    rescheduled_from_uid: str | None = None
    rescheduled_to_uid: str | None = None
    absent_host: bool = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def busy_from(self) -> datetime:
        return self.start - timedelta(minutes=self.before_buffer)

    def busy_until(self) -> datetime:
        return self.end + timedelta(minutes=self.after_buffer)


@dataclass
class Webhook:
    id: str
    user_id: int
    subscriber_url: str
    triggers: list[str]
    active: bool
    payload_template: str | None
    secret: str | None


@dataclass
class OutOfOffice:
    id: int
    uuid: str
    user_id: int
    to_user_id: int | None
    start: datetime
    end: datetime
    notes: str | None
    reason: str
    created_at: datetime


_DATETIME_FIELDS = {"start", "end", "created_at", "updated_at"}

# The store's collections: the record type each holds and the field that keys it.
COLLECTIONS: dict[str, tuple[type[Any], str]] = {
    "users": (User, "id"),
    "schedules": (Schedule, "id"),
    "event_types": (EventType, "id"),
    "bookings": (Booking, "uid"),
    "webhooks": (Webhook, "id"),
    "ooo": (OutOfOffice, "id"),
    "teams": (Team, "id"),
    "team_event_types": (TeamEventType, "id"),
}
_COLLECTION_OF = {cls: (name, key) for name, (cls, key) in COLLECTIONS.items()}


def _dump(record: Any) -> dict[str, Any]:
    data = asdict(record)
    for key in _DATETIME_FIELDS & data.keys():
        data[key] = format_utc(data[key])
    return data


def _load(cls: type[Any], data: dict[str, Any]) -> Any:
    values = dict(data)
    for key in _DATETIME_FIELDS & values.keys():
        values[key] = parse_iso(values[key])
    return cls(**values)


class Store:
    """All records, the id counters and the indexes the handlers need."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.schedules: dict[int, Schedule] = {}
        self.event_types: dict[int, EventType] = {}
        self.bookings: dict[str, Booking] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.ooo: dict[int, OutOfOffice] = {}
        self.teams: dict[int, Team] = {}
        self.team_event_types: dict[int, TeamEventType] = {}
        self.counters: dict[str, int] = defaultdict(int)
        self._by_host_day: dict[tuple[int, int], list[Booking]] = defaultdict(list)
        self.version = 0
        self._changed: dict[tuple[str, Any], None] = {}
        self._changed_all = False

    def next_id(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def touch(self, *records: Any) -> None:
        """Note a change to ``records`` (added, changed or removed); with none, to anything."""
        self.version += 1
        if not records:
            self._changed_all = True
        for record in records:
            name, key = _COLLECTION_OF[type(record)]
            self._changed[(name, getattr(record, key))] = None

    def take_changes(self) -> dict[str, Any]:
        """What changed since the last call: the records as they are now (the objects
        themselves: serialize before the next change), the keys of those removed and the id
        counters, or the whole state when a change named no record."""
        if self._changed_all:
            entry: dict[str, Any] = {"full": self.to_json()}
        else:
            put: dict[str, list[Any]] = defaultdict(list)
            gone: dict[str, list[Any]] = defaultdict(list)
            for name, key in self._changed:
                record = getattr(self, name).get(key)
                if record is None:
                    gone[name].append(key)
                else:
                    put[name].append(record)
            entry = {"counters": dict(self.counters), "put": put, "gone": gone}
        self._changed.clear()
        self._changed_all = False
        return entry

    def add_booking(self, booking: Booking) -> None:
        self.bookings[booking.uid] = booking
        self._index(booking)
        self.touch(booking)

    def reindex(self, booking: Booking) -> None:
        """Index ``booking`` again after its host changed (a reassignment)."""
        for key, day_list in self._by_host_day.items():
            self._by_host_day[key] = [b for b in day_list if b is not booking]
        self._index(booking)

    def _index(self, booking: Booking) -> None:
        first = booking.busy_from().toordinal()
        last = booking.busy_until().toordinal()
        for day in range(first, last + 1):
            self._by_host_day[(booking.host_id, day)].append(booking)

    def bookings_near(self, host_id: int, start: datetime, end: datetime) -> list[Booking]:
        found: list[Booking] = []
        seen: set[str] = set()
        for day in range(start.toordinal() - 1, end.toordinal() + 2):
            for booking in self._by_host_day.get((host_id, day), ()):
                if booking.uid not in seen:
                    seen.add(booking.uid)
                    found.append(booking)
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "counters": dict(self.counters),
            "users": [asdict(user) for user in self.users.values()],
            "schedules": [asdict(schedule) for schedule in self.schedules.values()],
            "event_types": [asdict(event_type) for event_type in self.event_types.values()],
            "bookings": [_dump(booking) for booking in self.bookings.values()],
            "webhooks": [asdict(webhook) for webhook in self.webhooks.values()],
            "ooo": [_dump(entry) for entry in self.ooo.values()],
            "teams": [asdict(team) for team in self.teams.values()],
            "team_event_types": [asdict(et) for et in self.team_event_types.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Store:
        store = cls()
        store.counters.update({str(k): int(v) for k, v in data.get("counters", {}).items()})
        for item in data.get("users", []):
            user = User(**item)
            store.users[user.id] = user
        for item in data.get("schedules", []):
            schedule = Schedule(**item)
            store.schedules[schedule.id] = schedule
        for item in data.get("event_types", []):
            event_type = EventType(**item)
            store.event_types[event_type.id] = event_type
        for item in data.get("bookings", []):
            booking: Booking = _load(Booking, item)
            store.bookings[booking.uid] = booking
            store._index(booking)
        for item in data.get("webhooks", []):
            webhook = Webhook(**item)
            store.webhooks[webhook.id] = webhook
        for item in data.get("ooo", []):
            entry: OutOfOffice = _load(OutOfOffice, item)
            store.ooo[entry.id] = entry
        for item in data.get("teams", []):
            team = Team(**item)
            store.teams[team.id] = team
        for item in data.get("team_event_types", []):
            team_event_type = TeamEventType(**item)
            store.team_event_types[team_event_type.id] = team_event_type
        return store
