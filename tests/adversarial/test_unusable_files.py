"""A ledger, responses file or dead-letter file calsink cannot open: one line saying which
and what to do, exit 2, nothing sent — never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.cli import calsink, environment
from tests.support.sandbox import SandboxHandle

FLOW = """\
version: 1
name: files
source: {path: leads.csv}
transform:
  map:
    start: "{start}"
    eventTypeId: 1
    attendee: {name: "{name}", email: "{email}", timeZone: UTC}
destination: {api_key_env: CAL_API_KEY, template: create-booking}
delivery: {key: [email, start]}
responses: {jsonl: out/responses.jsonl}
"""


def flow_folder(tmp_path: Path) -> Path:
    (tmp_path / "leads.csv").write_text(
        "name,email,start\nAda,ada@example.com,2030-01-07T15:00:00Z\n"
    )
    (tmp_path / "flow.yaml").write_text(FLOW)
    return tmp_path


def not_a_database(folder: Path) -> None:
    (folder / ".calsink").mkdir()
    (folder / ".calsink" / "ledger.db").write_text("notes, not a ledger\n" * 20)


def a_folder_as_ledger(folder: Path) -> None:
    (folder / ".calsink" / "ledger.db").mkdir(parents=True)


@pytest.mark.e2e
@pytest.mark.parametrize("breaks", [not_a_database, a_folder_as_ledger])
@pytest.mark.parametrize("command", ["run", "retry", "test", "status"])
def test_a_ledger_that_cannot_be_opened_is_named_with_what_to_do(
    command: str, breaks: Callable[[Path], None], sandbox: SandboxHandle, tmp_path: Path
) -> None:
    folder = flow_folder(tmp_path)
    breaks(folder)
    url = ["--base-url", sandbox.url] if command != "status" else []
    result = calsink(command, "flow.yaml", *url, cwd=folder, env=environment(sandbox.api_key))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"cannot open the ledger {folder / '.calsink' / 'ledger.db'}" in result.stderr
    assert "Restore it from a backup" in result.stderr
    assert sandbox.requests() == []


def a_folder_as_responses_file(folder: Path) -> tuple[str, str]:
    (folder / "out" / "responses.jsonl").mkdir(parents=True)
    return "responses.jsonl", str(folder / "out" / "responses.jsonl")


def a_file_as_the_dead_letters_folder(folder: Path) -> tuple[str, str]:
    with (folder / "flow.yaml").open("a") as flow:
        flow.write("dead_letters: kept/dead-letters.jsonl\n")
    (folder / "kept").write_text("a file where the dead letters' folder goes\n")
    return "dead_letters", str(folder / "kept")


@pytest.mark.e2e
@pytest.mark.parametrize("breaks", [a_folder_as_responses_file, a_file_as_the_dead_letters_folder])
def test_a_file_the_run_writes_that_cannot_be_opened_stops_it_before_sending(
    breaks: Callable[[Path], tuple[str, str]], sandbox: SandboxHandle, tmp_path: Path
) -> None:
    folder = flow_folder(tmp_path)
    setting, path = breaks(folder)
    result = calsink(
        "run", "flow.yaml", "--base-url", sandbox.url, cwd=folder, env=environment(sandbox.api_key)
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{setting}: cannot write {path}" in result.stderr
    assert "nothing was sent" in result.stderr
    assert sandbox.requests() == []
