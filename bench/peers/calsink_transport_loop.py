"""A bare loop over calsink's own HTTP client (`calsink.http.transport.Transport`) on
uvloop: N workers, the same bodies, no validation, ledger or files — what calsink's client
costs on its own, beside the same loop over aiohttp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import orjson
import uvloop

from bench.peers._common import API_VERSION, PeerArgs, bodies, parse_args, report
from calsink.http.transport import Transport


async def send_all(args: PeerArgs) -> tuple[int, int]:
    records: Iterator[dict[str, Any]] = bodies(args.csv)
    headers = (("cal-api-version", API_VERSION),)
    sent = created = 0
    async with Transport(args.api_key, connections=args.concurrency) as transport:

        async def worker() -> None:
            nonlocal sent, created
            for record in records:
                sent += 1
                answer = await transport.send(
                    "POST", args.bookings_url, headers=headers, body=orjson.dumps(record)
                )
                data = answer.parsed.get("data") if isinstance(answer.parsed, dict) else None
                if answer.status == 201 and isinstance(data, dict) and data.get("uid"):
                    created += 1

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return sent, created


def main() -> None:
    args = parse_args("python -m bench.peers.calsink_transport_loop")
    started = time.perf_counter()
    sent, created = uvloop.run(send_all(args))
    report(sent, created, time.perf_counter() - started)


if __name__ == "__main__":
    main()
