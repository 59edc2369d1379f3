"""Signed webhook deliveries, sent in the background with retries.

Each delivery is ``POST <subscriberUrl>`` with body ``{triggerEvent, createdAt, payload}``
and ``X-Cal-Signature-256`` = lowercase hex HMAC-SHA256 of the raw body keyed by the
webhook secret (the literal ``no-secret-provided`` when there is none). Deliveries wait
in a bounded queue served by a few worker tasks, so the API never waits for them. Only
loopback subscribers (127.0.0.0/8, ::1, localhost) are called: a delivery to any other
host is recorded as not sent, so a sandbox never sends traffic off the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from calsink.sandbox.model import Store
from calsink.sandbox.timeutil import format_utc

if TYPE_CHECKING:
    import aiohttp

LOCAL_ONLY = "not sent: the sandbox delivers webhooks only to loopback addresses"
NO_SECRET = "no-secret-provided"  # noqa: S105 (the literal Cal.com sends without a secret)


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine (the only place a sandbox may deliver to)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def signature(body: bytes, secret: str | None) -> str:
    if not secret:
        return NO_SECRET
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part, "")
    return value


def render_template(template: str, data: dict[str, Any]) -> tuple[bytes, str]:
    def substitute(match: re.Match[str]) -> str:
        value = _lookup(data, match.group(1).strip())
        return value if isinstance(value, str) else orjson.dumps(value).decode()

    text = re.sub(r"\{\{\s*([^}]+?)\s*\}\}", substitute, template)
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return text.encode(), "application/x-www-form-urlencoded"
    return text.encode(), "application/json"


@dataclass
class Delivery:
    webhook_id: str
    trigger: str
    url: str
    body: bytes
    headers: dict[str, str]


class WebhookDispatcher:
    def __init__(
        self,
        store: Store,
        *,
        queue_size: int = 10_000,
        workers: int = 4,
        attempts: int = 4,
        backoff_s: float = 0.25,
        timeout_s: float = 10.0,
    ) -> None:
        self.store = store
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._queue_size = queue_size
        self._worker_count = workers
        self._queue: asyncio.Queue[Delivery] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)
        self.dropped = 0

    def emit(self, trigger: str, user_id: int, make_payload: Callable[[], dict[str, Any]]) -> None:
        """Queue deliveries to the user's subscriptions; the payload is built only if any."""
        hooks = [
            w
            for w in self.store.webhooks.values()
            if w.user_id == user_id and w.active and trigger in w.triggers
        ]
        if not hooks:
            return
        payload = make_payload()
        created_at = format_utc(datetime.now(UTC))
        envelope = {"triggerEvent": trigger, "createdAt": created_at, "payload": payload}
        default_body = orjson.dumps(envelope)
        for hook in hooks:
            body, content_type = default_body, "application/json"
            if hook.payload_template:
                flat = {"triggerEvent": trigger, "createdAt": created_at, **payload}
                body, content_type = render_template(hook.payload_template, flat)
            headers = {
                "Content-Type": content_type,
                "X-Cal-Signature-256": signature(body, hook.secret),
                "X-Cal-Webhook-Version": "2021-10-20",
            }
            self._enqueue(Delivery(hook.id, trigger, hook.subscriber_url, body, headers))

    def _enqueue(self, delivery: Delivery) -> None:
        queue = self._ensure_started()
        try:
            queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.dropped += 1
            self._record(delivery, 0, None, "queue full")

    def _ensure_started(self) -> asyncio.Queue[Delivery]:
        if self._queue is None:
            self._queue = asyncio.Queue(self._queue_size)
            for _ in range(self._worker_count):
                self._workers.append(asyncio.create_task(self._work(self._queue)))
        return self._queue

    async def _work(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            finally:
                queue.task_done()

    async def _deliver(self, delivery: Delivery) -> None:
        import aiohttp

        if not is_local_url(delivery.url):
            self._record(delivery, 0, None, LOCAL_ONLY)
            return
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
        status: int | None = None
        problem: str | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                async with self._session.post(
                    delivery.url, data=delivery.body, headers=delivery.headers
                ) as response:
                    await response.read()
                    status = response.status
                problem = None if 200 <= status < 300 else f"HTTP {status}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                problem = type(exc).__name__
            if problem is None:
                self._record(delivery, attempt, status, None)
                return
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        self._record(delivery, self.attempts, status, problem)

    def _record(
        self, delivery: Delivery, attempts: int, status: int | None, problem: str | None
    ) -> None:
        self.log.append(
            {
                "webhook_id": delivery.webhook_id,
                "trigger": delivery.trigger,
                "url": delivery.url,
                "attempts": attempts,
                "status": status,
                "delivered": problem is None,
                "error": problem,
            }
        )

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        self._queue = None
        if self._session is not None:
            await self._session.close()
            self._session = None
