"""Start-up: wall time of short calsink commands, as a user types them.

Each command runs N times through the installed ``calsink`` script (a fresh
interpreter each time, files warm in the page cache after the first); the figure is
the median, with the fastest and slowest beside it.
"""

from __future__ import annotations

from typing import Any

from bench import harness

HELP_TARGET_S = 0.3
API_KEY = "cal_bench_0123456789abcdef"


def commands() -> dict[str, list[str]]:
    assert harness.CALSINK is not None
    example = str(harness.ROOT / "examples" / "create-booking.yaml")
    return {
        "calsink --help": [harness.CALSINK, "--help"],
        "calsink templates": [harness.CALSINK, "templates"],
        "calsink preview examples/create-booking.yaml": [harness.CALSINK, "preview", example],
    }


def bench(*, repeats: int = 15) -> dict[str, Any]:
    if harness.CALSINK is None:
        return {"benchmark": "startup", "error": "the calsink script is not installed"}
    results: dict[str, Any] = {}
    plan = commands()
    timings: dict[str, list[float]] = {name: [] for name in plan}
    exit_codes: dict[str, set[int]] = {name: set() for name in plan}
    # one warm-up run each, then interleaved repeats
    for argv in plan.values():
        harness.run_child(argv, env={"CAL_API_KEY": API_KEY}, cwd=harness.ROOT)
    for _ in range(repeats):
        for name, argv in plan.items():
            child = harness.run_child(argv, env={"CAL_API_KEY": API_KEY}, cwd=harness.ROOT)
            timings[name].append(child.wall_s)
            exit_codes[name].add(child.exit_code)
    for name, values in timings.items():
        results[name] = {
            "median_s": harness.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "exit_codes": sorted(exit_codes[name]),
        }
    help_median = results["calsink --help"]["median_s"]
    return {
        "benchmark": "startup",
        "machine": harness.machine(),
        "settings": {"repeats": repeats, "warm_up_runs": 1},
        "commands": results,
        "target": {
            "calsink --help": {
                "at_most_s": HELP_TARGET_S,
                "verdict": harness.verdict(help_median, HELP_TARGET_S, at_most=True),
            }
        },
    }


def print_result(result: dict[str, Any]) -> None:
    if "error" in result:
        harness.say(f"start-up: {result['error']}")
        return
    table = harness.Table(
        title="Start-up: wall time of a command",
        columns=["command", "median s", "min s", "max s", "exit", "target", "verdict"],
        caption=f"{result['settings']['repeats']} runs each after one warm-up, interleaved.",
    )
    targets = result["target"]
    for name, row in result["commands"].items():
        target = targets.get(name)
        table.add(
            name,
            harness.fmt(row["median_s"], 3),
            harness.fmt(row["min_s"], 3),
            harness.fmt(row["max_s"], 3),
            ",".join(str(code) for code in row["exit_codes"]),
            f"< {target['at_most_s']} s" if target else "",
            target["verdict"] if target else "",
        )
    table.print()
