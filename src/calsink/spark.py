"""calsink as an Apache Spark data source (PySpark ≥ 4.0; ``pip install 'calsink[spark]'``).

    import calsink.spark
    calsink.spark.register(spark)
    df.write.format("calsink").option("flow", "flow.yaml").mode("append").save()
    df.writeStream.format("calsink").option("flow", "flow.yaml") \\
        .option("checkpointLocation", "chk").start()

Each partition runs the flow on its rows through the public API (`calsink.run`): the
flow's transform and template apply as in a file run. The flow's ledger must be a
PostgreSQL one, shared by every task: a task retried, or run twice at once by
speculation, claims its records there, so nothing is sent twice — the ledger decides,
never Spark's commit protocol. Each task's commit message carries its partition's
counts; the driver adds them up, logs the totals and, with ``option("report", path)``,
writes them as JSON. Records that did not get through are in the shared ledger
(``calsink status`` / ``calsink retry flow.yaml`` from the driver send them again) and in
the flow's dead-letter file on each executor.

Options: ``flow`` (a flow file every executor can read; required), ``base_url``
(overrides ``destination.base_url``), ``report`` (a JSON file the driver writes the
totals to), ``yes`` ("true" allows a destructive template). The API key comes from the
flow's ``destination.api_key_env`` on each executor (``spark.executorEnv.<NAME>``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import Row, SparkSession
from pyspark.sql.datasource import (
    DataSource,
    DataSourceStreamWriter,
    DataSourceWriter,
    WriterCommitMessage,
)
from pyspark.sql.types import StructType

from calsink.records import Position, SourceItem

log = logging.getLogger("calsink.spark")
COUNTS = ("read", "delivered", "skipped", "rejected", "failed", "dead")


def register(spark: SparkSession) -> None:
    """Make ``format("calsink")`` known to ``spark``."""
    spark.dataSource.register(CalsinkDataSource)


@dataclass
class PartitionReport(WriterCommitMessage):
    """One task's account of its partition (its commit message)."""

    partition: int
    attempt: int
    counts: dict[str, int] = field(default_factory=dict)
    unfinished: int = 0
    dead_letters: str | None = None


@dataclass(frozen=True)
class Totals:
    """What the driver reports for a write or a micro-batch."""

    batch: int | None
    partitions: int
    counts: dict[str, int]
    unfinished: int
    dead_letters: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "partitions": self.partitions,
            **self.counts,
            "unfinished": self.unfinished,
            "dead_letters": list(self.dead_letters),
        }


class CalsinkDataSource(DataSource):
    """``format("calsink")``: writes only (batch and streaming)."""

    @classmethod
    def name(cls) -> str:
        return "calsink"

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceWriter:
        return CalsinkBatchWriter(_checked(dict(self.options)))

    def streamWriter(self, schema: StructType, overwrite: bool) -> DataSourceStreamWriter:
        return CalsinkStreamWriter(_checked(dict(self.options)))


def _checked(options: dict[str, str]) -> dict[str, str]:
    """The options, with the flow loaded once on the driver to fail early and clearly."""
    from calsink import load
    from calsink.ledger_pg import is_postgresql

    path = options.get("flow")
    if not path:
        raise ValueError('calsink: give the flow file: .option("flow", "flow.yaml")')
    loaded = load(Path(path))
    if not is_postgresql(loaded.flow.ledger):
        raise ValueError(
            f"calsink: flow {path}: Spark runs its partitions in many tasks at once, and a "
            "task may run twice; they share records only through a PostgreSQL ledger — set "
            "`ledger: postgresql://…` (and `delivery.key`) in the flow"
        )
    return {**options, "flow": str(Path(path).resolve())}


class _Partitions:
    """What batch and streaming writers share: a partition's run, the driver's totals."""

    def __init__(self, options: dict[str, str]) -> None:
        self.options = options

    def _write(self, rows: Iterator[Row], batch: int | None) -> PartitionReport:
        from pyspark import TaskContext

        import calsink

        context = TaskContext.get()
        partition = context.partitionId() if context else 0
        attempt = context.attemptNumber() if context else 0
        if batch is None and context is not None:
            streaming = context.getLocalProperty("streaming.sql.batchId")
            batch = int(streaming) if streaming else None
        source = f"spark:{'' if batch is None else f'batch{batch}:'}part{partition}"
        items = (
            SourceItem(Position(source, index), row.asDict(recursive=True))
            for index, row in enumerate(rows)
        )
        report = calsink.run(
            Path(self.options["flow"]),
            items,
            base_url=self.options.get("base_url"),
            yes=self.options.get("yes", "false").lower() == "true",
        )
        summary = report.summary.to_json()
        return PartitionReport(
            partition,
            attempt,
            {name: int(summary.get(name, 0)) for name in COUNTS},
            report.unfinished,
            str(report.dead_letters_path) if report.dead_letters else None,
        )

    def _totals(self, messages: list[Any], batch: int | None) -> Totals:
        reports = [m for m in messages if isinstance(m, PartitionReport)]
        counts = {name: sum(r.counts.get(name, 0) for r in reports) for name in COUNTS}
        totals = Totals(
            batch,
            len(reports),
            counts,
            sum(r.unfinished for r in reports),
            tuple(sorted({r.dead_letters for r in reports if r.dead_letters})),
        )
        log.info("calsink: %s", json.dumps(totals.to_json()))
        target = self.options.get("report")
        if target:
            Path(target).write_text(json.dumps(totals.to_json()) + "\n", encoding="utf-8")
        return totals


class CalsinkBatchWriter(_Partitions, DataSourceWriter):
    def write(self, iterator: Iterator[Row]) -> PartitionReport:
        return self._write(iterator, None)

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        self._totals(list(messages), None)


class CalsinkStreamWriter(_Partitions, DataSourceStreamWriter):
    def write(self, iterator: Iterator[Row]) -> PartitionReport:
        return self._write(iterator, None)

    def commit(self, messages: list[WriterCommitMessage | None], batchId: int) -> None:
        self._totals(list(messages), batchId)
