"""Shared by the read-side tests: bookings made over HTTP, the CLI run as a subprocess."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from calsink.flow import DestinationSettings
from calsink.records import Position, Request
from calsink.render import Renderer
from support.cli import calsink as run_calsink
from support.sandbox import SandboxHandle

KEY_ENV = "READSIDE_CAL_KEY"


def book(
    sandbox: SandboxHandle, start: str, *, event_type: int = 1, email: str = "ana@example.com"
) -> dict[str, Any]:
    """Create one booking straight through the sandbox's API; its data."""
    response = sandbox.call(
        "POST",
        "/v2/bookings",
        {
            "start": start,
            "eventTypeId": event_type,
            "attendee": {"name": "Ana Lima", "email": email, "timeZone": "Europe/Lisbon"},
        },
    )
    assert response.status == 201, response.body
    data: dict[str, Any] = response.data
    return data


def calsink(
    *args: str,
    sandbox: SandboxHandle | None = None,
    api_key: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python -m calsink ARGS`` with the sandbox's key in $READSIDE_CAL_KEY."""
    env = dict(os.environ)
    if sandbox is not None:
        env[KEY_ENV] = api_key if api_key is not None else sandbox.api_key
    return run_calsink(*args, env=env, timeout=timeout)


def source_args(sandbox: SandboxHandle, kind: str, *more: str) -> list[str]:
    return ["source", kind, *more, "--api-key-env", KEY_ENV, "--base-url", sandbox.url]


def render(sandbox: SandboxHandle, template: str, record: dict[str, Any], **params: str) -> Request:
    """The request calsink's renderer makes of ``record`` for ``template``."""
    destination = DestinationSettings(base_url=sandbox.url, template=template, params=params)
    outcome = Renderer(destination).render(Position("records.jsonl", 0, 1), record, record)
    assert isinstance(outcome, Request), outcome
    return outcome
