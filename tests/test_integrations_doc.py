"""docs/integrations.md as a user would run it: each ```python and ```bash block runs in a
fresh folder against the sandbox (with PostgreSQL, an S3 API and the Meltano example
project set up as the page assumes), sends each record once, and a second run sends
nothing more."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg
import pytest
import yaml
from tests.support.postgres import fresh_database
from tests.support.s3 import S3_ENV, running_s3, s3_client
from tests.support.sandbox import SandboxHandle

import calsink
from calsink.singer import TargetCalsink

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "integrations.md"
MELTANO = ROOT / "examples" / "meltano"
BIN = Path(sys.executable).parent


def doc_blocks() -> dict[str, list[tuple[str, str]]]:
    """(language, code) of each ```python / ```bash block, under the heading it follows."""
    blocks: dict[str, list[tuple[str, str]]] = {}
    for section in re.split(r"^## ", DOC.read_text(), flags=re.M)[1:]:
        heading = section.splitlines()[0].strip()
        found = re.findall(r"```(python|bash)\n(.*?)```", section, re.S)
        blocks[heading] = [(language, code) for language, code in found]
    return blocks


BLOCKS = doc_blocks()


def booked(sandbox: SandboxHandle) -> Counter[str]:
    return Counter(
        attendee["email"]
        for booking in sandbox.state()["bookings"]
        if booking["status"] != "cancelled"
        for attendee in booking.get("attendees", [])
    )


def run_block(
    heading: str, number: int, folder: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    language, code = BLOCKS[heading][number]
    script = folder / ("example.py" if language == "python" else "example.sh")
    script.write_text(code)
    command = [sys.executable, str(script)] if language == "python" else ["bash", "-e", str(script)]
    return subprocess.run(
        command,
        cwd=folder,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def twice_books_once(
    heading: str, number: int, folder: Path, env: dict[str, str], sandbox: SandboxHandle
) -> Counter[str]:
    first = run_block(heading, number, folder, env)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    emails = booked(sandbox)
    assert emails and set(emails.values()) == {1}, emails
    again = run_block(heading, number, folder, env)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert booked(sandbox) == emails, "the second run sent nothing"
    return emails


def sandbox_env(sandbox: SandboxHandle) -> dict[str, str]:
    return {"CAL_API_KEY": sandbox.api_key, "CAL_BASE_URL": sandbox.url}


def test_the_page_has_a_runnable_example_for_each_path() -> None:
    assert {heading: len(blocks) for heading, blocks in BLOCKS.items()} == {
        "dlt": 1,
        "SQL queries: DuckDB, PostgreSQL, SQLAlchemy": 2,
        "Files in object stores and behind URLs": 1,
        "Singer and Meltano": 1,
    }


@pytest.mark.e2e
def test_the_dlt_example(sandbox: SandboxHandle, tmp_path: Path) -> None:
    env = {
        "CAL_BASE_URL": sandbox.url,
        "DESTINATION__CALSINK__API_KEY": sandbox.api_key,  # dlt's secret, as documented
        "DLT_DATA_DIR": str(tmp_path / "dlt-data"),
    }
    emails = twice_books_once("dlt", 0, tmp_path, env, sandbox)
    assert set(emails) == {"ada@example.com", "grace@example.com"}


@pytest.mark.e2e
def test_the_duckdb_example(sandbox: SandboxHandle, tmp_path: Path) -> None:
    heading = "SQL queries: DuckDB, PostgreSQL, SQLAlchemy"
    emails = twice_books_once(heading, 0, tmp_path, sandbox_env(sandbox), sandbox)
    assert set(emails) == {"ada@example.com", "grace@example.com"}


@pytest.mark.e2e
def test_the_postgresql_example(sandbox: SandboxHandle, tmp_path: Path, postgres_url: str) -> None:
    database = fresh_database(postgres_url)
    with psycopg.connect(database) as db:
        db.execute(b"create table leads (name text, email text, start timestamptz)")
        db.execute(
            b"insert into leads values ('Ada', 'ada@example.com', '2030-01-07 14:00+00'),"
            b" ('Old', 'old@example.com', '2029-12-31 14:00+00')"
        )
    env = {**sandbox_env(sandbox), "DATABASE_URL": database}
    heading = "SQL queries: DuckDB, PostgreSQL, SQLAlchemy"
    assert twice_books_once(heading, 1, tmp_path, env, sandbox) == {"ada@example.com": 1}


@pytest.mark.e2e
def test_the_s3_example(sandbox: SandboxHandle, tmp_path: Path) -> None:
    csv = "name,email,start\nAda,ada@example.com,2030-01-07T14:00:00Z\n"
    with running_s3() as endpoint:
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket="crm-exports")
        s3.put_object(Bucket="crm-exports", Key="daily/leads.csv", Body=csv.encode())
        env = {**sandbox_env(sandbox), **S3_ENV, "AWS_ENDPOINT_URL_S3": endpoint}
        heading = "Files in object stores and behind URLs"
        assert twice_books_once(heading, 0, tmp_path, env, sandbox) == {"ada@example.com": 1}


@pytest.mark.e2e
def test_the_singer_example_pipes_the_meltano_project_tap_into_the_target(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    project = tmp_path / "meltano"
    shutil.copytree(MELTANO, project)
    emails = twice_books_once("Singer and Meltano", 0, project, sandbox_env(sandbox), sandbox)
    assert set(emails) == {"ada@example.com", "grace@example.com"}
    last = json.loads((project / "state.json").read_text().splitlines()[-1])
    assert "bookmarks" in last
    assert (project / ".calsink").is_dir(), "the ledger is in the project, beside the flow"


def test_the_meltano_project_names_only_settings_the_target_and_the_tap_know() -> None:
    project = yaml.safe_load((MELTANO / "meltano.yml").read_text())
    [loader] = project["plugins"]["loaders"]
    [extractor] = project["plugins"]["extractors"]
    known = set(TargetCalsink.config_jsonschema["properties"])
    assert {setting["name"] for setting in loader["settings"]} <= known
    assert set(loader["config"]) <= known
    assert loader["executable"] == "target-calsink"
    flow = loader["config"]["flows"]["leads"].replace("${MELTANO_PROJECT_ROOT}", str(MELTANO))
    assert calsink.load(flow).flow.name == "meltano-bookings"
    from tap_jsonl.tap import TapJsonl

    assert set(extractor["config"]) <= set(TapJsonl.config_jsonschema["properties"])
