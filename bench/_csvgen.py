"""Create-booking rows for benchmarks, generated as a stream (never held in memory).

Columns: first_name,last_name,email,tz,demo_at,event_type_id,status. Every row is
valid for the create-booking template once mapped as in SPEC.md: ``demo_at`` is an
ISO 8601 instant in UTC on a weekday in January 2030 and later, ``event_type_id`` is
``1``, ``status`` is ``demo`` except every tenth row (``lost``), so a
``where: "status == 'demo'"`` leaves one row in ten out.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

HEADER = ["first_name", "last_name", "email", "tz", "demo_at", "event_type_id", "status"]

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles", "UTC"]
_FIRST_DAY = dt.datetime(2030, 1, 7, 14, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in New York
_SLOTS_PER_DAY = 16  # 30-minute slots from 14:00Z


def rows(count: int, *, start: int = 0) -> Iterator[list[str]]:
    """``count`` rows (without the header), numbered from ``start``; deterministic."""
    for number in range(start, start + count):
        first = FIRST_NAMES[number % len(FIRST_NAMES)]
        last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
        yield [
            first,
            last,
            f"{first.lower()}.{last.lower()}.{number}@example.com",
            ZONES[number % len(ZONES)],
            _instant(number),
            "1",
            "lost" if number % 10 == 9 else "demo",
        ]


def slots(count: int) -> list[str]:
    """The first ``count`` distinct 30-minute starts in the demo user's working hours."""
    return [_instant(number) for number in range(count)]


def _instant(number: int) -> str:
    day, slot = divmod(number, _SLOTS_PER_DAY)
    week, weekday = divmod(day, 5)
    moment = _FIRST_DAY + dt.timedelta(days=7 * week + weekday, minutes=30 * slot)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_csv(path: Path, count: int, *, delimiter: str = ",") -> Path:
    """Write a header and ``count`` rows to ``path``, streaming; return the path."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=delimiter, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows(count))
    return path
