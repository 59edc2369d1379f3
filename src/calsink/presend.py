"""What the delivery engine may ask before it sends a request: the pre-send check protocol.

The engine knows only this: a `PreSendCheck` says whether it has anything to ask about a
request (`applies_to`), then answers a `Rejection` (never send; the record ends rejected),
`AlreadyDone` (never send; the record ends skipped with that reason) or None (send), or
raises `KeyRefused` when the run cannot go on. `calsink.calcom.checks.PreSendChecks`
implements it with reads of Cal.com.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from calsink.records import Rejection, Request


@dataclass(frozen=True, slots=True)
class AlreadyDone:
    """What the record asks for already holds in Cal.com; ``reason`` says what."""

    reason: str
    status: str


class KeyRefused(Exception):
    """Cal.com refused the API key while a request was being checked: the run stops."""


class PreSendCheck(Protocol):
    def applies_to(self, request: Request) -> bool:
        """Whether `check` may ask anything about this request."""
        ...

    async def check(self, request: Request) -> Rejection | AlreadyDone | None:
        """Rejection, AlreadyDone, or None to send; KeyRefused stops the run."""
        ...
