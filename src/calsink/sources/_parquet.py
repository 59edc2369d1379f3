"""Parquet, read one record batch at a time with pyarrow (an optional dependency)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from calsink.instants import normalise_instant
from calsink.records import Position, SourceItem
from calsink.sources._errors import SourceError

BATCH_ROWS = 4096


def read_parquet(file: BinaryIO, path: Path, label: str) -> Iterator[SourceItem]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SourceError(
            f"{label}: reading Parquet needs pyarrow: pip install 'calsink[parquet]'"
        ) from None
    try:
        parquet = pq.ParquetFile(file)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{label}: not a readable Parquet file ({exc})") from None
    convert = _needs_conversion(parquet.schema_arrow, pa)
    return _rows(parquet, label, convert, pa)


def _rows(parquet: Any, label: str, convert: bool, pa: Any) -> Iterator[SourceItem]:
    index = 0
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            for row in batch.to_pylist():
                position = Position(label, index)
                index += 1
                yield SourceItem(position, _plain(row) if convert else row)
    except (pa.ArrowException, OSError) as exc:
        yield SourceItem(
            Position(label, index), None, f"the rest of the file cannot be read: {exc}"
        )


def _needs_conversion(schema: Any, pa: Any) -> bool:
    """Whether a column holds values JSON has no type for (timestamps, decimals, bytes, ...)."""

    def plain(kind: Any) -> bool:
        if pa.types.is_struct(kind):
            return all(plain(kind.field(i).type) for i in range(kind.num_fields))
        if (
            pa.types.is_list(kind)
            or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)
        ):
            return plain(kind.value_type)
        if pa.types.is_map(kind):
            return False
        return bool(
            pa.types.is_boolean(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_null(kind)
        )

    return not all(plain(field.type) for field in schema)


def _plain(value: Any) -> Any:
    """A pyarrow value as JSON: instants as ISO 8601, decimals as numbers, maps as objects."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, tuple) and len(item) == 2 for item in value):
            return {str(key): _plain(item) for key, item in value}
        return [_plain(item) for item in value]
    if isinstance(value, dt.datetime):
        return normalise_instant(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    return value
