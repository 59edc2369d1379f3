"""The one place that hides secrets from anything a person or a file will see.

What a person reads (previews, errors, logs) is redacted with ``***``; what calsink
writes to files (the responses, dead letters, the ledger) goes through `SecretScreen`,
which writes ``[redacted]``. Both hide the values of the same secret-looking fields.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable, Iterable
from datetime import date, time
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import orjson

REDACTED = "***"
SCREENED = "[redacted]"
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
        "authorization",
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
    """A copy of a JSON-like value with the values of secret-looking keys hidden, and API
    keys and bearer tokens hidden in its strings."""
    return _hidden(value, REDACTED, redact_text)


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` with secret fields redacted and every secret string removed."""
    hidden = [secret for secret in secrets if secret]

    def without_secrets(text: str) -> str:
        for secret in hidden:
            if secret in text:
                text = text.replace(secret, SCREENED)
        return text

    return _hidden(value, SCREENED, without_secrets)


def _hidden(value: Any, marker: str, text: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                marker
                if str(key).lower() in SENSITIVE_FIELDS and item
                else _hidden(item, marker, text)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hidden(item, marker, text) for item in value]
    if isinstance(value, str):
        return text(value)
    return value


def _prefix_tree(words: Iterable[bytes]) -> bytes:
    """A pattern matching exactly ``words``, branching on one byte at a time: at each
    quote of a line the regex engine then rejects a key on its first bytes instead of
    trying every name in turn."""
    ordered = sorted(set(words))
    branches: list[bytes] = [
        re.escape(first) + _prefix_tree(word[1:] for word in group)
        for first, group in itertools.groupby((w for w in ordered if w), key=lambda w: w[:1])
    ]
    if not branches:
        return b""
    optional = b"" in ordered
    if len(branches) == 1 and not optional:
        return branches[0]
    return b"(?:" + b"|".join(branches) + b")" + (b"?" if optional else b"")


# Searched in lower-cased bytes (faster than a case-insensitive pattern).
_SENSITIVE_FIELD_MARK = re.compile(
    b'"' + _prefix_tree(name.encode() for name in SENSITIVE_FIELDS) + b'":'
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
        try:
            line = orjson.dumps(value)
        except TypeError:  # a row's own values (Decimal, bytes, a number as a key, ...)
            value = json_ready(value)
            line = orjson.dumps(value)
        if self._may_hold_secret(line):
            return orjson.dumps(scrub(value, self.__secrets))
        return line

    def _may_hold_secret(self, line: bytes) -> bool:
        for needle in self.__needles:
            if needle in line:
                return True
        if line.isascii():
            return _SENSITIVE_FIELD_MARK.search(line.lower()) is not None
        # str.lower folds a few non-ASCII letters into ASCII ones (K, for one).
        folded = line.decode("utf-8", "replace").lower().encode()
        return _SENSITIVE_FIELD_MARK.search(folded) is not None


def decimal_number(value: Decimal) -> int | float | str:
    """A Decimal as JSON holds it: a whole one as an integer, another as a float; one that
    is not a finite number (NaN, Infinity) as its text."""
    if not value.is_finite():
        return str(value)
    return int(value) if value == value.to_integral_value() else float(value)


def json_default(value: Any) -> Any:
    """What a request body may hold beyond JSON's own types, as JSON (orjson's ``default``):
    a Decimal as a number, a date in ISO 8601, a set or tuple as a list; TypeError else."""
    if isinstance(value, Decimal):
        return decimal_number(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")


def json_ready(value: Any) -> Any:
    """``value`` with what JSON cannot hold made into what it can, as a row's values are
    written to the files calsink keeps: keys as text, Decimal as a number, dates in ISO 8601,
    bytes as text, sets and tuples as lists, a lone surrogate in a text as its escape,
    integers beyond 64 bits and anything else as their text."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate: kept as its escape, \udc80
            return value.encode("utf-8", "backslashreplace").decode()
        return value
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):  # JSON's writer takes 64-bit integers: a larger one as text
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, dict):
        return {
            key if isinstance(key, str) else str(key): json_ready(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, time):
        return value.isoformat()
    try:
        return json_default(value)
    except TypeError:
        return str(value)


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
