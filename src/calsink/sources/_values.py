"""Values from databases and data frameworks as the flow's map expects them.

A database, dlt or a Singer tap hands over timestamps, dates, decimals and UUIDs as
Python objects; Cal.com's fields are JSON. They become what a Parquet file's values
become (an aware instant its ISO 8601 text in UTC, a date or time its ISO text, a whole
Decimal an int, bytes UTF-8 text or base64), and a UUID its text.
"""

from __future__ import annotations

import uuid
from typing import Any

from calsink.sources._parquet import _plain

_JSON_SCALARS = (str, int, float, bool)


def plain(value: Any) -> Any:
    """``value`` as JSON-like Python (str, int, float, bool, None, list, dict)."""
    if value is None or isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(name): plain(item) for name, item in value.items()}
    return _plain(value)


def plain_record(record: dict[str, Any]) -> dict[str, Any]:
    return {str(name): plain(value) for name, value in record.items()}
