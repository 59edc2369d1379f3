"""A local emulator of the Cal.com API v2 endpoints calsink uses.

It imports nothing from the client side of calsink. ``create_app`` returns the ASGI
application; ``serve`` runs it with uvicorn on a bound socket in the foreground,
``run_server`` inside a caller's event loop, ``start_in_thread`` in a background thread.
"""

from __future__ import annotations

from calsink.sandbox.app import SandboxApp, SandboxConfig, generate_api_key
from calsink.sandbox.delivery import NO_SECRET, signature
from calsink.sandbox.faults import FaultRule, FaultSpecError, parse_spec
from calsink.sandbox.persistence import StateFileError
from calsink.sandbox.routes import KNOWN_VERSIONS
from calsink.sandbox.server import RunningSandbox, bind, run_server, serve, start_in_thread


def create_app(config: SandboxConfig) -> SandboxApp:
    return SandboxApp(config)


__all__ = [
    "KNOWN_VERSIONS",
    "NO_SECRET",
    "FaultRule",
    "FaultSpecError",
    "RunningSandbox",
    "SandboxApp",
    "SandboxConfig",
    "StateFileError",
    "bind",
    "create_app",
    "generate_api_key",
    "parse_spec",
    "run_server",
    "serve",
    "signature",
    "start_in_thread",
]
