"""What the page is shown: library values turned into plain JSON, with secrets kept out."""

from __future__ import annotations

from typing import Any

from calsink.endpoints import Endpoint
from calsink.records import Filtered, Rejection, Request

# What the page tells a user about each endpoint before they map records to it.
GUIDANCE = {
    "create-booking": (
        "Each record becomes one booking. Give the start as an instant in UTC (for example "
        "2030-01-07T14:00:00Z), the event type by eventTypeId (or eventTypeSlug with username "
        "or teamSlug), and the attendee with name, timeZone and email or phoneNumber. Cal.com "
        "answers with the new booking's uid: keep the responses to cancel or reschedule later."
    ),
    "cancel-booking": (
        "Each record cancels one existing booking, named by its uid in the path (a column "
        "holding the uid Cal.com gave when it was made, or {uid} taken from an earlier flow's "
        "ledger). cancellationReason is shown to the attendees. A cancellation cannot be "
        "undone: tests and runs ask first."
    ),
    "reschedule-booking": (
        "Each record moves one booking, named by its uid in the path, to a new start (an "
        "instant in UTC). Cal.com cancels the old booking and answers with a new uid: later "
        "flows that refer to the booking need that new uid, which the responses and the "
        "ledger keep."
    ),
    "confirm-booking": (
        "Each record confirms one pending booking, named by its uid in the path; only event "
        "types that require confirmation make pending bookings. The body may carry a reason; "
        "a booking that is already confirmed or was cancelled is refused by Cal.com."
    ),
    "create-event-type": (
        "Each record becomes one event type of the key's user: a title, a slug that is "
        "unique for that user, and lengthInMinutes. Locations, booking fields, limits and "
        "buffers are optional; Cal.com answers with the new event type's id, which bookings "
        "use as eventTypeId."
    ),
    "update-event-type": (
        "Each record changes one event type, named by its id in the path; only the fields "
        "the record gives change. Use it to rename event types, change their length or "
        "locations in bulk; the id comes from a column or from the flow that created them."
    ),
    "delete-event-type": (
        "Each record deletes one event type, named by its id in the path; the body is empty. "
        "Existing bookings of the event type stay, but nobody can book it any more. Deleting "
        "cannot be undone: tests and runs ask first."
    ),
    "create-schedule": (
        "Each record becomes one availability schedule: a name, a timeZone and availability "
        "(days with start and end times). Mark one as isDefault to make it the user's "
        "default; overrides change single dates. Event types refer to it by scheduleId."
    ),
    "create-webhook": (
        "Each record subscribes one URL to Cal.com events: subscriberUrl and the triggers "
        "(for example BOOKING_CREATED, BOOKING_CANCELLED). A secret makes Cal.com sign its "
        "deliveries; calsink listen can receive and check them."
    ),
    "create-out-of-office": (
        "Each record records one out-of-office entry for the key's user: start and end as "
        "UTC instants ending in Z (Cal.com keeps whole days). A reason and notes are "
        "optional; toUserId forwards bookings to a colleague while away."
    ),
}


def template_view(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "method": endpoint.method,
        "path": endpoint.path,
        "api_version": endpoint.api_version,
        "path_params": [{"name": name, "label": label} for name, label in endpoint.path_params],
        "required": list(endpoint.required),
        "optional": list(endpoint.optional),
        "description": endpoint.description,
        "guidance": GUIDANCE.get(endpoint.name, endpoint.description),
        "notes": list(endpoint.notes),
        "example": endpoint.example,
        "destructive": endpoint.destructive,
        "creates": endpoint.creates,
    }


def request_view(request: Request, flow: str, *, fingerprint: bool = True) -> dict[str, Any]:
    """A request exactly as `calsink preview --json` shows it, plus where its record is."""
    from calsink.cli.validate import preview_json

    shown = preview_json(request, flow, fingerprint=fingerprint)
    shown["headers"] = [[name, value] for name, value in shown["headers"].items()]
    shown.setdefault("positions", [str(request.position)])
    return {"kind": "request", "index": request.position.index, **shown}


def rejection_view(rejection: Rejection) -> dict[str, Any]:
    return {"kind": "rejection", **rejection.to_json()}


def filtered_view(filtered: Filtered) -> dict[str, Any]:
    return {"kind": "filtered", "position": str(filtered.position), "reason": filtered.reason}
