"""The values that travel between the stages: positions, records, problems, requests.

They are plain slotted dataclasses (built millions of times, so without the cost of
frozen ones) but are values all the same: never change one once built; use
``dataclasses.replace`` for a changed copy. Equal values hash alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from calsink.endpoints import NO_ACTION, Action

Record = dict[str, Any]

__all__ = ["Filtered", "Position", "Problem", "Record", "Rejection", "Request", "SourceItem"]


@dataclass(slots=True, unsafe_hash=True)
class Position:
    """Where a record came from, so that a person can find it again.

    ``line`` is the 1-based line on which the record starts (CSV, JSON Lines);
    ``index`` is the 0-based position of the record among those the source yielded
    (the only coordinate a JSON array or a Parquet file has).
    """

    source: str
    index: int
    line: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.source}:{self.line}"
        return f"{self.source}[{self.index}]"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "index": self.index, "text": str(self)}


@dataclass(slots=True, unsafe_hash=True)
class SourceItem:
    """One thing a source yields: a record, or why the row could not be read — what was
    found (``error``) and, where the source knows it, what it ``expected`` instead."""

    position: Position
    record: Record | None
    error: str | None = None
    expected: str | None = None

    @property
    def reason(self) -> str | None:
        """Why the row could not be read, in one sentence (None for a record)."""
        if self.error is None or self.expected is None:
            return self.error
        return f"expected {self.expected}, found {self.error}"


@dataclass(slots=True, unsafe_hash=True)
class Problem:
    """Why a record cannot be sent: which field, what was expected, what was found, what to do."""

    field: str | None
    expected: str
    found: str | None = None
    hint: str | None = None

    @property
    def reason(self) -> str:
        text = f"expected {self.expected}"
        if self.found is not None:
            text += f", found {self.found}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __str__(self) -> str:
        prefix = f"{self.field}: " if self.field else ""
        return prefix + self.reason


@dataclass(slots=True, unsafe_hash=True)
class Rejection:
    """A record that is never sent, with every problem found in it."""

    position: Position
    problems: tuple[Problem, ...]
    record: Record | None = None

    @property
    def field(self) -> str | None:
        return self.problems[0].field if self.problems else None

    @property
    def reason(self) -> str:
        return "; ".join(str(p) for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "position": str(self.position),
            "field": self.field,
            "reason": self.reason,
            "problems": [
                {"field": p.field, "expected": p.expected, "found": p.found, "hint": p.hint}
                for p in self.problems
            ],
        }


@dataclass(slots=True, unsafe_hash=True)
class Request:
    """One HTTP request exactly as it will be sent, less the Authorization header.

    ``body`` is the encoded bytes that go on the wire; ``payload`` is the same body as
    a Python value, for display. ``key`` is what makes the record the same across runs.
    ``action`` is what the request does to Cal.com, set once by the renderer from the
    template (or from the template whose route a manual URL is).
    The delivery transport adds Authorization itself so that the key never lives in a
    Request. ``credential`` names the stored credential that sends it when the flow
    chooses one per record (``destination.credential: "{owner}"``), else None.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    payload: Any
    positions: tuple[Position, ...]
    records: tuple[Record, ...]
    key: str = ""
    template: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    action: Action = NO_ACTION
    credential: str | None = None

    @property
    def position(self) -> Position:
        return self.positions[0]


@dataclass(slots=True, unsafe_hash=True)
class Filtered:
    """A record the transform's ``where`` left out: it ends as skipped, with this reason."""

    position: Position
    reason: str
