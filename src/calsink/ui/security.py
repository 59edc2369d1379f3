"""Who may drive the page: the holder of this start's token, from this server's own origin.

The server listens on 127.0.0.1 only, but any local user and any web page the user
visits can reach a loopback port.  Every API call therefore carries the random token
printed at start (header ``X-Calsink-Token``) and must come from the server's own
origin: a foreign ``Host`` (DNS rebinding) or ``Origin`` / ``Sec-Fetch-Site``
(another site's page) is refused before the token is even looked at.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

AUTH_HEADER = "x-calsink-token"
PAGE_QUERY_PARAM = "token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Guard:
    """The checks for one server start: its token, and the host:port it is reachable at."""

    token: str
    host: str
    port: int

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def allowed_hosts(self) -> set[str]:
        return {f"{self.host}:{self.port}", f"localhost:{self.port}"}

    def allowed_origins(self) -> set[str]:
        return {f"http://{host}" for host in self.allowed_hosts()}

    def token_matches(self, offered: str | None) -> bool:
        if not offered:
            return False
        return hmac.compare_digest(offered.encode("utf-8"), self.token.encode("utf-8"))

    def check(
        self, headers: Mapping[str, str], *, query_token: str | None = None
    ) -> Refusal | None:
        """Why this request is refused, or None when it may go on.

        ``headers`` has lower-case names.  ``query_token`` is the ``?token=`` of the
        page URL; only the page itself (GET /) accepts it, API calls need the header.
        """
        host = headers.get("host", "")
        if host not in self.allowed_hosts():
            return Refusal(421, f"this server answers only to {self.origin}, not to {host!r}")
        origin = headers.get("origin")
        if origin is not None and origin not in self.allowed_origins():
            return Refusal(403, f"cross-origin requests are refused (Origin {origin!r})")
        if headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
            return Refusal(403, "cross-site requests are refused")
        offered = query_token if query_token is not None else headers.get(AUTH_HEADER)
        if not self.token_matches(offered):
            return Refusal(
                403,
                "missing or wrong token: open the page through the URL `calsink ui` printed",
            )
        return None


class GuardMiddleware:
    """Applies ``Guard.check`` to the page and every /api route; static files pass."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        query_token = None
        if path == "/":
            query_token = _query_value(scope.get("query_string", b""), PAGE_QUERY_PARAM) or ""
        refusal = self.guard.check(headers, query_token=query_token)
        if refusal is not None:
            response = JSONResponse({"error": refusal.reason}, status_code=refusal.status)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _query_value(query_string: bytes, name: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(query_string.decode("latin-1")).get(name)
    return values[0] if values else None
