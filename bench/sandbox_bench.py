"""How many create-booking requests per second the sandbox answers on this machine.

    uv run python -m bench.sandbox_bench [--requests 4000] [--concurrency 64] [--state]

Starts ``calsink sandbox`` in its own process (rate limit out of the way), sends N
``POST /v2/bookings`` for distinct free 30-minute slots (every weekday slot from
2030-01-07 on, so each one succeeds) with aiohttp at a fixed concurrency, and prints
requests per second. As the peer it measures, in the same run and with the same
client, a trivial uvicorn "hello" ASGI app (same httptools/uvloop server stack): the
ceiling any uvicorn app can reach here. The ratio says what the sandbox's own work
costs. With ``--state`` the sandbox keeps its records in a state file (in a temporary
folder), so each answer also waits for its write to be durable. Timing is reported,
never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

API_KEY = "cal_test_bench"
READY = "listening on "


def weekday_slots(count: int) -> list[str]:
    """Distinct 09:00-17:00 America/New_York (14:00-22:00Z in winter) 30-minute starts."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    found: list[str] = []
    day = datetime(2030, 1, 7, tzinfo=zone)
    while len(found) < count:
        if day.weekday() < 5:
            for index in range(16):
                local = day.replace(hour=9) + timedelta(minutes=30 * index)
                found.append(local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        day += timedelta(days=1)
    return found[:count]


def _bodies(count: int) -> Iterator[bytes]:
    for index, start in enumerate(weekday_slots(count)):
        body = {
            "start": start,
            "eventTypeId": 1,
            "attendee": {
                "name": f"Bench {index}",
                "email": f"bench{index}@example.com",
                "timeZone": "UTC",
            },
        }
        yield orjson.dumps(body)


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if READY in line:
            return process, line.split(READY, 1)[1].strip()
    process.kill()
    raise RuntimeError(f"{args} did not start")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


async def _fire(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, Counter[int]]:
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "cal-api-version": "2024-08-13",
        "Content-Type": "application/json",
    }
    statuses: Counter[int] = Counter()
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            for body in queue:
                async with session.post(url, data=body) as response:
                    await response.read()
                    statuses[response.status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, statuses


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    body = b'{"status":"success","data":{}}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_hello() -> None:
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        _hello,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110 (uvicorn exposes only a flag)
            await asyncio.sleep(0.01)
        print(f"hello {READY}http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        await task

    import uvloop

    uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--state", action="store_true", help="Give the sandbox a state file (--state FILE)."
    )
    parser.add_argument("--serve-hello", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_hello:
        serve_hello()
        return
    bodies = list(_bodies(options.requests))
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as folder:
        state = ["--state", str(Path(folder) / "state.json")] if options.state else []
        _compare(bodies, options.concurrency, state)


def _compare(bodies: list[bytes], concurrency: int, state: list[str]) -> None:
    sandbox_args = [
        sys.executable,
        "-m",
        "calsink",
        "sandbox",
        "--port",
        "0",
        "--api-key",
        API_KEY,
        "--rate-limit",
        "1000000000",
        *state,
    ]
    results: dict[str, tuple[float, Counter[int]]] = {}
    for name, args in (
        ("hello", [sys.executable, "-m", "bench.sandbox_bench", "--serve-hello"]),
        ("sandbox", sandbox_args),
    ):
        process, base = _start(args)
        try:
            if name == "hello":  # the sandbox would refuse these slots once booked
                asyncio.run(_fire(f"{base}/v2/bookings", bodies[:200], concurrency))
            results[name] = asyncio.run(_fire(f"{base}/v2/bookings", bodies, concurrency))
        finally:
            _stop(process)
    rates = {name: len(bodies) / elapsed for name, (elapsed, _) in results.items()}
    stored = ", state file" if state else ""
    print(f"create-booking requests: {len(bodies)}, concurrency {concurrency}{stored}")
    for name, (elapsed, statuses) in results.items():
        print(f"  {name:8s} {rates[name]:8.0f} req/s  ({elapsed:.2f} s, statuses {dict(statuses)})")
    print(f"  sandbox / hello-uvicorn ceiling: {rates['sandbox'] / rates['hello']:.2f}")


if __name__ == "__main__":
    main()
