"""A loop a Transport runs in another thread is ended when the process exits."""

from __future__ import annotations

import asyncio
import threading

import uvloop

from calsink.http.loop_exit import end_loops_at_exit
from calsink.http.transport import Transport


def test_a_loop_sending_in_another_thread_is_ended_at_exit() -> None:
    opened = threading.Event()
    ended: list[str] = []

    async def sending_forever() -> None:
        async with Transport("cal_test_key"):
            opened.set()
            try:
                await asyncio.sleep(3600)  # a request that never gets its answer
            except asyncio.CancelledError:
                ended.append("cancelled")
                raise

    def thread_body() -> None:
        try:
            uvloop.run(sending_forever())
        except asyncio.CancelledError:
            ended.append("thread ended")

    thread = threading.Thread(target=thread_body, daemon=True)
    thread.start()
    assert opened.wait(10)
    end_loops_at_exit()
    assert not thread.is_alive()
    assert ended == ["cancelled", "thread ended"]
