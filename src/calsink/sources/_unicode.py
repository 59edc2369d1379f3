"""Lone surrogates: a JSON ``\\ud800`` escape decodes to text that cannot be encoded again.

Such a value would fail later, when the record is keyed or sent, so the readers that
decode escapes with the standard library reject the record where it was read instead.
"""

from __future__ import annotations

import re
from typing import Any

SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value: Any, path: str = "") -> str | None:
    """Why ``value`` holds text that is not valid Unicode (naming the field), or None."""
    if isinstance(value, str):
        match = _SURROGATE.search(value)
        if match is None:
            return None
        where = f" in `{path}`" if path else ""
        return (
            f"an escaped lone surrogate \\u{ord(match.group(0)):04x}{where} is not valid "
            "Unicode; fix the text that produced it"
        )
    if isinstance(value, dict):
        for name, item in value.items():
            field = f"{path}.{name}" if path else str(name)
            found = lone_surrogate(name, path) or lone_surrogate(item, field)
            if found:
                return found
    elif isinstance(value, list):
        for number, item in enumerate(value):
            found = lone_surrogate(item, f"{path}[{number}]")
            if found:
                return found
    return None
