"""What the shared ledger costs: `calsink run` with an SQLite ledger and with a PostgreSQL
one (claims and outcomes in chunks; the shared budget off), against the fast server.

Each run gets a fresh server, a fresh ledger and its own copy of the records; runs are
interleaved and the figures are medians of wall time from spawn to exit.

    uv run python -m bench.shared_ledger --records 20000 --runs 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import harness
from bench._csvgen import write_csv
from bench.throughput import API_KEY, API_KEY_ENV, write_flow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import fresh_database, running_postgres  # noqa: E402


def one_run(records: int, concurrency: int, ledger: str | None) -> float:
    with tempfile.TemporaryDirectory() as folder, harness.fast_server() as server:
        work = Path(folder)
        csv = write_csv(work / "leads.csv", records)
        flow = write_flow(work, csv, concurrency)
        if ledger is not None:
            text = flow.read_text().replace("ledger: .calsink/ledger.db", f'ledger: "{ledger}"')
            flow.write_text(
                text.replace("  concurrency:", "  shared_budget: false\n  concurrency:")
            )
        assert harness.CALSINK is not None
        result = harness.run_child(
            [harness.CALSINK, "run", str(flow), "--yes", "--json", "--base-url", server.url],
            env={API_KEY_ENV: API_KEY},
            cwd=work,
        )
        delivered = result.last_json_line().get("delivered")
        if result.exit_code != 0 or delivered != records:
            raise SystemExit(f"run failed ({result.exit_code}): {result.stderr[-2000:]}")
        return result.wall_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with running_postgres() as server:
        for _ in range(args.runs):
            walls["sqlite"].append(one_run(args.records, args.concurrency, None))
            database = fresh_database(server)
            walls["postgresql"].append(one_run(args.records, args.concurrency, database))
    for name, values in walls.items():
        wall = harness.median(values)
        print(
            f"{name:<10} ledger: {args.records} records in {wall:.2f} s "
            f"({args.records / wall:,.0f} records/s, median of {len(values)})"
        )


if __name__ == "__main__":
    main()
