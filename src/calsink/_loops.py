"""How every blocking call of calsink runs its coroutine: in a new event loop (uvloop when
installed), or, when the calling thread already runs a loop (a notebook, an async
framework), on a thread of its own so that the caller's loop is neither blocked by a second
one nor refused ("asyncio.run() cannot be called from a running event loop")."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to the end and return its value (or raise its error) in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:  # outside the except block: errors of the run get no stray context
        return _new_loop(coro)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = _new_loop(coro)
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="calsink-call")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


def _new_loop(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    result: T = uvloop.run(coro)
    return result
