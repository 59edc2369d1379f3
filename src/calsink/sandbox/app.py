"""The sandbox as an ASGI application.

One request runs: fault decision → rate limit → authentication → route → handler →
response faults → log. Handlers are synchronous functions over the in-memory store, so a
check and the change it guards are never separated by an ``await``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from calsink.sandbox import output, persistence, routes
from calsink.sandbox.context import Call, Env, Reply
from calsink.sandbox.delivery import WebhookDispatcher
from calsink.sandbox.errors import ApiError, error_body
from calsink.sandbox.faults import Decision, FaultPlan, FaultSpecError, parse_spec, rules_from_json
from calsink.sandbox.model import Store, User
from calsink.sandbox.oauth import (
    DEFAULT_LIFETIME_S,
    INVALID_ACCESS_TOKEN,
    TOKEN_PATH,
    TOKEN_RATE_LIMIT,
    OAuthIssuer,
)
from calsink.sandbox.ratelimit import (
    DEFAULT_LIMIT,
    DEFAULT_WINDOW_S,
    ROUTE_LIMIT,
    RateLimiter,
    Verdict,
    route_throttle,
)
from calsink.sandbox.requestlog import DEFAULT_CAPACITY, LogEntry, RequestLog
from calsink.sandbox.seed import base_store, seeded_store
from calsink.sandbox.timeutil import format_utc, now

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ABORT_EXTENSION = "calsink.abort"
THROTTLED = "CustomThrottlerGuard - Too many requests. Please try again later."
INVALID_KEY = "ApiAuthStrategy - api key - Invalid API Key"
HUGE_BODY_BYTES = 50 * 1024 * 1024
_SPOILERS = ("drop-after", "drop-mid", "malformed", "truncated", "empty", "huge")
MALFORMED_BODY = b"<!DOCTYPE html><html><body><h1>Bad Gateway</h1></body></html>"


def generate_api_key() -> str:
    return f"cal_test_{secrets.token_hex(16)}"


@dataclass
class SandboxConfig:
    api_keys: list[str] = field(default_factory=list)
    # Keys of other users (key → username): a user the store lacks is made on first use.
    user_keys: dict[str, str] = field(default_factory=dict)
    state_path: Path | None = None
    empty: bool = False
    rate_limit: int = DEFAULT_LIMIT
    window_s: float = DEFAULT_WINDOW_S
    faults: str | None = None
    admin: bool = False
    log_capacity: int = DEFAULT_CAPACITY
    api_versions: frozenset[str] = routes.KNOWN_VERSIONS
    token_lifetime_s: float = DEFAULT_LIFETIME_S
    token_rate_limit: int = TOKEN_RATE_LIMIT


class _Dropped(Exception):
    """The connection was aborted on purpose."""


class SandboxApp:
    def __init__(self, config: SandboxConfig, store: Store | None = None) -> None:
        self.config = config
        if store is None and config.state_path is not None:
            store = persistence.load(config.state_path)
        if store is None:
            store = base_store() if config.empty else seeded_store()
        self.store = store
        self.keys = frozenset(config.api_keys)
        self.limiter = RateLimiter(config.rate_limit, config.window_s)
        self.oauth = OAuthIssuer(config.token_lifetime_s)
        self.route_limiter = RateLimiter(ROUTE_LIMIT, config.window_s)
        rules, seed = parse_spec(config.faults) if config.faults else ([], None)
        self.faults = FaultPlan(rules, seed)
        self.log = RequestLog(config.log_capacity)
        self.dispatcher = WebhookDispatcher(store)
        self.env = Env(store, self.dispatcher.emit)
        self.persister = (
            persistence.Persister(store, config.state_path) if config.state_path else None
        )
        if self.persister is not None:
            self.persister.open()

    def replace_store(self, store: Store) -> None:
        if self.persister is not None:
            self.persister.replace(store)
        else:
            store.touch()
        self.store = store
        self.dispatcher.store = store
        self.env.store = store

    # ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path: str = scope["path"]
        if path == "/health":
            await _send(send, 200, b'{"status":"ok"}', [])
            return
        if path.startswith("/_sandbox/") and self.config.admin:
            body = await _read_body(receive)
            await self._admin(scope, body, send)
            return
        await self._api(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def close(self) -> None:
        await self.dispatcher.close()
        if self.persister is not None:
            await self.persister.close()

    async def _durable(self) -> None:
        """With a state file, nothing is answered before the changes made so far are on disk."""
        if self.persister is not None:
            await self.persister.durable()

    # API -------------------------------------------------------------------------------------

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        query_string: bytes = scope.get("query_string", b"")
        request_id = str(uuid.uuid4())
        raw_body = await _read_body(receive)
        entry = LogEntry(
            time.time(), method, path, query_string.decode("latin-1"), request_id, raw_body
        )
        parsed_body, body_ok = _parse_json(raw_body)
        decision = self.faults.decide(method, path)
        try:
            status, body, headers = await self._respond(
                scope, method, path, query_string, parsed_body, body_ok, decision, entry
            )
        except _Dropped:
            return
        await self._durable()
        headers.append((b"x-request-id", request_id.encode()))
        action = decision.action if decision else None
        if action is not None and action.kind in _SPOILERS:
            entry.status = status
            if action.kind == "drop-after":
                self.log.add(entry)
                with contextlib.suppress(_Dropped):
                    await _abort(scope, send)
                return
            if action.kind == "drop-mid":
                self.log.add(entry)
                await _send_half(send, status, body, headers)
                with contextlib.suppress(_Dropped):
                    await _abort(scope, None)
                return
            body = _spoil(action.kind, body)
        entry.status = status
        self.log.add(entry)
        await _send(send, status, body, headers)

    async def _respond(
        self,
        scope: Scope,
        method: str,
        path: str,
        query_string: bytes,
        parsed_body: Any,
        body_ok: bool,
        decision: Decision | None,
        entry: LogEntry,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        token = _bearer(scope)
        if decision is not None:
            entry.fault = decision.describe()
            if decision.latency_ms:
                await asyncio.sleep(decision.latency_ms / 1000)
        own_budget = self.config.token_rate_limit if token and self.oauth.knows(token) else None
        verdict = self._rate_verdict(scope, method, path, token or _client(scope), own_budget)
        headers = verdict.headers()
        action = decision.action if decision is not None else None
        if action is not None:
            if action.kind == "drop-before":
                self.log.add(entry)
                await _abort(scope, None)
                raise _Dropped
            if action.kind == "timeout":
                await asyncio.sleep((action.ms or 0) / 1000)
            if action.kind == "status":
                status = action.status or 500
                error = ApiError(status, f"Injected fault: HTTP {status}")
                if action.retry_after is not None:
                    headers.append((b"retry-after", str(action.retry_after).encode()))
                return status, self._error_bytes(error, path, query_string), headers
        if not verdict.allowed:
            error = ApiError(429, THROTTLED)
            headers.append((b"retry-after", str(max(verdict.reset_s, 1)).encode()))
            return 429, self._error_bytes(error, path, query_string), headers
        try:
            reply = self._dispatch(scope, method, path, query_string, parsed_body, body_ok, token)
        except ApiError as error:
            headers.extend((k.lower().encode(), v.encode()) for k, v in error.headers.items())
            return error.status, self._error_bytes(error, path, query_string), headers
        headers.extend((k.lower().encode(), v.encode()) for k, v in reply.headers.items())
        return reply.status, orjson.dumps(reply.body), headers

    def _rate_verdict(
        self, scope: Scope, method: str, path: str, key: str, own_budget: int | None
    ) -> Verdict:
        name = route_throttle(method, path, _header(scope, b"cal-api-version"))
        if name is None:
            return self.limiter.hit(key, limit=own_budget)
        return self.route_limiter.hit(f"{key}_{name}", name=name)

    def _configure_limits(self, limit: int, window_s: float | None) -> None:
        self.limiter.configure(limit, window_s)
        self.route_limiter.configure(ROUTE_LIMIT, self.limiter.window_s)

    def _dispatch(
        self,
        scope: Scope,
        method: str,
        path: str,
        query_string: bytes,
        parsed_body: Any,
        body_ok: bool,
        token: str | None,
    ) -> Reply:
        if method == "POST" and path == TOKEN_PATH:
            status, answer = self.oauth.token(parsed_body if body_ok else None)
            return Reply(status, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})
        user = self._authenticate(token)
        found = routes.match(method, path)
        if found is None:
            raise ApiError(404, f"Cannot {method} {path}")
        route, params = found
        if route.auth_required and user is None:
            raise ApiError(
                401,
                "No authentication method provided. Either pass an API key as 'Bearer' header "
                "or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers",
            )
        if not body_ok:
            raise ApiError(400, "Unexpected token in JSON body: the request body is not valid JSON")
        version = _header(scope, b"cal-api-version")
        if version not in self.config.api_versions:
            version = None  # a version the server does not know is its default, 2024-04-15
        handler = _versioned_handler(route, method, path, version)
        query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        call = Call(method, path, params, query, parsed_body, version, user, now())
        return handler(call, self.env)

    def _authenticate(self, token: str | None) -> User | None:
        if token is None:
            return None
        if token in self.config.user_keys:
            return self._user_named(self.config.user_keys[token])
        if token in self.keys:
            return self.store.users.get(1)
        if self.oauth.knows(token):
            if not self.oauth.admit(token):
                raise ApiError(401, INVALID_ACCESS_TOKEN)
            return self.store.users.get(1)
        raise ApiError(401, INVALID_KEY)

    def _user_named(self, username: str) -> User:
        """The user ``username``, made (with no event type or schedule) if the store lacks it."""
        store = self.store
        found = next((user for user in store.users.values() if user.username == username), None)
        if found is None:
            found = User(
                store.next_id("user"),
                username,
                f"{username}@example.com",
                username.title(),
                "America/New_York",
                None,
            )
            store.users[found.id] = found
            store.touch(found)
        return found

    def _error_bytes(self, error: ApiError, path: str, query_string: bytes) -> bytes:
        url = path + ("?" + query_string.decode("latin-1") if query_string else "")
        return orjson.dumps(error_body(error, url, format_utc(now())))

    # Admin -----------------------------------------------------------------------------------

    async def _admin(self, scope: Scope, raw_body: bytes, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        parsed, ok = _parse_json(raw_body)
        status, data = 200, None
        try:
            if not ok:
                raise ValueError("the body is not valid JSON")
            status, data = self._admin_route(method, path, parsed)
        except (ValueError, FaultSpecError) as exc:
            status, data = 400, {"error": str(exc)}
        await self._durable()
        await _send(send, status, orjson.dumps(data), [])

    def _admin_route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/_sandbox/requests":
            if method == "DELETE":
                self.log.clear()
                return 200, {"cleared": True}
            return 200, self.log.entries()
        if path == "/_sandbox/state" and method == "GET":
            return 200, self.snapshot()
        if path == "/_sandbox/faults":
            if method == "PUT":
                rules, seed = rules_from_json(body)
                self.faults.replace(rules, seed)
            elif method == "DELETE":
                self.faults.replace([], None)
            return 200, self.faults.to_json()
        if path == "/_sandbox/rate-limit" and method == "PUT":
            if not isinstance(body, dict) or not isinstance(body.get("limit"), int):
                raise ValueError('send {"limit": N, "window_s": 60}')
            window = body.get("window_s")
            self._configure_limits(body["limit"], float(window) if window else None)
            return 200, {"limit": self.limiter.limit, "window_s": self.limiter.window_s}
        if path.startswith("/_sandbox/oauth"):
            return self._admin_oauth(method, path, body)
        if path == "/_sandbox/reset" and method == "POST":
            empty = isinstance(body, dict) and body.get("empty") is True
            self.replace_store(base_store() if empty else seeded_store())
            self.log.clear()
            self.dispatcher.log.clear()
            self.faults.replace([], None)
            self._configure_limits(self.config.rate_limit, self.config.window_s)
            self.oauth = OAuthIssuer(self.config.token_lifetime_s)
            return 200, {"reset": True}
        return 404, {"error": f"no admin route {method} {path}"}

    def _admin_oauth(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """POST /_sandbox/oauth {"lifetime_s", "uses"}: a new client and its tokens (the
        lifetime applies from then on; "uses" ends the first access token after that
        many requests);
        POST .../revoke: refresh tokens stop working; POST .../expire: access tokens do;
        GET: how many renewals were answered."""
        if path == "/_sandbox/oauth" and method == "POST":
            options = body if isinstance(body, dict) else {}
            lifetime, uses = options.get("lifetime_s"), options.get("uses")
            if lifetime is not None and not isinstance(lifetime, int | float):
                raise ValueError("lifetime_s must be a number of seconds")
            if uses is not None and not isinstance(uses, int):
                raise ValueError("uses must be a whole number of requests")
            if lifetime is not None:
                self.oauth.lifetime_s = float(lifetime)
            return 200, self.oauth.grant(uses)
        if path == "/_sandbox/oauth" and method == "GET":
            return 200, {"renewals": self.oauth.renewals, "clients": len(self.oauth.clients)}
        if path == "/_sandbox/oauth/revoke" and method == "POST":
            return 200, {"revoked": self.oauth.revoke()}
        if path == "/_sandbox/oauth/expire" and method == "POST":
            self.oauth.expire()
            return 200, {"expired": True}
        return 404, {"error": f"no admin route {method} {path}"}

    def snapshot(self) -> dict[str, Any]:
        store = self.store
        webhooks = []
        for hook in store.webhooks.values():
            shown = output.webhook(hook)
            shown.pop("secret", None)
            shown["hasSecret"] = hook.secret is not None
            webhooks.append(shown)
        return {
            "users": [output.me(user) for user in store.users.values()],
            "bookings": [output.booking(store, b) for b in store.bookings.values()],
            "event_types": [output.event_type(store, e) for e in store.event_types.values()],
            "schedules": [output.schedule(s) for s in store.schedules.values()],
            "webhooks": webhooks,
            "ooo": [output.ooo(o) for o in store.ooo.values()],
            "team_event_types": [
                output.team_event_type(store, e) for e in store.team_event_types.values()
            ],
            "deliveries": list(self.dispatcher.log),
            # deliveries left out because the queue was full (the log keeps only the last)
            "deliveries_dropped": self.dispatcher.dropped,
        }


def _versioned_handler(
    route: routes.Route, method: str, path: str, version: str | None
) -> routes.Handler:
    """The controller Cal.com's versioning picks: the route's own for its versions, the
    2024-04-15 one for no (or an unknown) version, none (404) for another known one."""
    group = route.version_group
    if group is None or version in routes.VERSION_GROUPS[group]:
        return route.handler
    legacy_versions = routes.LEGACY_VERSIONS.get(group)
    if version is not None and legacy_versions is not None and version not in legacy_versions:
        raise ApiError(404, f"Cannot {method} {path}")
    assert route.legacy_handler is not None
    return route.legacy_handler


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    if not raw.strip():
        return None, True
    try:
        return orjson.loads(raw), True
    except orjson.JSONDecodeError:
        return None, False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return value
    return token.strip()


def _client(scope: Scope) -> str:
    forwarded = _header(scope, b"cf-connecting-ip")
    if forwarded:
        return forwarded
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    all_headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


async def _send_half(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """The answer's headers (announcing the whole body) and only its first half."""
    all_headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    half = body[: max(len(body) // 2, 1)]
    await send({"type": "http.response.body", "body": half, "more_body": True})


def _spoil(kind: str, body: bytes) -> bytes:
    if kind == "malformed":
        return MALFORMED_BODY
    if kind == "truncated":
        return body[: max(len(body) // 2, 1)]
    if kind == "empty":
        return b""
    padding = b"x" * HUGE_BODY_BYTES
    return body[:-1] + b',"padding":"' + padding + b'"}'


async def _abort(scope: Scope, send: Send | None) -> None:
    """Close the connection without an answer (needs the server's abort extension)."""
    abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
    if abort is not None:
        abort()
        # let the server notice the lost connection before the app returns
        await asyncio.sleep(0.01)
        return
    if send is not None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1000000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise _Dropped
