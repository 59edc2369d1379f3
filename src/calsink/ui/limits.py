"""Bounds on what the page's server reads: request bodies and request heads.

A body over the limit gets 413 before it is read when its Content-Length says so, and
as soon as the limit is passed when it comes in chunks. A request line and headers
over ``MAX_HEAD`` get 431 without being kept (uvicorn's httptools protocol keeps any
size of header in memory), and the log stays quiet either way.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_HEAD = 64 * 1024


class _TooLarge(Exception):
    """Raised inside the app's ``receive`` once the body passes the limit."""


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"problems": [f"request body too large: the page accepts at most {limit:,} bytes"]},
        status_code=413,
        headers={"Connection": "close"},
    )


class BodyLimitMiddleware:
    """Answers 413 to a request whose body is over ``limit`` bytes, reading no more of it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, watched_send)
        except _TooLarge:
            if not started:
                await _too_large(self.limit)(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the HTTP parser refuses such a request before it gets here
    return 0


def http_protocol() -> Any:
    """uvicorn's httptools protocol with the request head capped at MAX_HEAD (431), or
    h11 (which caps it itself) where httptools is not installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"

    class CappedHead(HttpToolsProtocol):
        head_bytes = 0
        in_head = True

        def data_received(self, data: bytes) -> None:
            if self.in_head:
                end = data.find(b"\r\n\r\n")
                self.head_bytes += len(data) if end < 0 else end + 4
                if self.head_bytes > MAX_HEAD:
                    self.in_head = False
                    self.transport.write(_HEAD_TOO_LARGE)
                    self.transport.close()
                    return
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self.in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self.in_head, self.head_bytes = True, 0
            super().on_message_complete()

    return CappedHead


_HEAD_BODY = b'{"problems":["request headers too large: the page accepts at most 65,536 bytes"]}'
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_HEAD_BODY)).encode() + b"\r\n\r\n" + _HEAD_BODY
)
