"""The one HTTP seam: every request calsink sends to Cal.com goes through `Transport`.

The API key lives only here, in a private attribute, and is added as
``Authorization: Bearer <key>`` on the way out; it never appears in a Request, a
message or an exception. TLS certificates are always verified, and plain http is
refused for any host but the loopback interface.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import orjson

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# Cal.com's answers are kilobytes; a longer one is kept only up to here (memory stays bounded).
MAX_KEPT_BYTES = 4 * 1024 * 1024
_CHUNK_BYTES = 256 * 1024
_MAX_HEADER_SHAPES = 256


class InsecureURLError(ValueError):
    """A URL calsink refuses to send to (plain http to a host that is not loopback)."""


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


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status, headers (lower-cased names), raw body and time taken."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_s: float
    parsed: Any = field(default=None)
    size: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def oversized(self) -> bool:
        """Whether the answer was longer than what was kept (``body`` is its beginning)."""
        return self.size is not None and self.size > len(self.body)

    def error_message(self) -> str:
        """Cal.com's error message from the envelope, or a short excerpt of the body."""
        data = self.parsed
        if isinstance(data, dict):
            error = data.get("error")
            if isinstance(error, dict) and error.get("message"):
                return str(error["message"])
            if isinstance(error, str):
                return error
            if data.get("message"):
                return str(data["message"])
        text = self.body[:300].decode("utf-8", "replace").strip()
        if self.oversized:
            text = f"an answer of {self.size} bytes (too large to keep); it begins: {text}"
        return text or f"HTTP {self.status}"


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Raise InsecureURLError unless ``url`` is https, or http to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _loopback_host(parts.hostname):
        return
    if parts.scheme == "http":
        raise InsecureURLError(
            f"refusing plain http to {parts.hostname}: use https "
            "(plain http is allowed only for 127.0.0.1, ::1 and localhost)"
        )
    raise InsecureURLError(f"unsupported URL scheme {parts.scheme!r} in {url}: use https")


@functools.lru_cache(maxsize=64)
def _loopback_host(hostname: str | None) -> bool:
    """`is_loopback` remembered per host name: a run sends every request to the same host."""
    return bool(hostname) and is_loopback(hostname)  # type: ignore[arg-type]


def parse_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


class Transport:
    """An aiohttp session that adds the API key and turns failures into `TransportError`.

    Use as ``async with Transport(api_key, timeout_s=30, connections=8) as t: await t.send(...)``.
    """

    __slots__ = ("__api_key", "_connections", "_outgoing", "_session", "_timeout_s")

    def __init__(self, api_key: str | None, *, timeout_s: float = 30.0, connections: int = 8):
        self.__api_key = api_key
        self._timeout_s = timeout_s
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        # The headers sent for each (request headers, has body, authenticate): a run uses a
        # handful of header shapes, so they are merged once, not for every request.
        self._outgoing: dict[tuple[tuple[tuple[str, str], ...], bool, bool], dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"Transport(timeout_s={self._timeout_s}, connections={self._connections})"

    async def __aenter__(self) -> Transport:
        connector = aiohttp.TCPConnector(limit=max(1, self._connections), ssl=True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": "calsink"},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: tuple[tuple[str, str], ...] | Mapping[str, str] = (),
        body: bytes | None = None,
        authenticate: bool = True,
    ) -> Response:
        """Send one request; return the answer whatever its status, or raise TransportError."""
        check_url(url)
        if self._session is None:
            raise RuntimeError("use the Transport inside `async with`")
        if isinstance(headers, Mapping):
            outgoing = self._merge_headers(headers.items(), body is not None, authenticate)
        else:
            shape = (headers, body is not None, authenticate)
            cached = self._outgoing.get(shape)
            if cached is None:
                if len(self._outgoing) >= _MAX_HEADER_SHAPES:
                    self._outgoing.clear()
                cached = self._merge_headers(headers, body is not None, authenticate)
                self._outgoing[shape] = cached
            outgoing = cached
        started = time.perf_counter()
        try:
            async with self._session.request(method, url, headers=outgoing, data=body) as answer:
                length = answer.content_length
                # Content-Length bounds the body only when it is not compressed.
                if (
                    length is not None
                    and length <= MAX_KEPT_BYTES
                    and "Content-Encoding" not in answer.headers
                ):
                    raw = await answer.read()
                    size = len(raw)
                else:
                    raw, size = await _read_capped(answer.content, MAX_KEPT_BYTES)
                names = {name.lower(): value for name, value in answer.headers.items()}
                status = answer.status
        except aiohttp.ClientConnectorError as exc:
            raise TransportError("connection", _describe(exc), maybe_sent=False) from None
        except TimeoutError:
            raise TransportError(
                "timeout", f"no answer within {self._timeout_s:g} s", maybe_sent=True
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError("connection", _describe(exc), maybe_sent=True) from None
        elapsed = time.perf_counter() - started
        if size > len(raw):
            return Response(status, names, raw, elapsed, None, size)
        return Response(status, names, raw, elapsed, parse_body(raw))

    def _merge_headers(
        self, headers: Iterable[tuple[str, str]], has_body: bool, authenticate: bool
    ) -> dict[str, str]:
        """The request's headers with the content type and the API key (never a caller's
        Authorization header)."""
        outgoing = dict(headers)
        outgoing.pop("Authorization", None)
        outgoing.pop("authorization", None)
        if has_body and not any(k.lower() == "content-type" for k in outgoing):
            outgoing["Content-Type"] = "application/json"
        if authenticate and self.__api_key:
            outgoing["Authorization"] = f"Bearer {self.__api_key}"
        return outgoing


async def _read_capped(content: aiohttp.StreamReader, limit: int) -> tuple[bytes, int]:
    """The first ``limit`` bytes of a body and its whole length; the rest is read and dropped,
    so that a huge answer costs time, not memory."""
    kept = bytearray()
    size = 0
    async for chunk in content.iter_chunked(_CHUNK_BYTES):
        size += len(chunk)
        room = limit - len(kept)
        if room > 0:
            kept += chunk[:room]
    return bytes(kept), size


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip()
    return f"{name}: {text}" if text else name
