"""A small HTTP server on loopback for a test: a webhook receiver, a file server, an echo."""

from __future__ import annotations

import ssl
import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self


class Served:
    """``handler`` answering on ``host`` at a free port, on a thread of its own, until
    `close` (or the end of a ``with`` block); ``origin`` is where (``http://host:port``,
    ``https`` with ``tls``)."""

    def __init__(
        self,
        handler: Any,
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.server = ThreadingHTTPServer((host, 0), handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.origin = f"{scheme}://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
