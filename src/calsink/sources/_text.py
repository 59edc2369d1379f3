"""Bytes to text without stopping at a bad byte: one bad row costs one record, not the run.

Text is decoded with ``surrogateescape``, so an undecodable byte becomes a lone
surrogate in the row instead of an exception. ``Watch`` sits below the decoder
and looks at each chunk once (NUL bytes, bytes that do not decode); readers check
their rows one by one only after it has seen something, so clean files pay nothing
per row.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import TYPE_CHECKING, BinaryIO

from calsink.sources._errors import SourceError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_BAD_CHARACTER = re.compile("[\x00\udc80-\udcff]")


def check_encoding(encoding: str, label: str) -> codecs.CodecInfo:
    try:
        return codecs.lookup(encoding)
    except LookupError:
        raise SourceError(
            f"{label}: unknown encoding {encoding!r} in source.encoding "
            "(use a Python codec name such as utf-8, latin-1 or cp1252)"
        ) from None


def is_ascii_compatible(codec: codecs.CodecInfo) -> bool:
    """Whether every line ends in the byte 0x0A and NUL is never part of a character."""
    return not codec.name.startswith(("utf-16", "utf-32"))


def check_start(start: bytes, codec: codecs.CodecInfo, label: str) -> None:
    """Refuse a file whose byte-order mark says it is UTF-16/32 when read as something else."""
    if not is_ascii_compatible(codec):
        return
    kind = "UTF-32" if start.startswith(_UTF32_BOMS) else None
    kind = kind or ("UTF-16" if start.startswith(_UTF16_BOMS) else None)
    if kind:
        raise SourceError(
            f"{label}: the file starts with a {kind} byte-order mark but is read as "
            f"{codec.name}; set source.encoding: {kind.lower()}"
        )


def read_available(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, without waiting for more than one read's worth.

    A growing file or a live pipe must hand over each line as it arrives, so a
    buffered stream is read with ``read1``, which never blocks to fill ``size``.
    """
    read1 = getattr(stream, "read1", None)
    data: bytes = read1(size) if read1 is not None else stream.read(size)
    return data


class Watch(io.RawIOBase):
    """Passes bytes through and notes whether any of them could make a row unreadable."""

    def __init__(self, stream: BinaryIO, codec: codecs.CodecInfo) -> None:
        super().__init__()
        self._stream = stream
        self._narrow = is_ascii_compatible(codec)
        self._decoder = codec.incrementaldecoder("strict")
        self.suspect = not self._narrow

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = read_available(self._stream, len(view))
        view[: len(data)] = data
        if not self.suspect:
            self._inspect(data)
        return len(data)

    def _inspect(self, data: bytes) -> None:
        if self._narrow and b"\x00" in data:
            self.suspect = True
            return
        pending = self._decoder.getstate()[0]
        if data and data.isascii() and not pending:
            return
        try:
            self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            self.suspect = True


def open_text(stream: BinaryIO, codec: codecs.CodecInfo) -> tuple[io.TextIOWrapper, Watch]:
    """The stream as text (lines kept whole, BOM dropped) and the watch below it."""
    watch = Watch(stream, codec)
    encoding = "utf-8-sig" if codec.name == "utf-8" else codec.name
    buffered = io.BufferedReader(watch, buffer_size=64 * 1024)
    text = io.TextIOWrapper(buffered, encoding=encoding, errors="surrogateescape", newline="")
    return text, watch


def bad_character(text: str, encoding: str) -> str | None:
    """Why ``text`` (decoded with surrogateescape) is not clean text, or None if it is."""
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return None
    char = match.group(0)
    if char == "\x00":
        return "a NUL byte"
    return f"not {encoding} (byte 0x{ord(char) - 0xDC00:02x})"


ENCODING_HINT = "set source.encoding, e.g. latin-1 or cp1252"
