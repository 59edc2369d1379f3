"""The library calls behind `calsink run`, `test`, `status` and `retry`.

Every call takes explicit settings (a LoadedFlow, the API key, overrides) and owns
nothing global: `arun_flow` runs inside the caller's event loop, `run_flow` is the
same call wrapped in `asyncio.run`. A run reads the source, renders each record,
delivers the requests (`calsink.deliver.Engine`), commits every outcome to the
ledger, writes responses and dead letters, and returns a `RunReport` whose
``exit_code`` follows SPEC.md: 0 all delivered or skipped, 1 some rejected, failed or
dead, 3 aborted (authentication failed, destructive cap reached, interrupted).
Configuration problems raise `RunError` (exit code 2), including a second run of a
flow that is already running.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import itertools
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, TypeVar

from calsink._loops import blocking
from calsink.deadletters import (
    DeadLetter,
    DeadLetterError,
    DeadLetterWriter,
    Settled,
    dead_letters_path,
    read_dead_letters,
    waiting_by_run,
)
from calsink.deliver.accounts import AccountLimiter, AccountTransport, current_account
from calsink.deliver.engine import (
    ABORT_INTERRUPTED,
    Engine,
    EngineResult,
    EngineSettings,
    Item,
    ProgressEvent,
)
from calsink.deliver.outcomes import RecordResult, Summary
from calsink.deliver.reconcile import identifiers
from calsink.flow import LoadedFlow, ResponseWebhook
from calsink.http.auth import Auth, as_auth, auth_of, secret_values
from calsink.http.ratelimit import DEFAULT_LIMIT, RateLimiter
from calsink.http.shared_budget import SharedRateLimiter
from calsink.http.transport import Transport, TransportError
from calsink.http.urls import InsecureURLError, check_url
from calsink.journal import JournalError
from calsink.ledger import FlowBusyError
from calsink.ledger_pg import LedgerConnectError, PostgresBudget, PostgresLedger, shown_url
from calsink.ledgers import AnyLedger, ledger_exists, ledger_location, open_ledger, open_writer
from calsink.records import Position, Record, Rejection, Request, SourceItem
from calsink.redact import redact_response_headers, redact_text, redact_url, scrub
from calsink.render import encode_body
from calsink.resend import unscreened
from calsink.responses import ResponseSinks, WebhookSink

if TYPE_CHECKING:
    from calsink.credentials import Credential

__all__ = [
    "ProgressEvent",
    "RunError",
    "RunReport",
    "StatusReport",
    "TestResult",
    "arun_flow",
    "flow_status",
    "is_destructive",
    "retry_flow",
    "run_flow",
    "send_test",
]


T = TypeVar("T")


class RunError(Exception):
    """A flow that cannot be run as configured; the message says what to change."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class RunReport:
    """The account of one run. ``summary`` counts add up to ``summary.read``.

    ``unfinished`` counts records taken from the source that an abort left without an
    outcome (the next run sends them); ``planned`` counts what a dry run would send.
    """

    flow: str
    summary: Summary
    aborted: str | None
    abort_detail: str | None
    exit_code: int
    duration_s: float
    unfinished: int = 0
    planned: int = 0
    throttled: int = 0
    dry_run: bool = False
    responses_path: Path | None = None
    dead_letters_path: Path | None = None
    dead_letters: int = 0
    webhook_undelivered: int = 0
    webhook_undelivered_path: Path | None = None
    ledger_path: Path | str | None = None  # str: a PostgreSQL ledger (shown without password)
    # Why this run's writes are still only in its journal (the next run, status or
    # retry of the flow takes them into the ledger file); None once they are in it.
    ledger_pending: str | None = None
    # Records retry did not send, each with why and what to do (see `unscreened`).
    not_resent: tuple[str, ...] = ()
    run_id: int | None = None
    # What `retry` left alone: dead letters of other flows found in this flow's file.
    refused: str | None = None
    # Of the skipped records, those an earlier run delivered (the others were left out by
    # `where` or repeat a record of this run).
    skipped_delivered: int = 0
    # A flow whose records choose their credential: the counts per credential name, and
    # the credentials whose key Cal.com refused (their records failed, the others went on),
    # and those whose first requests were all refused (403) likewise.
    accounts: dict[str, Summary] = dataclasses.field(default_factory=dict)
    refused_accounts: tuple[str, ...] = ()
    forbidden_accounts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "run": self.run_id,
            **self.summary.to_json(),
            "accounts": {
                name: {
                    **counts.to_json(),
                    "key_refused": name in self.refused_accounts,
                    "key_forbidden": name in self.forbidden_accounts,
                }
                for name, counts in sorted(self.accounts.items())
            },
            "aborted": self.aborted,
            "abort_detail": self.abort_detail,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "unfinished": self.unfinished,
            "throttled": self.throttled,
            "dry_run": self.dry_run,
            "responses": str(self.responses_path) if self.responses_path else None,
            "dead_letters_file": str(self.dead_letters_path) if self.dead_letters_path else None,
            "dead_letters": self.dead_letters,
            "webhook_undelivered": self.webhook_undelivered,
            "webhook_undelivered_file": (
                str(self.webhook_undelivered_path) if self.webhook_undelivered_path else None
            ),
            "ledger": str(self.ledger_path) if self.ledger_path else None,
            "ledger_pending": self.ledger_pending,
            "not_resent": list(self.not_resent),
            "refused": self.refused,
        }


@dataclass(frozen=True, slots=True)
class TestResult:
    """One request sent by `send_test` and what came back (``error`` when nothing did, or
    when Cal.com would not renew the OAuth access token it refused)."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: Any
    position: str
    status: int | None
    headers: dict[str, str]
    body: Any
    elapsed_s: float
    error: str | None = None
    passed_over: int = 0  # records before it that could not be sent (the first valid is sent)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What the ledger knows about a flow."""

    flow: str
    ledger_path: Path | str  # str: a PostgreSQL ledger (its URL, without password)
    counts: dict[str, int]
    last_run_kind: str | None
    last_run_started: float | None
    last_run_ended: float | None
    last_run_summary: dict[str, Any] | None
    last_run_aborted: str | None
    dead_letters: int
    dead_letters_path: Path
    running: bool = False
    dead_letters_by_run: dict[int | None, int] = dataclasses.field(default_factory=dict)
    # The summary of the last run that sent (a dry run changes nothing in the ledger).
    sent_run_summary: dict[str, Any] | None = None
    # A flow with many accounts: per credential name, its records in the ledger per state.
    accounts: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    def account_outcomes(self) -> dict[str, dict[str, int]]:
        """Each credential's records in the ledger: delivered, failed, dead, in flight."""
        states = ("delivered", "failed", "dead", "in_flight")
        return {
            name: {state: counts.get(state, 0) for state in states}
            for name, counts in sorted(self.accounts.items())
        }

    def outcomes(self) -> dict[str, int]:
        """The flow's records, each counted once: those in the ledger by their best outcome
        (delivered, failed, dead, in flight), and those the last run that sent left out of
        it (rejected; skipped by `where` or as a repeat). ``read`` is their sum."""
        last = self.sent_run_summary or {}
        counts = {
            "delivered": self.counts.get("delivered", 0),
            "skipped": last.get("skipped", 0) - last.get("skipped_delivered", 0),
            "rejected": last.get("rejected", 0),
            "failed": self.counts.get("failed", 0),
            "dead": self.counts.get("dead", 0),
            "in_flight": self.counts.get("in_flight", 0),
        }
        return {"read": sum(counts.values()), **counts}

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "ledger": str(self.ledger_path),
            **self.outcomes(),
            "last_run": {
                "kind": self.last_run_kind,
                "started_at": self.last_run_started,
                "ended_at": self.last_run_ended,
                "summary": self.last_run_summary,
                "aborted": self.last_run_aborted,
            },
            "dead_letters": self.dead_letters,
            "dead_letters_by_run": {str(k): v for k, v in self.dead_letters_by_run.items()},
            "dead_letters_file": str(self.dead_letters_path),
            "running": self.running,
            "accounts": self.account_outcomes(),
        }


# -- helpers ---------------------------------------------------------------------------------


def with_base_url(loaded: LoadedFlow, base_url: str | None) -> LoadedFlow:
    """The flow with ``destination.base_url`` replaced (for the sandbox or a proxy)."""
    if not base_url:
        return loaded
    destination = loaded.flow.destination.model_copy(update={"base_url": base_url.rstrip("/")})
    flow = loaded.flow.model_copy(update={"destination": destination})
    return dataclasses.replace(loaded, flow=flow)


def is_destructive(loaded: LoadedFlow) -> bool:
    """Whether the flow cancels bookings or deletes event types."""
    destination = loaded.flow.destination
    if destination.template is not None:
        from calsink.endpoints import TEMPLATES

        endpoint = TEMPLATES.get(destination.template)
        return bool(endpoint and endpoint.destructive)
    assert destination.manual is not None
    from calsink.endpoints import template_at

    acting = template_at(destination.manual.method, destination.manual.url)
    return acting is not None and acting.destructive


def _check_destructive(loaded: LoadedFlow, yes: bool) -> None:
    if is_destructive(loaded) and not (loaded.flow.delivery.allow_destructive or yes):
        what = loaded.flow.destination.template or "this manual request"
        raise RunError(
            f"flow {loaded.flow.name!r} uses {what}, which destroys data in Cal.com; set "
            "`delivery.allow_destructive: true` in the flow file or pass --yes "
            f"(at most delivery.max_destructive={loaded.flow.delivery.max_destructive} "
            "records per run)"
        )


def _check_base_url(loaded: LoadedFlow) -> None:
    try:
        check_url(loaded.flow.destination.base_url + "/")
    except InsecureURLError as exc:
        raise RunError(f"destination.base_url: {exc}") from None


def _cannot_write(setting: str, error: OSError) -> str:
    """Why a file the run writes cannot be opened; nothing has been sent yet."""
    where = error.filename if error.filename is not None else "its path"
    return (
        f"{setting}: cannot write {where}: {error.strerror or error}; nothing was sent. "
        "Point it at a file in a folder calsink can write to"
    )


def _exit_code(result: EngineResult) -> int:
    if result.aborted is not None:
        return 3
    return 1 if result.summary.not_through else 0


class _Book:
    """Source records by position while their requests are under way (for dead letters)."""

    def __init__(self) -> None:
        self._records: dict[Position, Record | None] = {}
        self.settled = Settled()  # every position that got an outcome

    def keep(self, items: Iterable[SourceItem]) -> Iterator[SourceItem]:
        for item in items:
            self._records[item.position] = item.record
            yield item

    def take(self, positions: tuple[Position, ...]) -> list[Record | None]:
        for position in positions:
            self.settled.add(position)
        return [self._records.pop(p, None) for p in positions]


class FollowFile(io.RawIOBase):
    """A file read as it grows: at its end, waits for more until ``stop`` is set."""

    def __init__(self, path: Path, stop: threading.Event, poll_s: float = 0.2) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._stop = stop
        self._poll_s = poll_s

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            data = self._file.read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            if self._stop.wait(self._poll_s):
                return 0

    def close(self) -> None:
        self._file.close()
        super().close()


def _open_items(
    loaded: LoadedFlow,
    *,
    follow: bool,
    stdin: BinaryIO | None,
    stop: threading.Event,
    api_key: str | Auth,
) -> Iterator[SourceItem]:
    from calsink.sources import open_source

    settings = loaded.flow.source
    if settings.calcom is not None:
        if follow:
            raise RunError("--follow reads a file or stdin; a `calcom:` source is read once")
        from calsink.calcom.kinds import open_calcom_source

        delivery = loaded.flow.delivery
        return open_calcom_source(
            settings,
            api_key=api_key,
            base_url=loaded.flow.destination.base_url,
            rate_limit=delivery.rate_limit,
            timeout_s=delivery.timeout_s,
        )
    if not follow or settings.path in (None, "-"):
        return open_source(settings, loaded.base_dir, stdin=stdin)
    assert settings.path is not None
    path = loaded.resolve(settings.path)
    file_format = settings.format or {
        ".csv": "csv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "json",
    }.get(path.suffix.lower())
    if file_format not in ("csv", "jsonl"):
        raise RunError(f"--follow reads CSV and JSON Lines files; {settings.path} is neither")
    if not path.exists():
        raise RunError(f"source.path: no such file {path}")
    tail = io.BufferedReader(FollowFile(path, stop))
    piped = settings.model_copy(update={"path": "-", "format": file_format})
    label = settings.path

    def relabel(items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        for item in items:
            position = dataclasses.replace(item.position, source=label)
            yield dataclasses.replace(item, position=position)

    return relabel(open_source(piped, loaded.base_dir, stdin=tail))


async def _threaded(items: Iterator[Item], stop: threading.Event) -> AsyncIterator[Item]:
    """Items produced by a daemon thread (stdin and --follow block while they wait)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    room = threading.BoundedSemaphore(256)

    def pump() -> None:
        try:
            for item in items:
                while not room.acquire(timeout=0.2):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
        except BaseException as exc:  # handed to the event loop, raised there
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, ("end", None))

    threading.Thread(target=pump, name="calsink-source", daemon=True).start()
    while True:
        kind, value = await queue.get()
        if kind == "end":
            return
        if kind == "error":
            raise value
        room.release()
        yield value


def _secret_of(webhook: str | ResponseWebhook | None, environ: Mapping[str, str]) -> str | None:
    if isinstance(webhook, ResponseWebhook) and webhook.secret_env:
        secret = environ.get(webhook.secret_env)
        if not secret:
            raise RunError(
                f"responses.webhook.secret_env names {webhook.secret_env}, which is not set"
            )
        return secret
    return None


# -- run ---------------------------------------------------------------------------------------


async def arun_flow(
    loaded: LoadedFlow,
    *,
    api_key: str | Auth,
    base_url: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    force: bool = False,
    yes: bool = False,
    follow: bool = False,
    stdin: BinaryIO | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    on_result: Callable[[RecordResult], None] | None = None,
    stdout: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
    items: Iterable[SourceItem] | None = None,
    kind: str = "run",
    credentials: Mapping[str, Credential] | None = None,
) -> RunReport:
    """Send every record of ``loaded`` (see the module docstring); for use inside a loop.

    ``base_url`` overrides ``destination.base_url``; ``limit`` reads at most that many
    records; ``force`` sends again records the ledger shows delivered; ``yes`` allows a
    destructive template; ``follow`` keeps reading a growing file (or stdin) until
    SIGINT / EOF; ``stdout`` receives responses when ``responses.stdout`` is set
    (default sys.stdout); ``environ`` supplies ``responses.webhook.secret_env``
    (default os.environ); ``items`` replaces the flow's source (used by retry);
    ``credentials`` are those the records of a flow whose ``destination.credential`` is a
    template (``"{owner}"``) may name (default: the stored ones), each sent with its own
    key, rate budget and base URL (unless ``base_url`` is given).
    ``on_result`` is told each record's outcome as it settles, secrets screened out.
    """
    started = time.monotonic()
    accounts = _accounts(loaded, credentials, own_base_urls=not base_url)
    loaded = with_base_url(loaded, base_url)
    flow = loaded.flow
    _check_base_url(loaded)
    _check_destructive(loaded, yes)
    env = os.environ if environ is None else environ
    secrets = secret_values(api_key)
    for account_key in accounts.keys.values() if accounts else ():
        secrets.extend(secret_values(account_key))
    webhook_secret = _secret_of(flow.responses.webhook, env)
    if webhook_secret:
        secrets.append(webhook_secret)
    try:
        ledger = open_ledger(ledger_location(loaded), secrets=secrets)
    except LedgerConnectError as exc:
        raise RunError(str(exc)) from None
    try:
        with ledger.lock(flow.name):
            return await _run_locked(
                loaded,
                ledger,
                api_key=api_key,
                dry_run=dry_run,
                limit=limit,
                force=force,
                follow=follow,
                stdin=stdin,
                on_progress=on_progress,
                on_result=_screened(on_result, secrets),
                stdout=stdout,
                secrets=secrets,
                webhook_secret=webhook_secret,
                items=items,
                kind=kind,
                started=started,
                accounts=accounts,
            )
    except (FlowBusyError, JournalError) as exc:
        raise RunError(str(exc)) from None
    finally:
        ledger.close()


def _screened(
    on_result: Callable[[RecordResult], None] | None, secrets: list[str]
) -> Callable[[RecordResult], None] | None:
    """``on_result`` told each result with the run's secrets screened out of its error."""
    if on_result is None:
        return None
    tell = on_result

    def screened(result: RecordResult) -> None:
        if result.error:
            result = dataclasses.replace(result, error=redact_text(result.error, secrets))
        tell(result)

    return screened


async def _run_locked(
    loaded: LoadedFlow,
    ledger: AnyLedger,
    *,
    api_key: str | Auth,
    dry_run: bool,
    limit: int | None,
    force: bool,
    follow: bool,
    stdin: BinaryIO | None,
    on_progress: Callable[[ProgressEvent], None] | None,
    on_result: Callable[[RecordResult], None] | None,
    stdout: IO[str] | None,
    secrets: list[str],
    webhook_secret: str | None,
    items: Iterable[SourceItem] | None,
    kind: str,
    started: float,
    accounts: _Accounts | None = None,
) -> RunReport:
    from calsink.pipeline import build_renderer, prepare

    flow = loaded.flow
    delivery = flow.delivery
    stop = threading.Event()
    book = _Book()
    source = (
        items
        if items is not None
        else _open_items(loaded, follow=follow, stdin=stdin, stop=stop, api_key=api_key)
    )
    if limit is not None:
        source = itertools.islice(source, limit)
    # A dry run shows and sends no body: no booking fingerprint to write into one.
    renderer = build_renderer(
        loaded,
        ledger.resolve_reference,
        accounts=accounts.bases if accounts else None,
        fingerprints=not dry_run,
    )
    prepared = prepare(loaded, book.keep(source), renderer=renderer)
    # sources that wait on something else (a pipe, Cal.com, a database, the network) are read
    # on a thread of their own, so that the waiting never holds up the requests in flight
    threaded = (
        follow
        or flow.source.path == "-"
        or flow.source.calcom is not None
        or flow.source.query is not None
        or "://" in (flow.source.path or "")
    )
    pending: Iterable[Item] | AsyncIterator[Item] = (
        _threaded(prepared, stop) if threaded else prepared
    )

    responses_path = loaded.resolve(flow.responses.jsonl) if flow.responses.jsonl else None
    dead_path = dead_letters_path(loaded)
    sinks: ResponseSinks | None = None
    dead_letters: DeadLetterWriter | None = None
    if not dry_run:
        webhook = None
        if flow.responses.webhook is not None:
            url = flow.responses.webhook
            url = url.url if isinstance(url, ResponseWebhook) else url
            try:
                webhook = WebhookSink(
                    url,
                    secret=webhook_secret,
                    undelivered_path=dead_path.with_name(dead_path.stem + ".responses.jsonl"),
                )
            except InsecureURLError as exc:
                raise RunError(f"responses.webhook: {exc}") from None
        try:
            sinks = ResponseSinks(
                jsonl=responses_path,
                stdout=(stdout or _sys_stdout()) if flow.responses.stdout else None,
                webhook=webhook,
                secrets=secrets,
            )
        except OSError as exc:
            raise RunError(_cannot_write("responses.jsonl", exc)) from None
    run_id = ledger.begin_run(flow.name, "dry-run" if dry_run else kind)
    if not dry_run:
        try:
            dead_letters = DeadLetterWriter(
                dead_path,
                flow=flow.name,
                run=run_id,
                flow_file=loaded.path.resolve() if loaded.path else None,
                secrets=secrets,
                shared=ledger.shared,
            )
        except OSError as exc:
            ledger.end_run(run_id, Summary().to_json(), "dead letters could not be written")
            if sinks is not None:
                await sinks.close()
            raise RunError(_cannot_write("dead_letters", exc)) from None
    settings = EngineSettings(
        flow=flow.name,
        concurrency=delivery.concurrency,
        rate_limit=None if delivery.rate_limit == "auto" else int(delivery.rate_limit),
        max_attempts=delivery.max_attempts,
        timeout_s=delivery.timeout_s,
        max_destructive=delivery.max_destructive,
        force=force,
        dry_run=dry_run,
        fingerprint_bookings=delivery.fingerprint_bookings,
    )
    limiter = _limiter(ledger, loaded, settings.rate_limit, api_key, accounts)
    result: EngineResult | None = None
    sink_report = None
    writer = open_writer(ledger, flow.name, run_id, force=force, lease_s=delivery.lease_s)
    try:
        async with (
            AccountTransport(
                accounts.keys, timeout_s=delivery.timeout_s, connections=delivery.concurrency
            )
            if accounts is not None
            else Transport(api_key, timeout_s=delivery.timeout_s, connections=delivery.concurrency)
        ) as transport:
            from calsink.calcom.checks import PreSendChecks

            pre_send = PreSendChecks.for_run(
                flow.destination.base_url,
                transport,
                limiter,
                check_availability=flow.destination.check_availability,
                max_attempts=delivery.max_attempts,
                account=current_account,
                bases=accounts.bases if accounts is not None else None,
            )
            engine = Engine(
                settings,
                transport=transport,
                ledger=ledger,
                writer=writer,
                limiter=limiter,
                sinks=sinks,
                dead_letters=dead_letters,
                source_records=book.take,
                on_progress=on_progress,
                on_result=on_result,
                pre_send=pre_send,
            )
            result = await engine.run(pending)
    finally:
        stop.set()
        writer.close()
        if isinstance(limiter, SharedRateLimiter | AccountLimiter):
            limiter.close()
        if sinks is not None:
            sink_report = await sinks.close()
        if dead_letters is not None:
            dead_letters.close(book.settled)
        if result is not None:
            summary = {**result.summary.to_json(), "skipped_delivered": result.skipped_delivered}
            ledger.end_run(run_id, summary, result.aborted)
    if follow and result.aborted == ABORT_INTERRUPTED:
        result.aborted = None
    report = RunReport(
        flow=flow.name,
        summary=result.summary,
        aborted=result.aborted,
        abort_detail=result.abort_detail,
        exit_code=_exit_code(result),
        duration_s=time.monotonic() - started,
        unfinished=result.unfinished,
        planned=result.planned,
        throttled=result.throttled,
        dry_run=dry_run,
        responses_path=responses_path if not dry_run else None,
        dead_letters_path=dead_path if dead_letters is not None else None,
        dead_letters=dead_letters.count if dead_letters is not None else 0,
        webhook_undelivered=sink_report.webhook_undelivered if sink_report else 0,
        webhook_undelivered_path=sink_report.undelivered_path if sink_report else None,
        ledger_path=ledger.location,
        ledger_pending=_pending_note(writer.fold_error),
        run_id=run_id,
        skipped_delivered=result.skipped_delivered,
        accounts=result.accounts,
        refused_accounts=tuple(result.refused_accounts),
        forbidden_accounts=tuple(result.forbidden_accounts),
    )
    stopped_by = result.callback_error or result.source_error
    if stopped_by is not None:
        raise _stopped_by(stopped_by, report)
    return report


def _stopped_by(error: Exception, report: RunReport) -> Exception:
    """The error a caller's callback (or the reading of the records) raised, told what
    became of the run it stopped."""
    summary = report.summary
    error.add_note(
        f"calsink stopped the run of flow {report.flow!r} there: {summary.delivered} delivered, "
        f"{summary.not_through} failed, {summary.skipped} skipped, {report.unfinished} not sent; "
        "each outcome is in the ledger, and the next run sends what is left"
    )
    return error


@dataclass(frozen=True, slots=True)
class _Accounts:
    """The credentials a flow's records may name: keys (for the transport) and base URLs."""

    keys: dict[str, str | Auth]
    bases: dict[str, str | None]


def _accounts(
    loaded: LoadedFlow, credentials: Mapping[str, Credential] | None, *, own_base_urls: bool
) -> _Accounts | None:
    """For a flow whose records choose their credential: the credentials they may name."""
    if not loaded.flow.destination.credential_per_record:
        return None
    if loaded.flow.source.calcom is not None:
        raise RunError(
            "source.calcom reads Cal.com with one key, and destination.credential "
            f"{loaded.flow.destination.credential!r} names a credential per record: read "
            "with `calsink source` into a file first, or name one credential"
        )
    if credentials is None:
        from calsink.credentials import CredentialError, CredentialStore

        try:
            credentials = CredentialStore().all()
        except CredentialError as exc:
            raise RunError(str(exc)) from None
    for credential in credentials.values():
        if credential.base_url and own_base_urls:
            try:
                check_url(credential.base_url.rstrip("/") + "/")
            except InsecureURLError as exc:
                raise RunError(f"credential {credential.name}: {exc}") from None
    return _Accounts(
        keys={name: auth_of(credential) for name, credential in credentials.items()},
        bases={
            name: credential.base_url if own_base_urls else None
            for name, credential in credentials.items()
        },
    )


def _limiter(
    ledger: AnyLedger,
    loaded: LoadedFlow,
    per_minute: int | None,
    api_key: str | Auth,
    accounts: _Accounts | None = None,
) -> RateLimiter:
    """The run's rate limiter: with a PostgreSQL ledger, one that also draws every request
    from the API key's budget shared by all its workers (unless `delivery.shared_budget`
    is off); with many accounts, one such limiter per credential (Cal.com counts per key)."""
    if accounts is not None:
        keys = accounts.keys
        return AccountLimiter(lambda name: _limiter(ledger, loaded, per_minute, keys[name]))
    delivery = loaded.flow.delivery
    burst = max(1, min(delivery.concurrency, 8))
    auth = as_auth(api_key)
    # An OAuth access token has its own budget (500/min), an API key 120 (ratelimit.py).
    own = auth.per_minute if auth is not None else DEFAULT_LIMIT
    if not isinstance(ledger, PostgresLedger) or not delivery.shared_budget:
        return RateLimiter(per_minute, burst=burst, default_limit=own)
    try:
        budget = PostgresBudget(ledger.url, auth.budget_key() if auth is not None else "")
    except LedgerConnectError as exc:
        raise RunError(str(exc)) from None
    return SharedRateLimiter(per_minute, burst=burst, budget=budget, default_limit=own)


def _pending_note(error: Exception | None) -> str | None:
    if error is None:
        return None
    return (
        f"this run's writes could not be taken into the ledger file yet ({error}); they are "
        "kept in its journal beside it, and the next run, status or retry of the flow "
        "takes them in"
    )


def _sys_stdout() -> IO[str]:
    import sys

    return sys.stdout


def run_flow(loaded: LoadedFlow, **options: Any) -> RunReport:
    """`arun_flow` in a fresh event loop (uvloop when available); same keyword options.

    Ctrl-C finishes the requests on the wire, records them, and returns a report with
    ``aborted="interrupted"`` and exit code 3.
    """
    return blocking(arun_flow(loaded, **options))


# -- test, status, retry -------------------------------------------------------------------------


RecordChoice = int | str | None
"""Which record `send_test` sends: its number (from 0), its position as printed
(``leads.csv:13``, ``leads.json[4]``), or None for the first that renders valid."""


def send_test(
    loaded: LoadedFlow,
    *,
    api_key: str | Auth,
    base_url: str | None = None,
    record_index: RecordChoice = None,
    payload: Any | None = None,
    yes: bool = False,
    timeout_s: float | None = None,
    record: bool = True,
    credentials: Mapping[str, Credential] | None = None,
) -> TestResult:
    """Send one request — the record ``record_index`` names (a number from 0, a position
    such as ``leads.csv:13``, or None: the first record that renders valid), or its URL
    with ``payload`` as the body (whatever the record's own validity) — and return the
    answer.

    A success is recorded in the ledger under the record's key, marked as a test (and
    as an edited payload when ``payload`` is given), so that the next run skips the
    record; ``record=False`` leaves the ledger alone (a throw-away test). A flow whose
    records choose their credential sends with the key of the one the record names, from
    ``credentials``."""
    return blocking(
        asend_test(
            loaded,
            api_key=api_key,
            base_url=base_url,
            record_index=record_index,
            payload=payload,
            yes=yes,
            timeout_s=timeout_s,
            record=record,
            credentials=credentials,
        )
    )


def choose_test_request(
    loaded: LoadedFlow,
    ledger: AnyLedger | None,
    api_key: str | Auth,
    choice: RecordChoice,
    payload: Any | None = None,
    *,
    accounts: _Accounts | None = None,
    items: Iterable[SourceItem] | None = None,
) -> tuple[Request, int]:
    """The request `calsink test` sends for ``choice`` among the flow's records (or
    ``items``), and how many records before it were passed over (when the first valid one
    is taken); RunError when there is none."""
    from calsink.pipeline import build_renderer, prepare

    source = items
    if source is None:
        stop = threading.Event()
        source = _open_items(loaded, follow=False, stdin=None, stop=stop, api_key=api_key)
    resolve = ledger.resolve_reference if ledger else None
    renderer = build_renderer(loaded, resolve, accounts=accounts.bases if accounts else None)
    passed = 0
    for number, item in enumerate(prepare(loaded, source, renderer=renderer)):
        if choice is None:
            if isinstance(item, Request):
                return item, passed
            passed += 1
            continue
        if not _is_chosen(item.position, number, choice):
            continue
        if isinstance(item, Request):
            return item, 0
        if payload is not None:
            return _payload_request(renderer, item, payload), 0
        if isinstance(item, Rejection):
            raise RunError(f"record {item.position} cannot be sent: {item.reason}")
        raise RunError(f"record {item.position} is filtered out by transform.where")
    if choice is None:
        raise RunError(
            f"no record of the source can be sent ({passed} read): "
            "`calsink validate` says why, record by record"
        )
    shown = f"number {choice} (counting from 0)" if isinstance(choice, int) else f"at {choice}"
    raise RunError(f"the source has no record {shown}")


def _is_chosen(position: Position, number: int, choice: int | str) -> bool:
    if isinstance(choice, int):
        return number == choice
    shown = str(position)
    if shown == choice or shown.endswith("/" + choice):
        return True
    return Path(position.source).name + shown[len(position.source) :] == choice


def _payload_request(renderer: Any, item: Any, payload: Any) -> Request:
    """A request for ``payload`` at the URL of a record that cannot be sent as it stands."""
    source = getattr(item, "record", None) or {}
    record = payload if isinstance(payload, dict) else {}
    rendered = renderer.render(item.position, source, record)
    if isinstance(rendered, Request):
        body = encode_body(payload)
        return dataclasses.replace(rendered, body=body, payload=payload)
    if renderer.fixed_url is None:
        raise RunError(
            f"record {item.position} gives no URL to send the payload to: {rendered.reason}"
        )
    body = encode_body(payload)
    return Request(
        renderer.method,
        renderer.fixed_url,
        renderer.headers,
        body,
        payload,
        (item.position,),
        (record,),
        hashlib.sha256(body).hexdigest(),
        renderer.template_name,
        (),
    )


async def asend_test(
    loaded: LoadedFlow,
    *,
    api_key: str | Auth,
    base_url: str | None = None,
    record_index: RecordChoice = None,
    payload: Any | None = None,
    yes: bool = False,
    timeout_s: float | None = None,
    record: bool = True,
    credentials: Mapping[str, Credential] | None = None,
    items: Iterable[SourceItem] | None = None,
) -> TestResult:
    """`send_test` inside a running event loop."""
    accounts = _accounts(loaded, credentials, own_base_urls=not base_url)
    loaded = with_base_url(loaded, base_url)
    _check_base_url(loaded)
    _check_destructive(loaded, yes)
    location = ledger_location(loaded)
    try:
        ledger = open_ledger(location) if record or ledger_exists(location) else None
    except LedgerConnectError as exc:
        raise RunError(str(exc)) from None
    try:
        # The flow's lock is held from before the send until the outcome is recorded.
        with ledger.lock(loaded.flow.name) if record and ledger else contextlib.nullcontext():
            chosen, passed = choose_test_request(
                loaded, ledger, api_key, record_index, payload, accounts=accounts, items=items
            )
            if accounts is not None and chosen.credential is not None:
                api_key = accounts.keys[chosen.credential]
            result, ids = await _send_one(loaded, chosen, api_key, payload, timeout_s)
            result = dataclasses.replace(result, passed_over=passed)
            if record and ledger is not None and result.ok:
                await _record_test(ledger, loaded.flow.name, chosen, result, ids, edited=payload)
    except (FlowBusyError, JournalError) as exc:
        raise RunError(str(exc)) from None
    finally:
        if ledger is not None:
            ledger.close()
    return result


async def _send_one(
    loaded: LoadedFlow,
    request: Request,
    api_key: str | Auth,
    payload: Any,
    timeout_s: float | None,
) -> tuple[TestResult, dict[str, Any]]:
    body = request.body
    shown = request.payload
    if payload is not None:
        body, shown = encode_body(payload), payload
    secrets = secret_values(api_key)
    async with Transport(
        api_key, timeout_s=timeout_s or loaded.flow.delivery.timeout_s, connections=1
    ) as transport:
        try:
            response = await transport.send(
                request.method, request.url, headers=request.headers, body=body
            )
        except TransportError as exc:
            failed = TestResult(
                request.method,
                redact_url(request.url, secrets),
                request.headers,
                scrub(shown, secrets),
                str(request.position),
                None,
                {},
                None,
                0.0,
                error=redact_text(str(exc), secrets),
            )
            return failed, {}
        refused = transport.auth_refused if response.status == 401 else None
    secrets = secret_values(api_key)  # a renewal may have added tokens
    parsed = (
        response.parsed if response.parsed is not None else response.body.decode("utf-8", "replace")
    )
    result = TestResult(
        request.method,
        redact_url(request.url, secrets),
        request.headers,
        scrub(shown, secrets),
        str(request.position),
        response.status,
        redact_response_headers(response.headers.items(), secrets),
        scrub(parsed, secrets),
        response.elapsed_s,
        error=None if refused is None else redact_text(refused, secrets),
    )
    data = response.parsed.get("data") if isinstance(response.parsed, dict) else None
    return result, identifiers(data) if response.ok else {}


TEST_NOTE = "sent by `calsink test`"


async def _record_test(
    ledger: AnyLedger,
    flow: str,
    request: Request,
    result: TestResult,
    ids: dict[str, Any],
    *,
    edited: Any,
) -> None:
    """Record a test's success as the record's delivery (a run of kind "test")."""
    run_id = ledger.begin_run(flow, "test")
    writer = open_writer(ledger, flow, run_id)
    identifier = ids.get("uid", ids.get("id"))
    try:
        await writer.record_outcome(
            request.key,
            "delivered",
            attempts=1,
            status=result.status,
            error=TEST_NOTE + (" with an edited payload" if edited is not None else ""),
            identifier=None if identifier is None else str(identifier),
            position=str(request.position),
            ids=ids or None,
        )
    finally:
        writer.close()
    ledger.end_run(run_id, Summary(delivered=len(request.positions)).to_json(), None)


@contextlib.contextmanager
def _opened(location: Path | str) -> Iterator[AnyLedger]:
    try:
        ledger = open_ledger(location)
    except LedgerConnectError as exc:
        raise RunError(str(exc)) from None
    try:
        yield ledger
    finally:
        ledger.close()


def flow_status(loaded: LoadedFlow) -> StatusReport:
    """Counts per outcome in the ledger, the last run, and the dead letters waiting."""
    flow = loaded.flow
    ledger_path = ledger_location(loaded)
    dead_path = dead_letters_path(loaded)
    counts: dict[str, int] = {}
    accounts: dict[str, dict[str, int]] = {}
    last = sent = None
    running = False
    if ledger_exists(ledger_path):
        with _opened(ledger_path) as ledger:
            running = ledger.running(flow.name)
            counts = ledger.counts(flow.name)
            accounts = ledger.counts_by_credential(flow.name)
            last = ledger.last_run(flow.name)
            sent = ledger.last_run(flow.name, sent=True)
    try:
        waiting = waiting_by_run(dead_path, flow.name)
    except DeadLetterError as exc:
        raise RunError(str(exc)) from None
    return StatusReport(
        flow=flow.name,
        ledger_path=ledger_path if isinstance(ledger_path, Path) else shown_url(ledger_path),
        counts=counts,
        last_run_kind=last.kind if last else None,
        last_run_started=last.started_at if last else None,
        last_run_ended=last.ended_at if last else None,
        last_run_summary=last.summary if last else None,
        last_run_aborted=last.aborted if last else None,
        dead_letters=sum(waiting.values()),
        dead_letters_path=dead_path,
        running=running,
        dead_letters_by_run=waiting,
        sent_run_summary=sent.summary if sent else None,
        accounts=accounts,
    )


def retry_items(
    loaded: LoadedFlow,
    only: Literal["failed", "dead"] | None = None,
    letters: list[DeadLetter] | None = None,
) -> list[SourceItem]:
    """The source records to send again: from the flow's dead letters (``letters``, when
    read already), and its failed/dead ledger rows.

    ``only=None`` takes rejected, failed and dead records; records are rendered again, so
    a fixed flow file applies to them. Entries another flow wrote are never taken
    (`refused_letters` says which).
    """
    flow = loaded.flow
    wanted = {only} if only else {"rejected", "failed", "dead"}
    found: dict[str, SourceItem] = {}
    for letter in _letters(loaded) if letters is None else letters:
        if letter.flow != flow.name or letter.outcome not in wanted:
            continue
        if letter.position is not None and letter.record is not None:
            found.setdefault(str(letter.position), SourceItem(letter.position, letter.record))
    ledger_path = ledger_location(loaded)
    if ledger_exists(ledger_path):
        from calsink.deadletters import position_from_json

        states = [s for s in ("failed", "dead") if s in wanted]
        with _opened(ledger_path) as ledger:
            ledger.fold_left_over(flow.name)
            entries = ledger.entries(flow.name, states) if states else []
        for entry in entries:
            for stored in entry.record or []:
                if not isinstance(stored, dict) or stored.get("record") is None:
                    continue
                position = position_from_json(stored["position"])
                found.setdefault(str(position), SourceItem(position, stored["record"]))
    return sorted(found.values(), key=lambda item: (item.position.source, item.position.index))


def _letters(loaded: LoadedFlow) -> list[DeadLetter]:
    """The flow's dead-letter file, read whole before anything is sent (RunError naming the
    line that cannot be read)."""
    try:
        return list(read_dead_letters(dead_letters_path(loaded)))
    except DeadLetterError as exc:
        raise RunError(str(exc)) from None


def refused_letters(loaded: LoadedFlow, letters: list[DeadLetter]) -> str | None:
    """What `retry` leaves alone of the flow's dead ``letters``: entries of other flows."""
    others: dict[str, int] = {}
    files: dict[str, str] = {}
    for letter in letters:
        if letter.flow != loaded.flow.name:
            name = letter.flow or "an unnamed flow"
            others[name] = others.get(name, 0) + 1
            if letter.flow_file:
                files[name] = letter.flow_file
    if not others:
        return None
    listed = ", ".join(f"{count} dead letter(s) of flow {name!r}" for name, count in others.items())
    commands = " / ".join(f"`calsink retry {files[name]}`" for name in others if name in files)
    return (
        f"{listed} in {dead_letters_path(loaded)} not sent: a flow retries only its own "
        f"records; {commands or 'run `calsink retry` with that flow file'} sends them"
    )


async def aretry_flow(
    loaded: LoadedFlow,
    *,
    api_key: str | Auth,
    only: Literal["failed", "dead"] | None = None,
    **options: Any,
) -> RunReport:
    """`retry_flow` inside a running event loop."""
    letters = _letters(loaded)  # read once, before anything is sent
    items, not_resent = unscreened(loaded, retry_items(loaded, only, letters))
    refused = refused_letters(loaded, letters)
    report = await arun_flow(loaded, api_key=api_key, items=items, kind="retry", **options)
    report = dataclasses.replace(report, refused=refused)
    if not not_resent:
        return report
    exit_code = report.exit_code or 1
    return dataclasses.replace(report, not_resent=tuple(not_resent), exit_code=exit_code)


def retry_flow(
    loaded: LoadedFlow,
    *,
    api_key: str | Auth,
    only: Literal["failed", "dead"] | None = None,
    **options: Any,
) -> RunReport:
    """Send again the records that did not get through (see `retry_items`); the other
    keyword options are those of `arun_flow` (base_url, yes, on_progress, ...)."""
    return blocking(aretry_flow(loaded, api_key=api_key, only=only, **options))


__all__ += ["FollowFile", "aretry_flow", "asend_test", "retry_items", "with_base_url"]
