"""The async delivery engine: rendered requests in, one outcome per record out.

`Engine.run` takes an iterator (sync or async) of what the pipeline yields —
`Request`, `Rejection`, `Filtered` — and sends the requests with bounded
concurrency under a `RateLimiter`, retrying what is worth retrying, looking a
resource up before resending a create that may have taken effect, and committing
every outcome to the ledger (and the dead-letter file) before it counts.

The first request goes alone: only when it has been answered with something other
than 401/403 do the other workers start, so that a wrong key stops the run at the
first record. A 401 at any time aborts the run; so do three 403s before any success.
When each record names its credential (`calsink.deliver.accounts`), a 401 — or three 403s
before any other answer to that credential's key — fails only that credential's records,
and the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from calsink.deliver.accounts import current_account, use_account
from calsink.deliver.outcomes import Outcome, RecordResult, Summary
from calsink.deliver.reconcile import (
    Action,
    already_done,
    identifiers,
    look_up,
    looks_up,
    primary_identifier,
    rescheduled_to,
)
from calsink.deliver.seen import SeenKeys
from calsink.deliver.versions import answered_by_legacy, fallback_advice
from calsink.endpoints import ID_TARGETS
from calsink.http.ratelimit import RateLimiter
from calsink.http.retry import (
    Backoff,
    Retrying,
    RetryPolicy,
    Verdict,
    classify_status,
    may_have_taken_effect,
)
from calsink.http.transport import Response, Transport, TransportError
from calsink.ledger import IN_FLIGHT, Entry, Mark
from calsink.ledger_pg import PostgresLedgerWriter
from calsink.presend import AlreadyDone, KeyRefused, PreSendCheck
from calsink.records import Filtered, Position, Record, Rejection, Request
from calsink.render import fingerprint

if TYPE_CHECKING:
    from calsink.deadletters import DeadLetterWriter
    from calsink.ledgers import AnyLedger, AnyWriter
    from calsink.responses import ResponseSinks

Item = Request | Rejection | Filtered

ABORT_AUTH = "authentication failed"
ABORT_FORBIDDEN = "permission denied on every request"
ABORT_DESTRUCTIVE = "destructive cap reached"
ABORT_INTERRUPTED = "interrupted"
ABORT_VERSION = "cal-api-version unknown to the server"
ABORT_CALLBACK = "a callback raised"
ABORT_SOURCE = "the source raised"
FORBIDDEN_STREAK = 3
# 403s Cal.com gives for a booking rule, not for the key: they open the first-request gate
# (validateRescheduleRestrictions.ts@b42e979c, minimum reschedule notice).
BOOKING_RULE_403 = ("Rescheduling is not allowed within the minimum notice period",)
# A create that timed out is looked up at these multiples of timeout_s after the timeout;
# not found by the last, it ends unsure. It is never sent again in the run.
SETTLE_STEPS = (1.0, 2.0, 4.0)
# New records are marked in flight in chunks of up to this many, ahead of their sending.
MARK_CHUNK = 256
DELIVERED_BEFORE = "delivered before: the ledger skips it"
# A record another worker holds in a shared ledger is claimed again this often.
CLAIM_POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Explicit settings of one run (nothing is read from the environment)."""

    flow: str
    concurrency: int = 8
    rate_limit: int | None = None
    max_attempts: int = 6
    timeout_s: float = 30.0
    max_destructive: int | None = None
    force: bool = False
    dry_run: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    max_throttled: int = 60
    fingerprint_bookings: bool = True  # metadata.calsink_key in each booking created


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Counts so far, requests in flight, elapsed time and the rate of finished records."""

    summary: Summary
    in_flight: int
    elapsed_s: float
    rate_per_s: float
    throttled: int
    done: bool = False
    # Seconds no request may leave because of Cal.com's rate limit, asked when shown.
    blocked_for_s: Callable[[], float] | None = None


@dataclass(slots=True)
class EngineResult:
    """What a run did: the summary, why it stopped early (if it did), and what is left."""

    summary: Summary
    aborted: str | None = None
    abort_detail: str | None = None
    unfinished: int = 0
    planned: int = 0
    throttled: int = 0
    destroyed: int = 0
    elapsed_s: float = 0.0
    # Of the skipped records, those the ledger already shows delivered (the others were
    # left out by `where` or repeat a record of this run).
    skipped_delivered: int = 0
    # A flow whose records choose their credential: the counts of each credential's
    # records (by name), and the credentials whose key Cal.com refused (401), or whose
    # first requests were all refused (403).
    accounts: dict[str, Summary] = field(default_factory=dict)
    refused_accounts: list[str] = field(default_factory=list)
    forbidden_accounts: list[str] = field(default_factory=list)
    # What ``on_result`` or ``on_progress`` raised: the run stopped there (in flight
    # finished and recorded, every count kept), and the caller gets it once it has ended.
    callback_error: Exception | None = None
    # What reading the records raised (the caller's rows, or a source failing mid-way): the
    # run stopped there the same way.
    source_error: Exception | None = None


SourceRecords = Callable[[tuple[Position, ...]], list[Record | None]]


def _no_source(positions: tuple[Position, ...]) -> list[Record | None]:
    return [None for _ in positions]


class _Stop(Exception):
    """Raised inside a worker when the run stops before its record finished."""


# How an attempt of one record ended, and so what comes next:
# "settled": the record has its outcome;
# "again": throttled, the next attempt goes (the limiter or the backoff spaces it);
# "failed": worth retrying: give up, stop with the run, or try again;
# "landing": timed out after sending, Cal.com may still be making it;
# "refused": a 4xx, failed unless an earlier attempt took effect.
_Step = Literal["settled", "again", "failed", "landing", "refused"]


class _Delivery(Retrying):
    """The attempts of one record (its `Retrying`, so that a record on its way is one
    object), and what they have learnt so far."""

    __slots__ = ("attempts", "last", "last_error", "mark", "prior", "request", "unsure")

    def __init__(
        self, request: Request, mark: str | None, prior: Entry | None, policy: RetryPolicy
    ) -> None:
        Retrying.__init__(self, policy)
        self.request = request
        self.mark = mark  # the booking's fingerprint, None for the rest
        self.prior = prior  # its ledger entry before this run sent it
        self.attempts = prior.attempts if prior else 0  # sent so far, earlier runs included
        # An earlier attempt may have taken effect (look it up before sending it again).
        self.unsure = (
            prior is not None
            and prior.state != Outcome.DELIVERED
            and (prior.state == IN_FLIGHT or prior.unsure)
        )
        self.last: Response | None = None
        self.last_error: str | None = None


class Engine:
    """One run of one flow. Build it, then ``await engine.run(items)`` once."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        transport: Transport,
        ledger: AnyLedger | None,
        writer: AnyWriter | None,
        limiter: RateLimiter,
        sinks: ResponseSinks | None = None,
        dead_letters: DeadLetterWriter | None = None,
        source_records: SourceRecords = _no_source,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        on_result: Callable[[RecordResult], None] | None = None,
        progress_every_s: float = 0.1,
        pre_send: PreSendCheck | None = None,
    ) -> None:
        self.settings = settings
        self.pre_send = pre_send
        self._retry_policy = RetryPolicy(
            settings.backoff, settings.max_attempts, settings.max_throttled
        )
        self.transport = transport
        self.ledger = ledger
        self.writer = writer
        self.limiter = limiter
        self.sinks = sinks
        if sinks is not None and writer is not None and writer.before_commit is None:
            # Response lines reach the OS in bulk, each before its outcome's commit.
            sinks.defer_flushes()
            writer.before_commit = sinks.flush
        self.dead_letters = dead_letters
        self.source_records = source_records
        self.on_progress = on_progress
        self.on_result = on_result
        self.progress_every_s = progress_every_s
        self.result = EngineResult(Summary())
        self._seen = SeenKeys()
        self._prior: dict[str, Entry | None] = {}
        self._queue: asyncio.Queue[Request | None] = asyncio.Queue(
            maxsize=max(2 * MARK_CHUNK, settings.concurrency * 2)
        )
        # A producer that found the queue full waits until it is half empty, then fills
        # it in one go (rather than waking for each record a worker takes).
        self._room = asyncio.Event()
        self._low_water = self._queue.maxsize // 2
        self._stopping = False
        self._gate = asyncio.Condition()
        self._gate_open = False
        self._probing = False
        self._forbidden = 0
        # Per credential: the 403s before any other answer, and those answered otherwise.
        self._account_forbidden: Counter[str] = Counter()
        self._account_allowed: set[str] = set()
        self._busy: set[asyncio.Task[None]] = set()
        self._producer: asyncio.Task[None] | None = None
        self._started = time.monotonic()
        self._last_progress = 0.0
        self._in_flight = 0
        self._look_up_prior = True
        # Each pending outcome commit and the records it will count (and tell) once committed.
        self._commits: dict[
            asyncio.Future[None],
            list[tuple[Outcome, int, str | None, tuple[RecordResult, ...]]],
        ] = {}
        self._commit_error: BaseException | None = None
        # Marks of new records waiting to be committed together, and the commit of each
        # record marked ahead but not sent yet (retracted if the run stops before it).
        self._staged: dict[str, Mark] = {}
        self._premarked: dict[str, asyncio.Future[None]] = {}

    # -- the run ---------------------------------------------------------------------------

    async def run(self, items: Iterable[Item] | AsyncIterable[Item]) -> EngineResult:
        """Deliver every item; on cancellation finish what is in flight and report it."""
        try:
            return await self._run(items)
        finally:
            self._seen.close()

    async def _run(self, items: Iterable[Item] | AsyncIterable[Item]) -> EngineResult:
        self._started = time.monotonic()
        self._progress()  # a first event: the display can show a wait before any outcome
        # A flow with nothing in the ledger yet has no prior entry to look up per record
        # (the flow's run lock keeps any other run from adding one meanwhile).
        # A shared ledger tells each record's state when the record is claimed instead.
        self._look_up_prior = (
            self.ledger is not None
            and (not self._shared or self.settings.dry_run)
            and self.ledger.has_records(self.settings.flow)
        )
        workers = [
            asyncio.create_task(self._worker()) for _ in range(max(1, self.settings.concurrency))
        ]
        producer = asyncio.create_task(self._produce(items))
        self._producer = producer
        try:
            # A worker that fails (the ledger refusing a write, say) ends the run at once:
            # the producer would otherwise wait for room in the queue forever.
            watched: set[asyncio.Task[None]] = {producer, *workers}
            while not producer.done():
                done, watched = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not producer and not task.cancelled() and task.exception():
                        task.result()
            if not producer.cancelled():
                producer.result()
            if self._stopping:
                self.result.unfinished += self._drain_queue()
            for _ in workers:
                await self._queue.put(None)
            await asyncio.wait(workers)
            for worker in workers:
                worker.result()
            await self._retract_unsent()
            await self._settle_commits()
        except asyncio.CancelledError:
            self._interrupt(ABORT_INTERRUPTED)
            producer.cancel()
            await self._wind_down(workers)
            with contextlib.suppress(asyncio.CancelledError):
                await producer
            await self._retract_unsent()
            await self._settle_commits()
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except BaseException:
            self._stopping = True
            producer.cancel()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(producer, *workers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._retract_unsent()
            await self._settle_commits()
            raise
        if self._commit_error is not None:
            raise self._commit_error
        self.result.unfinished += self._drain_queue()
        self.result.throttled = self.limiter.throttled
        self.result.elapsed_s = time.monotonic() - self._started
        self._progress(done=True)
        return self.result

    async def _wind_down(self, workers: list[asyncio.Task[None]]) -> None:
        """Let requests on the wire finish and be recorded; cancel workers that are waiting."""
        for worker in workers:
            if worker not in self._busy:
                worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    def _interrupt(self, reason: str, detail: str | None = None, *, hard: bool = True) -> None:
        """Record why the run stops; ``hard`` also drops the records not yet on their way."""
        if self.result.aborted is None:
            self.result.aborted = reason
            self.result.abort_detail = detail
        if hard:
            self._stopping = True
            producer = self._producer
            if producer is not None and producer is not asyncio.current_task():
                producer.cancel()

    def _drain_queue(self) -> int:
        left = 0
        while not self._queue.empty():
            request = self._queue.get_nowait()
            if request is not None:
                left += len(request.positions)
        return left

    async def _produce(self, items: Iterable[Item] | AsyncIterable[Item]) -> None:
        if isinstance(items, AsyncIterable):
            async_items = aiter(items)
            while True:
                try:
                    item = await anext(async_items)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    return self._source_failed(exc)
                if self._queue.full():
                    await self._wait_for_room()
                if self._stopping or not self._accept(item):
                    return
        else:
            sync_items = iter(items)
            while True:
                try:
                    item = next(sync_items)
                except StopIteration:
                    return
                except Exception as exc:
                    return self._source_failed(exc)
                if self._queue.full():
                    await self._wait_for_room()
                if self._stopping or not self._accept(item):
                    return

    def _source_failed(self, error: Exception) -> None:
        """Reading the records failed (the caller's rows, or a source breaking mid-way):
        stop as Ctrl-C does — what is on the wire finishes and is recorded — and keep the
        error for the caller, who gets it once the run has ended."""
        self.result.source_error = error
        self._interrupt(ABORT_SOURCE, f"{type(error).__name__}: {error}")

    async def _wait_for_room(self) -> None:
        """Wait until the full queue is half empty (then it is filled in one go)."""
        if not self._stopping:
            self._room.clear()
            await self._room.wait()

    def _accept(self, item: Item) -> bool:
        """Route one item; False when the run must stop before it."""
        # Every item that is not queued lets go of its source records here (they are
        # kept for dead letters only while a request is under way).
        if isinstance(item, Filtered):
            self.source_records((item.position,))
            self._count(Outcome.SKIPPED, 1)
            self._tell(Outcome.SKIPPED, (item.position,), error=item.reason)
            return True
        if isinstance(item, Rejection):
            source = self.source_records((item.position,))[0]
            if self.dead_letters is not None:
                self.dead_letters.write(
                    flow=self.settings.flow,
                    outcome="rejected",
                    reason=item.reason,
                    field=item.field,
                    position=item.position,
                    record=source or item.record,
                )
            self._count(Outcome.REJECTED, 1)
            self._tell(Outcome.REJECTED, (item.position,), error=item.reason)
            return True
        count = len(item.positions)
        first = self._seen.first(item.key, item.position)
        if first is not None:
            self._skip_duplicate(item, first)
            return True
        prior = (
            self.ledger.get(self.settings.flow, item.key)
            if self.ledger is not None and self._look_up_prior
            else None
        )
        if prior is not None and prior.state == Outcome.DELIVERED and not self.settings.force:
            self.source_records(item.positions)
            self.result.skipped_delivered += count
            self._count(Outcome.SKIPPED, count, item.credential)
            self._tell(Outcome.SKIPPED, item.positions, item.key, error=DELIVERED_BEFORE)
            return True
        if item.action.destructive:
            cap = self.settings.max_destructive
            if cap is not None and self.result.destroyed + count > cap:
                self._interrupt(
                    ABORT_DESTRUCTIVE,
                    f"this run would destroy more than max_destructive={cap} resources; "
                    "raise delivery.max_destructive to go on",
                    hard=False,
                )
                self.result.unfinished += count
                return False
            self.result.destroyed += count
        if self.settings.dry_run:
            self.source_records(item.positions)
            self.result.planned += count
            self.result.summary.planned += count
            if item.credential is not None:
                self.result.accounts.setdefault(item.credential, Summary()).planned += count
            self._progress()
            self._tell("planned", item.positions, item.key)
            return True
        self._prior[item.key] = prior
        if self._may_mark_ahead(item, prior):
            self._staged[item.key] = Mark(item.key, 1, self._mark_of(item), str(item.position))
            if len(self._staged) >= MARK_CHUNK:
                self._commit_marks()
        self._queue.put_nowait(item)  # `_produce` made room
        return True

    def _skip_duplicate(self, request: Request, first: Position) -> None:
        """A record with the key of an earlier record of this run: skipped, and listed."""
        sources = self.source_records(request.positions)
        if self.dead_letters is not None:
            for position, record in zip(request.positions, sources, strict=True):
                self.dead_letters.write(
                    flow=self.settings.flow,
                    outcome=Outcome.SKIPPED.value,
                    reason=f"duplicate of {first}",
                    position=position,
                    key=request.key,
                    record=record,
                )
        self._count(Outcome.SKIPPED, len(request.positions), request.credential)
        self._tell(Outcome.SKIPPED, request.positions, request.key, error=f"duplicate of {first}")

    def _may_mark_ahead(self, request: Request, prior: Entry | None) -> bool:
        """A new record sent as it is (no check or look-up first) is marked with others."""
        return (
            prior is None
            and self._gate_open
            and self.writer is not None
            and (self.pre_send is None or not self.pre_send.applies_to(request))
        )

    def _commit_marks(self) -> None:
        """Hand the staged marks to the ledger in one write."""
        if not self._staged:
            return
        assert self.writer is not None
        commit = self.writer.submit_marks(list(self._staged.values()))
        commit.add_done_callback(_observe)
        for key in self._staged:
            self._premarked[key] = commit
        self._staged.clear()

    def _marked(
        self, request: Request, attempts: int, mark: str | None, prior: Entry | None
    ) -> asyncio.Future[None]:
        """The commit of the mark saying ``request`` may be on its way: the one it was
        marked ahead with, or one made now (with others where it can).

        The mark of a record that had no row before can be taken back if the run stops
        before sending it; any other record keeps its mark (and is looked up next time).
        """
        commit = self._premarked.get(request.key)
        if commit is None:
            alone = Mark(request.key, attempts, mark, str(request.position))
            if prior is not None:
                assert self.writer is not None
                return self.writer.submit_marks([alone])
            self._staged.setdefault(request.key, alone)
            self._commit_marks()
            commit = self._premarked[request.key]
        return commit

    @property
    def _shared(self) -> bool:
        return self.writer is not None and self.writer.shared

    async def _claim(self, request: Request, mark: str | None) -> Entry | Literal[False] | None:
        """Claim ``request`` in the shared ledger; wait while another worker holds it.

        The record as it was before the claim (None when new), or False when it is
        delivered (skipped: nobody sends a delivered record again)."""
        writer = self.writer
        assert isinstance(writer, PostgresLedgerWriter)
        commit = self._marked(request, 1, mark, None)
        while True:
            await commit
            claim = writer.claim_of(request.key)
            if claim.granted:
                return claim.prior(self.settings.flow, request.key)
            if claim.state == Outcome.DELIVERED:
                self._premarked.pop(request.key, None)
                self.source_records(request.positions)
                self.result.skipped_delivered += len(request.positions)
                self._count(Outcome.SKIPPED, len(request.positions), request.credential)
                self._tell(Outcome.SKIPPED, request.positions, request.key, error=DELIVERED_BEFORE)
                return False
            await self._pause(CLAIM_POLL_S)
            if self._stopping:
                raise _Stop
            commit = writer.submit_marks([Mark(request.key, 1, mark, str(request.position))])
            self._premarked[request.key] = commit

    async def _retract_unsent(self) -> None:
        """Take back the marks of new records that the run never sent."""
        self._staged.clear()
        unsent = list(self._premarked)
        self._premarked.clear()
        if unsent and self.writer is not None:
            await self.writer.retract(unsent)

    async def _worker(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        queue = self._queue
        while not self._stopping:
            request = queue.get_nowait() if not queue.empty() else await queue.get()
            if queue.qsize() <= self._low_water and not self._room.is_set():
                self._room.set()
            if request is None:
                return
            if self._stopping:
                self.result.unfinished += len(request.positions)
                continue
            try:
                await self._deliver(request, me)
            except (_Stop, asyncio.CancelledError):
                self.result.unfinished += len(request.positions)
                if not self._stopping:
                    raise

    # -- one record --------------------------------------------------------------------------

    async def _settled_by_pre_send(
        self, checks: PreSendCheck, request: Request, prior: Entry | None, target: str | None
    ) -> bool:
        """Ask Cal.com first (slot free? booking in the right state?) for a request the
        checks apply to; True when that settles it.

        Skipped when an earlier attempt may have reached Cal.com: the look-up after an
        unsure attempt is in charge then.
        """
        if prior is not None and (prior.state == IN_FLIGHT or prior.unsure):
            return False
        try:
            verdict = await checks.check(request)
        except KeyRefused:
            if request.credential is None:
                self._interrupt(ABORT_AUTH, self._refused_auth())
                raise _Stop from None
            self._refuse_account()
            self._finish_refused(request, prior.attempts if prior else 0, None, unsure=False)
            return True
        if isinstance(verdict, Rejection):
            self._accept(verdict)
            return True
        if isinstance(verdict, AlreadyDone):
            self.source_records(request.positions)
            assert self.writer is not None
            await self.writer.record_outcome(
                request.key,
                Outcome.DELIVERED.value,
                attempts=prior.attempts if prior else 0,
                error=f"already done in Cal.com: {verdict.reason}",
                identifier=target,
                ids={"uid": target} if target else None,
                position=str(request.position),
                credential=request.credential,
            )
            self.result.skipped_delivered += len(request.positions)
            self._count(Outcome.SKIPPED, len(request.positions), request.credential)
            self._tell(
                Outcome.SKIPPED,
                request.positions,
                request.key,
                uid=target,
                error=f"already done in Cal.com: {verdict.reason}",
            )
            return True
        return False

    async def _deliver(self, request: Request, task: asyncio.Task[Any]) -> None:
        """Send one record until it has an outcome; ``task`` is the worker's own.

        A record that needs nothing asked first goes straight to its attempts (no
        coroutine but the send on that path). Each attempt waits its turn (the backoff,
        the first request going alone, its mark, the rate limit), is sent, and its answer
        settles the record or says how the next attempt goes."""
        use_account(request.credential)
        prior = self._prior.pop(request.key, None)
        checks = self.pre_send  # most records have none to make: no coroutine for them
        check_first = checks is not None and checks.applies_to(request)
        if prior is None and not check_first and not self._shared:
            delivery = _Delivery(request, self._mark_of(request), None, self._retry_policy)
        else:
            ready = await self._ready(request, prior, check_first)
            if ready is None:
                return
            delivery = ready
        for attempt in delivery:
            if attempt.delay:
                await self._pause(attempt.delay)
            if attempt.follows_failure and await self._settled_between_tries(delivery):
                return
            if not self._gate_open or self._stopping:
                await self._wait_for_gate()
            if self._account_refused(request.credential):
                await self._not_sent_for_refused_account(delivery)
                return
            if attempt.number == 1 and (commit := self._mark_before_sending(delivery)) is not None:
                await commit
            if not self.limiter.try_acquire():
                await self.limiter.acquire()
            self._premarked.pop(request.key, None)
            delivery.attempts += 1
            self._busy.add(task)
            self._in_flight += 1
            try:
                response = await self.transport.send(
                    request.method, request.url, headers=request.headers, body=request.body
                )
            except TransportError as exc:
                step = await self._no_answer(delivery, exc)
            else:
                wait = self.limiter.observe(response.status, response.headers)
                self._note_account(response.status)
                if not self._gate_open or response.status == 401:
                    await self._first_answers(request, response)
                step = self._answer(delivery, response, wait)
                if step == "refused":
                    step = await self._refused(delivery, response)
            finally:
                if task in self._busy:
                    self._busy.discard(task)
                    self._in_flight -= 1
            if step == "settled":
                return
            if step != "again" and await self._ended_after_failure(delivery, step):
                return

    def _mark_of(self, request: Request) -> str | None:
        """The fingerprint render wrote into a booking's metadata (None for the rest)."""
        if request.action.creates == "booking" and self.settings.fingerprint_bookings:
            return fingerprint(self.settings.flow, request.key)
        return None

    async def _ready(
        self, request: Request, prior: Entry | None, check_first: bool
    ) -> _Delivery | None:
        """What must happen before a record is sent: Cal.com's pre-send checks, the claim
        in a shared ledger, the look-up of an earlier attempt that may have taken effect.
        The record on its way, or None when one of these settled it."""
        checks = self.pre_send
        if (
            check_first
            and checks is not None
            and await self._settled_by_pre_send(checks, request, prior, request.action.target)
        ):
            return None
        mark = self._mark_of(request)
        if self._shared:
            claimed = await self._claim(request, mark)
            if claimed is False:
                return None
            prior = claimed
        delivery = _Delivery(request, mark, prior, self._retry_policy)
        if (
            delivery.unsure
            and looks_up(request.action)
            and await self._settled_by_look_up(request, delivery.attempts, mark)
        ):
            return None
        return delivery

    async def _settled_between_tries(self, delivery: _Delivery) -> bool:
        """After a failed attempt that may have taken effect, a look-up before the next."""
        return (
            delivery.unsure
            and looks_up(delivery.request.action)
            and await self._settled_by_look_up(delivery.request, delivery.attempts, delivery.mark)
        )

    async def _not_sent_for_refused_account(self, delivery: _Delivery) -> None:
        """Cal.com refused the record's credential earlier in the run: it fails unsent."""
        if not self._gate_open:
            await self._answered(None)  # let another record go first
        self._finish_refused(
            delivery.request, delivery.attempts, delivery.mark, unsure=delivery.unsure
        )

    def _mark_before_sending(self, delivery: _Delivery) -> asyncio.Future[None] | None:
        """Mark the record as on its way before its first attempt: the commit to wait for,
        or None when it is committed already (marked ahead)."""
        commit = self._marked(
            delivery.request, delivery.attempts + 1, delivery.mark, delivery.prior
        )
        if commit.done():
            commit.result()  # marked ahead and committed: nothing to wait for
            return None
        return commit

    async def _no_answer(self, delivery: _Delivery, error: TransportError) -> _Step:
        """An attempt that got no answer: a failure; a timeout may still land."""
        self.limiter.release()
        delivery.failed()
        if not self._gate_open:
            await self._answered(None)
        delivery.unsure = delivery.unsure or error.maybe_sent
        delivery.last_error, delivery.last = f"no answer ({error.detail})", None
        if error.kind == "timeout" and error.maybe_sent:
            return "landing"
        return "failed"

    async def _first_answers(self, request: Request, response: Response) -> None:
        """An answer while the first request goes alone, or any 401."""
        if not self._gate_open:
            self._check_version(request, response)
        await self._answered(response.status, rule=_booking_rule_403(response))

    def _answer(self, delivery: _Delivery, response: Response, wait: float | None) -> _Step:
        """What an answer makes of the record: delivered, a refusal, a retry, a wait."""
        request = delivery.request
        delivery.last, delivery.last_error = response, None
        ids = identifiers(_data(response)) if response.ok else {}
        self._emit(request, response, delivery.attempts, ids)
        verdict = classify_status(response.status)
        if verdict is Verdict.DELIVERED:
            if not _readable(response, request.action):
                return self._unreadable(delivery, response)
            self._finish(
                request,
                Outcome.DELIVERED,
                attempts=delivery.attempts,
                response=response,
                ids=ids,
                mark=delivery.mark,
            )
            return "settled"
        if verdict is Verdict.ABORT_AUTH:
            self._finish(
                request,
                Outcome.FAILED,
                attempts=delivery.attempts,
                response=response,
                reason=(
                    f"authentication failed: {self._refused_auth()}"
                    if request.credential is None
                    else _refused_key(request.credential, "authentication failed")
                ),
                mark=delivery.mark,
                unsure=delivery.unsure,
            )
            return "settled"
        if verdict is Verdict.THROTTLED:
            return self._throttled(delivery, wait)
        if verdict is Verdict.FAILED:
            return "refused"
        return self._failed(delivery, response)

    def _unreadable(self, delivery: _Delivery, response: Response) -> _Step:
        """A 2xx without Cal.com's answer: tried again when that is safe, else failed unsure."""
        unreadable = f"{response.status} without Cal.com's answer: {response.error_message()}"
        if not _may_resend(delivery.request.method, delivery.request.action):
            self._finish(
                delivery.request,
                Outcome.FAILED,
                attempts=delivery.attempts,
                response=response,
                reason=f"{unreadable}; it may have taken effect: check Cal.com",
                mark=delivery.mark,
                unsure=True,
            )
            return "settled"
        delivery.unsure, delivery.last_error = True, unreadable
        return self._failed(delivery, response)

    def _throttled(self, delivery: _Delivery, wait: float | None) -> _Step:
        """A 429: tried again at once (the limiter or the backoff spaces it) until the
        waits are used up."""
        delivery.throttled(wait)
        if not delivery.exhausted:
            return "again"
        delivery.last_error = f"still throttled (429) after {delivery.throttles} waits"
        return "failed"

    def _failed(self, delivery: _Delivery, response: Response) -> _Step:
        """A 5xx or 408 (or an unreadable 2xx): worth another attempt."""
        delivery.failed()
        delivery.unsure = delivery.unsure or may_have_taken_effect(response.status)
        delivery.last_error = (
            delivery.last_error or f"{response.status}: {response.error_message()}"
        )
        return "failed"

    async def _refused(self, delivery: _Delivery, response: Response) -> _Step:
        """A 4xx: failed, unless it shows an earlier unanswered attempt took effect."""
        request = delivery.request
        if delivery.unsure and await self._earlier_attempt_counted(
            request, request.action, response, delivery.attempts, delivery.mark
        ):
            return "settled"
        self._finish(
            request,
            Outcome.FAILED,
            attempts=delivery.attempts,
            response=response,
            reason=f"Cal.com refused it ({response.status}): {response.error_message()}",
            mark=delivery.mark,
            unsure=delivery.unsure,
        )
        return "settled"

    async def _ended_after_failure(self, delivery: _Delivery, step: _Step) -> bool:
        """After a failed attempt: give up once the attempts are used up, stop with the
        run, and settle a create that timed out without sending it again."""
        request = delivery.request
        if delivery.exhausted:
            self._finish(
                request,
                Outcome.DEAD,
                attempts=delivery.attempts,
                response=delivery.last,
                reason=f"gave up after {delivery.failures} attempts; last: {delivery.last_error}",
                mark=delivery.mark,
                unsure=delivery.unsure,
            )
            return True
        if self._stopping:
            raise _Stop
        if step == "landing" and request.action.creates is not None:
            await self._settle_after_timeout(request, delivery.attempts, delivery.mark)
            return True
        return False

    async def _settle_after_timeout(
        self, request: Request, attempts: int, mark: str | None
    ) -> None:
        """Settle a create whose answer did not come within timeout_s without sending it
        again: Cal.com may still be making it. It is looked up at each step of the settle
        window; found, it is delivered; never found, it ends unsure (the next run looks it
        up before sending)."""
        timeout_s = self.settings.timeout_s
        waited = 0.0
        for step in SETTLE_STEPS:
            await self._pause(step * timeout_s - waited)
            waited = step * timeout_s
            if self._stopping:
                raise _Stop
            if await self._settled_by_look_up(request, attempts, mark):
                return
        self._finish(
            request,
            Outcome.DEAD,
            attempts=attempts,
            mark=mark,
            unsure=True,
            reason=f"could not tell whether it exists: sent, no answer within timeout_s "
            f"({timeout_s:g} s), and not found in Cal.com {waited:g} s later; it may still be "
            "made, so it was not sent again — check Cal.com and retry later (a run looks it "
            "up before sending it)",
        )

    async def _settled_by_look_up(self, request: Request, attempts: int, mark: str | None) -> bool:
        """Look the resource up; True when that settled the record (found, or cannot tell)."""
        result = await look_up(request, self._get)
        if result.exists:
            self._emit_found(request, result.found, attempts)
            self._finish(
                request,
                Outcome.DELIVERED,
                attempts=attempts,
                ids=identifiers(result.found),
                mark=mark,
                note="found by look-up: an earlier attempt had "
                + ("created it" if request.action.creates else "made the change"),
            )
            return True
        if not result.known:
            self._finish(
                request,
                Outcome.DEAD,
                attempts=attempts,
                mark=mark,
                unsure=True,
                reason="could not tell whether an earlier attempt "
                + ("created it: " if request.action.creates else "made the change: ")
                + f"{result.doubt or 'Cal.com could not be asked'}; not sent again, to avoid a "
                "duplicate — check Cal.com and retry (the next run looks it up first)",
            )
            return True
        return False

    async def _earlier_attempt_counted(
        self,
        request: Request,
        action: Action,
        response: Response,
        attempts: int,
        mark: str | None,
    ) -> bool:
        """A 4xx that means an earlier, unanswered attempt of this record took effect."""
        if action.change == "reschedule" and 400 <= response.status < 500:
            new_uid = await rescheduled_to(request, self._get)
            if new_uid is None:
                return False
            self._finish(
                request,
                Outcome.DELIVERED,
                attempts=attempts,
                response=response,
                ids={"uid": new_uid},
                mark=mark,
                note="already rescheduled by an earlier attempt",
            )
            return True
        if already_done(action, response):
            ids: dict[str, Any] = {}
            if action.target is not None:
                ids["id" if action.change in ID_TARGETS else "uid"] = action.target
            self._finish(
                request,
                Outcome.DELIVERED,
                attempts=attempts,
                response=response,
                ids=ids,
                mark=mark,
                note="already done by an earlier attempt",
            )
            return True
        if action.creates is not None and response.status in (400, 409):
            return await self._settled_by_look_up(request, attempts, mark)
        return False

    async def _get(self, url: str, headers: dict[str, str]) -> Response | None:
        """A look-up GET under the limiter, retried; None when no answer could be had."""
        retries = Retrying(self._retry_policy)
        for attempt in retries:
            if attempt.follows_failure and self._stopping:
                return None
            if attempt.delay:
                await self._pause(attempt.delay)
            await self.limiter.acquire()
            try:
                response = await self.transport.send("GET", url, headers=headers)
            except TransportError:
                self.limiter.release()
                retries.failed()
                continue
            wait = self.limiter.observe(response.status, response.headers)
            verdict = classify_status(response.status)
            if verdict is Verdict.ABORT_AUTH:
                self._refuse_account()
                return None
            if verdict is Verdict.THROTTLED:
                retries.throttled(wait)
            elif verdict is Verdict.RETRY:
                retries.failed()
            else:
                return response
        return None

    # -- the first request goes alone ------------------------------------------------------

    async def _wait_for_gate(self) -> None:
        if self._gate_open:
            if self._stopping:
                raise _Stop
            return
        async with self._gate:
            await self._gate.wait_for(
                lambda: self._gate_open or self._stopping or not self._probing
            )
            if self._stopping:
                raise _Stop
            if not self._gate_open:
                self._probing = True

    def _check_version(self, request: Request, response: Response) -> None:
        """A server that does not know the bookings version sent answers with its older
        contract; the first answer shows it, and the run stops there."""
        version = dict(request.headers).get("cal-api-version")
        if version and answered_by_legacy(
            request.method, request.url, response.status, response.parsed
        ):
            self._interrupt(ABORT_VERSION, fallback_advice(version))

    def _refused_auth(self) -> str:
        """Why Cal.com refused the credential: an OAuth renewal's refusal says what to do."""
        return self.transport.auth_refused or "Cal.com refused the API key (401)"

    async def _answered(self, status: int | None, *, rule: bool = False) -> None:
        """``rule``: a 403 for a booking rule, which shows the key was let in."""
        if self._gate_open and status != 401:
            return
        if status == 401:
            self._refuse_account()
        elif status == 403 and not self._gate_open and not rule and current_account() is None:
            self._forbidden += 1
            if self._forbidden >= FORBIDDEN_STREAK:
                self._interrupt(
                    ABORT_FORBIDDEN,
                    f"the first {self._forbidden} requests were all refused (403): the key "
                    "lacks the permission this flow needs",
                )
        elif status not in (None, 403) and not self._gate_open:
            self._gate_open = True
        async with self._gate:
            self._probing = False
            self._gate.notify_all()

    # -- many accounts -----------------------------------------------------------------------

    def _refuse_account(self) -> None:
        """Cal.com refused the key (401): the run stops, or, when each record names its
        credential, that credential's records fail and the others go on."""
        account = current_account()
        if account is None:
            self._interrupt(ABORT_AUTH, self._refused_auth())
        elif account not in self.result.refused_accounts:
            self.result.refused_accounts.append(account)

    def _note_account(self, status: int) -> None:
        """Three 403s to a credential's key before any other answer: its records fail."""
        account = current_account()
        if account is None or account in self._account_allowed:
            return
        if status != 403:
            self._account_allowed.add(account)
            return
        self._account_forbidden[account] += 1
        forbidden = self.result.forbidden_accounts
        if self._account_forbidden[account] >= FORBIDDEN_STREAK and account not in forbidden:
            forbidden.append(account)

    def _account_refused(self, account: str | None) -> bool:
        return account in self.result.refused_accounts or account in self.result.forbidden_accounts

    def _finish_refused(
        self, request: Request, attempts: int, mark: str | None, *, unsure: bool
    ) -> None:
        """A record of a credential Cal.com refused: failed without being sent (again)."""
        self._staged.pop(request.key, None)
        self._premarked.pop(request.key, None)
        self._finish(
            request,
            Outcome.FAILED,
            attempts=attempts,
            reason=(
                _forbidden_key(request.credential)
                if request.credential in self.result.forbidden_accounts
                else _refused_key(request.credential, "not sent", " earlier in this run")
            ),
            mark=mark,
            unsure=unsure,
        )

    # -- bookkeeping -------------------------------------------------------------------------

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    def _emit(
        self, request: Request, response: Response, attempt: int, ids: dict[str, Any]
    ) -> None:
        if self.sinks is None or not self.sinks.active:
            return
        primary = ids.get("uid", ids.get("id"))
        self.sinks.emit(
            {
                "flow": self.settings.flow,
                "key": request.key,
                "positions": [p.to_json() for p in request.positions],
                "method": request.method,
                "url": request.url,
                "status": response.status,
                "body": _body_for_sinks(response),
                "identifier": None if primary is None else str(primary),
                "attempt": attempt,
                "request_id": response.headers.get("x-request-id"),
                "elapsed_ms": round(response.elapsed_s * 1000, 1),
                "at": time.time(),
            }
        )

    def _emit_found(self, request: Request, found: Any, attempt: int) -> None:
        """The response line of a record whose answer was lost: what the look-up found."""
        if self.sinks is None or not self.sinks.active:
            return
        self.sinks.emit(
            {
                "flow": self.settings.flow,
                "key": request.key,
                "positions": [p.to_json() for p in request.positions],
                "method": request.method,
                "url": request.url,
                "status": None,
                "body": {"status": "success", "data": found},
                "identifier": primary_identifier(found),
                "attempt": attempt,
                "request_id": None,
                "found_by_look_up": True,
                "at": time.time(),
            }
        )

    def _finish(
        self,
        request: Request,
        outcome: Outcome,
        *,
        attempts: int,
        response: Response | None = None,
        ids: dict[str, Any] | None = None,
        reason: str | None = None,
        mark: str | None = None,
        unsure: bool = False,
        note: str | None = None,
    ) -> None:
        """Write the dead letter (if any) and hand the outcome to the ledger; the record
        counts once that is committed. Never awaits: an interruption cannot split it."""
        sources = self.source_records(request.positions)
        stored: Any = None
        if outcome is not Outcome.DELIVERED:
            stored = [
                {"position": p.to_json(), "record": r}
                for p, r in zip(request.positions, sources, strict=True)
            ]
            if self.dead_letters is not None:
                for position, record in zip(request.positions, sources, strict=True):
                    self.dead_letters.write(
                        flow=self.settings.flow,
                        outcome=outcome.value,
                        reason=reason or outcome.value,
                        position=position,
                        key=request.key,
                        record=record,
                        request={
                            "method": request.method,
                            "url": request.url,
                            "body": request.payload,
                        },
                        status=response.status if response else None,
                        error=response.error_message() if response and not response.ok else None,
                        attempts=attempts,
                    )
        ids = ids or {}
        identifier = ids.get("uid", ids.get("id"))
        assert self.writer is not None
        committed = self.writer.submit_outcome(
            request.key,
            outcome.value,
            attempts=attempts,
            status=response.status if response else None,
            error=reason if outcome is not Outcome.DELIVERED else note,
            identifier=None if identifier is None else str(identifier),
            fingerprint=mark,
            unsure=unsure and outcome is not Outcome.DELIVERED,
            position=str(request.position),
            record=stored,
            ids=ids or None,
            credential=request.credential,
        )
        # The worker goes on to its next record; this one counts once its outcome is
        # committed (`run` waits for every commit before it returns).
        counts = self._commits.get(committed)
        if counts is None:
            counts = self._commits[committed] = []
            committed.add_done_callback(self._committed)
        told = (
            ()
            if self.on_result is None
            else tuple(
                RecordResult(
                    position,
                    outcome.value,
                    request.key,
                    response.status if response else None,
                    None if ids.get("uid") is None else str(ids["uid"]),
                    ids.get("id"),
                    reason if outcome is not Outcome.DELIVERED else note,
                    attempts,
                )
                for position in request.positions
            )
        )
        counts.append((outcome, len(request.positions), request.credential, told))

    def _committed(self, done: asyncio.Future[None]) -> None:
        counts = self._commits.pop(done, [])
        error = None if done.cancelled() else done.exception()
        if error is None and not done.cancelled():
            for outcome, count, account, told in counts:
                self._count(outcome, count, account)
                if told and self.on_result is not None:
                    for result in told:
                        self._notify(self.on_result, result)
            return
        self.result.unfinished += sum(count for _, count, _, _ in counts)
        if error is not None and self._commit_error is None:
            self._commit_error = error
            self._interrupt("ledger write failed", str(error))

    async def _settle_commits(self) -> None:
        """Wait until every outcome handed to the ledger is committed (and counted)."""
        if self._commits and self.writer is not None:
            self.writer.flush()  # nothing else will come to share their transaction
        while self._commits:
            await asyncio.wait(set(self._commits))

    def _count(self, outcome: Outcome, count: int, account: str | None = None) -> None:
        self.result.summary.add(outcome, count)
        if account is not None:
            self.result.accounts.setdefault(account, Summary()).add(outcome, count)
        self._progress()

    def _tell(
        self,
        outcome: str,
        positions: tuple[Position, ...],
        key: str | None = None,
        *,
        uid: str | None = None,
        error: str | None = None,
    ) -> None:
        """Tell ``on_result`` what became of each record at ``positions`` (not sent)."""
        if self.on_result is not None:
            for position in positions:
                self._notify(
                    self.on_result, RecordResult(position, outcome, key, uid=uid, error=error)
                )

    def _progress(self, *, done: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not done and now - self._last_progress < self.progress_every_s:
            return
        self._last_progress = now
        elapsed = now - self._started
        summary = self.result.summary.copy()
        rate = summary.read / elapsed if elapsed > 0 else 0.0
        self._notify(
            self.on_progress,
            ProgressEvent(
                summary,
                self._in_flight,
                elapsed,
                rate,
                self.limiter.throttled,
                done,
                self.limiter.blocked_for_s,
            ),
        )

    def _notify(self, callback: Callable[[Any], object], value: object) -> None:
        """Call the caller's ``on_result`` or ``on_progress``. One that raises stops the run
        as Ctrl-C does, its error kept for the caller; counting goes on regardless."""
        if self.result.callback_error is not None:
            return
        try:
            callback(value)
        except Exception as exc:
            self.result.callback_error = exc
            name = getattr(callback, "__qualname__", None) or type(callback).__name__
            self._interrupt(ABORT_CALLBACK, f"{name} raised {type(exc).__name__}: {exc}")


def _refused_key(name: str | None, what: str, when: str = "") -> str:
    """Why a record failed on a 401: the key, or the named credential's key, refused."""
    if name is None:
        return f"{what}: Cal.com refused the API key (401){when}"
    return (
        f"{what}: Cal.com refused the API key of credential {name!r} (401){when}; check it "
        f"with `calsink credentials test {name}`, or store its new key with "
        f"`calsink credentials add {name}`"
    )


def _forbidden_key(name: str | None) -> str:
    """Why a record of a credential whose first requests were all refused (403) failed."""
    return (
        f"not sent: Cal.com refused the first {FORBIDDEN_STREAK} requests of credential "
        f"{name!r} (403) earlier in this run: its key lacks the permission this flow needs; "
        f"check it with `calsink credentials test {name}`, or store a key with that "
        f"permission with `calsink credentials add {name}`"
    )


def _observe(commit: asyncio.Future[None]) -> None:
    """Retrieve a failed commit's error (a worker that awaits it raises it)."""
    if not commit.cancelled():
        commit.exception()


def _body_for_sinks(response: Response) -> Any:
    if response.parsed is not None:
        return response.parsed
    if response.oversized:
        return {
            "oversized_bytes": response.size,
            "begins": response.body[:2000].decode("utf-8", "replace"),
        }
    return response.body.decode("utf-8", "replace")


def _booking_rule_403(response: Response) -> bool:
    return response.status == 403 and response.error_message().startswith(BOOKING_RULE_403)


def _readable(response: Response, action: Action) -> bool:
    """Whether a 2xx is Cal.com's answer: its envelope, or no content for a change."""
    parsed = response.parsed
    if isinstance(parsed, dict) and parsed.get("status") == "success" and "data" in parsed:
        return True
    return response.status == 204 and action.creates is None and not response.body


def _may_resend(method: str, action: Action) -> bool:
    """Whether a request whose success could not be read may be sent again: a create is
    looked up first, a change Cal.com already made is recognised in its refusal, and the
    other methods but POST are idempotent."""
    return action.creates is not None or action.change is not None or method.upper() != "POST"


def _data(response: Response) -> Any:
    parsed = response.parsed
    return parsed.get("data") if isinstance(parsed, dict) else None
