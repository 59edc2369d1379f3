"""How much of Cal.com's rate budget a long run uses, and how many 429s it provokes.

Starts the sandbox with a rate limit (default 600 requests per 60 s window), sends
enough bookings to span several windows with calsink's engine (``rate_limit: auto``
by default, or a fixed per-minute rate), and prints the share of the allowed requests
that were used and the number of 429 answers.

    uv run python bench/rate_budget.py --limit 600 --window 60 --windows 3
    uv run python bench/rate_budget.py --limit 600 --window 10 --windows 6 --mode fixed
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import running_sandbox  # noqa: E402

from bench._csvgen import slots  # noqa: E402
from calsink.flow import load_flow  # noqa: E402
from calsink.runner import run_flow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=600, help="requests per window")
    parser.add_argument("--window", type=float, default=60.0, help="window length, seconds")
    parser.add_argument("--windows", type=int, default=3, help="how many windows to span")
    parser.add_argument("--mode", choices=["auto", "fixed"], default="auto")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    per_minute = round(args.limit * 60 / args.window)
    records = args.limit * args.windows
    with tempfile.TemporaryDirectory() as folder, running_sandbox() as sandbox:
        sandbox.set_rate_limit(args.limit, args.window)
        base = Path(folder)
        rows = ["name,email,start"] + [
            f"Lead {i},lead{i}@example.com,{start}" for i, start in enumerate(slots(records))
        ]
        (base / "leads.csv").write_text("\n".join(rows) + "\n")
        rate = "auto" if args.mode == "auto" else str(per_minute)
        (base / "flow.yaml").write_text(
            f"""version: 1
name: rate-budget
source: {{path: leads.csv}}
transform:
  map:
    start: "{{start}}"
    eventTypeId: 1
    attendee: {{name: "{{name}}", email: "{{email}}", timeZone: "America/New_York"}}
destination: {{base_url: "{sandbox.url}", template: create-booking}}
delivery: {{key: [email, start], concurrency: {args.concurrency}, rate_limit: {rate}}}
ledger: state/ledger.db
dead_letters: out/dead.jsonl
"""
        )
        loaded = load_flow(base / "flow.yaml", base_dir=base)
        started = time.monotonic()
        report = run_flow(loaded, api_key=sandbox.api_key)
        elapsed = time.monotonic() - started
        statuses = Counter(r["status"] for r in sandbox.requests() if r["path"] != "/health")
    sent = sum(statuses.values())
    windows = max(1, math.ceil(elapsed / args.window))
    allowed = args.limit * windows
    print(
        f"mode {args.mode}, sandbox limit {args.limit} per {args.window:g} s "
        f"({per_minute}/min), concurrency {args.concurrency}"
    )
    print(
        f"records {records}: delivered {report.summary.delivered}, "
        f"dead {report.summary.dead}, failed {report.summary.failed}"
    )
    print(
        f"elapsed {elapsed:.1f} s over {windows} windows; requests sent {sent}; "
        f"answers {dict(sorted(statuses.items()))}"
    )
    print(
        f"share of the allowed requests used: {sent / allowed:.1%} "
        f"({sent} of {allowed}); 429s: {statuses.get(429, 0)}"
    )
    used_rate = sent / elapsed * args.window / args.limit
    print(
        f"pace: {sent / elapsed * 60:.0f} requests/min of {per_minute}/min allowed "
        f"({used_rate:.1%} of the budget while running)"
    )


if __name__ == "__main__":
    main()
