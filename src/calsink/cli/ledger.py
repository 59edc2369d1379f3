"""`calsink ledger copy`: move a flow's SQLite ledger to a shared PostgreSQL ledger."""

from __future__ import annotations

from pathlib import Path

import click

from calsink.cli._output import EXIT_USAGE, emit_json, fail, say

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


@click.group()
def ledger() -> None:
    """Work on ledgers themselves (see `calsink ledger copy --help`)."""


@ledger.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("destination")
@json_option
def copy(source: Path, destination: str, as_json: bool) -> None:
    """Copy the SQLite ledger SOURCE (a file) into the PostgreSQL ledger DESTINATION
    (postgresql://user@host/db; give the password in PGPASSWORD rather than the URL).

    Every flow's records and runs are copied; records DESTINATION already holds are kept
    as they are. Then point the flows' `ledger:` at DESTINATION."""
    from calsink import copy_ledger
    from calsink.errors import FlowBusyError, LedgerConnectError

    try:
        report = copy_ledger(source, destination)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except (FileNotFoundError, FlowBusyError, LedgerConnectError) as exc:
        fail(str(exc), EXIT_USAGE)
    if as_json:
        emit_json(report.to_json())
        return
    say(
        f"copied {report.records} records and {report.runs} runs of "
        f"{len(report.flows)} flow(s) ({', '.join(report.flows) or 'none'}) to "
        f"{report.destination}"
        + (f"; {report.kept} records it already held were kept as they were" if report.kept else "")
    )
