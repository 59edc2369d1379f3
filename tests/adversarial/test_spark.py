"""Spark writes through calsink: tasks that die, retry and replay never double an effect."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from tests.adversarial.harness import booked_emails, lead_rows
from tests.adversarial.spark_helpers import (
    SCHEMA,
    assert_one_effect_per_row,
    claiming_writer_after,
    write_while_killing,
)
from tests.adversarial.test_shared_ledger import shared_flow
from tests.support.postgres import fresh_database
from tests.support.sandbox import DEFAULT_API_KEY, SandboxHandle

import calsink
import calsink.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One local Spark for the module: 2 cores, a task may fail 4 times."""
    # The Python workers import this module as pytest does, and read the API key.
    tests = Path(__file__).resolve().parents[1]
    settings = {
        "PYSPARK_PYTHON": sys.executable,
        "CAL_API_KEY": DEFAULT_API_KEY,
        "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)]),
    }
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    session = (
        SparkSession.builder.master("local[2,4]")
        .appName("calsink-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    calsink.spark.register(session)
    try:
        yield session
    finally:
        session.stop()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def rows(count: int, first: int = 0) -> list[tuple[str, str, str]]:
    return lead_rows(count, first=first)


def kill_a_writer_after_deliveries(ledger: str, delivered: int) -> int:
    """Once a writer task has delivered ``delivered`` records, kill (SIGKILL) its process
    while it holds claims on others. Return that pid."""
    pid = claiming_writer_after(ledger, delivered)
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_batch_write_whose_task_is_killed_midway_books_each_row_once(
    spark: SparkSession, sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    count = 18
    ledger = fresh_database(postgres_url)
    flow = shared_flow(tmp_path, sandbox, ledger, 1, delivery={"lease_s": 2, "concurrency": 1})
    # Slow answers, so that a task is still sending when it is killed; the request it
    # had on its way lands after its death.
    sandbox.set_faults({"spec": "latency=200ms@1:POST /v2/bookings"})
    frame = spark.createDataFrame(rows(count), SCHEMA).repartition(3)
    totals = write_while_killing(
        frame, flow, tmp_path / "report.json", lambda: kill_a_writer_after_deliveries(ledger, 2)
    )
    sandbox.clear_faults()
    assert_one_effect_per_row(totals, count, 3, sandbox, flow)


def test_a_restarted_stream_that_replays_a_micro_batch_sends_nothing_twice(
    spark: SparkSession, sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    flow = shared_flow(tmp_path, sandbox, fresh_database(postgres_url), 1)
    incoming, checkpoint, report = tmp_path / "in", tmp_path / "chk", tmp_path / "report.json"
    incoming.mkdir()

    def drop(name: str, first: int, count: int) -> None:
        lines = [dict(zip(("name", "email", "start"), r, strict=True)) for r in rows(count, first)]
        (incoming / name).write_text("".join(json.dumps(line) + "\n" for line in lines))

    def run_stream() -> None:
        query = (
            spark.readStream.schema(SCHEMA)
            .json(str(incoming))
            .writeStream.format("calsink")
            .option("flow", str(flow))
            .option("report", str(report))
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()

    drop("a.json", 0, 6)
    run_stream()
    assert json.loads(report.read_text())["delivered"] == 6
    # The query stops before its first micro-batch is marked done, and new rows arrive.
    shutil.rmtree(checkpoint / "commits")
    drop("b.json", 6, 5)
    run_stream()
    assert booked_emails(sandbox) == Counter({f"lead{i}@example.com": 1 for i in range(11)})
    assert calsink.status(flow).counts == {"delivered": 11}
