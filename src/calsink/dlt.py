"""calsink as a dlt destination: ``pipeline.run(data, destination=calsink.dlt.destination(...))``.

Each load job (one file of one table) becomes one `calsink.run` of the table's flow, its
rows streamed from the job's file. dlt runs a failed job again from its first row; the
flow's ledger skips every record it already delivered, so a re-run sends only what did
not get through. That is why a flow used here must set ``delivery.key``: the key, not a
row's place in a file that dlt may write differently next time, makes a record the same.

The ledger is the flow's own (``ledger:``, beside the flow file by default). It must not
live in dlt's pipeline folder, which ephemeral runners wipe between runs: a load would
then send everything again. `destination` refuses such a ledger.

The API key comes from dlt's secrets (``[destination.calsink] api_key`` in
``.dlt/secrets.toml``, or ``DESTINATION__CALSINK__API_KEY``), else from the flow's own
``destination.api_key_env`` or stored credential.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Optional

import dlt
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.schema import TTableSchema
from dlt.destinations.file_batching import JsonlFileBatchIterator

from calsink._api import FlowLike, load, run
from calsink.flow import FlowError, LoadedFlow
from calsink.records import Position
from calsink.runner import RunReport
from calsink.sources._values import plain

__all__ = ["destination"]

_READ_CHUNK = 4096


def destination(
    flow: FlowLike | Mapping[str, FlowLike],
    *,
    name: str = "calsink",
    base_url: str | None = None,
) -> Any:
    """A dlt destination that sends each table's rows through a calsink flow.

    ``flow`` is one flow for every table, or a mapping of table name to flow (a table
    without a flow fails its load job, naming the tables that have one). ``name`` is the
    destination's name in dlt's configuration (``[destination.<name>]``); ``base_url``
    sends elsewhere than the flow's ``destination.base_url`` (a sandbox, a proxy).
    """
    flows = _flows(flow)

    def send(
        items: Any,
        table: TTableSchema,
        api_key: Optional[str] = None,  # noqa: UP045 - dlt reads the annotation at run time
        base_url: Optional[str] = base_url,  # noqa: UP045
    ) -> None:
        table_name = str(table["name"])
        loaded = _flow_for(flows, table_name)
        _check_ledger_place(loaded)
        columns = [name for name in table.get("columns", {}) if not name.startswith("_dlt_")]
        report = run(
            loaded,
            _rows(str(items), table_name, columns),
            api_key=api_key,  # run() resolves the flow's credential when this is None
            base_url=base_url,
        )
        _raise_unless_through(report, loaded, table_name)

    factory = dlt.destination(
        send,
        name=name,
        batch_size=0,
        loader_file_format="typed-jsonl",
        naming_convention="direct",
        max_table_nesting=0,
        skip_dlt_columns_and_tables=True,
        loader_parallelism_strategy="sequential",
    )
    return factory()


def _flows(flow: FlowLike | Mapping[str, FlowLike]) -> dict[str | None, LoadedFlow]:
    if isinstance(flow, Mapping) and not _is_flow_mapping(flow):
        flows: dict[str | None, LoadedFlow] = {str(t): load(f) for t, f in flow.items()}
    else:
        flows = {None: load(flow)}
    for loaded in flows.values():
        _require_key(loaded)
    return flows


def _is_flow_mapping(data: Mapping[str, Any]) -> bool:
    return "destination" in data and "name" in data


def _require_key(loaded: LoadedFlow) -> None:
    if not loaded.flow.delivery.key:
        raise FlowError(
            str(loaded.path or loaded.flow.name),
            [
                "`delivery.key` is required for a dlt destination: dlt loads a failed job again "
                "from its first row, and only a key (the fields that make a record the same "
                "across runs, e.g. `key: [email, start]`) lets the ledger skip what was already "
                "delivered"
            ],
        )


def _flow_for(flows: dict[str | None, LoadedFlow], table: str) -> LoadedFlow:
    found = flows.get(table) or flows.get(None)
    if found is None:
        raise DestinationTerminalException(
            f"calsink: no flow for table {table!r}; flows are given for "
            f"{', '.join(sorted(str(name) for name in flows))}"
        )
    return found


def _check_ledger_place(loaded: LoadedFlow) -> None:
    """Refuse a ledger inside dlt's pipeline folder, which an ephemeral runner wipes."""
    from calsink.ledgers import ledger_location

    location = ledger_location(loaded)
    if not isinstance(location, Path):  # a database: nothing of it lives in the folder
        return
    ledger = location.resolve()
    try:
        folder = Path(dlt.current.pipeline().pipelines_dir).resolve()
    except Exception:  # no active pipeline: nothing to compare with
        return
    if ledger.is_relative_to(folder):
        raise DestinationTerminalException(
            f"calsink: flow {loaded.flow.name!r} keeps its ledger at {ledger}, inside dlt's "
            f"pipelines folder {folder}, which is wiped with the pipeline; set the flow's "
            "`ledger:` to a lasting place (beside the flow file, or shared storage)"
        )


def _rows(path: str, table: str, columns: list[str]) -> Iterator[tuple[Position, dict[str, Any]]]:
    index = 0
    for batch in JsonlFileBatchIterator(path, _READ_CHUNK, 0, columns):
        for record in batch:
            yield (
                Position(table, index),
                {
                    name: plain(value)
                    for name, value in record.items()
                    if not name.startswith("_dlt_")
                },
            )
            index += 1


def _raise_unless_through(report: RunReport, loaded: LoadedFlow, table: str) -> None:
    if report.exit_code == 0:
        return
    summary = report.summary
    counts = ", ".join(f"{name} {n}" for name, n in summary.to_json().items() if n)
    why = f"the run stopped: {report.aborted}" if report.aborted else "not every record got through"
    message = (
        f"calsink: flow {loaded.flow.name!r}, table {table!r}: {why} ({counts}); see "
        "`calsink status` and the flow's dead letters. Loading again sends only what was "
        "not delivered."
    )
    if report.aborted or summary.dead:
        # dlt runs the job again (retries exhausted, a stop); the ledger skips what got through
        raise RuntimeError(message)
    # records that were rejected, or that Cal.com refused, would fail the same way again
    raise DestinationTerminalException(message)
