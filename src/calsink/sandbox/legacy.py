"""What Cal.com's 2024-04-15 controllers answer on event types and schedules.

Without a ``cal-api-version`` it knows, Cal.com routes a request to its 2024-04-15
controllers (apps/api/v2/src/bootstrap.ts, the versioning extractor's default):
``EventTypesController_2024_04_15`` (versions 2024-04-15 and 2024-06-11) and
``SchedulesController_2024_04_15``. Both need credentials on every route and take older
bodies (CreateEventTypeInput_2024_04_15: ``length``, ``slug``, ``title``;
CreateScheduleInput_2024_04_15: ``name``, ``timeZone``, ``isDefault``). The sandbox
answers as they do up to that point: 401 without credentials, their validation errors
for a body they would refuse. Their answers to valid requests (older shapes) are not
emulated: those get a 400 that says which header to send.
"""

from __future__ import annotations

from calsink.sandbox.context import Call, Env, Reply
from calsink.sandbox.errors import ApiError
from calsink.sandbox.validation import (
    Validator,
    at_least,
    is_boolean,
    is_number,
    is_string,
    require_object,
)


def _not_emulated(call: Call, wanted: str) -> ApiError:
    sent = f"cal-api-version {call.version}" if call.version else "no cal-api-version"
    return ApiError(
        400,
        f"Cal.com answers {call.method} {call.path} with {sent} from its 2024-04-15 "
        f"controller, an older contract this sandbox does not emulate. Send the header "
        f"cal-api-version: {wanted}.",
    )


def event_types(call: Call, env: Env) -> Reply:
    call.require_user()
    if call.method == "POST":
        v = Validator(require_object(call.body))
        v.field("length", is_number, at_least(1), required=True)
        v.field("slug", is_string, required=True)
        v.field("title", is_string, required=True)
        v.raise_if_invalid()
    raise _not_emulated(call, "2024-06-14")


def schedules(call: Call, env: Env) -> Reply:
    call.require_user()
    if call.method == "POST":
        v = Validator(require_object(call.body))
        v.field("name", is_string, required=True)
        v.field("timeZone", is_string, required=True)
        v.field("isDefault", is_boolean, required=True)
        v.raise_if_invalid()
    raise _not_emulated(call, "2024-06-11")
