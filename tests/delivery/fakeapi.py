"""A tiny in-process Cal.com stand-in on 127.0.0.1 for the engine's unit tests.

It creates bookings (POST /v2/bookings), lists them (GET /v2/bookings), and follows a
script of faults: a list of actions consumed by the next POSTs ("ok", "429", "503",
"503-after" (creates, then answers 503), "drop-after" (creates, then closes the
connection), "401", "400"). ``latency_s`` delays every create.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

KEY = "cal_test_unit_key_5f2c9a"


@dataclass
class FakeApi:
    bookings: list[dict[str, Any]] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    seen_auth: list[str | None] = field(default_factory=list)
    posts: int = 0
    gets: int = 0
    url: str = ""
    rate_headers: dict[str, str] = field(default_factory=dict)
    latency_s: float = 0.0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/bookings", self.create)
        app.router.add_get("/v2/bookings", self.list)
        app.router.add_post("/v2/bookings/{uid}/cancel", self.cancel)
        return app

    def _error(self, status: int, message: str) -> web.Response:
        body = {"status": "error", "error": {"code": "X", "message": message}}
        return web.json_response(body, status=status, headers=self.rate_headers)

    async def create(self, request: web.Request) -> web.StreamResponse:
        self.posts += 1
        self.seen_auth.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return self._error(401, "Invalid API key")
        action = self.script.pop(0) if self.script else "ok"
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if action == "429":
            return web.json_response(
                {"status": "error", "error": {"message": "Too many requests"}},
                status=429,
                headers={"Retry-After": "0", **self.rate_headers},
            )
        if action == "503":
            return self._error(503, "unavailable")
        if action == "400":
            return self._error(400, "slot not available")
        body = await request.json()
        booking = {
            "id": next(self._ids),
            "uid": f"bk{len(self.bookings) + 1}",
            **body,
            "status": "accepted",
        }
        booking["eventType"] = {"id": body.get("eventTypeId")}
        self.bookings.append(booking)
        if action == "503-after":
            return self._error(503, "gateway hiccup")
        if action == "drop-after":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=201)
        return web.json_response(
            {"status": "success", "data": booking}, status=201, headers=self.rate_headers
        )

    async def list(self, request: web.Request) -> web.Response:
        self.gets += 1
        email = request.query.get("attendeeEmail")
        found = [b for b in self.bookings if b["attendee"].get("email") == email]
        return web.json_response({"status": "success", "data": found})

    async def cancel(self, request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        self.posts += 1
        for booking in self.bookings:
            if booking["uid"] == uid:
                if booking["status"] == "cancelled":
                    # upstream's text (the sandbox's bookings._check_cancellable)
                    return self._error(
                        400,
                        f"Can't cancel booking with uid={uid} because it has been cancelled "
                        "already. Please provide uid of a booking that is not cancelled.",
                    )
                booking["status"] = "cancelled"
                return web.json_response({"status": "success", "data": booking})
        return self._error(404, "not found")


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve(api: FakeApi) -> AsyncIterator[FakeApi]:
    async with serve_app(api.app()) as url:
        api.url = url
        yield api
