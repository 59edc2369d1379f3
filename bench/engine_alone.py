"""The delivery engine alone: create-booking records through `Engine.run`, records/s.

The transport answers each request at once in-process (one pass through the event loop,
no socket) and the ledger writer's commits are done when submitted, so the figure is the
engine's own cost per record. CPU time of this process is measured (the machine's other
work disturbs it less than wall-clock time).

    uv run python -m bench.engine_alone                       # the engine as it is
    uv run python -m bench.engine_alone --against main        # beside main's engine.py
    uv run python -m bench.engine_alone --on-result           # also with an on_result callback

With ``--against REV`` the two engines run in turns, round by round, in one process;
figures are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from calsink.deliver import engine as current_engine
from calsink.flow import DestinationSettings
from calsink.http.ratelimit import RateLimiter
from calsink.http.transport import Response
from calsink.ledger import Mark
from calsink.records import Position, Request
from calsink.render import Renderer

_BODY = orjson.dumps({"status": "success", "data": {"id": 1, "uid": "booking-1"}})


class InstantTransport:
    """Answers every request 201 with a booking, after one pass through the event loop."""

    auth_refused = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] | Mapping[str, str] = (),
        body: bytes | None = None,
    ) -> Response:
        await asyncio.sleep(0)
        return Response(201, {}, _BODY, 0.0, orjson.loads(_BODY))


class DoneWriter:
    """A ledger writer whose every commit is done when submitted."""

    shared = False
    before_commit = None

    def _done(self) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def submit_marks(self, marks: Sequence[Mark]) -> asyncio.Future[None]:
        return self._done()

    def submit_outcome(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        return self._done()

    def flush(self) -> None:
        return None

    async def retract(self, keys: Sequence[str]) -> None:
        return None


def bookings(count: int) -> list[Request]:
    destination = DestinationSettings.model_validate(
        {
            "api_key_env": "CAL_API_KEY",
            "base_url": "http://127.0.0.1:9",
            "template": "create-booking",
        }
    )
    renderer = Renderer(destination, key_fields=["attendee.email", "start"], fingerprint_flow="b")
    requests = []
    for index in range(count):
        record = {
            "start": f"2030-01-07T{10 + index % 8:02d}:{index % 60:02d}:00Z",
            "eventTypeId": 1,
            "attendee": {"name": "Lead", "email": f"lead{index}@example.com", "timeZone": "UTC"},
        }
        request = renderer.render(Position("leads.csv", index, index + 2), record, record)
        assert isinstance(request, Request)
        requests.append(request)
    return requests


async def _run(
    module: Any, requests: list[Request], concurrency: int, told: list[Any] | None = None
) -> float:
    engine = module.Engine(
        module.EngineSettings(flow="b", concurrency=concurrency),
        transport=InstantTransport(),
        ledger=None,
        writer=DoneWriter(),
        limiter=RateLimiter(10_000_000, burst=10_000),
        **({} if told is None else {"on_result": told.append}),
    )
    gc.collect()
    started = time.process_time()
    result = await engine.run(requests)
    spent = time.process_time() - started
    assert result.summary.delivered == len(requests), result.summary
    return spent


def _engine_at(revision: str, folder: Path) -> Any:
    """The engine module as it is at ``revision`` of this repository."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/calsink/deliver/engine.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = folder / "engine_at_revision.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("engine_at_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_alone")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--against", metavar="REV", help="also run engine.py as it is at REV")
    parser.add_argument(
        "--on-result",
        action="store_true",
        help="also run this engine with an on_result callback (each RecordResult kept in a list)",
    )
    args = parser.parse_args(argv)
    requests = bookings(args.records)
    with tempfile.TemporaryDirectory() as folder:
        engines: dict[str, tuple[Any, bool]] = {"this engine": (current_engine, False)}
        if args.against:
            engines[f"engine at {args.against}"] = (_engine_at(args.against, Path(folder)), False)
        if args.on_result:
            engines["this engine, with on_result"] = (current_engine, True)
        spent: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(args.rounds):
            for name, (module, telling) in engines.items():
                told: list[Any] | None = [] if telling else None
                spent[name].append(asyncio.run(_run(module, requests, args.concurrency, told)))
                assert told is None or len(told) == len(requests)
    for name, times in spent.items():
        median = statistics.median(times)
        print(
            f"{name}: {args.records / median:,.0f} records/s of CPU "
            f"({median / args.records * 1e6:.2f} µs per record; median of {args.rounds})"
        )


if __name__ == "__main__":
    main()
