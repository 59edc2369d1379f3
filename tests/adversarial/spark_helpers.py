"""What the Spark tests share: the rows' schema, finding a writer task that holds claims,
a write through calsink while a process is killed, and the one-effect-per-row check."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from pyspark.sql import DataFrame
from pyspark.sql.types import StringType, StructField, StructType
from tests.adversarial.harness import booked_emails
from tests.support.sandbox import SandboxHandle

import calsink

SCHEMA = StructType([StructField(name, StringType()) for name in ("name", "email", "start")])


def claiming_writer_after(ledger: str, delivered: int) -> int:
    """The pid of a writer task that holds claims once its run has delivered ``delivered``
    records (the pid is in the claims' owner)."""
    deadline = time.monotonic() + 120
    with psycopg.connect(ledger, autocommit=True) as db:
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.errors.UndefinedTable):
                owner = db.execute(
                    "SELECT owner FROM records WHERE state = 'in_flight' AND owner IS NOT NULL "
                    "AND run_id IN (SELECT run_id FROM records WHERE state = 'delivered' "
                    "GROUP BY run_id HAVING count(*) >= %s) LIMIT 1",
                    (delivered,),
                ).fetchone()
                if owner:
                    return int(owner[0].split(":")[1])
            time.sleep(0.02)
    raise AssertionError("no writer task held claims after the first deliveries")


def write_while_killing(
    frame: DataFrame, flow: Path, report: Path, kill: Callable[[], int]
) -> dict[str, Any]:
    """Write ``frame`` through calsink while ``kill`` (on a thread) kills a process; the
    driver's report of the write."""
    killer = concurrent.futures.ThreadPoolExecutor(1).submit(kill)
    (
        frame.write.format("calsink")
        .option("flow", str(flow))
        .option("report", str(report))
        .mode("append")
        .save()
    )
    killer.result()
    totals: dict[str, Any] = json.loads(report.read_text())
    return totals


def assert_one_effect_per_row(
    totals: dict[str, Any], count: int, partitions: int, sandbox: SandboxHandle, flow: Path
) -> None:
    assert totals["partitions"] == partitions, totals
    assert totals["read"] == count, totals
    # Each row has one outcome: what the killed attempt delivered, its retry skips.
    assert totals["delivered"] + totals["skipped"] == count, totals
    assert totals["skipped"] >= 2, "the rows the killed task delivered were skipped"
    assert booked_emails(sandbox) == Counter({f"lead{i}@example.com": 1 for i in range(count)})
    assert calsink.status(flow).counts == {"delivered": count}
