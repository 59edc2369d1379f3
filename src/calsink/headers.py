"""Extra request headers of a manual destination: parsing and the checks that keep them safe."""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FORBIDDEN_VALUE = re.compile(r"[\r\n\x00]")

# Headers calsink sets itself, or that would change how the request travels.
_RESERVED = {
    "authorization": (
        "calsink adds Authorization itself from `credential` or `api_key_env`; "
        "remove it from the headers"
    ),
    "host": "the host comes from the URL",
    "content-length": "calsink computes the body length",
    "transfer-encoding": "calsink sends whole bodies",
    "connection": "the connection is managed by calsink",
}


class HeaderError(ValueError):
    """A header a manual destination may not send, with what to do instead."""


def parse_headers(spec: str | Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Parse ``"h1:v1,h2:v2"`` or a mapping into checked (name, value) pairs."""
    if spec is None:
        return ()
    pairs: list[tuple[str, str]] = []
    if isinstance(spec, str):
        if _FORBIDDEN_VALUE.search(spec):
            raise HeaderError("headers: CR, LF and NUL are not allowed in headers")
        for part in spec.split(","):
            if not part.strip():
                continue
            name, colon, value = part.partition(":")
            if not colon:
                raise HeaderError(
                    f"headers: expected 'name:value', found {part.strip()!r} "
                    '(write them as "h1:v1,h2:v2", or as a mapping)'
                )
            pairs.append((name.strip(), value.strip()))
    else:
        for name, value in spec.items():
            if not isinstance(value, str):
                raise HeaderError(f"header {name!r}: expected a text value, found {value!r}")
            pairs.append((str(name).strip(), value.strip()))
    seen: set[str] = set()
    for name, value in pairs:
        check_header(name, value)
        lowered = name.lower()
        if lowered in seen:
            raise HeaderError(f"header {name!r} is given twice")
        seen.add(lowered)
    return tuple(pairs)


def check_header(name: str, value: str) -> None:
    """Raise HeaderError unless ``name: value`` is a well-formed header calsink may send."""
    if not _TOKEN.match(name):
        raise HeaderError(f"header name {name!r} is not a valid HTTP header name")
    if _FORBIDDEN_VALUE.search(value):
        raise HeaderError(f"header {name!r}: CR, LF and NUL are not allowed in header values")
    reason = _RESERVED.get(name.lower())
    if reason is not None:
        raise HeaderError(f"header {name!r} cannot be set here: {reason}")
    if name.lower() == "content-type" and not value.lower().startswith("application/json"):
        raise HeaderError(
            f"header {name!r}: the body is JSON (content_format: json), found {value!r}; "
            "remove the header and calsink sets application/json"
        )


def header_value(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None
