"""One flow, many accounts: each record is sent with the credential it names.

A flow whose ``destination.credential`` is a template (``"{owner}"``) gives every
request the name of a stored credential (`Request.credential`). The engine says
which account the record it works on belongs to (`use_account`, a context variable:
each worker is a task of its own), and everything that record sends — the request,
the look-ups before and after it, the checks before a booking — goes through that
account's own `Transport` (its key) and its own `RateLimiter` (Cal.com counts
requests per key, so one account's 429s never hold up another's requests).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any, Unpack

from calsink.http.auth import Auth
from calsink.http.ratelimit import Budget, RateLimiter
from calsink.http.transport import Response, SendOptions, Transport

_ACCOUNT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "calsink_account", default=None
)


def use_account(name: str | None) -> None:
    """Send what the current task sends next with the credential ``name`` (None: the flow's)."""
    _ACCOUNT.set(name)


def current_account() -> str | None:
    return _ACCOUNT.get()


class AccountTransport(Transport):
    """A Transport per credential, opened on its first request, chosen by `use_account`.

    The keys stay inside each credential's own Transport; this one holds none.
    """

    __slots__ = ("_keys", "_opened")

    def __init__(
        self, keys: Mapping[str, str | Auth], *, timeout_s: float = 30.0, connections: int = 8
    ) -> None:
        super().__init__(None, timeout_s=timeout_s, connections=connections)
        self._keys = dict(keys)
        self._opened: dict[str, Transport] = {}

    def __repr__(self) -> str:
        return f"AccountTransport({len(self._keys)} credentials, {len(self._opened)} in use)"

    async def __aenter__(self) -> AccountTransport:
        return self

    async def close(self) -> None:
        opened, self._opened = self._opened, {}
        for transport in opened.values():
            await transport.close()

    async def _account(self) -> Transport:
        name = current_account()
        transport = self._opened.get(name) if name is not None else None
        if transport is not None:
            return transport
        if name is None or name not in self._keys:
            raise RuntimeError(f"no credential named {name!r} was given to this run")
        transport = Transport(
            self._keys[name],
            timeout_s=self._timeout_s,
            connections=self._connections,
            wire=self.wire_name,
        )
        await transport.__aenter__()  # opens its wire at once: no other task gets in between
        self._opened[name] = transport
        return transport

    async def send(self, method: str, url: str, **options: Unpack[SendOptions]) -> Response:
        transport = await self._account()
        return await transport.send(method, url, **options)


class AccountLimiter(RateLimiter):
    """A rate limiter per credential, made on its first request, chosen by `use_account`.

    ``throttled`` counts the 429s of every account; `blocked_for_s` is how long every
    account must still wait (0.0 as soon as one may send).
    """

    def __init__(self, make: Callable[[str], RateLimiter]) -> None:
        super().__init__()
        self._make = make
        self.limiters: dict[str, RateLimiter] = {}

    def _current(self) -> RateLimiter:
        name = current_account()
        if name is None:
            raise RuntimeError("this request names no credential, and its flow needs one")
        limiter = self.limiters.get(name)
        if limiter is None:
            limiter = self.limiters[name] = self._make(name)
        return limiter

    def try_acquire(self) -> bool:
        return self._current().try_acquire()

    async def acquire(self) -> None:
        await self._current().acquire()

    def release(self) -> None:
        self._current().release()

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        wait = self._current().observe(status, headers)
        self.throttled = sum(limiter.throttled for limiter in self.limiters.values())
        return wait

    def budget(self) -> Budget:
        return self._current().budget()

    def blocked_for_s(self) -> float:
        waits = [limiter.blocked_for_s() for limiter in self.limiters.values()]
        return min(waits) if waits else 0.0

    def close(self) -> None:
        for limiter in self.limiters.values():
            closing: Any = getattr(limiter, "close", None)
            if closing is not None:
                closing()
