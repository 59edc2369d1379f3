"""A dry run renders and counts every record, and pays for nothing it does not show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import calsink
import calsink.render

ROWS = [
    {
        "email": f"p{number}@example.com",
        "start": f"2030-01-07T{10 + number}:00:00Z",
        "name": f"Person {number}",
        "event_type_id": "1",
    }
    for number in range(5)
]


def booking_flow(tmp_path: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "dry-bookings",
        "source": {"path": "unused.csv"},
        "transform": {
            "map": {
                "start": "iso(start)",
                "eventTypeId": "int(event_type_id)",
                "attendee": {"name": "{name}", "email": "{email}", "timeZone": "UTC"},
            }
        },
        "destination": {
            "api_key_env": "CALSINK_DRY_RUN_KEY",
            "base_url": "http://127.0.0.1:9",
            "template": "create-booking",
        },
        "delivery": {"key": ["email", "start"]},
        "ledger": str(tmp_path / "ledger.db"),
        "dead_letters": str(tmp_path / "dead-letters.jsonl"),
    }


def test_a_dry_run_counts_what_it_read_and_writes_no_booking_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked: list[str] = []
    real = calsink.render.fingerprint

    def counting(flow: str, key: str) -> str:
        marked.append(key)
        return real(flow, key)

    monkeypatch.setattr(calsink.render, "fingerprint", counting)
    report = calsink.run(booking_flow(tmp_path), rows=ROWS, dry_run=True)
    assert report.exit_code == 0, report
    counts = report.to_json()
    assert (counts["read"], counts["planned"], counts["delivered"]) == (5, 5, 0)
    # The fingerprint goes into a booking's body; a dry run shows and sends none.
    assert marked == []
