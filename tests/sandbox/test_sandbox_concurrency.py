"""Many clients racing for one slot: exactly one wins."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from support.sandbox import SandboxHandle

BOOKING = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
}


async def _race(sandbox: SandboxHandle, count: int) -> Counter[int]:
    headers = {"Authorization": f"Bearer {sandbox.api_key}", "cal-api-version": "2024-08-13"}
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        start = asyncio.Event()

        async def one() -> int:
            await start.wait()
            async with session.post(f"{sandbox.url}/v2/bookings", json=BOOKING) as response:
                await response.read()
                return response.status

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await asyncio.sleep(0.05)
        start.set()
        return Counter(await asyncio.gather(*tasks))


def test_200_concurrent_requests_for_one_slot_make_one_booking(sandbox: SandboxHandle) -> None:
    statuses = asyncio.run(_race(sandbox, 200))
    assert statuses == Counter({201: 1, 400: 199})
    assert len(sandbox.state()["bookings"]) == 1
    assert len([r for r in sandbox.requests() if r["method"] == "POST"]) == 200
