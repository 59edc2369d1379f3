"""Reading from Cal.com: GET requests through the `calsink.http` transport and rate limiter.

`CalcomReader` sends every read with the ``cal-api-version`` its endpoint expects
(CONTRACT.md §0.1, §11), waits for the shared `RateLimiter`, retries 429, 5xx, 408,
timeouts and dropped connections in the loop deliveries use (`Retrying`), and pages
through list endpoints to the end. It can own its `Transport` and limiter (``async with
CalcomReader(url, key) as reader``) or borrow a run's (``CalcomReader.sharing(...)``),
so that the look-ups of a run spend the same request budget as its writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from calsink.endpoints import EVENT_TYPES_VERSION, SCHEDULES_VERSION, SLOTS_VERSION
from calsink.http.auth import Auth
from calsink.http.ratelimit import RateLimiter
from calsink.http.retry import Backoff, Retrying, RetryPolicy, Verdict, classify_status
from calsink.http.transport import Response, Transport, TransportError
from calsink.http.urls import check_url

# Reads of bookings use the version CONTRACT.md §11 documents for them; 2026-02-25 shares
# its request and response shapes.
BOOKINGS_READ_VERSION = "2024-08-13"
BOOKINGS_PAGE = 100
LIST_PAGE = 250

Paging = Literal["single", "bookings", "take-skip"]


@dataclass(frozen=True, slots=True)
class ReadEndpoint:
    """One read endpoint: its path, its cal-api-version (None: send none) and its paging."""

    path: str
    version: str | None
    paging: Paging = "single"


ENDPOINTS: dict[str, ReadEndpoint] = {
    "event-types": ReadEndpoint("/v2/event-types", EVENT_TYPES_VERSION),
    "bookings": ReadEndpoint("/v2/bookings", BOOKINGS_READ_VERSION, "bookings"),
    "slots": ReadEndpoint("/v2/slots", SLOTS_VERSION),
    "schedules": ReadEndpoint("/v2/schedules", SCHEDULES_VERSION),
    "webhooks": ReadEndpoint("/v2/webhooks", None, "take-skip"),
    "ooo": ReadEndpoint("/v2/me/ooo", None, "take-skip"),
    "me": ReadEndpoint("/v2/me", None),
}


class CalcomReadError(Exception):
    """A read Cal.com refused or never answered; the message says which and why.

    ``status`` is the HTTP status (None when no answer came back).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def auth_failed(self) -> bool:
        return self.status == 401


def _no_account() -> str | None:
    return None


class CalcomReader:
    """Paginated, rate-limited, retried reads of Cal.com API v2.

    ``rate_limit`` is ``"auto"`` (follow Cal.com's headers) or requests per minute.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | Auth,
        *,
        rate_limit: Literal["auto"] | int = "auto",
        timeout_s: float = 30.0,
        max_attempts: int = 6,
        max_throttled: int = 60,
        backoff: Backoff | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        check_url(self.base_url + "/")
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._rate_limit = rate_limit
        self._transport: Transport | None = None
        self._limiter: RateLimiter | None = None
        self._owns_transport = True
        self.max_attempts = max_attempts
        self.max_throttled = max_throttled
        self.backoff = backoff or Backoff()
        self.requests_sent = 0
        # Many accounts: the credential of the record a request is made for, and the
        # base URL each credential was stored with (None: base_url).
        self.account: Callable[[], str | None] = _no_account
        self._bases: Mapping[str, str | None] = {}

    def __repr__(self) -> str:
        return f"CalcomReader({self.base_url!r})"

    @classmethod
    def sharing(
        cls,
        base_url: str,
        transport: Transport,
        limiter: RateLimiter,
        *,
        max_attempts: int = 6,
        backoff: Backoff | None = None,
        account: Callable[[], str | None] | None = None,
        bases: Mapping[str, str | None] | None = None,
    ) -> CalcomReader:
        """A reader over a run's own transport (which holds the key) and limiter; with
        many accounts, ``account`` names the credential a request is made for, sent to its
        base URL in ``bases`` when it has one."""
        reader = cls(base_url, "", max_attempts=max_attempts, backoff=backoff)
        reader.account = account or _no_account
        reader._bases = bases or {}
        reader._transport = transport
        reader._limiter = limiter
        reader._owns_transport = False
        return reader

    async def __aenter__(self) -> CalcomReader:
        if self._transport is None:
            self._transport = Transport(self._api_key, timeout_s=self._timeout_s, connections=4)
            await self._transport.__aenter__()
        if self._limiter is None:
            per_minute = None if self._rate_limit == "auto" else int(self._rate_limit)
            self._limiter = RateLimiter(per_minute, burst=1)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_transport and self._transport is not None:
            await self._transport.close()
            self._transport = None

    # -- one request -----------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        own = self._bases.get(self.account() or "")
        base = own.rstrip("/") if own else self.base_url
        return f"{base}{path}" + (f"?{query}" if query else "")

    async def get(
        self, path: str, params: Mapping[str, Any] | None, version: str | None
    ) -> Response:
        """GET with retries; the answer whatever its status (401 raises CalcomReadError)."""
        if self._transport is None or self._limiter is None:
            raise RuntimeError("use the CalcomReader inside `async with`")
        url = self.url(path, params)
        headers = {"cal-api-version": version} if version else {}
        attempts = Retrying(RetryPolicy(self.backoff, self.max_attempts, self.max_throttled))
        last = "no attempt"
        for attempt in attempts:
            if attempt.delay:
                await asyncio.sleep(attempt.delay)
            await self._limiter.acquire()
            self.requests_sent += 1
            try:
                response = await self._transport.send("GET", url, headers=headers)
            except TransportError as exc:
                self._limiter.release()
                attempts.failed()
                last = f"no answer ({exc.detail})"
                continue
            wait = self._limiter.observe(response.status, response.headers)
            verdict = classify_status(response.status)
            if verdict is Verdict.ABORT_AUTH:
                raise CalcomReadError(
                    f"GET {path}: Cal.com refused the API key (401): {response.error_message()}",
                    401,
                )
            if verdict is Verdict.THROTTLED:
                attempts.throttled(wait)
            elif verdict is Verdict.RETRY:
                attempts.failed()
                last = f"{response.status}: {response.error_message()}"
            else:
                return response
        if attempts.failures < self.max_attempts:
            raise CalcomReadError(
                f"GET {path}: still throttled (429) after {attempts.throttles - 1} waits", 429
            )
        raise CalcomReadError(
            f"GET {path}: gave up after {attempts.failures} attempts; last: {last}"
        )

    async def get_data(
        self, path: str, params: Mapping[str, Any] | None, version: str | None
    ) -> tuple[Any, Any]:
        """``(data, pagination)`` of a successful answer; CalcomReadError for any other."""
        response = await self.get(path, params, version)
        if not response.ok:
            raise CalcomReadError(
                f"GET {path}: Cal.com answered {response.status}: {response.error_message()}",
                response.status,
            )
        parsed = response.parsed
        if not isinstance(parsed, dict) or "data" not in parsed:
            raise CalcomReadError(f"GET {path}: the answer is not Cal.com's envelope")
        return parsed["data"], parsed.get("pagination")

    # -- kinds -----------------------------------------------------------------------------

    async def iter_kind(
        self, kind: str, filters: Mapping[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """The records of ``kind`` matching ``filters`` (Cal.com's own query names), to the end.

        Pagination is done here (callers must not pass ``take``/``skip``); ``slots``
        yields one record per slot. Use `calsink.calcom.kinds` to turn user-facing
        filters into Cal.com's query parameters.
        """
        endpoint = ENDPOINTS.get(kind)
        if endpoint is None:
            raise ValueError(f"unknown kind {kind!r}; one of {', '.join(ENDPOINTS)}")
        params = dict(filters)
        if endpoint.paging == "bookings":
            async for item in self._pages_bookings(endpoint, params):
                yield item
        elif endpoint.paging == "take-skip":
            async for item in self._pages_take_skip(endpoint, params):
                yield item
        elif kind == "slots":
            data, _ = await self.get_data(endpoint.path, params, endpoint.version)
            for item in flatten_slots(data, params):
                yield item
        else:
            data, _ = await self.get_data(endpoint.path, params, endpoint.version)
            for item in data if isinstance(data, list) else [data]:
                if isinstance(item, dict):
                    yield item

    async def _pages_bookings(
        self, endpoint: ReadEndpoint, params: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        skip = 0
        seen: set[Any] = set()
        while True:
            page = {**params, "take": BOOKINGS_PAGE, "skip": skip}
            data, pagination = await self.get_data(endpoint.path, page, endpoint.version)
            items = data if isinstance(data, list) else []
            for item in items:
                # A booking created while paging moves the others along; show each once.
                uid = item.get("uid") if isinstance(item, dict) else None
                if isinstance(item, dict) and (uid is None or uid not in seen):
                    seen.add(uid)
                    yield item
            skip += len(items)
            more = pagination.get("hasNextPage") if isinstance(pagination, dict) else None
            if not items or (more is False) or (more is None and len(items) < BOOKINGS_PAGE):
                return

    async def _pages_take_skip(
        self, endpoint: ReadEndpoint, params: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        skip = 0
        while True:
            page = {**params, "take": LIST_PAGE, "skip": skip}
            data, _ = await self.get_data(endpoint.path, page, endpoint.version)
            items = data if isinstance(data, list) else []
            for item in items:
                if isinstance(item, dict):
                    yield item
            skip += len(items)
            if len(items) < LIST_PAGE:
                return

    # -- single look-ups -------------------------------------------------------------------

    async def booking(self, uid: str) -> Any:
        """The booking ``uid`` (a list for a recurring series' uid), or None when Cal.com
        does not know it (404)."""
        from urllib.parse import quote

        path = f"/v2/bookings/{quote(uid, safe='')}"
        response = await self.get(path, None, BOOKINGS_READ_VERSION)
        if response.status == 404:
            return None
        if not response.ok:
            raise CalcomReadError(
                f"GET {path}: Cal.com answered {response.status}: {response.error_message()}",
                response.status,
            )
        parsed = response.parsed
        return parsed.get("data") if isinstance(parsed, dict) else None

    async def slots(self, params: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """GET /v2/slots as Cal.com answers it: ``{day: [{start, ...}, ...]}``."""
        data, _ = await self.get_data("/v2/slots", params, SLOTS_VERSION)
        if not isinstance(data, dict):
            return {}
        return {
            str(day): [s if isinstance(s, dict) else {"start": s} for s in found]
            for day, found in data.items()
            if isinstance(found, list)
        }


def flatten_slots(data: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One record per slot: ``{date, start[, end, attendeesCount, bookingUid], eventTypeId}``."""
    records: list[dict[str, Any]] = []
    if not isinstance(data, dict):
        return records
    event_type = params.get("eventTypeId")
    for day in sorted(data):
        for slot in data[day] if isinstance(data[day], list) else []:
            item = dict(slot) if isinstance(slot, dict) else {"start": slot}
            record: dict[str, Any] = {"date": day, **item}
            if event_type is not None:
                record["eventTypeId"] = int(event_type)
            elif params.get("eventTypeSlug"):
                record["eventTypeSlug"] = params["eventTypeSlug"]
            records.append(record)
    return records
