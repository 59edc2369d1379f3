"""Bytes to text, line by line, so that one bad line costs one record and not the run."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO

from calsink.sources._errors import SourceError

_UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def check_encoding(encoding: str, label: str) -> codecs.CodecInfo:
    try:
        return codecs.lookup(encoding)
    except LookupError:
        raise SourceError(
            f"{label}: unknown encoding {encoding!r} in source.encoding "
            "(use a Python codec name such as utf-8, latin-1 or cp1252)"
        ) from None


def is_ascii_compatible(codec: codecs.CodecInfo) -> bool:
    """Whether every line of the file ends in the byte 0x0A (false for UTF-16 and UTF-32)."""
    return not codec.name.startswith(("utf-16", "utf-32"))


def check_start(start: bytes, codec: codecs.CodecInfo, label: str) -> None:
    """Refuse a file whose byte-order mark says it is UTF-16/32 when read as something else."""
    if is_ascii_compatible(codec) and start.startswith(_UTF16_BOMS):
        kind = "UTF-32" if start.startswith(_UTF16_BOMS[:2]) else "UTF-16"
        raise SourceError(
            f"{label}: the file starts with a {kind} byte-order mark but is read as "
            f"{codec.name}; set source.encoding: {kind.lower()}"
        )


class DecodedLines:
    """The lines of a binary stream as text, numbered from 1, with the reasons lines were bad.

    A line that does not decode is replaced (U+FFFD) and its reason kept in ``bad``;
    so is a line with a NUL byte (the NUL is removed). The reader that consumes the
    lines pops the reasons for the lines its record spans.
    """

    def __init__(self, stream: BinaryIO, codec: codecs.CodecInfo) -> None:
        self.bad: dict[int, str] = {}
        self.count = 0
        self._stream = stream
        self._codec = codec

    def __iter__(self) -> Iterator[str]:
        if not is_ascii_compatible(self._codec):
            yield from self._wide_lines()
            return
        encoding = self._codec.name
        first = True
        for raw in self._stream:
            self.count += 1
            if first:
                first = False
                if raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                self.bad[self.count] = (
                    f"not {encoding} (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}): "
                    "set source.encoding, e.g. latin-1 or cp1252"
                )
                text = raw.decode(encoding, errors="replace")
            if "\x00" in text:
                self.bad.setdefault(
                    self.count,
                    f"a NUL byte at column {text.index(chr(0)) + 1} of line {self.count}",
                )
                text = text.replace("\x00", "")
            yield text

    def _wide_lines(self) -> Iterator[str]:
        wrapper = io.TextIOWrapper(
            self._stream, encoding=self._codec.name, errors="replace", newline=""
        )
        try:
            for text in wrapper:
                self.count += 1
                if self.count == 1:
                    text = text.removeprefix("\ufeff")
                if "\x00" in text:
                    self.bad.setdefault(self.count, f"a NUL character on line {self.count}")
                    text = text.replace("\x00", "")
                yield text
        finally:
            wrapper.detach()

    def reason(self, first: int, last: int) -> str | None:
        """The first bad-line reason in ``first..last``; forgets those lines."""
        if not self.bad:
            return None
        found = None
        for number in range(first, last + 1):
            reason = self.bad.pop(number, None)
            if found is None:
                found = reason
        return found
