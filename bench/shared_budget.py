"""Four workers on one API key share its budget through the PostgreSQL ledger.

Starts the sandbox limited to LIMIT requests per WINDOW seconds for the key (Cal.com's
default: 120 per 60 s), a PostgreSQL server, and four `calsink run` processes of one
flow, each with its own quarter of the records, all on one ledger and one key. Prints
the share of the key's budget the four used over the windows they spanned, the 429s
per 1,000 requests, and whether every record was delivered exactly once.

    uv run python bench/shared_budget.py                 # 120 per 60 s, 3 windows
    uv run python bench/shared_budget.py --window 20     # the same, faster
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import fresh_database, running_postgres  # noqa: E402
from tests.support.sandbox import running_sandbox  # noqa: E402

from bench._csvgen import slots  # noqa: E402

FLOW = """version: 1
name: shared-budget
source: {{path: leads.csv}}
transform:
  map:
    start: "{{start}}"
    eventTypeId: 1
    attendee: {{name: "{{name}}", email: "{{email}}", timeZone: "America/New_York"}}
destination: {{base_url: "{url}", template: create-booking, api_key_env: CAL_API_KEY}}
delivery: {{key: [email, start], concurrency: 8}}
ledger: "{ledger}"
dead_letters: out/dead.jsonl
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=120, help="requests per window")
    parser.add_argument("--window", type=float, default=60.0, help="window length, seconds")
    parser.add_argument("--windows", type=int, default=3, help="how many windows to span")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    # Enough records to fill the windows at the pace the bucket allows, less a few.
    records = int(args.limit * args.windows * 0.97) - args.workers
    with (
        tempfile.TemporaryDirectory() as folder,
        running_sandbox() as sandbox,
        running_postgres() as server,
    ):
        sandbox.set_rate_limit(args.limit, args.window)
        ledger = fresh_database(server)
        starts = slots(records)
        processes = []
        for worker in range(args.workers):
            base = Path(folder) / f"worker{worker}"
            base.mkdir()
            mine = range(worker, records, args.workers)
            rows = ["name,email,start"] + [
                f"Lead {i},lead{i}@example.com,{starts[i]}" for i in mine
            ]
            (base / "leads.csv").write_text("\n".join(rows) + "\n")
            (base / "flow.yaml").write_text(FLOW.format(url=sandbox.url, ledger=ledger))
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "calsink", "run", "flow.yaml", "--json"],
                    cwd=base,
                    env={**os.environ, "CAL_API_KEY": sandbox.api_key},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        summaries = []
        for process in processes:
            out, err = process.communicate()
            if process.returncode != 0:
                print(err, file=sys.stderr)
            summaries.append(json.loads(out))
        log = [r for r in sandbox.requests() if r["path"] != "/health"]
        bookings = Counter(
            attendee["email"]
            for booking in sandbox.state()["bookings"]
            for attendee in booking.get("attendees", [])
        )
    statuses = Counter(r["status"] for r in log)
    times = sorted(r["time"] for r in log)
    span = times[-1] - times[0]
    windows = max(1, math.ceil(span / args.window))
    allowed = args.limit * windows
    sent = len(log)
    once = len(bookings) == records and set(bookings.values()) == {1}
    delivered = sum(s["delivered"] for s in summaries)
    print(
        f"{args.workers} workers, one key, sandbox limit {args.limit} per {args.window:g} s; "
        f"{records} records"
    )
    print(f"requests {sent} over {span:.1f} s ({windows} windows); answers {dict(statuses)}")
    print(f"share of the key's budget used: {sent / allowed:.3f} ({sent} of {allowed})")
    print(f"429s: {statuses.get(429, 0)} ({1000 * statuses.get(429, 0) / sent:.2f} per 1,000)")
    print(f"delivered {delivered} of {records}; every record booked exactly once: {once}")


if __name__ == "__main__":
    main()
