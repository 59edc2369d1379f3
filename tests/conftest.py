from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.postgres import running_postgres
from support.sandbox import SandboxHandle, running_sandbox


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
