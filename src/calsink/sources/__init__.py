"""Sources: the records of a file or of stdin, streamed, each with its position.

``open_source`` reads CSV, JSON Lines, a JSON array or Parquet, never the whole
file at once, and yields one ``SourceItem`` per record: the record, or the reason
the row could not be read (a malformed row is a rejection, not the end of the run).

- The format comes from ``source.format`` or the extension: ``.csv``, ``.tsv``
  (tab-delimited), ``.jsonl``/``.ndjson``, ``.json`` (an array), ``.parquet``.
  On stdin (``path: "-"``) without ``format``, the first non-space byte decides:
  ``{`` means JSON Lines, ``[`` a JSON array, anything else CSV; an empty stdin
  has no records. Parquet cannot be read from stdin.
- A file of zero bytes has no records (whatever its format).
- CSV: a header row is required (unless the file is empty); header names are
  stripped of surrounding spaces; an empty or a repeated header name makes the
  source unusable (SourceError naming the columns). Values stay strings (an empty
  cell is ``""``). The delimiter is ``source.delimiter``, else the only one of ``, ; tab |`` in the
  header line, else csv.Sniffer's guess. Blank lines are skipped. A UTF-8 BOM is
  dropped. Fields may be as large as 128 MB (the csv module's process-wide field
  limit is raised to that if it is lower).
- JSON: a record whose lists and objects nest deeper than 100 levels is rejected
  (naming the field) and reading goes on with the next item or line.
- Positions: ``file:line`` (the line the record starts on) for CSV and JSON Lines,
  ``file[index]`` for JSON arrays and Parquet. ``Position.source`` is the path as
  the flow file wrote it, or ``stdin``.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from calsink.flow import SourceSettings
from calsink.records import SourceItem
from calsink.sources._csv import read_csv
from calsink.sources._errors import SourceError
from calsink.sources._json_array import read_json_array
from calsink.sources._jsonl import read_jsonl
from calsink.sources._parquet import read_parquet
from calsink.sources._remote import is_url
from calsink.sources._text import check_encoding, check_start, read_available

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["EXTENSIONS", "SourceError", "SourceReader", "open_source"]

EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}
STDIN_LABEL = "stdin"
_PEEK = 64 * 1024


class SourceReader(Iterator[SourceItem]):
    """The items of one source; closes the file when exhausted, closed or used as a context."""

    def __init__(self, items: Iterator[SourceItem], close: Callable[[], None]) -> None:
        self._close = close
        self._closed = False
        self._items = _closing(items, close)

    def __iter__(self) -> Iterator[SourceItem]:
        return self._items

    def __next__(self) -> SourceItem:
        return next(self._items)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._items.close()
        finally:
            self._close()

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _closing(
    items: Iterator[SourceItem], close: Callable[[], None]
) -> Generator[SourceItem, None, None]:
    try:
        yield from items
    finally:
        close()


def open_source(
    settings: SourceSettings, base_dir: Path, *, stdin: BinaryIO | None = None
) -> Iterator[SourceItem]:
    """The records of ``settings.path`` (or stdin for ``-``); SourceError if it cannot be read.

    The file is opened, and a CSV header read, before this returns, so that an
    unusable source is refused before the first record.
    """
    if settings.query is not None and settings.connection is not None:
        from calsink.sources._query import open_query

        return open_query(settings.query, settings.connection, base_dir)
    if settings.path is None:
        raise SourceError(
            f"source `calcom: {settings.calcom}` is read from Cal.com when the flow runs; "
            f"to check records offline, save them with `calsink source {settings.calcom} "
            f"-o {settings.calcom}.jsonl` and point source.path at that file"
        )
    codec = check_encoding(settings.encoding, settings.path)
    if settings.path == "-":
        return _open_stdin(settings, stdin if stdin is not None else sys.stdin.buffer, codec)
    label = settings.path
    if is_url(label):
        return _open_url(settings, codec)
    path = Path(settings.path).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    file_format = settings.format or EXTENSIONS.get(path.suffix.lower())
    if file_format is None:
        raise SourceError(
            f"{label}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            f"name the file {', '.join(EXTENSIONS)} or set source.format "
            "(csv, jsonl, json or parquet)"
        )
    try:
        file = path.open("rb")
    except FileNotFoundError:
        raise SourceError(f"{label}: no such file (looked for {path}); check source.path") from None
    except IsADirectoryError:
        raise SourceError(f"{label}: is a directory; source.path must name a file") from None
    except OSError as exc:
        raise SourceError(f"{label}: cannot open the file: {exc.strerror or exc}") from None
    if _is_empty_file(file):  # zero bytes: no records (a CSV without even a header row)
        file.close()
        return SourceReader(iter(()), lambda: None)
    try:
        if file_format == "parquet":
            items = read_parquet(file, path, label)
        else:
            check_start(file.peek(4)[:4], codec, label)
            delimiter = settings.delimiter or ("\t" if path.suffix.lower() == ".tsv" else None)
            items = _read_text(file_format, file, label, codec, delimiter)
    except BaseException:
        file.close()
        raise
    return SourceReader(items, file.close)


def _open_url(settings: SourceSettings, codec: codecs.CodecInfo) -> SourceReader:
    from calsink.sources._remote import DownloadBroken, open_url, until_broken, url_suffix

    url = str(settings.path)
    suffix = url_suffix(url).lower()
    file_format = settings.format or EXTENSIONS.get(suffix)
    if file_format is None:
        raise SourceError(
            f"{url}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            "set source.format (csv, jsonl, json or parquet)"
        )
    file = open_url(url, file_format)
    try:
        if file_format == "parquet":
            items = read_parquet(file, Path(url_suffix(url) or "remote"), url)
        else:
            assert isinstance(file, io.BufferedReader)
            check_start(file.peek(4)[:4], codec, url)
            delimiter = settings.delimiter or ("\t" if suffix == ".tsv" else None)
            items = until_broken(_read_text(file_format, file, url, codec, delimiter), url)
    except DownloadBroken as exc:
        file.close()
        raise SourceError(f"{url}: {exc}") from None
    except BaseException:
        file.close()
        raise
    return SourceReader(items, file.close)


def _is_empty_file(file: BinaryIO) -> bool:
    status = os.fstat(file.fileno())
    return stat.S_ISREG(status.st_mode) and status.st_size == 0


def _open_stdin(
    settings: SourceSettings, stream: BinaryIO, codec: codecs.CodecInfo
) -> SourceReader:
    if settings.format == "parquet":
        raise SourceError(
            "stdin: Parquet cannot be read from stdin (it needs to seek); write it to a file "
            "and set source.path to it"
        )
    head = _read_head(stream)
    check_start(head[:4], codec, STDIN_LABEL)
    if settings.format is None and not head.lstrip(b"\xef\xbb\xbf \t\r\n"):
        return SourceReader(iter(()), lambda: None)
    buffered = io.BufferedReader(_Prefixed(head, stream))
    file_format = settings.format or _guess_format(head)
    items = _read_text(file_format, buffered, STDIN_LABEL, codec, settings.delimiter, live=True)
    return SourceReader(items, lambda: None)


def _read_head(stream: BinaryIO) -> bytes:
    """The first bytes of stdin, enough to see a BOM and the first character of a record,
    without waiting for more than a live pipe has sent."""
    head = b""
    while len(head) < _PEEK:
        data = read_available(stream, _PEEK - len(head))
        if not data:
            break
        head += data
        if head.lstrip(b"\xef\xbb\xbf \t\r\n") and len(head) >= 4:
            break
    return head


def _guess_format(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "json"
    return "csv"


def _read_text(
    file_format: str,
    stream: BinaryIO,
    label: str,
    codec: codecs.CodecInfo,
    delimiter: str | None,
    *,
    live: bool = False,
) -> Iterator[SourceItem]:
    if file_format == "csv":
        return read_csv(stream, label, codec, delimiter, live=live)
    if file_format == "jsonl":
        return read_jsonl(stream, label, codec)
    return read_json_array(stream, label, codec)


class _Prefixed(io.RawIOBase):
    """A raw stream that gives back the bytes already read from the front of another."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = read_available(self._rest, len(view))
        view[: len(data)] = data
        return len(data)
