"""Many clients racing for one slot: exactly one wins."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
from sandbox_contract import check_response

from support.sandbox import SandboxHandle

BOOKING = {
    "start": "2030-01-07T14:00:00Z",
    "eventTypeId": 1,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
}


async def _race(sandbox: SandboxHandle, count: int) -> list[tuple[int, bytes]]:
    headers = {"Authorization": f"Bearer {sandbox.api_key}", "cal-api-version": "2024-08-13"}
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        start = asyncio.Event()

        async def one() -> tuple[int, bytes]:
            await start.wait()
            async with session.post(f"{sandbox.url}/v2/bookings", json=BOOKING) as response:
                return response.status, await response.read()

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def test_200_concurrent_requests_for_one_slot_make_one_booking(sandbox: SandboxHandle) -> None:
    answers = asyncio.run(_race(sandbox, 200))
    assert Counter(status for status, _ in answers) == Counter({201: 1, 400: 199})
    for status, body in answers:
        check_response("POST", "/v2/bookings", status, body, "2024-08-13")
    assert len(sandbox.state()["bookings"]) == 1
    assert len([r for r in sandbox.requests() if r["method"] == "POST"]) == 200
