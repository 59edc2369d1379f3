"""The same asyncio loop as the aiohttp peer, over httpx.AsyncClient."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from bench.peers._common import PeerArgs, bodies, parse_args, report


async def send_all(args: PeerArgs) -> tuple[int, int]:
    records: Iterator[dict[str, Any]] = bodies(args.csv)
    sent = created = 0
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(headers=args.headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal sent, created
            for record in records:
                sent += 1
                answer = await client.post(args.bookings_url, content=orjson.dumps(record))
                payload = orjson.loads(answer.content)
                if answer.status_code == 201 and payload["data"]["uid"]:
                    created += 1

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return sent, created


def main() -> None:
    args = parse_args("python -m bench.peers.httpx_loop")
    started = time.perf_counter()
    sent, created = asyncio.run(send_all(args))
    report(sent, created, time.perf_counter() - started)


if __name__ == "__main__":
    main()
