"""JSON Lines: one JSON object per line; a line that is not one is a rejection, not the end."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from calsink.records import Position, SourceItem
from calsink.sources._depth import TOO_DEEP, depth_problem, may_be_too_deep
from calsink.sources._text import ENCODING_HINT, bad_character, is_ascii_compatible, open_text
from calsink.sources._unicode import lone_surrogate


def read_jsonl(stream: BinaryIO, label: str, codec: codecs.CodecInfo) -> Iterator[SourceItem]:
    if codec.name == "utf-8" and is_ascii_compatible(codec):
        return _utf8_lines(stream, label)
    return _decoded_lines(stream, label, codec)


def _utf8_lines(stream: BinaryIO, label: str) -> Iterator[SourceItem]:
    index = 0
    for number, raw in enumerate(stream, 1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        position = Position(label, index, number)
        index += 1
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield _explain(position, raw)
            continue
        yield _item(position, value, deep=may_be_too_deep(raw))


def _decoded_lines(stream: BinaryIO, label: str, codec: codecs.CodecInfo) -> Iterator[SourceItem]:
    text, _ = open_text(stream, codec)
    index = 0
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        position = Position(label, index, number)
        index += 1
        bad = bad_character(line, codec.name)
        if bad is not None:
            yield SourceItem(position, None, f"{bad}: {ENCODING_HINT}")
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield _explain(position, line.encode())
            continue
        yield _item(position, value, deep=may_be_too_deep(line))


def _item(position: Position, value: Any, *, deep: bool = False) -> SourceItem:
    if isinstance(value, dict):
        problem = depth_problem(value) if deep else None
        return SourceItem(position, None, problem) if problem else SourceItem(position, value)
    return SourceItem(position, None, kind(value), expected="a JSON object {...} on the line")


def kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _explain(position: Position, raw: bytes) -> SourceItem:
    """Why a line is not JSON, in the standard library's words (it names the column)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SourceItem(
            position,
            None,
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}): {ENCODING_HINT}",
        )
    try:
        value = json.loads(text.rstrip("\r\n"), parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return SourceItem(position, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return SourceItem(position, None, f"the line is {TOO_DEEP}")
    except ValueError as exc:
        return SourceItem(position, None, f"invalid JSON: {exc}")
    reason = lone_surrogate(value)
    if reason:
        return SourceItem(position, None, reason)
    return _item(position, value, deep=may_be_too_deep(text))
