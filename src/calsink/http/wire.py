"""What every wire (the HTTP client under `calsink.http.transport.Transport`) shares: the
`Wire` protocol, the `Answer` it hands back, the `TransportError` it raises when no answer
came, and how much of an answer is kept. The wires import this, not the transport."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

# Cal.com's answers are kilobytes; a longer one is kept only up to here (memory stays bounded).
MAX_KEPT_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 256 * 1024

# What a wire hands back: status, headers (lower-cased names), the body kept, its whole length.
Answer = tuple[int, Mapping[str, str], bytes, int]


class Wire(Protocol):
    """An HTTP client under `Transport`: it sends what it is given, and raises
    `TransportError` when no answer came back."""

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Answer: ...

    async def close(self) -> None: ...


class TransportError(Exception):
    """No HTTP answer came back.

    ``kind`` is ``"timeout"`` or ``"connection"``; ``maybe_sent`` is False only when the
    connection was never established, so the server cannot have seen the request.
    """

    def __init__(self, kind: Literal["timeout", "connection"], detail: str, *, maybe_sent: bool):
        self.kind = kind
        self.detail = detail
        self.maybe_sent = maybe_sent
        super().__init__(f"{kind}: {detail}")
