"""User webhooks: /v2/webhooks (no cal-api-version)."""

from __future__ import annotations

import uuid
from typing import Any

from calsink.sandbox import output
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request, conflict, not_found
from calsink.sandbox.model import Webhook
from calsink.sandbox.validation import (
    Validator,
    each,
    is_array,
    is_boolean,
    is_in,
    is_string,
    is_url,
    require_object,
    validation_error,
)

# CreateWebhookInputDto.triggers in the OpenAPI subset of upstream commit a36c1b79
TRIGGERS = [
    "BOOKING_CREATED",
    "BOOKING_PAYMENT_INITIATED",
    "BOOKING_PAID",
    "BOOKING_RESCHEDULED",
    "BOOKING_REQUESTED",
    "BOOKING_CANCELLED",
    "BOOKING_REJECTED",
    "BOOKING_NO_SHOW_UPDATED",
    "FORM_SUBMITTED",
    "MEETING_ENDED",
    "MEETING_STARTED",
    "RECORDING_READY",
    "INSTANT_MEETING",
    "RECORDING_TRANSCRIPTION_GENERATED",
    "OOO_CREATED",
    "AFTER_HOSTS_CAL_VIDEO_NO_SHOW",
    "AFTER_GUESTS_CAL_VIDEO_NO_SHOW",
    "FORM_SUBMITTED_NO_EVENT",
    "ROUTING_FORM_FALLBACK_HIT",
    "DELEGATION_CREDENTIAL_ERROR",
    "WRONG_ASSIGNMENT_REPORT",
]


def _validate(body: Any, *, creating: bool) -> dict[str, Any]:
    v = Validator(require_object(body))
    v.field("subscriberUrl", is_string, is_url, required=creating)
    v.field("triggers", is_array, each(is_in(TRIGGERS)), required=creating)
    v.field("active", is_boolean, required=creating)
    v.field("payloadTemplate", is_string)
    v.field("secret", is_string)
    v.field("version", is_in(("2021-10-20",)))
    v.raise_if_invalid()
    if "DELEGATION_CREDENTIAL_ERROR" in (v.clean.get("triggers") or []):
        raise bad_request(
            "DELEGATION_CREDENTIAL_ERROR trigger is only allowed for organization webhooks."
        )
    return v.clean


def _duplicate(env: Env, user_id: int, url: str, except_id: str | None = None) -> bool:
    return any(
        w.user_id == user_id and w.subscriber_url == url and w.id != except_id
        for w in env.store.webhooks.values()
    )


DUPLICATE_MESSAGE = "Webhook with this subscriber url already exists for this user"


def create_webhook(call: Call, env: Env) -> Reply:
    user = call.require_user()
    data = _validate(call.body, creating=True)
    if _duplicate(env, user.id, data["subscriberUrl"]):
        raise conflict(DUPLICATE_MESSAGE)
    record = Webhook(
        id=str(uuid.uuid4()),
        user_id=user.id,
        subscriber_url=data["subscriberUrl"],
        triggers=list(dict.fromkeys(data["triggers"])),
        active=data["active"],
        payload_template=data.get("payloadTemplate"),
        secret=data.get("secret"),
    )
    env.store.webhooks[record.id] = record
    env.store.touch(record)
    return success(output.webhook(record), 201)


def _owned(call: Call, env: Env) -> Webhook:
    # IsUserWebhookGuard (modules/webhooks/guards/is-user-webhook-guard.ts, upstream
    # 1016df5b): WebhooksService.getWebhookById's 404 "Webhook (<id>) not found", then a
    # refusal (NestJS's 403 "Forbidden resource") for another user's webhook
    user = call.require_user()
    record = env.store.webhooks.get(call.params["id"])
    if record is None:
        raise not_found(f"Webhook ({call.params['id']}) not found")
    if record.user_id != user.id:
        raise ApiError(403, "Forbidden resource")
    return record


def get_webhook(call: Call, env: Env) -> Reply:
    return success(output.webhook(_owned(call, env)))


def update_webhook(call: Call, env: Env) -> Reply:
    record = _owned(call, env)
    data = _validate(call.body, creating=False)
    url = data.get("subscriberUrl")
    if url is not None and _duplicate(env, record.user_id, url, record.id):
        raise conflict(DUPLICATE_MESSAGE)
    if url is not None:
        record.subscriber_url = url
    if "triggers" in data:
        record.triggers = list(dict.fromkeys(data["triggers"]))
    if "active" in data:
        record.active = data["active"]
    if "payloadTemplate" in data:
        record.payload_template = data["payloadTemplate"]
    if "secret" in data:
        record.secret = data["secret"]
    env.store.touch(record)
    return success(output.webhook(record))


def delete_webhook(call: Call, env: Env) -> Reply:
    record = _owned(call, env)
    del env.store.webhooks[record.id]
    env.store.touch(record)
    return success(output.webhook(record))


def list_webhooks(call: Call, env: Env) -> Reply:
    user = call.require_user()
    errors: list[dict[str, Any]] = []
    bounds = {"take": (1, 250, 250), "skip": (0, 10**9, 0)}
    values: dict[str, int] = {}
    for name, (low, high, default) in bounds.items():
        raw = call.query.get(name)
        value = default if raw is None else (int(raw) if raw.isdigit() else -1)
        if not low <= value <= high:
            message = f"{name} must be between {low} and {high}"
            errors.append(
                {"value": raw, "property": name, "children": [], "constraints": {"isInt": message}}
            )
        values[name] = value
    if errors:
        raise validation_error(errors)
    mine = [w for w in env.store.webhooks.values() if w.user_id == user.id]
    page = mine[values["skip"] : values["skip"] + values["take"]]
    return success([output.webhook(w) for w in page])
