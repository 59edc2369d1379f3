"""Activate: one run of a saved flow at a time, in the server's event loop, watched by polling."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from calsink.credentials import CredentialStore
from calsink.deadletters import dead_letters_path
from calsink.flow import LoadedFlow
from calsink.ui.actions import credential_for, tail_jsonl


@dataclass
class RunState:
    """What the page shows of the current (or last) run."""

    number: int
    flow_path: str
    state: str = "running"  # running | finished | failed
    started: float = field(default_factory=time.time)
    finished: float | None = None
    progress: Any = None
    report: Any = None
    error: str | None = None
    dead_letters: list[Any] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        end = self.finished or time.time()
        return {
            "number": self.number,
            "flow_path": self.flow_path,
            "state": self.state,
            "elapsed_s": round(end - self.started, 2),
            "progress": self.progress,
            "report": self.report,
            "error": self.error,
            "dead_letters": self.dead_letters,
            "responses": self.responses,
        }


class RunBusy(Exception):
    """A run is still going; a second one would race it on the same ledger."""


class Runs:
    def __init__(self, store: CredentialStore) -> None:
        self.store = store
        self.current: RunState | None = None
        self._task: asyncio.Task[None] | None = None
        self._count = 0

    def start(self, loaded: LoadedFlow, *, yes: bool) -> RunState:
        if self.current is not None and self.current.state == "running":
            raise RunBusy("a run is still going; wait for its summary")
        credential = credential_for(loaded.flow, self.store)
        self._count += 1
        state = RunState(number=self._count, flow_path=str(loaded.path or ""))
        self.current = state
        self._task = asyncio.create_task(
            self._run(state, loaded, api_key=credential.api_key, yes=yes)
        )
        return state

    async def _run(
        self,
        state: RunState,
        loaded: LoadedFlow,
        *,
        api_key: str,
        yes: bool,
    ) -> None:
        from calsink.runner import ProgressEvent, arun_flow

        def on_progress(event: ProgressEvent) -> None:
            state.progress = {
                **event.summary.to_json(),
                "in_flight": event.in_flight,
                "rate_per_s": round(event.rate_per_s, 1),
                "throttled": event.throttled,
            }

        try:
            # The flow's own base URL: the one the page's samples showed.
            report = await arun_flow(loaded, api_key=api_key, yes=yes, on_progress=on_progress)
        except Exception as exc:  # the page shows why the run stopped; no secret is in it
            from calsink.redact import redact_text

            state.error = redact_text(str(exc) or type(exc).__name__, [api_key])
            state.state = "failed"
        else:
            state.report = report.to_json()
            state.state = "finished"
        finally:
            state.finished = time.time()
            flow = loaded.flow
            state.dead_letters = tail_jsonl(dead_letters_path(loaded))
            if flow.responses.jsonl:
                state.responses = tail_jsonl(loaded.resolve(flow.responses.jsonl))

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
