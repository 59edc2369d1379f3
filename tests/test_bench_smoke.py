"""The benchmark harness works end to end at a tiny size (timings are never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_throughput_harness_runs_the_aiohttp_peer_against_the_fast_server(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "throughput",
            "--records",
            "200",
            "--runs",
            "1",
            "--contenders",
            "aiohttp,aiohttp-uvloop,calsink-client",
            "--ceiling-requests",
            "1000",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Throughput" in done.stdout
    result = json.loads((tmp_path / "throughput.json").read_text())

    assert result["settings"]["records"] == 200
    assert result["settings"]["concurrency"] == 16
    runs = {run["contender"]: run for run in result["runs"]}
    assert set(runs) == {"aiohttp", "aiohttp-uvloop", "calsink-client"}
    for name, run in runs.items():
        assert run["exit_code"] == 0, name
        assert run["server_posts"] == 200, name  # every record reached the server exactly once
        assert run["reported"] == {
            "sent": 200,
            "created": 200,
            "failed": 0,
            "elapsed_s": run["reported"]["elapsed_s"],
        }, name
        assert result["summary"][name]["complete_runs"] == 1
        assert result["summary"][name]["records_per_s"] > 0

    ceiling = result["server_ceiling"]["depth_1"]
    assert ceiling["requests"] == 1000
    assert ceiling["errors"] == 0
    assert ceiling["server_cpu_s"] > 0
