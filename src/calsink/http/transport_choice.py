"""Which HTTP client sends calsink's requests: ``CALSINK_TRANSPORT`` (no imports, so the
command line can check it before anything else runs).

``reqwest`` (the default: the Rust client, through pyreqwest) does its network work off
Python's interpreter lock. ``aiohttp`` is pure Python over asyncio. pyreqwest's memory
allocator crashes the process once the thread that loaded it has ended (docs/transport.md),
so it is only ever loaded by `preload`, from a thread that lives as long as the process.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from typing import Literal

TRANSPORT_ENV = "CALSINK_TRANSPORT"
TransportName = Literal["aiohttp", "reqwest"]
TRANSPORTS: tuple[TransportName, ...] = ("aiohttp", "reqwest")
DEFAULT_TRANSPORT: TransportName = "reqwest"
REQWEST_MODULE = "pyreqwest.client"


class TransportChoiceError(ValueError):
    """``CALSINK_TRANSPORT`` names no HTTP client calsink has."""


def chosen_transport(environ: Mapping[str, str] | None = None) -> TransportName:
    """The HTTP client ``CALSINK_TRANSPORT`` names (unset or empty: the default)."""
    value = (os.environ if environ is None else environ).get(TRANSPORT_ENV, "").strip()
    if not value:
        return DEFAULT_TRANSPORT
    for name in TRANSPORTS:
        if value.lower() == name:
            return name
    raise TransportChoiceError(
        f"{TRANSPORT_ENV}={value!r}: expected one of {', '.join(TRANSPORTS)}; "
        f"unset it for the default ({DEFAULT_TRANSPORT})"
    )


def preload(name: TransportName) -> None:
    """Load the chosen client, from a thread that lives as long as the process.

    pyreqwest bundles a mimalloc older than 3.4, which takes the thread that first loads it
    for the process's main thread: once that thread has ended, the next allocation from
    another thread crashes the process (mimalloc issue #1287). From the main thread the
    client is loaded in place; from any other (a server's worker, which ends when idle)
    it is loaded by a thread of calsink's own that never ends."""
    if name != "reqwest" or REQWEST_MODULE in sys.modules:
        return
    with _LOADING:
        if REQWEST_MODULE in sys.modules:
            return
        if threading.current_thread() is threading.main_thread():
            _load_reqwest()
            return
        loaded = threading.Event()
        failure: list[BaseException] = []
        threading.Thread(
            target=_load_and_stay,
            args=(loaded, failure),
            name="calsink-reqwest-loader",
            daemon=True,
        ).start()
        loaded.wait()
        if failure:
            raise failure[0]


def usable_here(name: TransportName) -> TransportName:
    """The client this process can send through: aiohttp in a child forked after reqwest was
    loaded (its runtime's threads stay behind in the parent, and the allocator's thread with
    them), the chosen one otherwise."""
    return "aiohttp" if name == "reqwest" and _forked_with_reqwest else name


def forks() -> int:
    """How many times the process was forked since calsink's HTTP layer was loaded (0 in
    the process that loaded it)."""
    return _forks


_LOADING = threading.Lock()
_NEVER = threading.Event()
_forks = 0
_forked_with_reqwest = False


def _after_fork_in_child() -> None:
    global _forks, _forked_with_reqwest, _LOADING
    _forks += 1
    _forked_with_reqwest = _forked_with_reqwest or REQWEST_MODULE in sys.modules
    _LOADING = threading.Lock()  # a thread of the parent may have held it: not here


os.register_at_fork(after_in_child=_after_fork_in_child)


def _load_reqwest() -> None:
    __import__(REQWEST_MODULE)


def _load_and_stay(loaded: threading.Event, failure: list[BaseException]) -> None:
    try:
        _load_reqwest()
    except BaseException as exc:  # handed to the thread that asked
        failure.append(exc)
    finally:
        loaded.set()
    _NEVER.wait()
