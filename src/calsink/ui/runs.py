"""Activate: one run of a saved flow at a time, in the server's event loop, watched by polling.

A run is the library's `calsink.arun` (or `calsink.aretry` for Retry dead letters) in a task,
whose progress and per-record callbacks keep the page's live counts; Stop
cancels that task, which the engine turns into an interrupted run: the requests on the wire
finish and are recorded, and the next Activate sends what is left (the ledger skips the rest).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from calsink import Auth, LoadedFlow, auth_of, dead_letters_path
from calsink.credentials import Credential, CredentialStore
from calsink.ui.actions import credential_for, tail_jsonl

LIVE_FILES_EVERY_S = 1.0
# A run where no record has ended for this long is waiting on Cal.com: the page says so.
STALL_NOTICE_S = 5.0


@dataclass
class RunState:
    """What the page shows of the current (or last) run."""

    number: int
    flow_path: str
    kind: str = "run"  # run | retry
    state: str = "running"  # running | stopping | finished | stopped | failed
    started: float = field(default_factory=time.time)
    last_outcome: float = field(default_factory=time.time)
    finished: float | None = None
    total: int | None = None
    progress: Any = None
    report: Any = None
    error: str | None = None
    capture: bool = False
    dead_letters: list[Any] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in {"running", "stopping"}

    def to_json(self) -> dict[str, Any]:
        end = self.finished or time.time()
        return {
            "number": self.number,
            "flow_path": self.flow_path,
            "kind": self.kind,
            "state": self.state,
            "elapsed_s": round(end - self.started, 2),
            "total": self.total,
            "eta_s": self._eta(),
            "waiting": self._waiting(),
            "progress": self.progress,
            "report": self.report,
            "error": self.error,
            "capture": self.capture,
            "dead_letters": self.dead_letters,
            "responses": self.responses,
        }

    def _waiting(self) -> str | None:
        """Why the counts have not moved for a while, when they have not."""
        if self.state != "running":
            return None
        quiet = time.time() - self.last_outcome
        if quiet < STALL_NOTICE_S:
            return None
        return (
            f"No record has ended for {quiet:.0f} s: Cal.com cannot be reached or does not "
            "answer. calsink keeps retrying each request with back-off, then records what does "
            "not get through as dead letters (Retry dead letters sends them again); Stop ends "
            "the run and the next Activate goes on from where it stopped."
        )

    def _eta(self) -> float | None:
        if not self.active or self.total is None or not self.progress:
            return None
        rate = self.progress.get("rate_per_s") or 0
        left = max(0, self.total - int(self.progress.get("read") or 0))
        return round(left / rate, 1) if rate > 0 else None


class RunBusy(Exception):
    """A run is still going; a second one would race it on the same ledger."""


class Runs:
    def __init__(self, store: CredentialStore) -> None:
        self.store = store
        self.current: RunState | None = None
        self._task: asyncio.Task[None] | None = None
        self._count = 0

    def start(self, loaded: LoadedFlow, *, yes: bool, retry: bool = False) -> RunState:
        if self.current is not None and self.current.active:
            raise RunBusy("a run is still going; stop it or wait for its summary")
        credentials = None
        api_key: str | Auth = ""
        if loaded.flow.destination.credential_per_record:  # each record names its own
            credentials = self.store.all()
        else:  # an OAuth credential renews its lapsed access token and stores the new one
            api_key = auth_of(credential_for(loaded.flow, self.store), self.store)
        self._count += 1
        state = RunState(
            number=self._count,
            flow_path=str(loaded.path or ""),
            kind="retry" if retry else "run",
            capture=bool(loaded.flow.responses.jsonl),
        )
        self.current = state
        self._task = asyncio.create_task(
            self._run(state, loaded, api_key=api_key, yes=yes, credentials=credentials)
        )
        return state

    def stop(self) -> RunState | None:
        """Ask the current run to stop: what is on the wire finishes and is recorded."""
        state = self.current
        if state is None or state.state != "running" or self._task is None:
            return state
        state.state = "stopping"
        self._task.cancel()
        return state

    async def _run(
        self,
        state: RunState,
        loaded: LoadedFlow,
        *,
        api_key: str | Auth,
        yes: bool,
        credentials: dict[str, Credential] | None = None,
    ) -> None:
        import calsink

        last_files = 0.0

        def on_result(result: calsink.RecordResult) -> None:
            state.last_outcome = time.time()

        def on_progress(event: calsink.ProgressEvent) -> None:
            nonlocal last_files
            state.progress = {
                **event.summary.to_json(),
                "in_flight": event.in_flight,
                "rate_per_s": round(event.rate_per_s, 1),
                "throttled": event.throttled,
            }
            if time.monotonic() - last_files >= LIVE_FILES_EVERY_S:
                last_files = time.monotonic()
                _read_files(state, loaded)

        counting = asyncio.create_task(_count_records(state, loaded))
        try:
            # The flow's own base URL: the one the page's samples showed.
            send = calsink.aretry if state.kind == "retry" else calsink.arun
            report = await send(
                loaded,
                api_key=api_key,
                yes=yes,
                on_progress=on_progress,
                on_result=on_result,
                credentials=credentials,
            )
        except asyncio.CancelledError:  # stopped before the engine took the records
            state.state = "stopped"
        except Exception as exc:  # the page shows why the run stopped; no secret is in it
            keys = _secrets(api_key, credentials)
            state.error = calsink.hide_secrets(str(exc) or type(exc).__name__, keys)
            state.state = "failed"
        else:
            state.report = report.to_json()
            state.state = "stopped" if report.aborted == "interrupted" else "finished"
        finally:
            counting.cancel()
            state.finished = time.time()
            _read_files(state, loaded)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _secrets(api_key: str | Auth, credentials: dict[str, Credential] | None) -> list[str]:
    """Every key and token the run may hold: the first ones and any it renewed."""
    keys = [api_key] if isinstance(api_key, str) else list(api_key.secrets())
    for credential in (credentials or {}).values():
        grant = credential.oauth
        keys.extend(grant.secrets() if grant is not None else (credential.api_key,))
    return [key for key in keys if key]


def _read_files(state: RunState, loaded: LoadedFlow) -> None:
    flow = loaded.flow
    dead = dead_letters_path(loaded)
    # A run writes its dead letters beside the file and puts them in its place at the end.
    partial = dead.with_name(dead.name + ".partial")
    state.dead_letters = tail_jsonl(partial if state.active and partial.exists() else dead)
    if flow.responses.jsonl:
        state.responses = tail_jsonl(loaded.resolve(flow.responses.jsonl))


async def _count_records(state: RunState, loaded: LoadedFlow) -> None:
    """The number of records to send, for the progress bar's end and the ETA (a source file,
    or the records a retry takes again)."""
    from starlette.concurrency import run_in_threadpool

    from calsink import count_records

    source = loaded.flow.source
    if state.kind != "retry" and source.path in {None, "", "-"}:
        return
    try:
        state.total = await run_in_threadpool(count_records, loaded, retry=state.kind == "retry")
    except Exception:  # the run itself reports an unreadable source
        return
