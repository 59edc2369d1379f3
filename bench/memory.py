"""Memory: peak RSS of ``calsink validate`` and ``calsink run`` over large CSV files, and
of ``calsink run --dry-run`` over a DuckDB query of as many rows (bench/query_memory.py).

Each command runs as a child process in a fresh directory; its peak resident set
size is the kernel's own account for that child (``os.wait4`` → ``ru_maxrss``), so
nothing is sampled and nothing is missed. "Flat" means the peak at the largest size
is within ``FLAT_TOLERANCE`` of the peak at the smallest.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import harness, query_memory
from bench._csvgen import write_csv
from bench.throughput import API_KEY, API_KEY_ENV, write_flow

PEAK_TARGET_MB = 150.0
FLAT_TOLERANCE = 0.10
REAL_RUN_MAX_ROWS = 100_000


def _measure(
    command: str, csv: Path, rows: int, concurrency: int, url: str | None
) -> dict[str, Any]:
    assert harness.CALSINK is not None
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        workdir = Path(tmp)
        flow = write_flow(workdir, csv, concurrency)
        if command == "validate":
            argv = [harness.CALSINK, "validate", str(flow)]
        elif command == "run --dry-run":
            argv = [harness.CALSINK, "run", str(flow), "--dry-run", "--yes", "--json"]
        else:
            assert url is not None
            argv = [harness.CALSINK, "run", str(flow), "--yes", "--json", "--base-url", url]
        child = harness.run_child(argv, env={API_KEY_ENV: API_KEY}, cwd=workdir)
    if child.exit_code != 0:
        harness.say(f"    {command} exited {child.exit_code}: {child.stderr[-1500:]}")
    return {
        "command": f"calsink {command}",
        "rows": rows,
        "exit_code": child.exit_code,
        "peak_rss_mb": child.max_rss_mb,
        "wall_s": child.wall_s,
        "rows_per_s": rows / child.wall_s,
    }


def bench(
    *,
    sizes: Sequence[int] = (100_000, 1_000_000),
    concurrency: int = 16,
    real_run: bool = True,
) -> dict[str, Any]:
    if harness.CALSINK is None:
        return {"benchmark": "memory", "error": "the calsink script is not installed"}
    measurements: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-csv-") as tmp:
        for rows in sizes:
            csv = write_csv(Path(tmp) / f"rows-{rows}.csv", rows)
            for command in ("validate", "run --dry-run"):
                measurements.append(_measure(command, csv, rows, concurrency, None))
                _progress(measurements[-1])
            if real_run and rows <= REAL_RUN_MAX_ROWS:
                with harness.fast_server() as server:
                    result = _measure("run", csv, rows, concurrency, server.url)
                    result["server_posts"] = server.get_json("/_bench/stats")["posts"]
                measurements.append(result)
                _progress(result)
            csv.unlink()
    measurements += query_memory.bench([max(sizes)])  # a SQL source of the largest size
    return {
        "benchmark": "memory",
        "machine": harness.machine(),
        "settings": {"sizes": list(sizes), "concurrency": concurrency},
        "measurements": measurements,
        "targets": _targets(measurements, sizes),
    }


def _progress(row: dict[str, Any]) -> None:
    harness.say(
        f"  {row['command']:<22} {row['rows']:>9,} rows: peak {row['peak_rss_mb']:.0f} MB, "
        f"{row['wall_s']:.1f} s"
    )


def _targets(measurements: list[dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    if not sizes:
        return targets
    small, large = min(sizes), max(sizes)
    for command in ("calsink validate", "calsink run --dry-run"):
        peaks = {m["rows"]: m["peak_rss_mb"] for m in measurements if m["command"] == command}
        if large not in peaks:
            continue
        entry: dict[str, Any] = {
            "peak_at_largest_mb": peaks[large],
            "under_150_mb": harness.verdict(peaks[large], PEAK_TARGET_MB, at_most=True),
        }
        if small in peaks and small != large:
            growth = peaks[large] / peaks[small] - 1
            entry["growth_from_smallest"] = growth
            entry["flat"] = harness.verdict(growth, FLAT_TOLERANCE, at_most=True)
        targets[command] = entry
    return targets


def print_result(result: dict[str, Any]) -> None:
    if "error" in result:
        harness.say(f"memory: {result['error']}")
        return
    table = harness.Table(
        title="Memory: peak RSS of one calsink process",
        columns=["command", "rows", "peak RSS MB", "wall s", "rows/s", "exit"],
        caption=_caption(result["targets"]),
    )
    for row in result["measurements"]:
        table.add(
            row["command"],
            f"{row['rows']:,}",
            harness.fmt(row["peak_rss_mb"], 1),
            harness.fmt(row["wall_s"], 1),
            harness.fmt(row["rows_per_s"]),
            row["exit_code"],
        )
    table.print()


def _caption(targets: dict[str, Any]) -> str:
    lines = [
        f"Targets: peak < {PEAK_TARGET_MB:.0f} MB at the largest size, growth ≤ "
        f"{FLAT_TOLERANCE:.0%} from the smallest."
    ]
    for command, entry in targets.items():
        line = f"{command}: < 150 MB {entry['under_150_mb']}"
        if "flat" in entry:
            line += f", growth {entry['growth_from_smallest']:+.0%} ({entry['flat']})"
        lines.append(line)
    return "\n".join(lines)
