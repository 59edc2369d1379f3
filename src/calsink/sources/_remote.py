"""A source file behind a URL (https, http to loopback, s3, gs), streamed through fsspec.

``source.path`` may be ``https://host/leads.csv``, ``s3://bucket/leads.jsonl`` or
``gs://bucket/leads.parquet`` (plain ``http://`` only to this machine, as for the API).
The file is read as it arrives, a block at a time, never downloaded whole: CSV and JSON
in ``TEXT_BLOCK`` blocks, Parquet with ranged reads. Credentials come from where the
storage's own tools look (for S3 the AWS environment variables, profile or instance role;
``AWS_ENDPOINT_URL_S3`` for another endpoint; for GCS the application default
credentials), never from the URL: a ``user:password@`` in it is refused.

A URL that does not answer, or answers 403/404, stops the flow before the first record;
a download that breaks off mid-file ends the source there: the rows read before the break
are sent, the break is a rejected item saying how far the download got, and the next run
sends the rest.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from calsink.records import Position, SourceItem
from calsink.sources._errors import SourceError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["SCHEMES", "DownloadBroken", "is_url", "open_url", "until_broken", "url_suffix"]

SCHEMES = ("https", "http", "s3", "gs")
TEXT_BLOCK = 1024 * 1024


def is_url(path: str) -> bool:
    return "://" in path and path.split("://", 1)[0].lower() in SCHEMES


def url_suffix(url: str) -> str:
    """The extension of the URL's path (``.csv``), its query string left aside."""
    return PurePosixPath(urlsplit(url).path).suffix


def open_url(url: str, file_format: str) -> BinaryIO:
    """The file at ``url``, opened for streaming; SourceError naming the URL if it cannot be."""
    _check(url)
    try:
        import fsspec
    except ImportError:
        raise SourceError(
            f"{url}: reading a URL needs fsspec: pip install 'calsink[remote]'"
        ) from None
    scheme = url.split("://", 1)[0].lower()
    try:
        filesystem, where = fsspec.core.url_to_fs(url)
        remote = filesystem.open(where, "rb", **_options(scheme, file_format))
    except FileNotFoundError as exc:
        raise SourceError(f"{url}: {_not_opened(exc)}") from None
    except PermissionError:
        raise SourceError(
            f"{url}: access denied; check the credentials in the environment"
        ) from None
    except ImportError as exc:
        raise SourceError(f"{url}: {exc}; pip install 'calsink[remote]'") from None
    except Exception as exc:
        raise SourceError(f"{url}: cannot open it: {_reason(exc)}") from None
    if file_format == "parquet":
        return remote  # type: ignore[no-any-return]  # seekable: pyarrow reads ranges
    return io.BufferedReader(_Download(remote, url), TEXT_BLOCK)


class DownloadBroken(SourceError):
    """The connection failed in the middle of the file."""


def until_broken(items: Iterator[SourceItem], url: str) -> Iterator[SourceItem]:
    """The items of a download; a break in the middle is one last item saying so (a
    rejection at the position after the last row read), so that every row before it is
    sent and the run accounts for the break."""
    index = 0
    try:
        for item in items:
            index = item.position.index + 1
            yield item
    except DownloadBroken as exc:
        yield SourceItem(Position(url, index), None, str(exc))


def _check(url: str) -> None:
    from calsink.http.urls import is_loopback

    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise SourceError(
            f"{parts.scheme}://{parts.hostname}{parts.path}: credentials in the URL are refused; "
            "give them in the environment (AWS_ACCESS_KEY_ID, a profile, a token)"
        )
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname or ""):
        raise SourceError(f"{url}: plain http is only for this machine (127.0.0.1); use https")


def _options(scheme: str, file_format: str) -> dict[str, Any]:
    if scheme in ("http", "https"):
        # text formats are read once, front to back: a plain streaming GET, no range requests
        return {} if file_format == "parquet" else {"block_size": 0}
    if file_format == "parquet":
        return {"block_size": 4 * TEXT_BLOCK, "cache_type": "readahead"}
    return {"block_size": TEXT_BLOCK, "cache_type": "none"}


def _not_opened(exc: FileNotFoundError) -> str:
    """fsspec's HTTP answers every failure to open with FileNotFoundError: a 404, but also
    a refused connection or a certificate that does not verify, which its cause tells."""
    cause = exc.__cause__ or exc.__context__
    status = getattr(cause, "status", None)
    if cause is None or status == 404:
        return "not found (404 or no such object); check source.path"
    if isinstance(status, int):
        return f"the server answered HTTP {status}; check source.path and the credentials"
    return f"cannot open it: {_reason(cause)}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Download(io.RawIOBase):
    """A remote file as a raw stream whose failures name the URL and how far it got."""

    def __init__(self, remote: Any, url: str) -> None:
        super().__init__()
        self._remote = remote
        self._url = url
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._remote.read(len(view))
        except Exception as exc:
            raise DownloadBroken(
                f"the download broke off after {self._count:,} bytes ({_reason(exc)}); the "
                "rows before it were read, run again to send the rest"
            ) from None
        view[: len(data)] = data
        self._count += len(data)
        return len(data)

    def close(self) -> None:
        try:
            self._remote.close()
        finally:
            super().close()
