"""The one place that hides secrets from anything a person or a file will see."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

REDACTED = "***"
REDACTED_AUTHORIZATION = "Bearer <redacted>"

SENSITIVE_HEADERS = frozenset(
    {"authorization", "x-cal-secret-key", "cookie", "set-cookie", "proxy-authorization"}
)
SENSITIVE_FIELDS = frozenset(
    {
        "secret",
        "password",
        "apikey",
        "api_key",
        "token",
        "accesstoken",
        "access_token",
        "refreshtoken",
        "refresh_token",
        "clientsecret",
        "client_secret",
    }
)
_API_KEY = re.compile(r"\bcal_[A-Za-z0-9_-]{4,}")
# In a URL a key may follow a percent-escape (``%20cal_…``), where ``\b`` does not hold.
_API_KEY_IN_URL = re.compile(r"(?:\b|(?<=%[0-9A-Fa-f]{2}))cal_[A-Za-z0-9_-]{4,}")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")


def redact_header(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered == "authorization":
        return REDACTED_AUTHORIZATION
    if lowered in SENSITIVE_HEADERS:
        return REDACTED
    return value


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, redact_header(name, value)) for name, value in headers]


def preview_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers as they will be sent, with the Authorization calsink adds, redacted."""
    shown = redact_headers(headers)
    if not any(name.lower() == "authorization" for name, _ in shown):
        shown.append(("Authorization", REDACTED_AUTHORIZATION))
    return shown


def redact_payload(value: Any) -> Any:
    """A copy of a JSON-like value with the values of secret-looking keys hidden."""
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if isinstance(key, str) and key.lower() in SENSITIVE_FIELDS and item
                else redact_payload(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets, Cal.com API keys and bearer tokens hidden."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m.group(1)} <redacted>", text)
    return _API_KEY.sub("cal_…redacted", text)


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` with the given secrets (as written or percent-encoded) and API keys hidden."""
    hidden = [secret for secret in secrets if secret]
    for secret in (*hidden, *(quote(secret, safe="") for secret in hidden)):
        url = url.replace(secret, REDACTED)
    return _API_KEY_IN_URL.sub("cal_…redacted", url)


def redact_response_headers(
    headers: Iterable[tuple[str, str]], secrets: Iterable[str] = ()
) -> dict[str, str]:
    """Response headers as shown: secret-bearing names hidden, secrets hidden in the rest
    (a server may echo the Authorization it was sent)."""
    hidden = [secret for secret in secrets if secret]
    return {name: redact_text(value, hidden) for name, value in redact_headers(headers)}
