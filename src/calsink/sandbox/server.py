"""Serving the sandbox with uvicorn on a socket of our own (so port 0 can be reported)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from calsink.sandbox.app import SandboxApp


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    app: SandboxApp,
    sock: socket.socket,
    *,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run until interrupted (SIGINT/SIGTERM), then shut down cleanly."""
    import uvicorn

    from calsink.sandbox.protocol import AbortableHttpToolsProtocol

    loop_kind = "uvloop"
    try:
        import uvloop
    except ImportError:
        loop_kind = "asyncio"
    config = uvicorn.Config(
        app,
        http=AbortableHttpToolsProtocol,
        loop=loop_kind,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        backlog=2048,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        if on_ready is not None:
            on_ready()

    async def main() -> None:
        watcher = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    if loop_kind == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())
