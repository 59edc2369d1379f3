"""What became of each record: the five outcomes and the summary that adds them up."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
