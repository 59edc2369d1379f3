"""A minimal local HTTP/1.1 server that answers bookings like Cal.com, as fast as it can.

Every POST gets ``201`` with Cal.com's envelope ``{"status": "success", "data": {...}}``,
a booking with a fresh ``id`` and ``uid`` built from the request's own ``start``,
``eventTypeId`` and ``attendee``, and Cal.com's rate-limit headers with a budget far
beyond anything a benchmark sends (so a client that follows them is never slowed
down). GET answers ``200`` with an empty list (the look-ups a careful client makes).
Any bearer key is accepted.

It is a raw asyncio protocol over ``httptools`` (the parser uvicorn uses) on uvloop:
no framework, no routing, no validation beyond parsing the JSON body, so that the
server costs far less per request than any client it serves. Run it in its own
process::

    python -m bench.fast_server --port 0      # prints "fast server listening on http://127.0.0.1:P"

``GET /_bench/stats`` answers ``{"posts": N, "gets": M}`` (requests answered since start),
so the harness can check that every record arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import secrets
import socket
import sys
from typing import Any, cast

import httptools
import orjson

_LIMIT = 1_000_000_000
_REASONS = {200: b"OK", 201: b"Created", 400: b"Bad Request", 404: b"Not Found"}
_EMPTY_LIST = orjson.dumps({"status": "success", "data": []})


class Counters:
    def __init__(self) -> None:
        self.posts = 0
        self.gets = 0
        self.ids = itertools.count(1)


def _end_of(start: Any) -> str:
    if not isinstance(start, str):
        return ""
    try:
        moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return (moment + dt.timedelta(minutes=30)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def booking_envelope(body: Any, booking_id: int) -> bytes:
    """Cal.com's 201 answer to POST /v2/bookings for ``body`` (trimmed to the usual fields)."""
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    found = data.get("attendee")
    attendee: dict[str, Any] = found if isinstance(found, dict) else {}
    event_type_id = data.get("eventTypeId", 1)
    start = data.get("start", "")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    booking = {
        "id": booking_id,
        "uid": secrets.token_urlsafe(16),
        "title": f"30 Minute Meeting between Demo User and {attendee.get('name', '')}",
        "description": "",
        "hosts": [
            {
                "id": 1,
                "name": "Demo User",
                "email": "demo@example.com",
                "username": "demo",
                "timeZone": "America/New_York",
            }
        ],
        "status": "accepted",
        "start": start,
        "end": _end_of(start),
        "duration": 30,
        "eventTypeId": event_type_id,
        "eventType": {"id": event_type_id, "slug": "30min"},
        "meetingUrl": "integrations:daily",
        "location": "integrations:daily",
        "absentHost": False,
        "createdAt": now,
        "updatedAt": now,
        "metadata": {},
        "icsUid": f"{booking_id}@cal.com",
        "attendees": [
            {
                "name": attendee.get("name", ""),
                "email": attendee.get("email", ""),
                "displayEmail": attendee.get("email", ""),
                "timeZone": attendee.get("timeZone", "UTC"),
                "language": "en",
                "absent": False,
            }
        ],
        "guests": [],
        "bookingFieldsResponses": {
            "name": attendee.get("name", ""),
            "email": attendee.get("email", ""),
        },
    }
    return orjson.dumps({"status": "success", "data": booking})


def _response(status: int, body: bytes, remaining: int) -> bytes:
    head = (
        b"HTTP/1.1 %d %s\r\n"
        b"content-type: application/json; charset=utf-8\r\n"
        b"content-length: %d\r\n"
        b"x-ratelimit-limit-default: %d\r\n"
        b"x-ratelimit-remaining-default: %d\r\n"
        b"x-ratelimit-reset-default: 60\r\n"
        b"x-request-id: %d\r\n"
        b"\r\n"
    ) % (status, _REASONS.get(status, b"OK"), len(body), _LIMIT, remaining, remaining)
    return head + body


class _Connection(asyncio.Protocol):
    def __init__(self, counters: Counters) -> None:
        self._counters = counters
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.write(_response(400, b'{"status":"error"}', 0))
                self._transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        transport = self._transport
        if transport is None:
            return
        method = self._parser.get_method()
        counters = self._counters
        if method == b"POST":
            counters.posts += 1
            try:
                body = orjson.loads(b"".join(self._body)) if self._body else {}
            except orjson.JSONDecodeError:
                transport.write(_response(400, b'{"status":"error"}', _LIMIT))
                return
            payload = booking_envelope(body, next(counters.ids))
            transport.write(_response(201, payload, _LIMIT - counters.posts))
        elif self._url.startswith(b"/_bench/stats"):
            stats = orjson.dumps({"posts": counters.posts, "gets": counters.gets})
            transport.write(_response(200, stats, _LIMIT))
        else:
            counters.gets += 1
            transport.write(_response(200, _EMPTY_LIST, _LIMIT))
        if not self._parser.should_keep_alive():
            transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    counters = Counters()
    server = await loop.create_server(
        lambda: _Connection(counters), host, port, backlog=1024, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"fast server listening on http://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fast_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(serve(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
