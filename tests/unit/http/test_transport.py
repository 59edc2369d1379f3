"""The HTTP seam: what a failure says, and whether the request may have reached Cal.com."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from tests.delivery.fakeapi import KEY, FakeApi, serve, serve_app
from tests.support.ports import free_port

from calsink.http.transport import MAX_KEPT_BYTES, Transport, TransportError
from calsink.http.transport_choice import TRANSPORTS, TransportName

pytestmark = pytest.mark.anyio

BODY = b'{"start": "2030-01-07T10:00:00Z", "eventTypeId": 1, "attendee": {"email": "a@b.co"}}'


@pytest.fixture(params=TRANSPORTS)
def wire(request: pytest.FixtureRequest) -> TransportName:
    """Each test runs over both HTTP clients: they must say the same things."""
    name: TransportName = request.param
    return name


async def test_a_refused_connection_is_known_never_to_have_reached_the_server(
    wire: TransportName,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/bookings"
    async with Transport(KEY, timeout_s=5, wire=wire) as transport:
        with pytest.raises(TransportError) as caught:
            await transport.send("POST", url, body=BODY)
    assert caught.value.kind == "connection"
    assert caught.value.maybe_sent is False
    assert "refused" in caught.value.detail.lower()
    assert KEY not in str(caught.value)


async def test_a_connection_closed_after_the_request_may_have_taken_effect(
    wire: TransportName,
) -> None:
    async with serve(FakeApi(script=["drop-after"])) as api, Transport(KEY, wire=wire) as transport:
        with pytest.raises(TransportError) as caught:
            await transport.send("POST", f"{api.url}/v2/bookings", body=BODY)
    assert caught.value.kind == "connection"
    assert caught.value.maybe_sent is True, "the server created the booking"
    assert len(api.bookings) == 1


async def test_an_answer_that_takes_too_long_is_a_timeout_that_may_have_taken_effect(
    wire: TransportName,
) -> None:
    async with (
        serve(FakeApi(latency_s=2)) as api,
        Transport(KEY, timeout_s=0.3, wire=wire) as transport,
    ):
        with pytest.raises(TransportError) as caught:
            await transport.send("POST", f"{api.url}/v2/bookings", body=BODY)
    assert (caught.value.kind, caught.value.maybe_sent) == ("timeout", True)
    assert "0.3 s" in caught.value.detail


async def test_a_redirect_is_answered_as_it_is_and_not_followed(wire: TransportName) -> None:
    followed: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.method)
        return web.json_response({"status": "success"})

    app = web.Application()
    app.router.add_post("/v2/bookings", moved)
    app.router.add_route("*", "/elsewhere", elsewhere)
    async with serve_app(app) as url, Transport(KEY, timeout_s=5, wire=wire) as transport:
        answer = await transport.send("POST", f"{url}/v2/bookings", body=BODY)
    assert answer.status == 302 and not answer.ok
    assert followed == []


async def test_a_huge_answer_is_kept_only_up_to_the_cap(wire: TransportName) -> None:
    size = MAX_KEPT_BYTES + 1_000_000

    async def huge(request: web.Request) -> web.StreamResponse:
        answer = web.StreamResponse(status=201)
        await answer.prepare(request)
        chunk = b"x" * 65536
        for _ in range(size // len(chunk)):
            await answer.write(chunk)
        await answer.write(b"x" * (size % len(chunk)))
        await answer.write_eof()
        return answer

    app = web.Application()
    app.router.add_post("/v2/bookings", huge)
    async with serve_app(app) as url, Transport(KEY, timeout_s=10, wire=wire) as transport:
        answer = await transport.send("POST", f"{url}/v2/bookings", body=BODY)
    assert answer.oversized and answer.size == size
    assert len(answer.body) == MAX_KEPT_BYTES
    assert "too large to keep" in answer.error_message()


async def test_a_transport_used_from_another_threads_loop_is_refused_saying_so(
    wire: TransportName,
) -> None:
    async with serve(FakeApi()) as api, Transport(KEY, wire=wire) as transport:
        url = f"{api.url}/v2/bookings"
        assert (await transport.send("POST", url, body=BODY)).status == 201

        def from_another_thread() -> BaseException | None:
            try:
                asyncio.run(transport.send("POST", url, body=BODY))
            except RuntimeError as refused:
                return refused
            return None

        refused = await asyncio.to_thread(from_another_thread)
        assert (await transport.send("POST", url, body=BODY)).status == 201
    assert refused is not None and "another event loop" in str(refused)
    assert len(api.bookings) == 2
