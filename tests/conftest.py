from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from support.postgres import running_postgres
from support.sandbox import SandboxHandle, running_sandbox
from support.scheduling import make_scheduler

# Most tests start Python afresh (the CLI, the sandbox, the page's server, Spark's workers).
# Each start would compile calsink and its dependencies again where the environment says
# PYTHONDONTWRITEBYTECODE: the suite lets the first one keep the bytecode for the others.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: half again as many workers as CPUs. The suite's tests spend about half
    their time waiting on the processes and sockets they start (a run on 2 CPUs with 2
    workers used 336 s of CPU in 338 s), so a third worker on 2 CPUs fills that time."""
    cpus = os.cpu_count() or 1
    return max(2, cpus + cpus // 2)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Tests of the modules in support/scheduling.py's ONE_WORKER share one worker."""
    return make_scheduler(config, log)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``pytest.mark.anyio``) run on asyncio, calsink's event loop."""
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxHandle]:
    with running_sandbox("--rate-limit", "1000000") as handle:
        yield handle


@pytest.fixture
def sandbox(sandbox_process: SandboxHandle) -> SandboxHandle:
    """A running sandbox over a real socket, reset to the seeded demo account for each test."""
    sandbox_process.reset()
    return sandbox_process


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL on 127.0.0.1 for the session (tests/support/postgres.py)."""
    with running_postgres() as url:
        yield url
