"""Spark partitions against the fast server, beside a single `calsink run`.

The same create-booking records go (1) through one `calsink run` (SQLite ledger), and
(2) through `df.write.format("calsink")` on a local Spark with 1, 2 and 4 partitions (a
PostgreSQL ledger, the shared budget off). Each write gets a fresh fast server and a
fresh ledger; Spark's time is that of the write alone (the session is started once).

    uv run python -m bench.spark_throughput --records 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import harness
from bench._csvgen import write_csv
from bench.throughput import API_KEY, API_KEY_ENV, write_flow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import fresh_database, running_postgres  # noqa: E402


def single_run(records: int, concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as folder, harness.fast_server() as server:
        work = Path(folder)
        flow = write_flow(work, write_csv(work / "leads.csv", records), concurrency)
        assert harness.CALSINK is not None
        result = harness.run_child(
            [harness.CALSINK, "run", str(flow), "--yes", "--json", "--base-url", server.url],
            env={API_KEY_ENV: API_KEY},
            cwd=work,
        )
        if result.last_json_line().get("delivered") != records:
            raise SystemExit(f"calsink run failed: {result.stderr[-2000:]}")
        return result.wall_s


def spark_write(spark: object, records: int, concurrency: int, partitions: int, pg: str) -> float:
    from pyspark.sql import SparkSession

    assert isinstance(spark, SparkSession)
    with tempfile.TemporaryDirectory() as folder, harness.fast_server() as server:
        work = Path(folder)
        csv = write_csv(work / "leads.csv", records)
        flow = write_flow(work, csv, concurrency)
        text = flow.read_text().replace(
            "ledger: .calsink/ledger.db", f'ledger: "{fresh_database(pg)}"'
        )
        flow.write_text(text.replace("  concurrency:", "  shared_budget: false\n  concurrency:"))
        frame = spark.read.option("header", "true").csv(str(csv)).repartition(partitions)
        frame = frame.cache()
        frame.count()
        report = work / "report.json"
        started = time.perf_counter()
        (
            frame.write.format("calsink")
            .option("flow", str(flow))
            .option("base_url", server.url)
            .option("report", str(report))
            .mode("append")
            .save()
        )
        wall = time.perf_counter() - started
        if f'"delivered": {records}' not in report.read_text():
            raise SystemExit(f"the Spark write did not deliver every record: {report.read_text()}")
        return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ[API_KEY_ENV] = API_KEY
    from pyspark.sql import SparkSession

    import calsink.spark

    single = single_run(args.records, args.concurrency)
    print(f"calsink run (SQLite):    {args.records / single:8,.0f} records/s ({single:.2f} s)")
    spark = (
        SparkSession.builder.master("local[4]").config("spark.ui.enabled", "false").getOrCreate()
    )
    calsink.spark.register(spark)
    try:
        with running_postgres() as pg:
            for partitions in (1, 2, 4):
                wall = spark_write(spark, args.records, args.concurrency, partitions, pg)
                print(
                    f"Spark, {partitions} partition(s):  {args.records / wall:8,.0f} records/s "
                    f"({wall:.2f} s)"
                )
    finally:
        spark.stop()
    print(f"({os.cpu_count()} CPUs; the fast server and PostgreSQL run on the same machine)")


if __name__ == "__main__":
    main()
