"""The library calls that `import calsink` offers; the CLI and the page are thin skins over them.

Each call takes a flow (a path, a YAML string, a mapping or an already loaded flow) and
explicit settings, owns nothing global, and has the name of the CLI command it stands
behind: `run`, `test`, `status`, `retry`. The ``a``-prefixed forms (`arun`, ...) run in the
caller's event loop; the plain forms work in a script, in a thread, and inside a running
event loop (a notebook cell, an async web handler), where they run the call on a thread
of their own and wait for it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from pydantic import ValidationError

from calsink._loops import blocking
from calsink.credentials import Credential, CredentialError, resolve_api_key
from calsink.endpoints import TEMPLATES, Endpoint, get_template
from calsink.flow import Flow, FlowError, LoadedFlow, load_flow, parse_flow
from calsink.http.auth import Auth, auth_of
from calsink.records import Position, SourceItem

if TYPE_CHECKING:  # the engine and the HTTP client are imported when a call needs them
    from calsink.checking import Finding, Notice, ValidationReport
    from calsink.deliver.engine import ProgressEvent
    from calsink.deliver.outcomes import RecordResult
    from calsink.records import Rejection
    from calsink.runner import RunReport, StatusReport, TestResult

T = TypeVar("T")
P = ParamSpec("P")

FlowLike = LoadedFlow | Flow | str | os.PathLike[str] | Mapping[str, Any]
"""A flow: a file's path, the YAML text of one, a mapping of its keys, or a loaded flow."""

Rows = Iterable[Any]
"""Records to send in place of the flow's source: an iterable of mappings (or of
``(position, mapping)`` pairs), a pyarrow Table or RecordBatch, or a pandas DataFrame."""

ROWS_SOURCE = "rows"
_CHUNK = 4096


def load(
    flow: FlowLike,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    keep_references: bool = False,
) -> LoadedFlow:
    """The flow, checked; `FlowError` names every problem (with its line for YAML).

    A ``str`` holding a newline (or starting with ``{``) is YAML text, any other ``str``
    or path-like is a file. Relative paths in a flow resolve against ``base_dir``
    (default: the file's own folder for a file, the working folder otherwise). A file's
    or YAML text's ``${NAME}`` values are read from the environment unless
    ``keep_references`` (to edit the flow as written).
    """
    if isinstance(flow, LoadedFlow):
        return flow
    where = Path(base_dir) if base_dir is not None else None
    if isinstance(flow, Flow):
        return LoadedFlow(flow=flow, path=None, base_dir=where or Path.cwd())
    if isinstance(flow, Mapping):
        return LoadedFlow(flow=_from_mapping(flow), path=None, base_dir=where or Path.cwd())
    if isinstance(flow, str) and ("\n" in flow or flow.lstrip().startswith("{")):
        flow = parse_flow(flow, keep_references=keep_references)
        return LoadedFlow(flow=flow, path=None, base_dir=where or Path.cwd())
    if not isinstance(flow, str | os.PathLike) or not os.fspath(flow).strip():
        given = "an empty text" if isinstance(flow, str) else f"a {type(flow).__name__}"
        raise TypeError(
            f"flow is {given}: pass a flow file's path, the YAML text of one, a mapping of "
            "its keys, or what calsink.load returned"
        )
    loaded = load_flow(Path(flow), keep_references=keep_references)
    return loaded if where is None else dataclasses.replace(loaded, base_dir=where)


def _from_mapping(data: Mapping[str, Any]) -> Flow:
    try:
        return Flow.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"`{where}`: {error['msg']}")
        raise FlowError("<mapping>", problems) from None


def items_of(rows: Rows, *, source: str = ROWS_SOURCE) -> Iterator[SourceItem]:
    """Each row as a source item; positions read ``rows[17]`` unless a pair names one. A
    row that is not a mapping is an item that cannot be read (its record is rejected)."""
    _check_rows(rows)
    return _items(rows, source)


def _items(rows: Rows, source: str) -> Iterator[SourceItem]:
    for index, row in enumerate(_plain_rows(rows)):
        if isinstance(row, SourceItem):
            yield row
        elif isinstance(row, tuple) and len(row) == 2:
            position, record = row
            if not isinstance(position, Position):
                position = Position(str(position), index)
            yield _item(position, record)
        else:
            yield _item(Position(source, index), row)


def _check_rows(rows: object) -> None:
    """Refuse, before anything is read, what cannot be rows at all."""
    if isinstance(rows, Mapping):
        raise TypeError("rows is one mapping: pass an iterable of mappings, e.g. [row]")
    if isinstance(rows, str | bytes | bytearray):
        raise TypeError(
            f"rows is a {type(rows).__name__}: pass an iterable of mappings (a list of dicts, "
            "a DataFrame, a pyarrow table); a file goes in the flow's `source.path`"
        )
    if not isinstance(rows, Iterable) and not hasattr(rows, "to_pylist"):
        raise TypeError(f"rows is a {type(rows).__name__}: pass an iterable of mappings")


def _items_in_place_of_source(rows: Rows | None) -> Iterator[SourceItem] | None:
    """The items a call takes instead of the flow's source; None: read the source."""
    return None if rows is None else items_of(rows)


def _plain_rows(rows: Any) -> Iterator[Any]:
    if hasattr(rows, "to_batches"):  # a pyarrow Table
        for batch in rows.to_batches(max_chunksize=_CHUNK):
            yield from batch.to_pylist()
    elif hasattr(rows, "to_pylist"):  # a pyarrow RecordBatch
        yield from rows.to_pylist()
    elif hasattr(rows, "iloc") and hasattr(rows, "columns"):  # a pandas DataFrame
        for start in range(0, len(rows), _CHUNK):
            chunk = rows.iloc[start : start + _CHUNK]
            chunk = chunk.astype(object).where(chunk.notna(), None)
            yield from chunk.to_dict("records")
    else:
        yield from rows


def _item(position: Position, row: Any) -> SourceItem:
    if isinstance(row, Mapping):
        return SourceItem(position, {str(name): value for name, value in row.items()})
    found = "nothing (None)" if row is None else f"a {type(row).__name__}"
    return SourceItem(position, None, f"{found} where a row (a mapping of columns) belongs")


def api_key_of(loaded: LoadedFlow, api_key: str | Auth | None) -> str | Auth:
    """``api_key`` if given, else the credential the flow's destination names (an OAuth
    one renews its access token; none for a flow whose records name theirs: each is sent
    with the stored credential it names)."""
    if api_key or loaded.flow.destination.credential_per_record:
        return api_key or ""
    from calsink.runner import RunError

    try:
        return auth_of(resolve_api_key(loaded.flow.destination))
    except CredentialError as exc:
        raise RunError(str(exc)) from None


def _blocking_form(call: Callable[P, Coroutine[Any, Any, T]], doc: str) -> Callable[P, T]:
    """The plain form of the ``a``-prefixed ``call``: its parameters, run to the end (see
    `calsink._loops.blocking`), under the name without the ``a``."""

    @functools.wraps(call)
    def plain(*args: P.args, **kwargs: P.kwargs) -> T:
        return blocking(call(*args, **kwargs))

    plain.__name__ = plain.__qualname__ = call.__name__.removeprefix("a")
    plain.__doc__ = doc
    return plain


# -- run -------------------------------------------------------------------------------------


async def arun(
    flow: FlowLike,
    rows: Rows | None = None,
    *,
    api_key: str | Auth | None = None,
    base_url: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    force: bool = False,
    yes: bool = False,
    follow: bool = False,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    on_result: Callable[[RecordResult], None] | None = None,
    credentials: Mapping[str, Credential] | None = None,
) -> RunReport:
    """Send every record of the flow (or of ``rows``) once; `run` in the caller's loop."""
    from calsink.runner import arun_flow

    if limit is not None and limit < 0:
        raise ValueError(f"limit={limit}: expected how many records to read (0 or more), or None")
    loaded = load(flow)
    return await arun_flow(
        loaded,
        api_key=(api_key or "") if dry_run else api_key_of(loaded, api_key),
        base_url=base_url,
        dry_run=dry_run,
        limit=limit,
        force=force,
        yes=yes,
        follow=follow,
        on_progress=on_progress,
        on_result=on_result,
        credentials=credentials,
        items=_items_in_place_of_source(rows),
    )


run = _blocking_form(
    arun,
    """Send every record of the flow, or of ``rows`` in its place, and return the account.

    Records the ledger shows delivered are skipped (``force=True`` sends them again);
    ``dry_run`` renders and counts without sending; ``limit`` reads at most that many
    records; ``yes`` allows a destructive template; ``follow`` keeps reading a growing
    source file (or stdin) until Ctrl-C or its end; ``on_progress`` is called with the
    counts so far, ``on_result`` with each record's `RecordResult` as it settles;
    ``credentials`` are those a flow whose records name theirs may name (default: the
    stored ones). The report's ``exit_code`` is the CLI's.
    """,
)


class ResultStream:
    """`calsink.stream`: each record's `RecordResult` as it settles, in ``async for``;
    ``report`` once the run has ended.

    Leaving the loop early stops the run the way Ctrl-C does (what is on the wire finishes
    and is recorded) once the event loop gets to it; inside ``async with
    calsink.stream(...) as results:`` the block's end waits for that, so that the flow can
    run again at once (`aclose` does the same)."""

    def __init__(self, flow: FlowLike, rows: Rows | None, options: dict[str, Any]) -> None:
        self._flow = flow
        self._rows = rows
        self._options = options
        self._running: asyncio.Future[RunReport] | None = None
        self._stopping = False
        self.report: RunReport | None = None

    async def __aenter__(self) -> ResultStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def __aiter__(self) -> AsyncIterator[RecordResult]:
        if self._running is not None:
            raise RuntimeError("a ResultStream is read once: call calsink.stream again")
        told: asyncio.Queue[RecordResult | None] = asyncio.Queue()
        running = self._running = asyncio.ensure_future(
            arun(self._flow, self._rows, on_result=told.put_nowait, **self._options)
        )
        running.add_done_callback(lambda _: told.put_nowait(None))
        try:
            while (result := await told.get()) is not None:
                yield result
            self.report = running.result()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the run as Ctrl-C does, if it is still going, and wait until it has ended;
        ``report`` then tells what it did."""
        running = self._running
        if running is None:
            return
        if not running.done() and not self._stopping:
            self._stopping = True  # once: a second cancel would cut the winding down short
            running.cancel()
        (ended,) = await asyncio.gather(running, return_exceptions=True)
        if not isinstance(ended, BaseException):
            self.report = ended


def stream(flow: FlowLike, rows: Rows | None = None, **options: Any) -> ResultStream:
    """`arun` as an async iterator of each record's result (``options`` are `arun`'s,
    ``on_result`` aside): ``async for result in calsink.stream(flow, rows): ...``."""
    if "on_result" in options:
        raise TypeError(
            "calsink.stream hands each result to its `async for` loop: leave on_result out "
            "(or pass it to calsink.run / calsink.arun instead)"
        )
    try:
        inspect.signature(arun).bind(flow, rows, **options)
    except TypeError as exc:  # an option arun does not take: said here, not at the loop
        raise TypeError(f"calsink.stream: {exc}") from None
    return ResultStream(flow, rows, options)


# -- test, status, retry ------------------------------------------------------------------------


async def atest(
    flow: FlowLike,
    rows: Rows | None = None,
    *,
    record: int | str | None = None,
    payload: Any | None = None,
    api_key: str | Auth | None = None,
    base_url: str | None = None,
    yes: bool = False,
    timeout_s: float | None = None,
    remember: bool = True,
) -> TestResult:
    """`test` in the caller's loop."""
    from calsink.runner import asend_test

    loaded = load(flow)
    return await asend_test(
        loaded,
        api_key=api_key_of(loaded, api_key),
        base_url=base_url,
        record_index=record,
        payload=payload,
        yes=yes,
        timeout_s=timeout_s,
        record=remember,
        items=_items_in_place_of_source(rows),
    )


test = _blocking_form(
    atest,
    """Send one record of the flow (or of ``rows``) and return Cal.com's answer: ``record``
    is its number (from 0), its position as printed (``"leads.csv:13"``, ``"rows[2]"``), or
    None for the first record that renders valid; ``payload`` is sent to that record's URL
    instead of its body, whatever the record's own validity. ``TestResult.position`` says
    which record was taken. A success is recorded in the ledger as the record's delivery
    (the next run skips it) unless ``remember=False`` (a throw-away test).""",
)


test.__test__ = False  # type: ignore[attr-defined]  # not a test function for pytest


def validate(
    flow: FlowLike,
    rows: Rows | None = None,
    *,
    ledger: str | None = None,
    on_finding: Callable[[Finding], None] | None = None,
) -> ValidationReport:
    """Check every record of the flow (or of ``rows`` in its place) as a run would, sending
    nothing (no key needed): the counts (read = valid + rejected + filtered + duplicates),
    each `Rejection`, `Duplicate` and warning. ``ledger`` names another ledger to look up
    path parameters from earlier flows. With ``on_finding``, each rejection, duplicate and
    warning (a `Notice`) is handed to it as it is found, and the report keeps only the
    counts (for sources of millions of records)."""
    from calsink.checking import validate_flow

    items = _items_in_place_of_source(rows)
    return validate_flow(load(flow), ledger=ledger, items=items, on_finding=on_finding)


def preview(
    flow: FlowLike,
    count: int = 3,
    *,
    rows: Rows | None = None,
    ledger: str | None = None,
    on_finding: Callable[[Rejection | Notice], None] | None = None,
) -> list[dict[str, Any]]:
    """The first ``count`` requests of the flow (or of ``rows``) exactly as they would be
    sent, secrets hidden; ``on_finding`` is told of the flow's warnings and of each record
    rejected before them."""
    from calsink.checking import preview_requests

    if count < 1:
        raise ValueError(f"count={count}: expected how many requests to show (1 or more)")
    items = _items_in_place_of_source(rows)
    return preview_requests(load(flow), count, ledger=ledger, items=items, on_finding=on_finding)


def status(flow: FlowLike) -> StatusReport:
    """What the flow's ledger knows: counts per outcome, the last run, dead letters waiting."""
    from calsink.runner import flow_status

    return flow_status(load(flow))


async def aretry(
    flow: FlowLike,
    *,
    only: Literal["failed", "dead"] | None = None,
    api_key: str | Auth | None = None,
    base_url: str | None = None,
    yes: bool = False,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    on_result: Callable[[RecordResult], None] | None = None,
    credentials: Mapping[str, Credential] | None = None,
) -> RunReport:
    """`retry` in the caller's loop."""
    from calsink.runner import aretry_flow

    if only not in (None, "failed", "dead"):
        raise ValueError(f"only={only!r}: expected 'failed', 'dead' or None (both)")
    loaded = load(flow)
    return await aretry_flow(
        loaded,
        api_key=api_key_of(loaded, api_key),
        only=only,
        base_url=base_url,
        yes=yes,
        on_progress=on_progress,
        on_result=on_result,
        credentials=credentials,
    )


retry = _blocking_form(
    aretry,
    """Send again what this flow did not get through (its dead letters and failed records).""",
)


def templates() -> list[Endpoint]:
    """Every template: its method, path, cal-api-version, fields and an example."""
    return list(TEMPLATES.values())


def template(name: str) -> Endpoint:
    """One template by name; `ValueError` listing the names when there is none."""
    return get_template(name)
