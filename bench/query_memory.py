"""Memory of a SQL source: peak RSS of ``calsink run --dry-run`` over a query's rows.

A DuckDB file of N leads (name, email, a timestamptz start) is made in a fresh folder,
and a flow whose ``source`` is ``{query: "select ... from leads", connection:
"duckdb:///leads.duckdb"}`` renders every row without sending (``--dry-run``). The peak
is the kernel's account for the child process (as in bench/memory.py). The rows are
fetched in chunks, so the peak should not follow N; it is printed, not asserted.

    uv run python -m bench.query_memory              # 1,000,000 rows
    uv run python -m bench.query_memory 100000 1000000
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import harness

API_KEY_ENV = "CALSINK_BENCH_KEY"
PEAK_TARGET_MB = 150.0

FLOW = """\
version: 1
name: bench-query
source:
  query: "select name, email, start from leads"
  connection: "duckdb:///{database}"
transform:
  map:
    start: "{{start}}"
    eventTypeId: 1
    attendee: {{name: "{{name}}", email: "{{email}}", timeZone: UTC}}
destination: {{api_key_env: {key_env}, template: create-booking, base_url: "http://127.0.0.1:9"}}
delivery: {{key: [email]}}
"""


def make_database(path: Path, rows: int) -> None:
    import duckdb

    with duckdb.connect(str(path)) as db:
        db.execute(
            "create table leads as select 'Lead ' || i as name, "
            "'lead' || i || '@example.com' as email, "
            "timestamptz '2030-01-07 14:00:00+00' + i * interval 30 minute as start "
            "from range(?) as t(i)",
            [rows],
        )


def measure(rows: int) -> dict[str, Any]:
    assert harness.CALSINK is not None
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        workdir = Path(tmp)
        database = workdir / "leads.duckdb"
        make_database(database, rows)
        flow = workdir / "flow.yaml"
        flow.write_text(FLOW.format(database=database, key_env=API_KEY_ENV))
        argv = [harness.CALSINK, "run", str(flow), "--dry-run", "--json"]
        child = harness.run_child(argv, env={API_KEY_ENV: "cal_bench_unused"}, cwd=workdir)
    if child.exit_code != 0:
        harness.say(f"    query run exited {child.exit_code}: {child.stderr[-1500:]}")
    return {
        "command": "calsink run --dry-run (duckdb query)",
        "rows": rows,
        "exit_code": child.exit_code,
        "peak_rss_mb": child.max_rss_mb,
        "wall_s": child.wall_s,
        "rows_per_s": rows / child.wall_s,
        "under_150_mb": harness.verdict(child.max_rss_mb, PEAK_TARGET_MB, at_most=True),
    }


def bench(sizes: Sequence[int] = (1_000_000,)) -> list[dict[str, Any]]:
    if harness.CALSINK is None:
        return []
    results = []
    for rows in sizes:
        result = measure(rows)
        harness.say(
            f"  {result['command']:<38} {rows:>9,} rows: peak {result['peak_rss_mb']:.0f} MB "
            f"({result['under_150_mb']}), {result['wall_s']:.1f} s, exit {result['exit_code']}"
        )
        results.append(result)
    return results


if __name__ == "__main__":
    bench([int(arg.replace("_", "")) for arg in sys.argv[1:]] or [1_000_000])
