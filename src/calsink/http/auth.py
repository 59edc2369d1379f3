"""Who calsink sends as: an API key, or an OAuth access token that renews itself.

`Transport` asks its `Auth` for the Authorization value of every request. When an OAuth
access token's stored expiry has passed, or Cal.com answers 401, the transport asks the
`Auth` to renew it (through ``POST /v2/auth/oauth2/token``) and sends the request
again. Renewal is single-flight: however many requests hit the 401 together, one asks
Cal.com; the others wait for it and go out with the new token.

Upstream (calcom/cal.com): the token request and answer are openapi
``OAuth2RefreshConfidentialInput`` and ``OAuth2TokensDto`` (docs/api-reference/v2/
openapi.json@a36c1b79); older servers wrap the answer in ``{"status", "data"}``
(oauth2-token.controller.ts@5d8030f4), which is read too. Access tokens have their own
budget of 500 requests per minute, API keys 120 (apps/api/v2/src/lib/throttler-guard.ts
@42e7dc49).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson

from calsink.credentials import Credential, CredentialError, CredentialStore, OAuthGrant
from calsink.redact import redact_text

API_KEY_PER_MINUTE = 120
ACCESS_TOKEN_PER_MINUTE = 500
TOKEN_PATH = "/v2/auth/oauth2/token"  # noqa: S105 (a path)
# Renew this long before the expiry (at most half the token's life), so that no request
# leaves with a token about to lapse.
EARLY_S = 30.0

# Sends a token request: (url, JSON body) -> (status, parsed answer). Raises TransportError.
PostToken = Callable[[str, bytes], Awaitable[tuple[int, Any]]]


class Auth(Protocol):
    """What a transport needs of a credential."""

    kind: str
    per_minute: int

    def authorization(self) -> str:
        """The Authorization header value to send now."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret value it holds (to hide wherever text is shown or written)."""
        ...

    def budget_key(self) -> str:
        """What identifies its Cal.com rate budget across processes."""
        ...

    def due(self) -> bool:
        """Whether it should be renewed before the next request."""
        ...

    def refused(self) -> str | None:
        """Why it can no longer be renewed (what to do), or None."""
        ...

    async def renew(self, post: PostToken, token_url: str, stale: str) -> bool:
        """Renew it unless ``stale`` (the Authorization a request was refused with) is no
        longer current; True when a newer Authorization is in hand."""
        ...


class ApiKey:
    """A ``cal_…`` API key: the same Authorization for ever."""

    kind = "api_key"
    per_minute = API_KEY_PER_MINUTE
    __slots__ = ("__authorization", "__key")

    def __init__(self, key: str) -> None:
        self.__key = key
        self.__authorization = f"Bearer {key}"

    def __repr__(self) -> str:
        return "ApiKey(<hidden>)"

    def authorization(self) -> str:
        return self.__authorization

    def secrets(self) -> tuple[str, ...]:
        return (self.__key,)

    def budget_key(self) -> str:
        return self.__key

    def due(self) -> bool:
        return False

    def refused(self) -> str | None:
        return None

    async def renew(self, post: PostToken, token_url: str, stale: str) -> bool:
        return False


class OAuthAccess:
    """A stored OAuth credential: renews its access token, and stores each new pair."""

    kind = "oauth"
    per_minute = ACCESS_TOKEN_PER_MINUTE

    def __init__(
        self,
        credential: Credential,
        store: CredentialStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert credential.oauth is not None
        self.name = credential.name
        self.__grant = credential.oauth
        self.__known = list(credential.oauth.secrets())
        self._store = store
        self._clock = clock
        self._lock = asyncio.Lock()
        self._refused: str | None = None
        expires = credential.oauth.expires_at
        self._renew_at = expires - EARLY_S if expires is not None else None
        self.renewals = 0

    def __repr__(self) -> str:
        return f"OAuthAccess({self.name!r}, renewals={self.renewals})"

    def authorization(self) -> str:
        return f"Bearer {self.__grant.access_token}"

    def secrets(self) -> tuple[str, ...]:
        return tuple(self.__known)

    def budget_key(self) -> str:
        return f"oauth:{self.__grant.client_id}:{self.name}"

    def due(self) -> bool:
        renew_at = self._renew_at
        return self._refused is None and renew_at is not None and self._clock() >= renew_at

    def refused(self) -> str | None:
        return self._refused

    async def renew(self, post: PostToken, token_url: str, stale: str) -> bool:
        async with self._lock:
            if self._refused is not None:
                return False
            if self.authorization() != stale:
                return True
            if self._adopt_stored():
                return True
            status, answer = await post(token_url, self._request_body())
            if status == 200:
                self._take(answer)
                return True
            if status in (400, 401, 403):
                self._refused = self._refusal(status, answer)
                return False
            from calsink.http.transport import TransportError

            raise TransportError(
                "connection",
                f"Cal.com answered {status} to the OAuth token renewal; it is tried again",
                maybe_sent=False,
            )

    def _adopt_stored(self) -> bool:
        """Take the tokens another process renewed and stored (Cal.com spends a refresh
        token when it renews, so ours would be refused); False when there are none."""
        try:
            stored = self._store.get(self.name).oauth
        except CredentialError:
            return False
        if stored is None or stored.refresh_token == self.__grant.refresh_token:
            return False
        self.__grant = stored
        self.__known.extend(stored.secrets())
        expires = stored.expires_at
        self._renew_at = expires - EARLY_S if expires is not None else None
        return True

    def _request_body(self) -> bytes:
        grant = self.__grant
        return orjson.dumps(
            {
                "grant_type": "refresh_token",
                "client_id": grant.client_id,
                "client_secret": grant.client_secret,
                "refresh_token": grant.refresh_token,
            }
        )

    def _take(self, answer: Any) -> None:
        """Keep the renewed tokens (the old refresh token is spent) and store them."""
        data = answer.get("data", answer) if isinstance(answer, dict) else None
        access = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(access, str) or not access:
            from calsink.http.transport import TransportError

            raise TransportError(
                "connection", "the OAuth token renewal answered without a token", maybe_sent=False
            )
        refresh = data.get("refresh_token")
        expires_in = data.get("expires_in")
        life = (
            float(expires_in)
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
            else None
        )
        now, old = self._clock(), self.__grant
        self.__grant = OAuthGrant(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else old.refresh_token,
            client_id=old.client_id,
            client_secret=old.client_secret,
            expires_at=now + life if life is not None else None,
        )
        self._renew_at = now + life - min(EARLY_S, life / 2) if life is not None else None
        self.__known.extend(self.__grant.secrets())
        self.renewals += 1
        self._store.renew(self.name, self.__grant)

    def _refusal(self, status: int, answer: Any) -> str:
        code = ""
        if isinstance(answer, dict):
            error = answer.get("error")
            detail = answer.get("error_description")
            code = " ".join(str(part) for part in (error, detail) if isinstance(part, str))
        shown = redact_text(code, self.__known) if code else "no reason given"
        return (
            f"Cal.com refused to renew the OAuth access token of credential {self.name!r} "
            f"({status}: {shown}): its refresh token was used, revoked or has expired. "
            f"Store new tokens with `calsink credentials add {self.name} --oauth`, then "
            "`calsink run` again: the records not delivered are sent then"
        )


def as_auth(key: str | Auth | None) -> Auth | None:
    if key is None or isinstance(key, str):
        return ApiKey(key) if key else None
    return key


def auth_of(credential: Credential, store: CredentialStore | None = None) -> str | Auth:
    """What a run sends as: the API key, or an `OAuthAccess` over the stored grant."""
    if credential.oauth is None:
        return credential.api_key
    return OAuthAccess(credential, store or CredentialStore())


def secret_values(key: str | Auth | None) -> list[str]:
    auth = as_auth(key)
    return list(auth.secrets()) if auth is not None else []


def token_url(request_url: str) -> str:
    """The token endpoint of the API a request went to (its base, then the token path)."""
    cut = request_url.find("/v2/")
    if cut >= 0:
        return request_url[:cut] + TOKEN_PATH
    parts = urlsplit(request_url)
    return f"{parts.scheme}://{parts.netloc}{TOKEN_PATH}"
