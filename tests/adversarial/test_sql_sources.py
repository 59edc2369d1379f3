"""`source: {query, connection}`: rows of a SQL query against DuckDB files made here, a real
PostgreSQL on 127.0.0.1 and SQLite through SQLAlchemy, sent by the real CLI to the sandbox;
a query that fails, before or in the middle of its rows, and a column the map needs that
the query does not return."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import psycopg
import pytest
from tests.adversarial.harness import (
    all_text,
    assert_adds_up,
    booked_emails,
    cli,
    dead_letters,
    lead_rows,
    summary,
    write_flow,
)
from tests.support.postgres import fresh_database
from tests.support.sandbox import SandboxHandle

import calsink
from calsink.sources import _query

LEADS_SQL = "select name, email, start from leads order by email"


def query_flow(folder: Path, sandbox: SandboxHandle, query: str, connection: str) -> Path:
    flow = write_flow(folder, sandbox, source="-", key="[email]")
    source = json.dumps({"query": query, "connection": connection})
    flow.write_text(flow.read_text().replace("source: {path: -}", f"source: {source}"))
    return flow


def duckdb_leads(path: Path, count: int, *, bad_email_at: int | None = None) -> None:
    with duckdb.connect(str(path)) as db:
        db.execute("create table leads (name text, email text, start timestamptz)")
        for i, (name, email, start) in enumerate(lead_rows(count)):
            address = "not-an-email" if i == bad_email_at else email
            db.execute("insert into leads values (?, ?, ?)", [name, address, start])


def postgres_leads(url: str, count: int) -> str:
    database = fresh_database(url)
    with psycopg.connect(database) as db:
        db.execute(b"create table leads (name text, email text, start timestamptz)")
        for name, email, start in lead_rows(count):
            db.execute(b"insert into leads values (%s, %s, %s)", (name, email, start))
    return database


def every_lead_once(count: int) -> dict[str, int]:
    return {f"lead{i}@example.com": 1 for i in range(count)}


@pytest.mark.e2e
def test_a_duckdb_query_books_each_row_once_and_names_rows_query_row_n(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    duckdb_leads(tmp_path / "crm.duckdb", 5, bad_email_at=2)
    flow = query_flow(tmp_path, sandbox, LEADS_SQL, "duckdb:///crm.duckdb")

    first = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    again = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)

    counts = summary(first)
    assert_adds_up(counts)
    assert (counts["delivered"], counts["rejected"]) == (4, 1), first.stdout + first.stderr
    assert summary(again)["skipped"] == 4
    assert booked_emails(sandbox) == {f"lead{i}@example.com": 1 for i in (0, 1, 3, 4)}
    [letter] = dead_letters(tmp_path)
    assert letter["position"]["text"] == "query:row 5"  # ordered by email: not-an-email last
    assert letter["field"] and "email" in letter["field"]


@pytest.mark.e2e
def test_duckdb_in_memory_reads_a_csv_glob(sandbox: SandboxHandle, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    for part, rows in enumerate((lead_rows(2), lead_rows(2, first=2))):
        lines = ["name,email,start", *(",".join(row) for row in rows)]
        (tmp_path / "exports" / f"part{part}.csv").write_text("\n".join(lines) + "\n")
    flow = query_flow(
        tmp_path,
        sandbox,
        "select name, email, start from read_csv('exports/*.csv') order by email",
        "duckdb://",
    )

    result = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)

    assert summary(result)["delivered"] == 4, result.stdout + result.stderr
    assert booked_emails(sandbox) == every_lead_once(4)


@pytest.mark.e2e
def test_a_postgresql_query_books_each_row_once_and_a_rerun_sends_nothing(
    sandbox: SandboxHandle, tmp_path: Path, postgres_url: str
) -> None:
    database = postgres_leads(postgres_url, 6)
    flow = query_flow(tmp_path, sandbox, LEADS_SQL, database)

    first = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    again = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)

    assert summary(first)["delivered"] == 6, first.stdout + first.stderr
    assert summary(again)["skipped"] == 6
    assert booked_emails(sandbox) == every_lead_once(6)


@pytest.mark.e2e
def test_sqlite_through_sqlalchemy(sandbox: SandboxHandle, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "crm.sqlite") as db:
        db.execute("create table leads (name text, email text, start text)")
        db.executemany("insert into leads values (?, ?, ?)", lead_rows(3))
    flow = query_flow(tmp_path, sandbox, LEADS_SQL, f"sqlite:///{tmp_path / 'crm.sqlite'}")

    result = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)

    assert summary(result)["delivered"] == 3, result.stdout + result.stderr
    assert booked_emails(sandbox) == every_lead_once(3)


def test_a_query_without_a_delivery_key_is_refused_at_load(tmp_path: Path) -> None:
    flow = query_flow(tmp_path, "http://127.0.0.1:9", LEADS_SQL, "duckdb://")  # type: ignore[arg-type]
    flow.write_text(flow.read_text().replace("key: [email], ", ""))

    with pytest.raises(calsink.FlowError) as refused:
        calsink.load(flow)

    assert "`delivery.key` is required with `source.query`" in str(refused.value)
    result = cli("validate", str(flow), key="unused", cwd=tmp_path)
    assert result.returncode == 2 and "delivery.key" in result.stdout + result.stderr


@pytest.mark.e2e
def test_a_failing_query_is_refused_naming_the_source_without_its_password(
    sandbox: SandboxHandle, tmp_path: Path, postgres_url: str
) -> None:
    database = postgres_leads(postgres_url, 1)
    with_password = database.replace("postgres@", "postgres:${PG_PASSWORD}@")
    flow = query_flow(tmp_path, sandbox, "select * from no_such_table", with_password)

    result = cli(
        "run", str(flow), key=sandbox.api_key, cwd=tmp_path, env={"PG_PASSWORD": "s3cret-pw-77"}
    )

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "query on postgresql://postgres:***@127.0.0.1" in output
    assert "no_such_table" in output and "does not exist" in output
    assert "s3cret-pw-77" not in output
    assert not booked_emails(sandbox)


@pytest.mark.e2e
def test_a_connection_password_from_the_environment_is_written_nowhere(
    sandbox: SandboxHandle, tmp_path: Path, postgres_url: str
) -> None:
    database = postgres_leads(postgres_url, 2)
    with_password = database.replace("postgres@", "postgres:${PG_PASSWORD}@")
    flow = query_flow(tmp_path, sandbox, LEADS_SQL, with_password)
    flow.write_text(flow.read_text().replace("[email]", "[email, nope]"))  # a rejection too
    env = {"PG_PASSWORD": "s3cret-pw-78"}

    runs = [
        cli(*command, str(flow), key=sandbox.api_key, cwd=tmp_path, env=env)
        for command in (("run", "--json"), ("status",), ("validate",))
    ]

    assert summary(runs[0])["rejected"] == 2, runs[0].stdout + runs[0].stderr
    for result in runs:
        assert "s3cret-pw-78" not in result.stdout + result.stderr
    assert "s3cret-pw-78" not in all_text(tmp_path)


@pytest.mark.e2e
def test_a_column_the_map_needs_is_named_for_each_row_and_nothing_is_sent(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    duckdb_leads(tmp_path / "crm.duckdb", 2)
    flow = query_flow(
        tmp_path, sandbox, "select name, email from leads order by email", "duckdb:///crm.duckdb"
    )

    result = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)

    assert result.returncode == 1
    assert summary(result)["rejected"] == 2
    letters = dead_letters(tmp_path)
    assert [letter["position"]["text"] for letter in letters] == ["query:row 1", "query:row 2"]
    assert all("start" in letter["reason"] for letter in letters), letters
    assert not booked_emails(sandbox)


@pytest.mark.e2e
def test_a_query_that_breaks_mid_stream_keeps_what_was_delivered_and_the_rerun_sends_the_rest(
    sandbox: SandboxHandle, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_query, "CHUNK_ROWS", 2)
    database = postgres_leads(postgres_url, 6)
    monkeypatch.chdir(tmp_path)
    breaking = (
        "select name, email, start, 1 / (case when email = 'lead4@example.com' then 0 else 1 end)"
        " as ok from (select * from leads order by email) as sorted"
    )
    flow = query_flow(tmp_path, sandbox, breaking, database)

    first = calsink.run(flow, api_key=sandbox.api_key)

    assert first.summary.delivered == 4 and first.summary.rejected == 1, first.summary
    [letter] = dead_letters(tmp_path)
    assert letter["position"]["text"] == "query:row 5"
    assert "the rest of the query's rows cannot be read: division by zero" in letter["reason"]
    assert booked_emails(sandbox) == every_lead_once(4)

    flow.write_text(flow.read_text().replace("then 0 else", "then 1 else"))
    second = calsink.run(flow, api_key=sandbox.api_key)

    assert (second.summary.skipped, second.summary.delivered) == (4, 2), second.summary
    assert booked_emails(sandbox) == every_lead_once(6)
