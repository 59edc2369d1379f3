"""A real PostgreSQL server for the tests (the `pgserver` package: PostgreSQL 16, started in
a temporary folder, stopped after the session)."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator

import psycopg


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Start a PostgreSQL server in a temporary folder; yield its URL; stop it after."""
    import pgserver

    with tempfile.TemporaryDirectory(prefix="calsink-pg-") as folder:
        server = pgserver.get_server(folder, cleanup_mode="stop")
        try:
            yield str(server.get_uri())
        finally:
            server.cleanup()


def fresh_database(url: str) -> str:
    """A new, empty database on the server at ``url``: its URL (each test its own)."""
    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")
