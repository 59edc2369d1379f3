"""Throughput: the same create-booking records, the same server, the same concurrency.

Each run of each contender gets a fresh temporary directory with its own copy of the
CSV and a fresh fast server process; it runs as a child process, timed from spawn to
exit (interpreter start-up and imports included, as a user sees it), and counts only
if the server received exactly one POST per record. Contenders are interleaved round
by round; figures are medians.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import harness
from bench._csvgen import write_csv

API_KEY_ENV = "CAL_API_KEY"
API_KEY = "cal_bench_0123456789abcdef"

FLOW_TEMPLATE = """\
version: 1
name: bench-bookings
source:
  path: {csv}
transform:
  map:
    start: "iso(demo_at)"
    eventTypeId: "int(event_type_id)"
    attendee:
      name: "{{first_name}} {{last_name}}"
      email: "{{email}}"
      timeZone: "{{tz}}"
destination:
  api_key_env: {key_env}
  base_url: http://127.0.0.1:9
  template: create-booking
delivery:
  key: [email, start]
  concurrency: {concurrency}
responses:
  jsonl: out/responses.jsonl
dead_letters: out/dead-letters.jsonl
ledger: .calsink/ledger.db
"""


@dataclass(frozen=True)
class RunSpec:
    """What one run of one contender gets: its own copy of the records and a fresh server."""

    csv: Path
    url: str
    concurrency: int
    workdir: Path


@dataclass(frozen=True)
class Contender:
    name: str
    argv: Callable[[RunSpec], list[str]]
    note: str
    slow: bool = False
    env: Mapping[str, str] = field(default_factory=dict)


def write_flow(workdir: Path, csv: Path, concurrency: int) -> Path:
    """A calsink flow in ``workdir`` reading ``csv``: validation, ledger, responses file all on."""
    path = workdir / "bench.yaml"
    path.write_text(
        FLOW_TEMPLATE.format(csv=csv, key_env=API_KEY_ENV, concurrency=concurrency),
        encoding="utf-8",
    )
    return path


def calsink_argv(spec: RunSpec) -> list[str]:
    if harness.CALSINK is None:
        raise RuntimeError("the calsink script is not installed in this environment")
    flow = write_flow(spec.workdir, spec.csv, spec.concurrency)
    return [harness.CALSINK, "run", str(flow), "--yes", "--json", "--base-url", spec.url]


def _peer(module: str, *extra: str) -> Callable[[RunSpec], list[str]]:
    def argv(spec: RunSpec) -> list[str]:
        return [
            harness.PYTHON,
            "-m",
            f"bench.peers.{module}",
            "--csv",
            str(spec.csv),
            "--url",
            spec.url,
            "--concurrency",
            str(spec.concurrency),
            *extra,
        ]

    return argv


CONTENDERS: dict[str, Contender] = {
    "calsink": Contender(
        "calsink",
        calsink_argv,
        "`calsink run --yes`: validation, ledger (SQLite), responses JSONL, dead letters; "
        "the default HTTP client (reqwest)",
        env={"CALSINK_TRANSPORT": ""},
    ),
    "calsink-aiohttp": Contender(
        "calsink-aiohttp",
        calsink_argv,
        "the same, sending through aiohttp (CALSINK_TRANSPORT=aiohttp, the other client)",
        env={"CALSINK_TRANSPORT": "aiohttp"},
    ),
    "aiohttp": Contender(
        "aiohttp", _peer("aiohttp_loop"), "asyncio + aiohttp, N workers, one session, orjson"
    ),
    "aiohttp-uvloop": Contender(
        "aiohttp-uvloop",
        _peer("aiohttp_loop", "--uvloop"),
        "the same aiohttp loop on uvloop (calsink's own event loop)",
    ),
    "calsink-client": Contender(
        "calsink-client",
        _peer("calsink_transport_loop"),
        "a bare loop over calsink's own HTTP client (Transport) on uvloop: no validation, "
        "ledger or files",
    ),
    "httpx": Contender(
        "httpx", _peer("httpx_loop"), "asyncio + httpx.AsyncClient, N workers", slow=True
    ),
    "requests": Contender(
        "requests",
        _peer("requests_loop"),
        "synchronous loop, one requests.Session (keep-alive), one request at a time",
        slow=True,
    ),
    "dlt": Contender(
        "dlt",
        _peer("dlt_pipeline"),
        "dlt pipeline, @dlt.destination(batch_size=100) POSTing with requests.Session",
        slow=True,
    ),
}

TARGETS = {"aiohttp": 0.8, "requests": 3.0, "dlt": 2.0}


@dataclass(frozen=True)
class RunRecord:
    contender: str
    round: int
    records: int
    exit_code: int
    wall_s: float
    client_cpu_s: float
    client_peak_rss_mb: float
    server_posts: int
    server_gets: int
    server_cpu_s: float
    reported: dict[str, Any]

    @property
    def complete(self) -> bool:
        return self.exit_code == 0 and self.server_posts == self.records

    @property
    def records_per_s(self) -> float:
        return self.records / self.wall_s


def measure_ceiling(records: int, concurrency: int) -> dict[str, Any]:
    """The fast server's answers per second to a raw-socket client, and its CPU per answer."""
    results: dict[str, Any] = {}
    for depth in (1, 8):
        with harness.fast_server() as server:
            child = harness.run_child(
                [
                    harness.PYTHON,
                    "-m",
                    "bench.ceiling",
                    "--url",
                    server.url,
                    "--requests",
                    str(records),
                    "--connections",
                    str(concurrency),
                    "--depth",
                    str(depth),
                ],
                cwd=harness.ROOT,
            )
            cpu = server.cpu_s()
        report = child.last_json_line()
        answered = int(report.get("requests", 0))
        report["server_cpu_s"] = cpu
        report["server_cpu_us_per_request"] = cpu / answered * 1e6 if answered else float("nan")
        report["one_core_ceiling_per_s"] = answered / cpu if cpu else float("nan")
        results[f"depth_{depth}"] = report
    return results


def run_once(
    contender: Contender, round_: int, source_csv: Path, records: int, concurrency: int
) -> RunRecord:
    with tempfile.TemporaryDirectory(prefix=f"bench-{contender.name}-") as tmp:
        workdir = Path(tmp)
        csv = workdir / "records.csv"
        shutil.copyfile(source_csv, csv)
        with harness.fast_server() as server:
            spec = RunSpec(csv=csv, url=server.url, concurrency=concurrency, workdir=workdir)
            child = harness.run_child(
                contender.argv(spec),
                env={
                    API_KEY_ENV: API_KEY,
                    "PYTHONPATH": str(harness.ROOT),
                    "RUNTIME__DLTHUB_TELEMETRY": "false",
                    **contender.env,
                },
                cwd=workdir,
                timeout_s=60 + records / 50,
            )
            stats = server.get_json("/_bench/stats")
            server_cpu = server.cpu_s()
        if child.timed_out:
            harness.say(f"    {contender.name} did not finish within {60 + records / 50:.0f} s")
        elif child.exit_code != 0:
            harness.say(f"    {contender.name} exited {child.exit_code}: {child.stderr[-2000:]}")
        return RunRecord(
            contender=contender.name,
            round=round_,
            records=records,
            exit_code=child.exit_code,
            wall_s=child.wall_s,
            client_cpu_s=child.cpu_s,
            client_peak_rss_mb=child.max_rss_mb,
            server_posts=int(stats["posts"]),
            server_gets=int(stats["gets"]),
            server_cpu_s=server_cpu,
            reported=child.last_json_line(),
        )


def summarize(runs: Sequence[RunRecord], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        mine = [run for run in runs if run.contender == name]
        good = [run for run in mine if run.complete]
        summary[name] = {
            "runs": len(mine),
            "complete_runs": len(good),
            "records_per_s": harness.median([run.records_per_s for run in good]),
            "wall_s": harness.median([run.wall_s for run in good]),
            "client_cpu_s": harness.median([run.client_cpu_s for run in good]),
            "client_peak_rss_mb": harness.median([run.client_peak_rss_mb for run in good]),
            "server_busy_share": harness.median([run.server_cpu_s / run.wall_s for run in good]),
        }
    return summary


def bench(
    *,
    records: int = 20_000,
    concurrency: int = 16,
    runs: int = 3,
    slow_runs: int = 1,
    contenders: Sequence[str] = tuple(CONTENDERS),
    ceiling_requests: int = 20_000,
) -> dict[str, Any]:
    names = [name for name in CONTENDERS if name in contenders]
    if harness.CALSINK is None:
        for name in [name for name in names if name.startswith("calsink")]:
            harness.say(f"  calsink is not installed here; leaving {name} out")
            names.remove(name)
    plan_runs = {name: (slow_runs if CONTENDERS[name].slow else runs) for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        source = write_csv(Path(tmp) / "records.csv", records)
        ceiling_result = measure_ceiling(ceiling_requests, concurrency) if ceiling_requests else {}
        warm_up = write_csv(Path(tmp) / "warm-up.csv", 10)
        for name in names:  # bytecode and page cache warm for everyone alike
            run_once(CONTENDERS[name], -1, warm_up, 10, concurrency)
        all_runs: list[RunRecord] = []
        for round_, name in harness.interleave(names, plan_runs):
            run = run_once(CONTENDERS[name], round_, source, records, concurrency)
            state = "ok" if run.complete else f"INCOMPLETE (posts {run.server_posts})"
            harness.say(
                f"  round {round_ + 1} {name:<15} {run.records_per_s:>8,.0f} records/s "
                f"({run.wall_s:.1f} s) {state}"
            )
            all_runs.append(run)
    summary = summarize(all_runs, names)
    ratios = {}
    if "calsink" in summary:
        mine = summary["calsink"]["records_per_s"]
        for name in names:
            if name != "calsink":
                value = harness.ratio(mine, summary[name]["records_per_s"])
                target = TARGETS.get(name)
                ratios[name] = {
                    "ratio": value,
                    "target": target,
                    "verdict": harness.verdict(value, target) if target else "—",
                }
    return {
        "benchmark": "throughput",
        "machine": harness.machine(),
        "settings": {
            "records": records,
            "concurrency": concurrency,
            "runs": plan_runs,
            "timing": "wall time of the child process from spawn to exit",
            "warm_up": "one run of each contender on 10 records before the rounds",
        },
        "contenders": {name: CONTENDERS[name].note for name in names},
        "server_ceiling": ceiling_result,
        "summary": summary,
        "calsink_ratio": ratios,
        "runs": [dict(run.__dict__, records_per_s=run.records_per_s) for run in all_runs],
    }


def print_result(result: dict[str, Any]) -> None:
    settings = result["settings"]
    ceiling = result.get("server_ceiling") or {}
    caption_lines = [
        f"{settings['records']:,} records, concurrency {settings['concurrency']}, "
        f"runs per contender {settings['runs']} (median); wall time from spawn to exit.",
        "requests and dlt send one request at a time (their model); "
        "server busy = fast server CPU / wall.",
    ]
    for depth, info in ceiling.items():
        caption_lines.append(
            f"fast server ceiling ({depth.replace('_', ' ')}, raw-socket client): "
            f"{info.get('requests_per_s', float('nan')):,.0f} answers/s; "
            f"{info['server_cpu_us_per_request']:.0f} µs server CPU per answer "
            f"(≈{info['one_core_ceiling_per_s']:,.0f}/s on one core)"
        )
    table = harness.Table(
        title="Throughput: create-booking records to the fast server",
        columns=[
            "contender",
            "records/s",
            "wall s",
            "client CPU s",
            "peak RSS MB",
            "server busy",
            "calsink ×",
            "target",
            "verdict",
        ],
        caption="\n".join(caption_lines),
    )
    ratios = result["calsink_ratio"]
    for name, row in result["summary"].items():
        info = ratios.get(name, {})
        target = info.get("target")
        table.add(
            f"{name} ({row['complete_runs']}/{row['runs']} runs)",
            harness.fmt(row["records_per_s"]),
            harness.fmt(row["wall_s"], 1),
            harness.fmt(row["client_cpu_s"], 1),
            harness.fmt(row["client_peak_rss_mb"]),
            f"{row['server_busy_share']:.0%}"
            if row["server_busy_share"] == row["server_busy_share"]
            else "—",
            harness.fmt(info["ratio"], 2) + "×" if info else "",
            f"≥ {target}×" if target else "",
            info.get("verdict", ""),
        )
    table.print()
