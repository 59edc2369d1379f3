"""Serving the sandbox with uvicorn on a socket of our own (so port 0 can be reported).

``serve`` runs it in the foreground until SIGINT/SIGTERM (the ``calsink sandbox``
command); ``run_server`` is the same as a coroutine for a caller's own event loop;
``start_in_thread`` runs it in a background thread for embedding (``calsink demo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from calsink.sandbox.app import SandboxApp


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(app: SandboxApp) -> Any:
    import uvicorn

    from calsink.sandbox.protocol import AbortableHttpToolsProtocol

    config = uvicorn.Config(
        app,
        http=AbortableHttpToolsProtocol,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        backlog=2048,
        proxy_headers=False,
    )
    return uvicorn.Server(config)


async def run_server(
    app: SandboxApp,
    sock: socket.socket,
    *,
    on_ready: Callable[[], None] | None = None,
    server: Any = None,
) -> None:
    """Serve on ``sock`` until the server is told to exit; call ``on_ready`` once listening."""
    server = server or _uvicorn_server(app)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        if on_ready is not None:
            on_ready()

    watcher = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def serve(
    app: SandboxApp,
    sock: socket.socket,
    *,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run in the foreground until interrupted (SIGINT/SIGTERM), then shut down cleanly."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(run_server(app, sock, on_ready=on_ready))
    else:
        uvloop.run(run_server(app, sock, on_ready=on_ready))


@dataclass
class RunningSandbox:
    url: str
    app: SandboxApp
    _server: Any
    _thread: threading.Thread

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)


def start_in_thread(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve ``app`` from a background thread with its own event loop; returns once listening."""
    sock = bind(host, port)
    ready = threading.Event()
    server = _uvicorn_server(app)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(run_server(app, sock, on_ready=ready.set, server=server))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="calsink-sandbox", daemon=True)
    thread.start()
    ready.wait(30)
    if failure:
        raise RuntimeError(f"the sandbox could not start: {failure[0]}") from failure[0]
    return RunningSandbox(f"http://{host}:{sock.getsockname()[1]}", app, server, thread)
