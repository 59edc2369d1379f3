"""A SQL query's rows as records, fetched in chunks from DuckDB, PostgreSQL or SQLAlchemy.

``source: {query: "select ...", connection: URL}``. The connection decides the driver:

- ``duckdb:///file.db`` (relative to the flow's folder; opened read-only) or ``duckdb://``
  (in memory: ``select * from 'data/*.parquet'`` reads files, relative to the flow's folder);
- ``postgresql://`` or ``postgres://`` (psycopg 3, a server-side cursor in a read-only
  transaction);
- anything else is a SQLAlchemy URL (``sqlite:///x.db``, ``mysql+pymysql://...``), read
  with ``stream_results``.

Rows come ``CHUNK_ROWS`` at a time, so memory stays flat however many the query returns.
Positions read ``query:row N`` (N from 1). Values JSON has no type for become JSON ones
(see ``_values``). A query that cannot start (a syntax error, a missing table, no
server) raises SourceError before the first record; one that breaks later costs an item
saying so, after every row read before it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from calsink.records import Position, SourceItem
from calsink.sources._errors import SourceError
from calsink.sources._values import plain

__all__ = ["CHUNK_ROWS", "QUERY_LABEL", "RowPosition", "open_query", "shown_connection"]

CHUNK_ROWS = 4096
QUERY_LABEL = "query"

Batches = Iterator[Sequence[Sequence[Any]]]


class RowPosition(Position):
    """A row of a query's result: ``query:row 17`` (rows counted from 1)."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.source}:row {self.index + 1}"


def shown_connection(connection: str) -> str:
    """The connection URL with its password (if any) replaced by ``***``."""
    parts = urlsplit(connection)
    if parts.password is None:
        return connection
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def open_query(query: str, connection: str, base_dir: Path) -> Iterator[SourceItem]:
    """The rows of ``query``; SourceError (naming the connection, not its password) if the
    query cannot start."""
    where = f"query on {shown_connection(connection)}"
    scheme = connection.split(":", 1)[0].lower()
    opener: Callable[[str, str, Path], tuple[list[str], Batches, Callable[[], None]]]
    if scheme == "duckdb":
        opener = _duckdb
    elif scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        opener = _postgres
    else:
        opener = _sqlalchemy
    try:
        columns, batches, close = opener(query, connection, base_dir)
    except SourceError as exc:
        raise SourceError(f"{where}: {_screened(str(exc), connection)}") from None
    except Exception as exc:
        raise SourceError(
            f"{where}: the query failed: {_first_line(exc, connection)}; check source.query "
            "and source.connection"
        ) from None
    try:
        _check_columns(columns)
    except SourceError as exc:
        close()
        raise SourceError(f"{where}: {exc}") from None
    return _items(columns, batches, close, connection)


def _items(
    columns: list[str], batches: Batches, close: Callable[[], None], connection: str
) -> Iterator[SourceItem]:
    index = 0
    try:
        for batch in batches:
            for row in batch:
                record = {name: plain(value) for name, value in zip(columns, row, strict=True)}
                yield SourceItem(RowPosition(QUERY_LABEL, index), record)
                index += 1
    except Exception as exc:
        yield SourceItem(
            RowPosition(QUERY_LABEL, index),
            None,
            f"the rest of the query's rows cannot be read: {_first_line(exc, connection)}",
        )
    finally:
        close()


def _check_columns(columns: list[str]) -> None:
    twice = sorted({name for name in columns if columns.count(name) > 1})
    if twice:
        raise SourceError(
            f"the query returns {', '.join(f'`{name}`' for name in twice)} more than once; "
            "give each column its own name (select a.id as booking_id, ...)"
        )


def _first_line(exc: BaseException, connection: str) -> str:
    text = str(exc).strip().splitlines()
    return _screened(text[0] if text else type(exc).__name__, connection)


def _screened(text: str, connection: str) -> str:
    password = urlsplit(connection).password
    return text.replace(password, "***") if password else text


def _missing(package: str, extra: str, what: str) -> SourceError:
    return SourceError(f"{what} needs {package}: pip install 'calsink[{extra}]'")


# -- DuckDB ----------------------------------------------------------------------------------

# One thread: rows are fetched as fast as they are sent, far slower than DuckDB reads them,
# and each extra thread holds buffers of its own (a million rows peak 13 MB higher with
# the default of one per core).
_DUCKDB_SETTINGS: dict[str, str | bool | int | float | list[str]] = {"threads": 1}


def _duckdb(
    query: str, connection: str, base_dir: Path
) -> tuple[list[str], Batches, Callable[[], None]]:
    try:
        import duckdb
    except ImportError:
        raise _missing("duckdb", "duckdb", "a duckdb:// connection") from None
    target = connection.split(":", 1)[1].removeprefix("//").removeprefix("/")
    if target in ("", ":memory:"):
        database = duckdb.connect(":memory:", config=_DUCKDB_SETTINGS)
    else:
        path = Path(target).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise SourceError(f"no DuckDB file at {path}; check source.connection")
        database = duckdb.connect(str(path), read_only=True, config=_DUCKDB_SETTINGS)
    try:
        database.execute("SET file_search_path = ?", [str(base_dir)])
        cursor = database.execute(query)
        columns = [column[0] for column in cursor.description or ()]
    except BaseException:
        database.close()
        raise
    return columns, _fetching(cursor.fetchmany), database.close


def _fetching(fetchmany: Callable[[int], Sequence[Sequence[Any]]]) -> Batches:
    while batch := fetchmany(CHUNK_ROWS):
        yield batch


# -- PostgreSQL ------------------------------------------------------------------------------


def _postgres(
    query: str, connection: str, base_dir: Path
) -> tuple[list[str], Batches, Callable[[], None]]:
    try:
        import psycopg
    except ImportError:
        raise _missing("psycopg", "postgresql", "a postgresql:// connection") from None
    conninfo = "postgresql:" + connection.split(":", 1)[1]
    database = psycopg.connect(conninfo, connect_timeout=10)
    try:
        database.read_only = True
        cursor = database.cursor(name="calsink_source")
        cursor.execute(query.encode())
        columns = [column.name for column in cursor.description or ()]
    except BaseException:
        database.close()
        raise

    def close() -> None:
        with contextlib.suppress(Exception):
            cursor.close()
        database.close()

    return columns, _fetching(cursor.fetchmany), close


# -- SQLAlchemy ------------------------------------------------------------------------------


def _sqlalchemy(
    query: str, connection: str, base_dir: Path
) -> tuple[list[str], Batches, Callable[[], None]]:
    try:
        import sqlalchemy
    except ImportError:
        raise _missing(
            "SQLAlchemy", "sql", f"a {connection.split(':', 1)[0]}:// connection"
        ) from None
    try:
        engine = sqlalchemy.create_engine(connection)
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError):
        raise SourceError(
            "not a connection calsink knows: use duckdb://, postgresql:// or a SQLAlchemy URL "
            "whose driver is installed"
        ) from None
    database = engine.connect()
    try:
        result = database.execution_options(stream_results=True).exec_driver_sql(query)
        columns = list(map(str, result.keys()))
    except BaseException:
        database.close()
        engine.dispose()
        raise

    def close() -> None:
        database.close()
        engine.dispose()

    return columns, _fetching(result.fetchmany), close
