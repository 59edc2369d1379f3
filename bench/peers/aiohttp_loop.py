"""A plain asyncio loop over aiohttp: N workers sharing one session (the ceiling of a
Python client: keep-alive connections, orjson bodies, nothing else). ``--uvloop`` runs it
on uvloop, calsink's own event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson

from bench.peers._common import PeerArgs, bodies, parse_args, report


async def send_all(args: PeerArgs) -> tuple[int, int]:
    records: Iterator[dict[str, Any]] = bodies(args.csv)
    sent = created = 0
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=args.headers) as session:

        async def worker() -> None:
            nonlocal sent, created
            for record in records:
                sent += 1
                async with session.post(args.bookings_url, data=orjson.dumps(record)) as answer:
                    payload = orjson.loads(await answer.read())
                if answer.status == 201 and payload["data"]["uid"]:
                    created += 1

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return sent, created


def main() -> None:
    args = parse_args("python -m bench.peers.aiohttp_loop")
    started = time.perf_counter()
    if args.uvloop:
        import uvloop

        sent, created = uvloop.run(send_all(args))
    else:
        sent, created = asyncio.run(send_all(args))
    report(sent, created, time.perf_counter() - started)


if __name__ == "__main__":
    main()
