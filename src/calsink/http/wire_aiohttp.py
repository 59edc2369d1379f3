"""The other wire (``CALSINK_TRANSPORT=aiohttp``, and a child forked after reqwest was
loaded): aiohttp over the running asyncio (or uvloop) event loop.

Pure Python over the event loop's sockets: no native thread of its own calls back into
the interpreter, so a failed connection, a reset or a cancelled request ends as an
exception, never as a crash of the process. Connections are kept alive and reused; TLS
is verified against the system's certificates."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping

import aiohttp

from calsink.http.wire import CHUNK_BYTES, MAX_KEPT_BYTES, Answer, TransportError


class AiohttpWire:
    """One aiohttp session, opened and closed in the event loop that sends through it."""

    def __init__(self, *, timeout_s: float, connections: int) -> None:
        self._timeout_s = timeout_s
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(1, connections)),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            headers={"User-Agent": "calsink"},
        )
        # aiohttp resends a DELETE (or PUT) once, unseen, when a kept-alive connection drops
        # before the answer; calsink decides about resends itself (a delete resent after it
        # took effect answers 404, which it must read as done, not as a failure)
        self._session._retry_connection = False

    async def close(self) -> None:
        await self._session.close()

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Answer:
        try:
            async with self._session.request(
                method, url, headers=headers, data=body, allow_redirects=False
            ) as answer:
                length = answer.content_length
                if (
                    length is not None
                    and length <= MAX_KEPT_BYTES
                    and "content-encoding" not in answer.headers
                ):
                    raw = await answer.read()  # the common case, in one piece
                    size = len(raw)
                else:
                    raw, size = await _read_capped(answer.content, MAX_KEPT_BYTES)
                names = {name.lower(): value for name, value in answer.headers.items()}
                return answer.status, names, raw, size
        except aiohttp.ConnectionTimeoutError:
            raise TransportError(
                "timeout", f"no connection within {self._timeout_s:g} s", maybe_sent=False
            ) from None
        except TimeoutError:
            raise TransportError(
                "timeout", f"no answer within {self._timeout_s:g} s", maybe_sent=True
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError("connection", _never_connected(exc), maybe_sent=False) from None
        except aiohttp.InvalidURL as exc:
            raise TransportError("connection", f"invalid URL: {exc}", maybe_sent=False) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(
                "connection", str(exc) or type(exc).__name__, maybe_sent=True
            ) from None


async def _read_capped(reader: aiohttp.StreamReader, limit: int) -> tuple[bytes, int]:
    """The first ``limit`` bytes of a body of unknown or too large a length, and its whole
    length; the rest is read and dropped, so that a huge answer costs time, not memory."""
    kept = bytearray()
    size = 0
    while chunk := await reader.read(CHUNK_BYTES):
        size += len(chunk)
        room = limit - len(kept)
        if room > 0:
            kept += memoryview(chunk)[:room]
    return bytes(kept), size


def _never_connected(exc: aiohttp.ClientConnectorError) -> str:
    """Why the connection could not be opened, e.g. "tcp connect error: Connection refused"."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error with {exc.host}:{exc.port}: {exc.os_error}"
    code = exc.os_error.errno
    reason = os.strerror(code) if code in errno.errorcode and code else str(exc.os_error)
    return f"tcp connect error to {exc.host}:{exc.port}: {reason}"
