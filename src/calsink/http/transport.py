"""The one HTTP seam: every request calsink sends to Cal.com goes through `Transport`.

The credential lives only here, in an `Auth` (calsink.http.auth), and is added as
``Authorization: Bearer <key or access token>`` on the way out; it never appears in a
Request, a message or an exception. An OAuth access token past its expiry, or answered
401, is renewed once and the request sent again (see `Transport.send`). TLS certificates
are always verified, and plain http is refused for any host but this machine (`calsink.http.urls`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

import orjson

from calsink.http.auth import Auth, as_auth, token_url
from calsink.http.loop_exit import remember_running_loop
from calsink.http.transport_choice import (
    TransportName,
    chosen_transport,
    forks,
    preload,
    usable_here,
)
from calsink.http.urls import check_url
from calsink.http.wire import MAX_KEPT_BYTES, Answer, TransportError, Wire

__all__ = [
    "MAX_KEPT_BYTES",
    "Answer",
    "Response",
    "SendOptions",
    "Transport",
    "TransportError",
    "Wire",
]

_MAX_HEADER_SHAPES = 256


class SendOptions(TypedDict, total=False):
    """What `Transport.send` takes besides the method and URL, for a Transport that hands
    the request on to another."""

    headers: tuple[tuple[str, str], ...] | Mapping[str, str]
    body: bytes | None
    authenticate: bool
    auth: Auth | None


@dataclass(slots=True)  # not frozen: one is built per request, and frozen costs 4× here
class Response:
    """An HTTP answer: status, headers (lower-cased names), raw body and time taken.

    Treat it as read-only."""

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


def parse_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


class Transport:
    """An HTTP client that adds the API key and turns failures into `TransportError`.

    The requests go out through reqwest (Rust, the network work off the interpreter lock),
    or through aiohttp when ``CALSINK_TRANSPORT=aiohttp`` or in a child forked after
    reqwest was loaded (see `calsink.http.transport_choice`). Either way
    connections are kept alive and reused, TLS is verified, and redirects are not
    followed: an answer is taken as it is. The client lives in the event loop that
    enters the Transport and is closed on the way out.

    Use as ``async with Transport(api_key, timeout_s=30, connections=8) as t: await t.send(...)``.
    """

    __slots__ = (
        "_auth",
        "_connections",
        "_forks",
        "_loop",
        "_outgoing",
        "_thread",
        "_timeout_s",
        "_wire",
        "wire_name",
    )

    def __init__(
        self,
        api_key: str | Auth | None,
        *,
        timeout_s: float = 30.0,
        connections: int = 8,
        wire: TransportName | None = None,
    ):
        self._auth = as_auth(api_key)
        self._timeout_s = timeout_s
        self._connections = connections
        self.wire_name: TransportName = wire or chosen_transport()
        self._wire: Wire | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._forks = forks()
        # The headers sent for each (request headers, has body, Authorization): a run uses a
        # handful of header shapes, so they are merged once, not for every request.
        self._outgoing: dict[
            tuple[tuple[tuple[str, str], ...], bool, str | None], dict[str, str]
        ] = {}

    def __repr__(self) -> str:
        return (
            f"Transport({self.wire_name}, timeout_s={self._timeout_s}, "
            f"connections={self._connections})"
        )

    async def __aenter__(self) -> Transport:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._forks = forks()
        remember_running_loop()
        self._wire = self._open_wire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _open_wire(self) -> Wire:
        self.wire_name = usable_here(self.wire_name)
        if self.wire_name == "reqwest":
            preload("reqwest")
            from calsink.http.wire_reqwest import ReqwestWire

            return ReqwestWire(timeout_s=self._timeout_s, connections=self._connections)
        from calsink.http.wire_aiohttp import AiohttpWire

        return AiohttpWire(timeout_s=self._timeout_s, connections=self._connections)

    async def close(self) -> None:
        if self._wire is not None:
            wire, self._wire = self._wire, None
            await wire.close()

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: tuple[tuple[str, str], ...] | Mapping[str, str] = (),
        body: bytes | None = None,
        authenticate: bool = True,
        auth: Auth | None = None,
    ) -> Response:
        """Send one request; return the answer whatever its status, or raise TransportError.

        An OAuth access token past its expiry is renewed first; a 401 renews it and sends
        the request once more (a refused request had no effect). When renewal is refused,
        the 401 is returned and `auth_refused` says what to do. ``auth`` sends this request
        as another credential than the transport's own (its refusal: ``auth.refused()``)."""
        check_url(url)
        if self._wire is None:
            raise RuntimeError("use the Transport inside `async with`")
        if not self._in_its_loop():
            raise RuntimeError(
                "this Transport belongs to another event loop (or thread): open one per loop"
            )
        auth = (auth or self._auth) if authenticate else None
        authorization = None
        if auth is not None:
            if auth.due():
                await auth.renew(self._post_token, token_url(url), auth.authorization())
            authorization = auth.authorization()
        has_body, resent = body is not None, False
        while True:
            outgoing = self._outgoing_headers(headers, has_body, authorization)
            started = time.perf_counter()
            status, names, raw, size = await self._wire.send(method, url, outgoing, body)
            elapsed = time.perf_counter() - started
            if status != 401 or auth is None or resent or authorization is None:
                break
            if not await auth.renew(self._post_token, token_url(url), authorization):
                break
            authorization, resent = auth.authorization(), True  # once more, renewed
        if size > len(raw):
            return Response(status, names, raw, elapsed, None, size)
        return Response(status, names, raw, elapsed, parse_body(raw))

    def _in_its_loop(self) -> bool:
        """Whether the running loop is the one that opened this Transport. A thread runs
        one loop at a time, so the same thread (and process) with that loop running says
        so without asking asyncio, which costs a system call a time on Python 3.11
        (``getpid``)."""
        loop = self._loop
        if (
            threading.get_ident() == self._thread
            and forks() == self._forks
            and loop is not None
            and loop.is_running()
        ):
            return True
        try:
            return asyncio.get_running_loop() is loop
        except RuntimeError:
            return False

    @property
    def auth_refused(self) -> str | None:
        """Why the credential could not be renewed, naming what to do; None otherwise."""
        return self._auth.refused() if self._auth is not None else None

    def _outgoing_headers(
        self,
        headers: tuple[tuple[str, str], ...] | Mapping[str, str],
        has_body: bool,
        authorization: str | None,
    ) -> dict[str, str]:
        if not isinstance(headers, tuple):  # a Mapping (asking the ABC costs more)
            return self._merge_headers(headers.items(), has_body, authorization)
        shape = (headers, has_body, authorization)
        cached = self._outgoing.get(shape)
        if cached is None:
            if len(self._outgoing) >= _MAX_HEADER_SHAPES:
                self._outgoing.clear()
            cached = self._merge_headers(headers, has_body, authorization)
            self._outgoing[shape] = cached
        return cached

    async def _post_token(self, url: str, body: bytes) -> tuple[int, Any]:
        """The OAuth token request: no Authorization, the client's secret in the body."""
        check_url(url)
        assert self._wire is not None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        status, _, raw, _ = await self._wire.send("POST", url, headers, body)
        return status, parse_body(raw)

    @staticmethod
    def _merge_headers(
        headers: Iterable[tuple[str, str]], has_body: bool, authorization: str | None
    ) -> dict[str, str]:
        """The request's headers with the content type and the credential (never a caller's
        Authorization header)."""
        outgoing = dict(headers)
        outgoing.pop("Authorization", None)
        outgoing.pop("authorization", None)
        if has_body and not any(k.lower() == "content-type" for k in outgoing):
            outgoing["Content-Type"] = "application/json"
        if authorization:
            outgoing["Authorization"] = authorization
        return outgoing
