"""What every peer shares: the command line, the records, the bodies, the report line."""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

API_VERSION = "2026-02-25"


@dataclass(frozen=True)
class PeerArgs:
    csv: Path
    url: str
    concurrency: int
    api_key: str
    uvloop: bool = False

    @property
    def bookings_url(self) -> str:
        return self.url.rstrip("/") + "/v2/bookings"

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "cal-api-version": API_VERSION,
            "Content-Type": "application/json",
        }


def parse_args(prog: str) -> PeerArgs:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--url", required=True, help="base URL of the server")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, not asyncio's loop")
    args = parser.parse_args()
    return PeerArgs(
        csv=args.csv,
        url=args.url,
        concurrency=args.concurrency,
        api_key=os.environ.get("CAL_API_KEY", "cal_bench_key"),
        uvloop=args.uvloop,
    )


def body(row: dict[str, str]) -> dict[str, Any]:
    """The create-booking body calsink's benchmark flow renders for the same CSV row."""
    return {
        "start": row["demo_at"],
        "eventTypeId": int(row["event_type_id"]),
        "attendee": {
            "name": f"{row['first_name']} {row['last_name']}",
            "email": row["email"],
            "timeZone": row["tz"],
        },
    }


def bodies(path: Path) -> Iterator[dict[str, Any]]:
    """The bodies for every row of ``path``, streamed."""
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            yield body(row)


def report(sent: int, created: int, elapsed_s: float) -> None:
    print(
        json.dumps(
            {"sent": sent, "created": created, "failed": sent - created, "elapsed_s": elapsed_s}
        ),
        flush=True,
    )
