"""CSV: a header row names the columns; every other row is one record of strings."""

from __future__ import annotations

import codecs
import csv
import itertools
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from calsink.records import Position, SourceItem
from calsink.sources._errors import SourceError
from calsink.sources._text import ENCODING_HINT, Watch, bad_character, open_text

if TYPE_CHECKING:
    from _csv import Reader

DELIMITERS = ",;\t|"
FIELD_SIZE_LIMIT = 128 * 1024 * 1024
_SAMPLE_LINES = 20
_SAMPLE_CHARS = 16 * 1024


def read_csv(
    stream: BinaryIO,
    label: str,
    codec: codecs.CodecInfo,
    delimiter: str | None,
    *,
    live: bool = False,
) -> Iterator[SourceItem]:
    """Read the header now (SourceError if it is unusable); return the rows as an iterator.

    A ``live`` stream (a pipe, a file being followed) hands lines over as they come: its
    delimiter is told from the header alone, not from rows that may not exist yet."""
    _allow_large_fields()
    text, watch = open_text(stream, codec)
    if delimiter is None:
        sample = _sample(text, header_only=live)
        delimiter = sniff_delimiter(sample)
        lines: Iterator[str] = itertools.chain(sample, text)
    else:
        lines = text
    feed = _Feed(lines)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    names, _ = _header(reader, label, delimiter, codec.name)
    return _rows(reader, feed, watch, label, names, codec.name)


class _Feed(Iterator[str]):
    """The lines given to the csv reader, numbered, with those of the record being read kept,
    so that a record an unbalanced quote ran on into the next lines can be read again."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._again: deque[str] = deque()
        self.number = 0
        self.held: list[str] = []

    def __next__(self) -> str:
        line = self._again.popleft() if self._again else next(self._lines)
        self.number += 1
        self.held.append(line)
        return line

    def start_record(self) -> None:
        self.held = []

    def read_again(self, lines: list[str], first_number: int) -> None:
        """Hand ``lines`` (numbered from ``first_number``) out again before the rest."""
        self._again.extendleft(reversed(lines))
        self.number = first_number - 1


def _sample(lines: Iterator[str], *, header_only: bool = False) -> list[str]:
    """The first lines, up to ``_SAMPLE_LINES`` lines or ``_SAMPLE_CHARS`` characters (up
    to the first line that is not blank: ``header_only``)."""
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if header_only and line.strip():
            break
        if len(sample) >= _SAMPLE_LINES or size >= _SAMPLE_CHARS:
            break
    return sample


def _allow_large_fields() -> None:
    # The limit is process-wide; it is only ever raised, so that a 10 MB cell can be read.
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)


def sniff_delimiter(sample_lines: list[str]) -> str:
    """The only candidate in the header line; csv.Sniffer's choice when there are several.

    A header without any candidate is one column (the delimiter does not matter).
    """
    header = next((line for line in sample_lines if line.strip()), "")
    present = [candidate for candidate in DELIMITERS if candidate in header]
    if len(present) <= 1:
        return present[0] if present else ","
    sample = "".join(sample_lines)[:_SAMPLE_CHARS]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(present)).delimiter
    except csv.Error:
        sniffed = ""
    return sniffed if sniffed in present else max(present, key=header.count)


def _header(reader: Reader, label: str, delimiter: str, encoding: str) -> tuple[list[str], int]:
    line_num = 0
    while True:
        start = line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            raise SourceError(
                f"{label}: no header row (the file is empty); "
                "the first line of a CSV file must name the columns"
            ) from None
        except csv.Error as exc:
            raise SourceError(
                f"{label}:{start}: cannot read the header row: {_describe(exc)}"
            ) from None
        line_num = reader.line_num
        if row:
            break
    bad = bad_character("".join(row), encoding)
    if bad:
        raise SourceError(f"{label}:{start}: cannot read the header row: {bad}; {ENCODING_HINT}")
    names = [name.strip() for name in row]
    empty = [str(number) for number, name in enumerate(names, 1) if not name]
    if empty:
        raise SourceError(
            f"{label}:{start}: column {', '.join(empty)} of the header row has no name; "
            f"name every column (a trailing {_show_delimiter(delimiter)} makes an empty "
            "last column)"
        )
    seen: dict[str, list[int]] = {}
    for number, name in enumerate(names, 1):
        seen.setdefault(name, []).append(number)
    duplicates = [
        f"{name!r} (columns {', '.join(map(str, cols))})"
        for name, cols in seen.items()
        if len(cols) > 1
    ]
    if duplicates:
        raise SourceError(
            f"{label}:{start}: the header row names the same column more than once: "
            f"{'; '.join(duplicates)}; give every column its own name"
        )
    return names, line_num


def _rows(
    reader: Reader,
    feed: _Feed,
    watch: Watch,
    label: str,
    names: list[str],
    encoding: str,
) -> Iterator[SourceItem]:
    width = len(names)
    index = 0
    next_row = reader.__next__
    delimiter = reader.dialect.delimiter
    while True:
        error: str | None = None
        start = feed.number + 1
        feed.start_record()
        try:
            row = next_row()
        except StopIteration:
            return
        except csv.Error as exc:
            row = []
            error = _describe(exc)
        end = feed.number
        if end > start and error is not None:
            # a quote opened on the first line ran on: that line alone is the bad record
            error = _unbalanced_quote(feed.held[0], delimiter, names, start, end)
            feed.read_again(feed.held[1:], start + 1)
        if error is None and len(row) == width and not watch.suspect:
            yield SourceItem(Position(label, index, start), dict(zip(names, row, strict=False)))
            index += 1
            continue
        if error is None and (not row or (width > 1 and len(row) == 1 and not row[0].strip())):
            continue
        if error is None and watch.suspect:
            error = _bad_field(row, names, encoding)
        position = Position(label, index, start)
        index += 1
        if error is not None:
            yield SourceItem(position, None, error)
        elif len(row) != width:
            fields = "1 field" if len(row) == 1 else f"{len(row)} fields"
            span = (
                f" (lines {start}–{end} were read as one record: a quoted field holds a line break)"
                if end > start
                else ""
            )
            yield SourceItem(position, None, f"row has {fields} but the header has {width}{span}")
        else:
            yield SourceItem(position, dict(zip(names, row, strict=True)))


def _unbalanced_quote(line: str, delimiter: str, names: list[str], start: int, end: int) -> str:
    # read alone, the line's last field is the one the open quote starts
    number = len(next(csv.reader([line], delimiter=delimiter), [""]))
    column = f"`{names[number - 1]}`" if number <= len(names) else f"column {number}"
    return (
        f"an unbalanced quote in {column} (field {number}): lines {start}–{end} were read as "
        f"one record; only line {start} is rejected and reading goes on at line {start + 1}; "
        'close the quote, or double it ("") where it is part of the text'
    )


def _bad_field(row: list[str], names: list[str], encoding: str) -> str | None:
    if bad_character("".join(row), encoding) is None:
        return None
    for number, value in enumerate(row, 1):
        reason = bad_character(value, encoding)
        if reason is not None:
            column = f"`{names[number - 1]}`" if number <= len(names) else f"column {number}"
            hint = "" if reason.startswith("a NUL") else f": {ENCODING_HINT}"
            return f"{reason} in {column} (field {number}){hint}"
    return None


def _describe(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return 'the file ends inside a quoted field (a closing " is missing)'
    if "field larger than field limit" in text:
        return f"a field is larger than {FIELD_SIZE_LIMIT // (1024 * 1024)} MB"
    return f"malformed CSV: {text}"


def _show_delimiter(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
        delimiter, repr(delimiter)
    )
