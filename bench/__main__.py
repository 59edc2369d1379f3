"""calsink's benchmarks, in one command.

    uv run --group bench python -m bench                 # everything (about 10 minutes on 2 cores)
    uv run --group bench python -m bench throughput      # one part: throughput, startup, memory,
                                                         # rate, sandbox, validate
    uv run --group bench python -m bench --quick         # small sizes, one run: a check only

Each part prints a table and writes ``bench/results/<part>.json``. Ratios and targets
are reported, never asserted. See docs/benchmarks.md for what every number means.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import harness

PARTS = ("throughput", "startup", "memory", "rate", "sandbox", "validate")
# parts owned by their own modules: run as they are, their output passed through
EXTERNAL = {
    "rate": "bench.rate_budget",
    "sandbox": "bench.sandbox_bench",
    "validate": "bench.validate_bench",
}


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run calsink's benchmarks side by side with peers."
    )
    parser.add_argument(
        "parts", nargs="*", metavar="PART", help=f"all (default) or any of: {', '.join(PARTS)}"
    )
    parser.add_argument("--records", type=int, default=20_000, help="throughput: records per run")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight, for all")
    parser.add_argument(
        "--runs", type=int, default=5, help="throughput: runs per contender (calsink, aiohttp)"
    )
    parser.add_argument(
        "--slow-runs",
        type=int,
        default=1,
        help="throughput: runs for the slow peers (httpx, requests, dlt)",
    )
    parser.add_argument(
        "--contenders",
        default="calsink,calsink-aiohttp,calsink-client,aiohttp,aiohttp-uvloop,httpx,requests,dlt",
        help="throughput: comma-separated subset",
    )
    parser.add_argument(
        "--ceiling-requests",
        type=int,
        default=20_000,
        help="throughput: requests sent to measure the fast server's ceiling",
    )
    parser.add_argument("--no-ceiling", action="store_true", help="throughput: skip the ceiling")
    parser.add_argument(
        "--memory-sizes",
        type=_sizes,
        default=[100_000, 1_000_000],
        help="memory: CSV sizes in rows, comma-separated",
    )
    parser.add_argument("--startup-repeats", type=int, default=15, help="startup: runs per command")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and one run each: proves the harness works",
    )
    args = parser.parse_args(argv)
    unknown = [part for part in args.parts if part not in (*PARTS, "all")]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; choose from all, {', '.join(PARTS)}")
    if not args.parts or "all" in args.parts:
        args.parts = list(PARTS)
    if args.quick:
        args.records = min(args.records, 2_000)
        args.runs = args.slow_runs = 1
        args.ceiling_requests = min(args.ceiling_requests, 2_000)
        args.memory_sizes = [10_000, 50_000]
        args.startup_repeats = 3
    return args


def run_throughput(args: argparse.Namespace) -> dict[str, Any]:
    from bench import throughput

    result = throughput.bench(
        records=args.records,
        concurrency=args.concurrency,
        runs=args.runs,
        slow_runs=args.slow_runs,
        contenders=[name.strip() for name in args.contenders.split(",") if name.strip()],
        ceiling_requests=0 if args.no_ceiling else args.ceiling_requests,
    )
    throughput.print_result(result)
    return result


def run_startup(args: argparse.Namespace) -> dict[str, Any]:
    from bench import startup

    result = startup.bench(repeats=args.startup_repeats)
    startup.print_result(result)
    return result


def run_memory(args: argparse.Namespace) -> dict[str, Any]:
    from bench import memory

    result = memory.bench(sizes=args.memory_sizes, concurrency=args.concurrency)
    memory.print_result(result)
    return result


def run_external(part: str) -> dict[str, Any]:
    module = EXTERNAL[part]
    if not (harness.ROOT / Path(*module.split("."))).with_suffix(".py").exists():
        harness.say(f"  {module} is not there yet; skipped")
        return {"benchmark": part, "skipped": f"{module} does not exist"}
    started = time.perf_counter()
    done = subprocess.run(
        [harness.PYTHON, "-m", module],
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
    return {
        "benchmark": part,
        "module": module,
        "exit_code": done.returncode,
        "wall_s": time.perf_counter() - started,
        "output": done.stdout,
    }


RUNNERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "throughput": run_throughput,
    "startup": run_startup,
    "memory": run_memory,
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    written: list[Path] = []
    for part in args.parts:
        harness.say(f"== {part}")
        part_started = time.perf_counter()
        result = RUNNERS[part](args) if part in RUNNERS else run_external(part)
        result.setdefault("wall_s", time.perf_counter() - part_started)
        written.append(harness.write_json(part, result, results_dir=args.results_dir))
    harness.say(f"== done in {time.perf_counter() - started:.0f} s; results in:")
    for path in written:
        harness.say(f"   {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
