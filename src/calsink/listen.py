"""A small receiver for Cal.com webhook deliveries (`calsink listen`).

Cal.com signs each delivery with ``X-Cal-Signature-256``: the lowercase hex
HMAC-SHA256 of the exact raw body, keyed by the webhook's secret, or the literal
``no-secret-provided`` when the webhook has none (CONTRACT.md §9). The listener
recomputes the signature and compares it in constant time; a missing or wrong
signature gets 401 and is not written. Started without a secret, it accepts only
``no-secret-provided`` deliveries (anyone can forge those; the command says so).

Each accepted delivery becomes one JSON line:
``{"received_at", "path", "trigger", "signature_valid", "webhook_version", "body"}``
where ``body`` is the parsed JSON (or the raw text of a non-JSON payload template).

A body over ``MAX_BODY`` gets 413 and a request line or header over aiohttp's 8 KB
line limit gets 431, both without reading the rest and without a traceback in the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

from calsink._loops import blocking

SIGNATURE_HEADER = "X-Cal-Signature-256"
NO_SECRET = "no-secret-provided"  # noqa: S105 (the literal Cal.com sends without a secret)
MAX_BODY = 4 * 1024 * 1024
READY_PREFIX = "calsink listen listening on "


def expected_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: str | None) -> tuple[bool, str]:
    """(accepted, why not) for one delivery's raw body and signature header."""
    if header is None or not header.strip():
        return False, f"missing {SIGNATURE_HEADER}"
    given = header.strip()
    if secret is None:
        if hmac.compare_digest(given.encode(), NO_SECRET.encode()):
            return True, ""
        return False, (
            "this listener has no secret and accepts only unsigned "
            f"({NO_SECRET}) deliveries; start it with --secret-env"
        )
    if hmac.compare_digest(given.encode(), NO_SECRET.encode()):
        return False, f"unsigned delivery ({NO_SECRET}) refused: this listener has a secret"
    wanted = expected_signature(body, secret)
    if hmac.compare_digest(given.lower().encode(), wanted.encode()):
        return True, ""
    return False, f"wrong {SIGNATURE_HEADER}"


@dataclass
class ListenerStats:
    accepted: int = 0
    refused: int = 0


class EventWriter:
    """JSON Lines to a file (appended, flushed per line) or to a text stream."""

    def __init__(self, out: Path | None, stream: IO[str] | None = None) -> None:
        self._file = out.open("ab") if out is not None else None
        self._stream = stream

    def write(self, event: dict[str, Any]) -> None:
        line = orjson.dumps(event) + b"\n"
        if self._file is not None:
            self._file.write(line)
            self._file.flush()
            return
        stream = self._stream or sys.stdout
        stream.write(line.decode())
        stream.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _error(status: int, why: str) -> web.Response:
    return web.json_response({"status": "error", "error": why}, status=status)


async def _read_capped(request: web.BaseRequest) -> bytes | None:
    """The body, or None when it is over MAX_BODY (told by Content-Length, or counted)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _QuietHandler(web.RequestHandler):
    """Answers a request line or header that is too long with 431, not a logged traceback."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        too_long = isinstance(exc, LineTooLong) or (
            isinstance(exc, BadHttpMessage) and "Too many headers" in str(exc)
        )
        if not too_long:
            return super().handle_error(request, status, exc, message)
        response = _error(431, "request headers too large: at most 8190 bytes a line")
        response.force_close()
        return response


class _Server(web.Server):
    """A low-level aiohttp server whose connections use `_QuietHandler`."""

    def __init__(self, handler: Callable[[web.BaseRequest], Any], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._handler_options = kwargs

    def __call__(self) -> web.RequestHandler:
        return _QuietHandler(self, loop=asyncio.get_running_loop(), **self._handler_options)


def build_handler(
    secret: str | None,
    writer: EventWriter,
    stats: ListenerStats,
    on_refused: Callable[[str, str], None] | None = None,
) -> Callable[[web.BaseRequest], Any]:
    """The receiving handler: POST to any path is a delivery; GET /health answers 200."""

    async def handle(request: web.BaseRequest) -> web.Response:
        if request.method == "GET" and request.path == "/health":
            return web.json_response({"status": "ok"})
        if request.method != "POST":
            return _error(405, "deliveries are POSTed; GET /health tells whether it is up")
        body = await _read_capped(request)
        if body is None:
            return _error(413, f"body over {MAX_BODY} bytes refused")
        return receive(request, body)

    def receive(request: web.BaseRequest, body: bytes) -> web.Response:
        accepted, why = verify(body, request.headers.get(SIGNATURE_HEADER), secret)
        if not accepted:
            stats.refused += 1
            if on_refused is not None:
                on_refused(request.path, why)
            return web.json_response({"status": "error", "error": why}, status=401)
        parsed: Any
        try:
            parsed = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = body.decode("utf-8", "replace")
        trigger = parsed.get("triggerEvent") if isinstance(parsed, dict) else None
        writer.write(
            {
                "received_at": datetime.now(UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "path": request.path,
                "trigger": trigger,
                "signature_valid": secret is not None,
                "webhook_version": request.headers.get("X-Cal-Webhook-Version"),
                "body": parsed,
            }
        )
        stats.accepted += 1
        return web.json_response({"status": "success"})

    return handle


class Listener:
    """A running listener inside the caller's event loop: ``url``, ``stats``, ``close()``."""

    def __init__(
        self, runner: web.ServerRunner, url: str, stats: ListenerStats, writer: EventWriter
    ):
        self._runner = runner
        self.url = url
        self.stats = stats
        self._writer = writer

    async def close(self) -> None:
        await self._runner.cleanup()
        self._writer.close()


async def start_listener(
    host: str,
    port: int,
    secret: str | None,
    out: Path | None,
    *,
    stream: IO[str] | None = None,
    on_refused: Callable[[str, str], None] | None = None,
) -> Listener:
    """Start receiving on ``host:port`` (0 picks a free port) and return at once."""
    stats = ListenerStats()
    writer = EventWriter(out, stream)
    handler = build_handler(secret, writer, stats, on_refused)
    runner = web.ServerRunner(_Server(handler, access_log=None), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        writer.close()
        raise
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            bound = int(address[1])
            break
    shown = f"[{host}]" if ":" in host else host
    return Listener(runner, f"http://{shown}:{bound}", stats, writer)


def serve_listener(
    host: str,
    port: int,
    secret: str | None,
    out: Path | None,
    *,
    announce: Callable[[str], None] | None = None,
    on_refused: Callable[[str, str], None] | None = None,
) -> ListenerStats:
    """Receive deliveries until interrupted (Ctrl-C / SIGTERM); return the counts.

    ``announce`` receives the ready line (default: printed on stderr).
    """
    say = announce or (lambda line: print(line, file=sys.stderr, flush=True))

    async def main() -> ListenerStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if sys.platform != "win32" and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
        listener = await start_listener(host, port, secret, out, on_refused=on_refused)
        say(READY_PREFIX + listener.url)
        try:
            await stop.wait()
        finally:
            await listener.close()
        return listener.stats

    return blocking(main())
