"""A real PostgreSQL 16 for tests, listening on 127.0.0.1, started once per test session.

    def test_x(postgres_url: str) -> None:
        with psycopg.connect(postgres_url) as db: ...

`postgres_url` (registered in tests/conftest.py) is ``postgresql://postgres@127.0.0.1:PORT/
postgres`` with trust authentication; each test makes the tables it needs under names of
its own (or `fresh_database` for a database of its own). The server comes from the
`pgserver` package (its binaries ship in the wheel): `get_server` initialises the data
folder (as an unprivileged system user when the tests run as root) and starts it on a
Unix socket, and it is restarted here on a free TCP port of 127.0.0.1.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .ports import free_port


@contextmanager
def running_postgres() -> Iterator[str]:
    """A PostgreSQL server with its data in a new temporary folder; yields its URL, stops
    the server and deletes the folder after.

    The folder is made with `tempfile.mkdtemp` rather than under pytest's own temporary
    folder, which (as root) only root may enter and the server's user could not reach."""
    folder = Path(tempfile.mkdtemp(prefix="calsink-postgres-"))
    with warnings.catch_warnings():  # platformdirs on XDG_RUNTIME_DIR, unset in CI
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {server.pgdata}"
    pgserver.pg_ctl(
        ["-w", "-o", options, "-l", str(server.log), "restart"],
        pgdata=server.pgdata,
        user=server.system_user,
        timeout=30,
    )
    server.ensure_postgres_running()  # the handle follows the restarted server, to stop it
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(url: str) -> str:
    """A new, empty database on the server of ``url``; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    return url.rsplit("/", 1)[0] + f"/{name}"
