"""What became of each record: the five outcomes and the summary that adds them up."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsink.records import Position


class Outcome(StrEnum):
    """The one outcome every input record ends in."""

    DELIVERED = "delivered"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    FAILED = "failed"
    DEAD = "dead"


@dataclass(slots=True)
class Summary:
    """Counts per outcome; ``read`` is always their sum: every record read from the source
    counts once. In a dry run, a record that would be sent counts as ``planned``."""

    delivered: int = 0
    skipped: int = 0
    rejected: int = 0
    failed: int = 0
    dead: int = 0
    planned: int = 0

    @property
    def read(self) -> int:
        return (
            self.delivered + self.skipped + self.rejected + self.failed + self.dead + self.planned
        )

    @property
    def not_through(self) -> int:
        """Records that were rejected, failed or died (what makes exit code 1)."""
        return self.rejected + self.failed + self.dead

    def add(self, outcome: Outcome, count: int = 1) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + count)

    def copy(self) -> Summary:
        return Summary(
            self.delivered, self.skipped, self.rejected, self.failed, self.dead, self.planned
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "delivered": self.delivered,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "failed": self.failed,
            "dead": self.dead,
            "planned": self.planned,
        }


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What became of one record, told as it settles (the ``on_result`` of a run).

    ``outcome`` is one of the five outcomes, or ``"planned"`` in a dry run; ``key`` is the
    record's delivery key (None for a record left out by ``where`` or rejected before it
    had one); ``status`` is Cal.com's last HTTP status; ``uid`` / ``id`` what Cal.com
    created or changed; ``error`` why the record did not get through (or how a delivered
    one was found), secrets screened out; ``attempts`` the requests sent for it.
    """

    position: Position
    outcome: str
    key: str | None = None
    status: int | None = None
    uid: str | None = None
    id: int | str | None = None
    error: str | None = None
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "position": str(self.position),
            "outcome": self.outcome,
            "key": self.key,
            "status": self.status,
            "uid": self.uid,
            "id": self.id,
            "error": self.error,
            "attempts": self.attempts,
        }
