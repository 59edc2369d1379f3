"""Which ledger a flow uses: an SQLite file (the default) or a PostgreSQL database.

``ledger: .calsink/ledger.db`` (a path, relative to the flow file) is the embedded
ledger: one run of a flow at a time, on one machine (`calsink.ledger`).
``ledger: postgresql://…`` is the shared one: any number of runs of a flow at once,
from any machine (`calsink.ledger_pg`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from calsink.flow import LoadedFlow
from calsink.ledger import Ledger, LedgerWriter
from calsink.ledger_pg import (
    LEASE_S,
    PostgresLedger,
    PostgresLedgerWriter,
    is_postgresql,
)

AnyLedger = Ledger | PostgresLedger
AnyWriter = LedgerWriter | PostgresLedgerWriter


def ledger_location(loaded: LoadedFlow, override: str | None = None) -> Path | str:
    """The flow's ledger: its file, or its database URL."""
    value = override or loaded.flow.ledger
    return value if is_postgresql(value) else loaded.resolve(value)


def ledger_exists(location: Path | str) -> bool:
    """Whether there is a ledger to read (a database is always there to be asked)."""
    return location.exists() if isinstance(location, Path) else True


def open_ledger(location: Path | str, *, secrets: Sequence[str] = ()) -> AnyLedger:
    if isinstance(location, Path):
        return Ledger(location, secrets=secrets)
    return PostgresLedger(location, secrets=secrets)


def open_writer(
    ledger: AnyLedger, flow: str, run_id: int, *, force: bool = False, lease_s: float = LEASE_S
) -> AnyWriter:
    if isinstance(ledger, PostgresLedger):
        return ledger.writer(flow, run_id, force=force, lease_s=lease_s)
    return ledger.writer(flow, run_id)
