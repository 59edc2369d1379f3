"""The default wire: reqwest, the Rust HTTP client, through
pyreqwest. Connections are kept alive and reused, TLS is verified against the system's
certificates, and the network work happens off Python's interpreter lock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import (
    DetailedPyreqwestError,
    PoolTimeoutError,
    PyreqwestError,
    RequestTimeoutError,
)
from pyreqwest.response import Response as WireResponse

from calsink.http.wire import CHUNK_BYTES, MAX_KEPT_BYTES, Answer, TransportError


class ReqwestWire:
    """One pyreqwest client, built and closed in the event loop that sends through it."""

    def __init__(self, *, timeout_s: float, connections: int) -> None:
        self._timeout_s = timeout_s
        self._client: Client = (
            ClientBuilder()
            .user_agent("calsink")
            .max_connections(max(1, connections))
            .timeout(timedelta(seconds=timeout_s))
            .follow_redirects(False)
            .build()
        )

    async def close(self) -> None:
        await self._client.close()

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Answer:
        builder = self._client.request(method, url).headers(headers)
        if body is not None:
            builder = builder.body_bytes(body)
        try:
            async with builder.build_streamed() as answer:
                length = answer.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) <= MAX_KEPT_BYTES:
                    raw = bytes(await answer.body_reader.bytes())  # the common case, inline
                    size = len(raw)
                else:
                    raw, size = await _read_capped(answer, MAX_KEPT_BYTES)
                # lower-cased names, looked up case-insensitively
                return answer.status, answer.headers, raw, size
        except RequestTimeoutError as exc:
            # reqwest names a total timeout a "connection timeout" whatever phase it hit.
            if isinstance(exc, PoolTimeoutError) or _never_connected(exc):
                raise TransportError(
                    "timeout", f"no connection within {self._timeout_s:g} s", maybe_sent=False
                ) from None
            raise TransportError(
                "timeout", f"no answer within {self._timeout_s:g} s", maybe_sent=True
            ) from None
        except PyreqwestError as exc:
            raise TransportError(
                "connection", _describe(exc), maybe_sent=not _never_connected(exc)
            ) from None


async def _read_capped(answer: WireResponse, limit: int) -> tuple[bytes, int]:
    """The first ``limit`` bytes of a body of unknown or too large a length, and its whole
    length; the rest is read and dropped, so that a huge answer costs time, not memory."""
    kept = bytearray()
    size = 0
    reader = answer.body_reader
    while (chunk := await reader.read(CHUNK_BYTES)) is not None:
        size += len(chunk)
        room = limit - len(kept)
        if room > 0:
            kept += memoryview(chunk)[:room]
    return bytes(kept), size


def _causes(exc: PyreqwestError) -> list[str]:
    if not isinstance(exc, DetailedPyreqwestError):
        return []
    causes = exc.details.get("causes") or []
    return [str(cause.get("message", "")) for cause in causes]


def _never_connected(exc: PyreqwestError) -> bool:
    """Whether the failure came from opening the connection (DNS, TCP, TLS): nothing sent.

    A connection closed after the request was written is reported with other causes
    (the server may have acted on it).
    """
    return "client error (Connect)" in _causes(exc)


def _describe(exc: PyreqwestError) -> str:
    """The innermost causes of a failure, e.g. "tcp connect error: Connection refused"."""
    causes = [c for c in _causes(exc) if c and not c.startswith("error sending request")]
    causes = [c for c in causes if not c.startswith("client error (")] or causes
    return ": ".join(causes[-2:]) if causes else (exc.message or type(exc).__name__)
