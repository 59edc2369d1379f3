"""Values from databases and data frameworks as the flow's map expects them.

A database, dlt or a Singer tap hands over timestamps, dates, decimals and UUIDs as
Python objects; Cal.com's fields are JSON. A date-time becomes its ISO 8601 text (an
aware one with its offset, so `2030-01-07T14:00:00+00:00`), a date or time its ISO text,
a UUID its text, a Decimal an int when whole and a float otherwise, bytes stay bytes
(the map rejects them with the field's name). Lists and objects are converted inside.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any


def plain(value: Any) -> Any:
    """``value`` as JSON-like Python (str, int, float, bool, None, list, dict)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(name): plain(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def plain_record(record: dict[str, Any]) -> dict[str, Any]:
    return {str(name): plain(value) for name, value in record.items()}
