"""The fast server's own ceiling: how many bookings per second it answers.

The load comes from the cheapest client possible — raw asyncio protocols on uvloop
sending one pre-built POST over each of N keep-alive connections (optionally several
pipelined per connection) and counting complete answers with httptools — so that
the figure says as much about the server as a 2-core machine allows. The harness
also reads the server's CPU time, which gives the server's cost per request
independently of the client.

    python -m bench.ceiling --url http://127.0.0.1:P --requests 20000 --connections 16 --depth 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import orjson

BODY = orjson.dumps(
    {
        "start": "2030-01-07T14:00:00Z",
        "eventTypeId": 1,
        "attendee": {"name": "Ada Lovelace", "email": "ada@example.com", "timeZone": "UTC"},
    }
)


def request_bytes(host: str, port: int) -> bytes:
    return (
        b"POST /v2/bookings HTTP/1.1\r\n"
        b"host: %s:%d\r\n"
        b"authorization: Bearer cal_bench_key\r\n"
        b"cal-api-version: 2026-02-25\r\n"
        b"content-type: application/json\r\n"
        b"content-length: %d\r\n\r\n"
    ) % (host.encode(), port, len(BODY)) + BODY


class _Client(asyncio.Protocol):
    def __init__(self, request: bytes, budget: list[int], depth: int, done: asyncio.Future[None]):
        self._request = request
        self._budget = budget  # shared [requests left to send]
        self._depth = depth
        self._done = done
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._in_flight = 0
        self.answered = 0
        self.errors = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._send(self._depth)

    def _send(self, count: int) -> None:
        take = min(count, self._budget[0])
        if take <= 0:
            if self._in_flight == 0 and not self._done.done():
                self._done.set_result(None)
            return
        self._budget[0] -= take
        self._in_flight += take
        assert self._transport is not None
        self._transport.write(self._request * take)

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_message_complete(self) -> None:
        self._in_flight -= 1
        self.answered += 1
        if self._parser.get_status_code() != 201:
            self.errors += 1
        self._send(1)


async def hammer(url: str, total: int, connections: int, depth: int) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = request_bytes(host, port)
    loop = asyncio.get_running_loop()
    budget = [total]
    futures: list[asyncio.Future[None]] = [loop.create_future() for _ in range(connections)]
    started = time.perf_counter()
    pairs = [
        await loop.create_connection(
            lambda future=future: _Client(request, budget, depth, future),  # type: ignore[misc]
            host,
            port,
        )
        for future in futures
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    clients = [protocol for _, protocol in pairs]
    for transport, _ in pairs:
        transport.close()
    answered = sum(client.answered for client in clients)
    return {
        "requests": answered,
        "errors": sum(client.errors for client in clients),
        "elapsed_s": elapsed,
        "requests_per_s": answered / elapsed,
        "connections": connections,
        "depth": depth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--depth", type=int, default=1, help="requests pipelined per connection")
    args = parser.parse_args()
    try:
        import uvloop

        result = uvloop.run(hammer(args.url, args.requests, args.connections, args.depth))
    except ImportError:
        result = asyncio.run(hammer(args.url, args.requests, args.connections, args.depth))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
