"""validate over large CSV files: records per second and peak memory, against a csv floor.

    uv run python -m bench.validate_bench [--rows 100000 1000000] [--runs 1]

For each size a create-booking CSV is generated (bench/_csvgen.py) and three
contenders read it, each as its own child process (interpreter start-up, imports
and memory its own; peak RSS from ``os.wait4``):

- ``csv floor``: a plain ``csv.DictReader`` loop over the file: the least any
  Python tool can do to read it;
- ``source+transform``: ``calsink.sources.open_source`` and
  ``calsink.transform.Transformer`` over the SPEC's create-booking flow, in-process;
- ``calsink validate``: the full command (read, transform, render, check every
  record against the endpoint's contract; nothing sent).

Reported: records/s, peak RSS, time ratios against the floor and the RSS ratio of
the largest size to the smallest ("flat" when within 10 %; target: under 150 MB).
Figures are printed and written to bench/results/validate.json, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import harness
from bench._csvgen import write_csv

PEAK_TARGET_MB = 150.0
FLAT_TOLERANCE = 0.10
API_KEY_ENV = "CALSINK_BENCH_API_KEY"

FLOW = """\
version: 1
name: bench-validate
source:
  path: {csv}
transform:
  where: "status == 'demo'"
  map:
    start: "{{demo_at}}"
    eventTypeId: "int(event_type_id)"
    attendee:
      name: "{{first_name}} {{last_name}}"
      email: "{{email}}"
      timeZone: "{{tz}}"
destination:
  api_key_env: {key_env}
  base_url: http://127.0.0.1:9
  template: create-booking
ledger: {workdir}/ledger.db
dead_letters: {workdir}/dead-letters.jsonl
"""

CONTENDERS = ("csv floor", "source+transform", "calsink validate")


# ---------------------------------------------------------------- children


def child_floor(csv_path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    count = 0
    with csv_path.open(newline="", encoding="utf-8") as file:
        for _row in csv.DictReader(file):
            count += 1
    return {"records": count, "inner_s": time.perf_counter() - started}


def child_library(flow_path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    from calsink.flow import load_flow
    from calsink.sources import open_source
    from calsink.transform import RecordError, Transformer

    loaded = load_flow(flow_path, base_dir=flow_path.parent)
    transformer = Transformer(loaded.flow.transform)
    counts = {"records": 0, "kept": 0, "skipped": 0, "rejected": 0}
    for item in open_source(loaded.flow.source, loaded.base_dir):
        counts["records"] += 1
        if item.record is None:
            counts["rejected"] += 1
            continue
        try:
            result = transformer.apply(item.record)
        except RecordError:
            counts["rejected"] += 1
            continue
        counts["kept" if result is not None else "skipped"] += 1
    return {**counts, "inner_s": time.perf_counter() - started}


# ---------------------------------------------------------------- parent


def _cli_available() -> bool:
    return (
        harness.CALSINK is not None
        and (harness.ROOT / "src" / "calsink" / "cli" / "validate.py").exists()
    )


def _argv(contender: str, csv_path: Path, flow_path: Path) -> list[str]:
    me = [harness.PYTHON, "-m", "bench.validate_bench", "--child"]
    if contender == "csv floor":
        return [*me, "floor", str(csv_path)]
    if contender == "source+transform":
        return [*me, "library", str(flow_path)]
    assert harness.CALSINK is not None
    return [harness.CALSINK, "validate", str(flow_path)]


def _measure(contender: str, rows: int, csv_path: Path, flow_path: Path) -> dict[str, Any]:
    child = harness.run_child(
        _argv(contender, csv_path, flow_path),
        env={API_KEY_ENV: "cal_bench_not_used"},
        cwd=harness.ROOT,
    )
    if child.exit_code != 0:
        harness.say(f"    {contender} exited {child.exit_code}: {child.stderr[-1500:]}")
    result: dict[str, Any] = {
        "contender": contender,
        "rows": rows,
        "exit_code": child.exit_code,
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "peak_rss_mb": child.max_rss_mb,
        "records_per_s": rows / child.wall_s,
    }
    if contender != "calsink validate":
        with_report = child.last_json_line()
        result.update({key: value for key, value in with_report.items() if key != "records"})
    harness.say(
        f"  {contender:<18} {rows:>9,} rows: {child.wall_s:6.2f} s, "
        f"{rows / child.wall_s:>9,.0f} rec/s, peak {child.max_rss_mb:.0f} MB"
    )
    return result


def bench(sizes: Sequence[int], runs: int) -> dict[str, Any]:
    contenders = [c for c in CONTENDERS if c != "calsink validate" or _cli_available()]
    measurements: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        workdir = Path(tmp)
        for rows in sizes:
            csv_path = harness.timed(
                f"writing {rows:,} rows", lambda r=rows: write_csv(workdir / f"rows-{r}.csv", r)
            )
            flow_path = workdir / f"flow-{rows}.yaml"
            flow_path.write_text(
                FLOW.format(csv=csv_path, key_env=API_KEY_ENV, workdir=workdir), encoding="utf-8"
            )
            by_contender: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
            for _ in range(runs):
                for contender in contenders:
                    by_contender[contender].append(_measure(contender, rows, csv_path, flow_path))
            for results in by_contender.values():
                measurements.append(_median(results))
            csv_path.unlink()
    return {
        "benchmark": "validate",
        "machine": harness.machine(),
        "settings": {"sizes": list(sizes), "runs": runs, "contenders": contenders},
        "measurements": measurements,
        "summary": _summary(measurements, sizes, contenders),
    }


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = sorted(results, key=lambda r: r["wall_s"])[len(results) // 2]
    return {**chosen, "runs": len(results)}


def _summary(
    measurements: list[dict[str, Any]], sizes: Sequence[int], contenders: Sequence[str]
) -> dict[str, Any]:
    by_key = {(m["contender"], m["rows"]): m for m in measurements}
    summary: dict[str, Any] = {}
    small, large = min(sizes), max(sizes)
    for contender in contenders:
        entry: dict[str, Any] = {}
        for rows in sizes:
            floor = by_key.get(("csv floor", rows))
            mine = by_key[(contender, rows)]
            if floor is not None:
                entry[f"time_vs_floor_at_{rows}"] = harness.ratio(mine["wall_s"], floor["wall_s"])
        peak_large = by_key[(contender, large)]["peak_rss_mb"]
        entry["peak_rss_mb_at_largest"] = peak_large
        if small != large:
            rss_ratio = peak_large / by_key[(contender, small)]["peak_rss_mb"]
            entry["rss_largest_over_smallest"] = rss_ratio
            entry["flat"] = harness.verdict(rss_ratio - 1, FLAT_TOLERANCE, at_most=True)
        entry["under_150_mb"] = harness.verdict(peak_large, PEAK_TARGET_MB, at_most=True)
        summary[contender] = entry
    return summary


def print_result(result: dict[str, Any]) -> None:
    sizes = result["settings"]["sizes"]
    summary = result["summary"]
    floors = {m["rows"]: m for m in result["measurements"] if m["contender"] == "csv floor"}
    table = harness.Table(
        title="validate: records/s and peak memory over a create-booking CSV",
        columns=["contender", "rows", "wall s", "records/s", "× floor time", "peak RSS MB"],
        caption="; ".join(
            f"{name}: RSS {max(sizes):,}/{min(sizes):,} = "
            f"{entry.get('rss_largest_over_smallest', float('nan')):.2f} "
            f"(flat {entry.get('flat', 'n/a')}, <150 MB {entry['under_150_mb']})"
            for name, entry in summary.items()
        ),
    )
    for m in result["measurements"]:
        floor = floors.get(m["rows"])
        times = harness.ratio(m["wall_s"], floor["wall_s"]) if floor else float("nan")
        table.add(
            m["contender"],
            f"{m['rows']:,}",
            harness.fmt(m["wall_s"], 2),
            harness.fmt(m["records_per_s"]),
            harness.fmt(times, 2),
            harness.fmt(m["peak_rss_mb"], 1),
        )
    table.print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.validate_bench", description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=1, help="runs per contender (median)")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, path = args.child
        report = child_floor(Path(path)) if kind == "floor" else child_library(Path(path))
        print(json.dumps(report))
        return 0
    result = bench(sorted(args.rows), args.runs)
    print_result(result)
    written = harness.write_json("validate", result, results_dir=args.results_dir)
    harness.say(f"results: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
