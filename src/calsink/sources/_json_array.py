"""A JSON array of objects, parsed item by item over a sliding buffer (never all at once).

Each item is decoded with ``json.JSONDecoder.raw_decode``. When that fails, a
light scan of brackets and strings tells an item that is only incomplete in the
buffer (read more) from one that is invalid (reject it, continue after it) and
from one that the file cuts short (reject it, stop).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from calsink.records import Position, SourceItem
from calsink.sources._depth import TOO_DEEP, depth_problem, may_be_too_deep
from calsink.sources._errors import SourceError
from calsink.sources._jsonl import kind
from calsink.sources._unicode import SURROGATE_ESCAPE, lone_surrogate

CHUNK = 1024 * 1024
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(")?|[\[\]{}]')
_SCALAR_END = re.compile(r"[,\]]")
_WHITESPACE = " \t\r\n"
_CLOSER = {"[": "]", "{": "}"}


class _Buffer:
    def __init__(self, stream: BinaryIO, codec: codecs.CodecInfo, label: str) -> None:
        self.text = ""
        self.pos = 0
        self.eof = False
        self._stream = stream
        self._decoder = codec.incrementaldecoder("strict")
        self._label = label
        self._started = False

    def fill(self) -> bool:
        """Read more text; False at the end of the file."""
        if self.eof:
            return False
        # an item longer than a chunk doubles the read, so that reading it stays linear
        chunk = self._stream.read(max(CHUNK, len(self.text) - self.pos))
        self.eof = not chunk
        text = self._decoder.decode(chunk, final=self.eof)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        self.text = self.text[self.pos :] + text
        self.pos = 0
        return bool(text) or not self.eof

    def skip_whitespace(self) -> str | None:
        """The next significant character (not consumed), or None at the end of the file."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self.fill():
                return None


def read_json_array(stream: BinaryIO, label: str, codec: codecs.CodecInfo) -> Iterator[SourceItem]:
    buffer = _Buffer(stream, codec, label)
    try:
        first = buffer.skip_whitespace()
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{label}: not {codec.name} ({exc.reason}): set source.encoding"
        ) from None
    if first is None:
        return iter(())
    if first != "[":
        raise SourceError(
            f"{label}: a .json source must be a JSON array of objects, but it starts with "
            f"{first!r}; for one object per line name the file .jsonl or set source.format: jsonl"
        )
    buffer.pos += 1
    return _items(buffer, label)


def _items(buffer: _Buffer, label: str) -> Iterator[SourceItem]:
    decoder = json.JSONDecoder()
    index = 0
    expect_item = True
    while True:
        try:
            char = buffer.skip_whitespace()
        except UnicodeDecodeError as exc:
            yield SourceItem(
                Position(label, index), None, f"not valid text ({exc.reason}): set source.encoding"
            )
            return
        if char is None:
            yield SourceItem(
                Position(label, index),
                None,
                "the file ends before the closing ] of the array: it may be cut short",
            )
            return
        if char == "]":
            return
        if not expect_item:
            if char != ",":
                yield SourceItem(
                    Position(label, index),
                    None,
                    f"{char!r}; the rest cannot be read",
                    expected=f", or ] after item {index - 1}",
                )
                return
            buffer.pos += 1
            expect_item = True
            continue
        position = Position(label, index)
        index += 1
        expect_item = False
        try:
            outcome = _next_value(buffer, decoder)
        except UnicodeDecodeError as exc:
            yield SourceItem(position, None, f"not valid text ({exc.reason}): set source.encoding")
            return
        if isinstance(outcome, _CutShort):
            yield SourceItem(position, None, "the file ends inside this item: it is cut short")
            return
        if isinstance(outcome, _Invalid):
            yield SourceItem(position, None, outcome.reason)
            continue
        if isinstance(outcome, dict):
            yield SourceItem(position, outcome)
        else:
            yield SourceItem(position, None, kind(outcome), expected="a JSON object {...}")


class _CutShort:
    pass


class _Invalid:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _next_value(buffer: _Buffer, decoder: json.JSONDecoder) -> object:
    """Decode the value at ``buffer.pos`` and move past it, reading more text as needed."""
    while True:
        text, start = buffer.text, buffer.pos
        try:
            value, end = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError) as exc:
            end_of_item = _item_end(text, start)
            if end_of_item is None:
                if buffer.fill():
                    continue
                return _CutShort()
            buffer.pos = end_of_item
            if isinstance(exc, RecursionError):
                return _Invalid(f"the item is {TOO_DEEP}")
            return _Invalid(
                f"invalid JSON: {exc.msg} (at character {exc.pos - start + 1} of the item)"
            )
        if end == len(text) and not buffer.eof and buffer.fill():
            continue
        buffer.pos = end
        return _checked(value, text, start, end)


def _checked(value: object, text: str, start: int, end: int) -> object:
    reason = None
    if SURROGATE_ESCAPE.search(text, start, end):
        reason = lone_surrogate(value)
    if reason is None and isinstance(value, dict) and may_be_too_deep(text, start, end):
        reason = depth_problem(value)
    return _Invalid(reason) if reason else value


def _item_end(text: str, start: int) -> int | None:
    """Where the item at ``start`` ends if its brackets close within ``text``; None if not."""
    if text[start] not in '[{"':
        match = _SCALAR_END.search(text, start)
        return match.start() if match else None
    open_brackets: list[str] = []
    for match in _TOKEN.finditer(text, start):
        token = match.group(0)
        if token[0] == '"':
            if match.group(1) is None:
                return None
            if not open_brackets:
                return match.end()
        elif token in ("[", "{"):
            open_brackets.append(_CLOSER[token])
        elif not open_brackets or open_brackets.pop() != token or not open_brackets:
            return match.end()
    return None
