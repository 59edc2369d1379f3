"""OAuth access tokens as Cal.com issues and renews them.

Upstream facts followed here (calcom/cal.com):

- ``POST /v2/auth/oauth2/token`` takes ``grant_type`` ``refresh_token`` with ``client_id``,
  ``client_secret`` and ``refresh_token`` (openapi ``OAuth2RefreshConfidentialInput``,
  docs/api-reference/v2/openapi.json@a36c1b79; ``OAuth2TokenController.token``,
  apps/api/v2/src/modules/auth/oauth2/controllers/oauth2-token.controller.ts@5d8030f4) and
  answers 200 with ``access_token``, ``token_type`` ``bearer``, ``refresh_token``,
  ``expires_in`` and ``scope`` (openapi ``OAuth2TokensDto``@a36c1b79); an access token lives
  1800 s (``expiresIn`` in oauth2.controller.e2e-spec.ts@0078a16e).
- A refresh token that is invalid (here: unknown, or already used — each renewal hands out
  a new one) is a 400, a wrong client id or secret a 401 ("should return 400 for invalid
  refresh token", "should return 401 for wrong client ID with valid refresh token",
  oauth2.controller.e2e-spec.ts@0078a16e), with the RFC 6749 body ``{"error",
  "error_description"}`` (``OAuth2ErrorHandler.handleTokenError``,
  services/oauth2-error.handler.ts@4a30760e). A body without ``refresh_token`` is 400
  ``invalid_request``; another grant type 400 ``unsupported_grant_type``.
- A bearer that is not an API key is an access token; one that does not validate is a 401
  "Invalid Access Token." (``ApiAuthStrategy.accessTokenStrategy``,
  apps/api/v2/src/modules/auth/strategies/api-auth/api-auth.strategy.ts@0180bd65).
- Access tokens have their own throttling budget, 500 requests per 60 s
  (apps/api/v2/src/lib/throttler-guard.ts@42e7dc49, CONTRACT.md §0.4).

Tokens live in memory only: a restarted sandbox has forgotten them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TOKEN_PATH = "/v2/auth/oauth2/token"  # noqa: S105 (a path)
INVALID_ACCESS_TOKEN = "Invalid Access Token."  # noqa: S105 (a message)
DEFAULT_LIFETIME_S = 1800.0
TOKEN_RATE_LIMIT = 500


@dataclass
class _Access:
    client_id: str
    expires_at: float
    uses_left: int | None


@dataclass
class OAuthIssuer:
    """The sandbox's OAuth clients and the tokens it has handed out.

    ``lifetime_s`` is how long an access token works. For tests, `grant` may hand out a
    first access token that stops after ``uses`` requests, whatever the clock says (the
    renewed ones live ``lifetime_s``).
    """

    lifetime_s: float = DEFAULT_LIFETIME_S
    clock: Callable[[], float] = time.monotonic
    clients: dict[str, str] = field(default_factory=dict)
    access: dict[str, _Access] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    renewals: int = 0

    def grant(self, uses: int | None = None) -> dict[str, Any]:
        """A new client with a first pair of tokens, as a user would store them."""
        client_id = f"sandbox-client-{secrets.token_hex(6)}"
        client_secret = f"sandbox-secret-{secrets.token_hex(16)}"
        self.clients[client_id] = client_secret
        tokens = self._issue(client_id, uses)
        return {"client_id": client_id, "client_secret": client_secret, **tokens}

    def knows(self, token: str) -> bool:
        return token in self.access

    def admit(self, token: str) -> bool:
        """Whether the access token works now; each admitted request uses it once."""
        access = self.access[token]
        if self.clock() >= access.expires_at:
            return False
        if access.uses_left is not None:
            if access.uses_left <= 0:
                return False
            access.uses_left -= 1
        return True

    def revoke(self) -> int:
        """Forget every refresh token (as a user revoking the app's access would)."""
        count = len(self.refresh)
        self.refresh.clear()
        return count

    def expire(self) -> None:
        for access in self.access.values():
            access.expires_at = self.clock()

    def token(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /v2/auth/oauth2/token``: status and body."""
        if not isinstance(body, dict):
            return _refused(400, "invalid_request", "the body must be a JSON object")
        grant_type = body.get("grant_type")
        if grant_type != "refresh_token":
            if grant_type == "authorization_code":
                return _refused(400, "invalid_grant", "the sandbox issues no authorization codes")
            return _refused(400, "unsupported_grant_type", "unsupported_grant_type")
        refresh_token = body.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            return _refused(400, "invalid_request", "invalid_request")
        client_id = body.get("client_id")
        if not isinstance(client_id, str) or client_id not in self.clients:
            return _refused(401, "invalid_client", "client_not_found")
        if body.get("client_secret") != self.clients[client_id]:
            return _refused(401, "invalid_client", "invalid_client_secret")
        owner = self.refresh.get(refresh_token)
        if owner is None:
            return _refused(400, "invalid_grant", "invalid_refresh_token")
        if owner != client_id:
            return _refused(401, "invalid_client", "client_id_mismatch")
        del self.refresh[refresh_token]
        self.renewals += 1
        return 200, self._issue(client_id)

    def _issue(self, client_id: str, uses: int | None = None) -> dict[str, Any]:
        access_token = f"sandbox-access-{secrets.token_urlsafe(24)}"
        refresh_token = f"sandbox-refresh-{secrets.token_urlsafe(24)}"
        self.access[access_token] = _Access(client_id, self.clock() + self.lifetime_s, uses)
        self.refresh[refresh_token] = client_id
        return {
            "access_token": access_token,
            "token_type": "bearer",
            "refresh_token": refresh_token,
            "expires_in": int(self.lifetime_s) if self.lifetime_s.is_integer() else self.lifetime_s,
            "scope": "",
        }


def _refused(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "error_description": description}
