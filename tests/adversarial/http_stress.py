"""Thousands of sends through every path that builds an HTTP client, against a hostile server.

    python -X faulthandler -m tests.adversarial.http_stress WORKDIR [--rounds N]

The paths: `calsink run` (`run_flow`, several at once in threads, as the page runs them
beside its test sends), `calsink test` (`send_test`), the page's test send
(`ui.actions.send_test` in a pool of worker threads, as the server calls it), the read
side (`CalcomReader`), and `Transport` itself. The server answers, in turn: a booking,
a reset in the middle of the body, an answer slower than the client waits, a closed
connection without an answer, a 503; a path with an empty segment (``//``) gets a 404;
another port refuses connections. Requests are cancelled in flight, a client is closed
with requests in flight, one client is used from two threads and loops, and the process
exits with requests still in flight in daemon threads.

Prints one JSON line (sends per path) and exits 0; a crash of the interpreter shows as
a negative exit code and a "Fatal Python error" on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import socket
import struct
import sys
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import uvloop
from tests.adversarial.harness import BOOKING_MAP, FAKE_KEY, lead_rows, write_flow
from tests.support.ports import free_port

from calsink.calcom.client import CalcomReader, CalcomReadError
from calsink.flow import LoadedFlow, load_flow
from calsink.http.retry import Backoff
from calsink.http.transport import Transport, TransportError
from calsink.runner import RunError, run_flow, send_test
from calsink.ui import actions

TIMEOUT_S = 0.1
SLOW_S = 0.2
UNLIMITED = 1_000_000  # requests per minute: the rate limiter never makes a path wait
BOOKING = b'{"status":"success","data":{"id":1,"uid":"stress-uid","status":"accepted"}}'
LISTING = b'{"status":"success","data":[],"pagination":{"hasNextPage":false}}'
CANCEL = """transform:
  map: {cancellationReason: "stress"}
"""

sent: Counter[str] = Counter()
count_lock = threading.Lock()
failed_threads: list[str] = []


def record_failure(failure: threading.ExceptHookArgs) -> None:
    """A path that raised where it must not: the stress run fails (exit 1), not only a crash."""
    name = failure.thread.name if failure.thread is not None else "?"
    failed_threads.append(f"{name}: {failure.exc_type.__name__}: {failure.exc_value}")
    threading.__excepthook__(failure)


def counted(path: str, number: int = 1) -> None:
    with count_lock:
        sent[path] += number


# -- the server --------------------------------------------------------------------------------


class HostileServer:
    """An HTTP/1.1 server on 127.0.0.1, in a thread of its own, that misbehaves in turn."""

    def __init__(self) -> None:
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hostile-server", daemon=True)
        self.port = 0

    def start(self) -> HostileServer:
        """Serve until the process exits (it answers through the interpreter's shutdown)."""
        self._thread.start()
        self._ready.wait()
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                path = head.split(b" ", 2)[1]
                if not await self._answer(path, writer):
                    return
        writer.close()

    async def _answer(self, path: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is done with."""
        if b"//" in path:
            writer.write(_response(404, b'{"status":"error","error":{"message":"not found"}}'))
            return True
        turn = next(self._turn) % 6
        if turn == 0:
            writer.write(_response(201, BOOKING))
        elif turn == 1:
            writer.write(_response(200, LISTING))
        elif turn == 2:  # reset in the middle of the body
            writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 10000\r\n\r\n" + b"{" * 100)
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        elif turn == 3:  # slower than the client waits
            await asyncio.sleep(SLOW_S)
            writer.write(_response(201, BOOKING))
        elif turn == 4:  # closed without an answer
            writer.close()
            return False
        else:
            writer.write(_response(503, b'{"status":"error","error":{"message":"busy"}}'))
        await writer.drain()
        return True


def _response(status: int, body: bytes) -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


# -- the paths ---------------------------------------------------------------------------------


class Targets:
    def __init__(self, port: int, dead: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.urls = [
            f"{self.base}/v2/bookings",
            f"{self.base}/v2/bookings//cancel",
            f"http://127.0.0.1:{dead}/v2/bookings",
            f"http://localhost:{port}/v2/bookings/abc/cancel",
        ]

    def pick(self, rng: random.Random) -> str:
        return rng.choice(self.urls)


async def send_quietly(transport: Transport, url: str) -> None:
    with contextlib.suppress(TransportError, asyncio.CancelledError):
        await transport.send("POST", url, body=b'{"cancellationReason": "stress"}')
    counted("transport")


async def storm(targets: Targets, sends: int, seed: int) -> None:
    """Sends in batches, some cancelled in flight; the last batch meets a closing client."""
    rng = random.Random(seed)
    transport = Transport(FAKE_KEY, timeout_s=TIMEOUT_S, connections=8)
    async with transport:
        for _ in range(sends // 40):
            tasks = [
                asyncio.ensure_future(send_quietly(transport, targets.pick(rng))) for _ in range(40)
            ]
            await asyncio.sleep(rng.random() * 0.01)
            for task in tasks:
                if rng.random() < 0.2:
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        in_flight = [
            asyncio.ensure_future(send_quietly(transport, targets.pick(rng))) for _ in range(20)
        ]
        await asyncio.sleep(0.005)
    await asyncio.gather(*in_flight, return_exceptions=True)


async def dropped_with_requests_in_flight(targets: Targets, seed: int) -> None:
    """A client left behind (never closed) while its requests are still on the wire."""
    rng = random.Random(seed)
    transport = Transport(FAKE_KEY, timeout_s=TIMEOUT_S, connections=4)
    await transport.__aenter__()
    left = [asyncio.ensure_future(send_quietly(transport, targets.pick(rng))) for _ in range(10)]
    await asyncio.sleep(0.01)
    del transport
    # The loop ends with these still pending: uvloop.run cancels them as it closes.
    assert len(left) == 10


def shared_between_loops(targets: Targets, sends: int) -> None:
    """One client entered in one thread's loop, used from another thread's loop too."""
    ready = threading.Event()
    done = threading.Event()
    shared: list[Transport] = []

    async def owner() -> None:
        async with Transport(FAKE_KEY, timeout_s=TIMEOUT_S, connections=4) as transport:
            shared.append(transport)
            ready.set()
            for index in range(sends):
                await send_quietly(transport, targets.urls[index % len(targets.urls)])
            await asyncio.to_thread(done.wait)

    async def borrower() -> None:
        ready.wait()
        for index in range(sends):
            with contextlib.suppress(Exception):  # another loop's client may refuse: no crash
                await send_quietly(shared[0], targets.urls[index % len(targets.urls)])
        done.set()

    threads = [threading.Thread(target=uvloop.run, args=(coro(),)) for coro in (owner, borrower)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def reads(targets: Targets, rounds: int) -> None:
    backoff = Backoff(initial_s=0.001, max_s=0.002, jitter_s=0.0)
    async with CalcomReader(
        targets.base,
        FAKE_KEY,
        rate_limit=UNLIMITED,
        timeout_s=TIMEOUT_S,
        max_attempts=2,
        backoff=backoff,
    ) as reader:
        for index in range(rounds):
            with contextlib.suppress(CalcomReadError):
                if index % 3 == 0:
                    await reader.booking("")
                elif index % 3 == 1:
                    async for _ in reader.iter_kind("bookings", {}):
                        pass
                else:
                    async for _ in reader.iter_kind("me", {}):
                        pass
            counted("read side", reader.requests_sent)
            reader.requests_sent = 0


def flows(workdir: Path, targets: Targets, records: int) -> list[LoadedFlow]:
    """A create-booking flow and a cancel flow whose uids are empty every other row."""
    delivery = {
        "concurrency": 8,
        "max_attempts": 1,
        "timeout_s": TIMEOUT_S,
        "rate_limit": UNLIMITED,
    }
    made = []
    book = workdir / "book"
    book.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{name},{email},{start}\n" for name, email, start in lead_rows(records))
    (book / "leads.csv").write_text("name,email,start\n" + rows)
    made.append(
        write_flow(book, targets.base, source="leads.csv", transform=BOOKING_MAP, delivery=delivery)
    )
    cancel = workdir / "cancel"
    cancel.mkdir(parents=True, exist_ok=True)
    uids = "".join(("" if i % 2 else f"uid{i}") + "\n" for i in range(records))
    (cancel / "uids.csv").write_text("uid\n" + uids)
    flow = write_flow(
        cancel,
        targets.base,
        source="uids.csv",
        template="cancel-booking",
        transform=CANCEL,
        key="[uid]",
        delivery={**delivery, "allow_destructive": "true", "max_destructive": records},
    )
    text = flow.read_text().replace(
        "  template: cancel-booking", '  template: cancel-booking\n  params: {uid: "{uid}"}'
    )
    flow.write_text(text)
    made.append(flow)
    return [load_flow(path) for path in made]


def runs(loaded: LoadedFlow, times: int) -> None:
    for _ in range(times):
        try:
            report = run_flow(loaded, api_key=FAKE_KEY, yes=True, force=True)
        except RunError as refused:  # a test send holds the flow's lock: refused, and said so
            assert "is already running" in str(refused), refused
            counted("run refused while busy")
        else:
            counted("run", report.summary.read)


def command_test_sends(loaded: LoadedFlow, times: int, records: int) -> None:
    for index in range(times):
        with contextlib.suppress(RunError):
            send_test(loaded, api_key=FAKE_KEY, record_index=index % records, yes=True)
        counted("test")


def page_test_sends(loaded: list[LoadedFlow], times: int, records: int) -> None:
    """The page's Send Test Data: the server calls the action in a pool of worker threads."""

    def one(index: int) -> None:
        with contextlib.suppress(RunError):
            actions.send_test(
                loaded[index % len(loaded)],
                FAKE_KEY,
                record_index=index % records,
                payload={"cancellationReason": "edited"} if index % 3 == 0 else None,
                yes=True,
            )
        counted("page test send")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(times)))


def in_threads(jobs: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_loop(coro: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    return lambda: uvloop.run(coro())


def shutdown_with_requests_in_flight(targets: Targets) -> Iterator[threading.Thread]:
    """Daemon threads still sending when the interpreter exits."""
    for seed in range(3):
        thread = threading.Thread(
            target=run_loop(lambda seed=seed: storm(targets, 10_000, seed)), daemon=True
        )
        thread.start()
        yield thread


def one_round(targets: Targets, loaded: list[LoadedFlow], records: int, seed: int) -> None:
    """Every path at once, each in a thread of its own."""
    in_threads(
        [
            run_loop(lambda: storm(targets, 500, seed)),
            run_loop(lambda: storm(targets, 500, seed + 1000)),
            run_loop(lambda: dropped_with_requests_in_flight(targets, seed)),
            run_loop(lambda: reads(targets, 60)),
            lambda: runs(loaded[0], 2),
            lambda: runs(loaded[1], 2),
            lambda: command_test_sends(loaded[1], 40, records),
            lambda: page_test_sends(loaded, 120, records),
            lambda: shared_between_loops(targets, 100),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    threading.excepthook = record_failure
    records = 40
    server = HostileServer().start()
    targets = Targets(server.port, free_port())
    loaded = flows(args.workdir, targets, records)
    for seed in range(args.rounds):
        one_round(targets, loaded, records, seed)
    list(shutdown_with_requests_in_flight(targets))
    threading.Event().wait(0.3)
    with count_lock:
        print(json.dumps(dict(sent)), flush=True)
    if failed_threads:
        print("paths that raised:", *failed_threads, sep="\n", file=sys.stderr, flush=True)
        sys.exit(1)
    # The daemon threads are still sending as the interpreter shuts down.


if __name__ == "__main__":
    main()
