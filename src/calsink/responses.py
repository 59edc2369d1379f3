"""Response sinks (the "response webhook"): every API response, with its record's key.

Each response becomes one JSON object: flow, key, positions, method, url, status,
the parsed body, the identifier Cal.com returned, the attempt number and the time.
It goes to a JSON Lines file, to stdout, and/or is POSTed to a webhook URL. A webhook
delivery carries ``X-Calsink-Signature-256`` (lowercase hex HMAC-SHA256 of the raw
body) when a secret is set. A receiver that fails is retried with backoff; after one
response has used all its attempts, the next ones get one try every ``PROBE_S`` until
the receiver answers again. What it never accepted is written to a fallback JSON Lines
file and counted, never lost.

Values under secret-looking keys (``secret``, ``apiKey``, ``password``, ``token``) are
replaced by ``[redacted]``, and the API key is removed from any string.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from calsink.deliver.retry import Backoff
from calsink.deliver.transport import Transport, TransportError, check_url

REDACTED = "[redacted]"
SIGNATURE_HEADER = "X-Calsink-Signature-256"
PROBE_S = 2.0
_JSONL_BUFFER = 256 * 1024
_SECRET_KEYS = frozenset(
    {
        "secret",
        "apikey",
        "api_key",
        "password",
        "token",
        "authorization",
        # OAuth (Cal.com's token answers and managed users' tokens)
        "access_token",
        "accesstoken",
        "refresh_token",
        "refreshtoken",
        "client_secret",
        "clientsecret",
    }
)


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` with secret fields redacted and every secret string removed."""
    hidden = [s for s in secrets if s]
    return _scrub(value, hidden)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in _SECRET_KEYS and v else _scrub(v, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str) and secrets:
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
    return value


# Searched in lower-cased bytes (faster than a case-insensitive pattern).
_SECRET_KEY_MARK = re.compile(
    rb'"(?:' + b"|".join(re.escape(name.encode()) for name in sorted(_SECRET_KEYS)) + rb')":'
)


class SecretScreen:
    """Serialises values to JSON with `scrub` applied, walking a value only when needed.

    The value is serialised once; only when those bytes hold one of the secrets or a
    secret-looking key name is it walked and serialised again.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.__secrets = [s for s in secrets if s]
        needles: set[bytes] = set()
        for secret in self.__secrets:
            needles.add(secret.encode("utf-8", "surrogatepass"))
            with contextlib.suppress(orjson.JSONEncodeError):
                needles.add(orjson.dumps(secret)[1:-1])
        self.__needles = tuple(needles)

    def __repr__(self) -> str:
        return f"SecretScreen({len(self.__secrets)} secrets)"

    def dumps(self, value: Any) -> bytes:
        line = orjson.dumps(value)
        if self._may_hold_secret(line):
            return orjson.dumps(scrub(value, self.__secrets))
        return line

    def _may_hold_secret(self, line: bytes) -> bool:
        for needle in self.__needles:
            if needle in line:
                return True
        if line.isascii():
            return _SECRET_KEY_MARK.search(line.lower()) is not None
        # str.lower folds a few non-ASCII letters into ASCII ones (K, for one).
        folded = line.decode("utf-8", "replace").lower().encode()
        return _SECRET_KEY_MARK.search(folded) is not None


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SinkReport:
    """What became of the responses: how many were written, how many a webhook refused."""

    written: int
    webhook_delivered: int
    webhook_undelivered: int
    undelivered_path: Path | None
    jsonl_path: Path | None


class JsonlSink:
    """Appends one JSON object per line.

    Inside an event loop, the lines written during one turn of the loop reach the OS
    together at the end of that turn; outside one, each line is flushed at once. Once
    `defer` is called, lines reach the OS only when `flush` is called (a run calls it
    before it hands outcomes to the ledger) or the buffer is full.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(path, "ab", buffering=_JSONL_BUFFER)  # noqa: SIM115
        self._flush_due = False
        self._deferred = False

    def defer(self) -> None:
        self._deferred = True

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def write(self, line: bytes) -> None:
        self._file.write(line)
        if self._flush_due or self._deferred:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._file.flush()
            return
        self._flush_due = True
        loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        self._file.close()


class WebhookSink:
    """POSTs each response to ``url`` from a background task; never blocks delivery."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None,
        undelivered_path: Path,
        attempts: int = 5,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        check_url(url)
        self.url = url
        self.__secret = secret
        self.undelivered_path = undelivered_path
        self.attempts = attempts
        self.backoff = backoff or Backoff(initial_s=0.2, max_s=5.0, jitter_s=0.2)
        self.timeout_s = timeout_s
        self.delivered = 0
        self.undelivered = 0
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"WebhookSink({self.url!r})"

    def write(self, line: bytes) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump())
        self._queue.put_nowait(line.rstrip(b"\n"))

    async def _pump(self) -> None:
        # Once a response has used all its attempts, the receiver is taken to be down: the
        # next ones are set aside at once, with a single try every PROBE_S to see whether it
        # is back, so that a dead receiver costs seconds, not seconds per record.
        down_since: float | None = None
        loop = asyncio.get_running_loop()
        async with Transport(None, timeout_s=self.timeout_s, connections=2) as transport:
            while (body := await self._queue.get()) is not None:
                now = loop.time()
                if down_since is not None and now - down_since < PROBE_S:
                    sent = False
                else:
                    attempts = 1 if down_since is not None else self.attempts
                    sent = await self._post(transport, body, attempts)
                    down_since = None if sent else loop.time()
                if sent:
                    self.delivered += 1
                else:
                    self.undelivered += 1
                    self._spill(body)

    def _spill(self, body: bytes) -> None:
        self.undelivered_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.undelivered_path, "ab") as spill:
            spill.write(body + b"\n")

    async def _post(self, transport: Transport, body: bytes, attempts: int) -> bool:
        headers = {"Content-Type": "application/json"}
        if self.__secret:
            headers[SIGNATURE_HEADER] = sign(body, self.__secret)
        for attempt in range(1, attempts + 1):
            try:
                answer = await transport.send(
                    "POST", self.url, headers=headers, body=body, authenticate=False
                )
                if answer.ok:
                    return True
            except TransportError:
                pass
            if attempt < attempts:
                await asyncio.sleep(self.backoff.delay(attempt))
        return False

    async def close(self) -> None:
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task


class ResponseSinks:
    """All the sinks of a run; `emit` turns one response into one line for each."""

    def __init__(
        self,
        *,
        jsonl: Path | None = None,
        stdout: IO[str] | None = None,
        webhook: WebhookSink | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self._jsonl = JsonlSink(jsonl) if jsonl is not None else None
        self._stdout = stdout
        self._webhook = webhook
        self.__screen = SecretScreen(secrets)
        self.written = 0

    @property
    def active(self) -> bool:
        return bool(self._jsonl or self._stdout or self._webhook)

    def defer_flushes(self) -> None:
        """Keep lines in memory until `flush` (see `JsonlSink.defer`)."""
        if self._jsonl is not None:
            self._jsonl.defer()

    def flush(self) -> None:
        if self._jsonl is not None:
            self._jsonl.flush()

    def emit(self, event: dict[str, Any]) -> None:
        if not self.active:
            return
        line = self.__screen.dumps(event) + b"\n"
        if self._jsonl is not None:
            self._jsonl.write(line)
        if self._stdout is not None:
            self._stdout.write(line.decode())
            self._stdout.flush()
        if self._webhook is not None:
            self._webhook.write(line)
        self.written += 1

    async def close(self) -> SinkReport:
        if self._jsonl is not None:
            self._jsonl.close()
        if self._webhook is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook.close()
        webhook = self._webhook
        return SinkReport(
            written=self.written,
            webhook_delivered=webhook.delivered if webhook else 0,
            webhook_undelivered=webhook.undelivered if webhook else 0,
            undelivered_path=webhook.undelivered_path if webhook and webhook.undelivered else None,
            jsonl_path=self._jsonl.path if self._jsonl else None,
        )
