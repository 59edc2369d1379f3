"""Event loops in other threads, ended before the interpreter is.

A process may exit while a thread of its own still runs an event loop with requests in
flight (a daemon thread, say). An event loop in C (uvloop's libuv) then wakes for an
answer after the interpreter has been torn down and crashes the process as it calls back
into Python. So each loop a `Transport` opens in a thread other than the main one is
remembered, and at exit (before the interpreter goes) its tasks are cancelled and its
thread is given a moment to end.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import time

EXIT_WAIT_S = 2.0

_lock = threading.Lock()
_loops: dict[int, tuple[asyncio.AbstractEventLoop, threading.Thread]] = {}
_registered = False


def remember_running_loop() -> None:
    """Remember the running loop if it runs in a thread other than the main one."""
    global _registered
    thread = threading.current_thread()
    if thread is threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    with _lock:
        for key, (known, _) in list(_loops.items()):
            if known.is_closed():
                del _loops[key]
        _loops[id(loop)] = (loop, thread)
        if not _registered:
            atexit.register(end_loops_at_exit)
            _registered = True


def end_loops_at_exit() -> None:
    """Cancel every task of the remembered loops still running; wait for their threads."""
    with _lock:
        running = [
            (loop, thread)
            for loop, thread in _loops.values()
            if not loop.is_closed() and thread.is_alive()
        ]
    for loop, _ in running:
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            loop.call_soon_threadsafe(_cancel_tasks, loop)
    deadline = time.monotonic() + EXIT_WAIT_S
    for _, thread in running:
        thread.join(max(0.0, deadline - time.monotonic()))


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
