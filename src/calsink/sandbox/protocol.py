"""uvicorn's httptools protocol, with a way for the app to drop the connection.

The app finds ``scope["extensions"]["calsink.abort"]``: calling it aborts the TCP
connection at once (no response, or a partial one), which is what a dropped
connection looks like to a client.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from calsink.sandbox.app import ABORT_EXTENSION


class AbortableHttpToolsProtocol(HttpToolsProtocol):
    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions: dict[str, Any] = {ABORT_EXTENSION: self.transport.abort}
        self.scope["extensions"] = extensions
