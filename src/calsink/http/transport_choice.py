"""Which HTTP client sends calsink's requests: ``CALSINK_TRANSPORT`` (no imports, so the
command line can check it before anything else runs).

``aiohttp`` (the default) is pure Python over asyncio. ``reqwest`` (the Rust client,
through pyreqwest) is faster, but its extension has crashed the interpreter with a
segmentation fault in its memory allocator (see docs/transport.md): choose it knowingly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

TRANSPORT_ENV = "CALSINK_TRANSPORT"
TransportName = Literal["aiohttp", "reqwest"]
TRANSPORTS: tuple[TransportName, ...] = ("aiohttp", "reqwest")
DEFAULT_TRANSPORT: TransportName = "aiohttp"


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
    """Load the chosen client from the calling thread (call it from the main thread).

    pyreqwest's memory allocator (a mimalloc older than 3.4) crashes the process when
    the thread that first loaded it has ended and another thread allocates: the page
    would load it in one of its worker threads, which end when idle."""
    if name == "reqwest":
        import pyreqwest.client  # noqa: F401
