"""A standalone Spark cluster on 127.0.0.1 (a master and two workers started from pyspark's
own jars), speculation on, an executor killed midway: each row's effect once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyspark
import pytest
from pyspark.sql import SparkSession
from tests.adversarial.harness import lead_rows
from tests.adversarial.spark_helpers import (
    SCHEMA,
    assert_one_effect_per_row,
    claiming_writer_after,
    write_while_killing,
)
from tests.adversarial.test_shared_ledger import shared_flow
from tests.support.ports import free_port
from tests.support.postgres import fresh_database
from tests.support.sandbox import DEFAULT_API_KEY, SandboxHandle

import calsink
import calsink.spark

SPARK_HOME = Path(pyspark.__file__).resolve().parent


def spark_class(*args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_NO_DAEMONIZE": "1",
    }
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(text: str, log: Path, deadline: float) -> None:
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {log}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A master and two one-core workers on 127.0.0.1, and a session on them."""
    folder = tmp_path_factory.mktemp("spark-cluster")
    port = free_port()
    master_url = f"spark://127.0.0.1:{port}"
    master_log = folder / "master.log"
    processes = [
        spark_class(
            "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
            "--port", str(port), "--webui-port", str(free_port()), log=master_log,
        )
    ]  # fmt: skip
    deadline = time.monotonic() + 120
    wait_for("I have been elected leader", master_log, deadline)
    for number in range(2):
        log = folder / f"worker{number}.log"
        processes.append(
            spark_class(
                "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
                "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                "--work-dir", str(folder / f"work{number}"), log=log,
            )
        )  # fmt: skip
        wait_for("Successfully registered with master", log, deadline)
    tests = Path(__file__).resolve().parents[1]
    session = (
        SparkSession.builder.master(master_url)
        .appName("calsink-cluster-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.executor.memory", "512m")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .config("spark.executorEnv.CAL_API_KEY", DEFAULT_API_KEY)
        .config("spark.executorEnv.PYTHONPATH", f"{tests}{os.pathsep}{tests.parent}")
        .config("spark.speculation", "true")
        .config("spark.speculation.quantile", "0.25")
        .config("spark.speculation.multiplier", "1.0")
        .config("spark.speculation.interval", "100ms")
        .getOrCreate()
    )
    calsink.spark.register(session)
    try:
        yield session
    finally:
        session.stop()
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def kill_an_executor_after_deliveries(ledger: str, delivered: int) -> int:
    """Once a writer task has delivered ``delivered`` records, kill (SIGKILL) the executor
    that runs it while it holds claims on others. Return the executor's pid."""
    writer = psutil.Process(claiming_writer_after(ledger, delivered))
    executor = next(
        p
        for p in writer.parents()
        if any(part.endswith("CoarseGrainedExecutorBackend") for part in p.cmdline())
    )
    executor.kill()
    return executor.pid


def test_an_executor_killed_midway_with_speculation_on_leaves_one_effect_per_row(
    cluster: SparkSession, sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    count = 24
    ledger = fresh_database(postgres_url)
    flow = shared_flow(tmp_path, sandbox, ledger, 1, delivery={"lease_s": 2, "concurrency": 1})
    sandbox.set_faults({"spec": "latency=150ms@1:POST /v2/bookings"})
    frame = cluster.createDataFrame(lead_rows(count), SCHEMA).repartition(4)
    totals = write_while_killing(
        frame,
        flow,
        tmp_path / "report.json",
        lambda: kill_an_executor_after_deliveries(ledger, 2),
    )
    sandbox.clear_faults()
    assert_one_effect_per_row(totals, count, 4, sandbox, flow)
