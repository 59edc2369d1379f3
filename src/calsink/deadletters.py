"""Dead letters: every rejected, failed or dead record with its reason, as JSON Lines.

Each line holds the outcome, the reason (and field, for rejections), Cal.com's
status and message, the attempts, the record's key and position, the source record
and the request that was sent (body only; never a header). `calsink retry` reads the
file back with `read_dead_letters`.

A run writes to ``<file>.partial`` and renames it over the file when it ends, so the
file always lists the records of the last finished run that did not get through.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from calsink.records import Position
from calsink.responses import SecretScreen


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One line of the dead-letter file, read back."""

    outcome: str
    reason: str
    key: str | None
    position: Position | None
    record: Any
    request: dict[str, Any] | None
    status: int | None
    attempts: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeadLetter:
        position = data.get("position")
        return cls(
            outcome=str(data.get("outcome", "")),
            reason=str(data.get("reason", "")),
            key=data.get("key"),
            position=position_from_json(position) if isinstance(position, dict) else None,
            record=data.get("record"),
            request=data.get("request"),
            status=data.get("status"),
            attempts=int(data.get("attempts") or 0),
        )


def position_from_json(data: dict[str, Any]) -> Position:
    return Position(
        source=str(data.get("source", "")), index=int(data.get("index") or 0), line=data.get("line")
    )


class DeadLetterWriter:
    """Writes the dead letters of one run; `close` publishes them under ``path``."""

    def __init__(self, path: Path, *, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.__screen = SecretScreen(secrets)
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(self.partial, "wb")  # noqa: SIM115 - closed by close()

    def write(
        self,
        *,
        outcome: str,
        reason: str,
        position: Position | None,
        key: str | None = None,
        field: str | None = None,
        record: Any = None,
        request: dict[str, Any] | None = None,
        status: int | None = None,
        error: str | None = None,
        attempts: int = 0,
        flow: str | None = None,
    ) -> None:
        entry = {
            "flow": flow,
            "outcome": outcome,
            "reason": reason,
            "field": field,
            "status": status,
            "error": error,
            "attempts": attempts,
            "key": key,
            "position": position.to_json() if position else None,
            "record": record,
            "request": request,
        }
        self._file.write(self.__screen.dumps(entry) + b"\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        self._file.close()
        os.replace(self.partial, self.path)


def read_dead_letters(path: Path) -> Iterator[DeadLetter]:
    """The dead letters in ``path`` (nothing when the file does not exist)."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield DeadLetter.from_json(orjson.loads(line))


def count_dead_letters(path: Path) -> int:
    return sum(1 for _ in read_dead_letters(path))
