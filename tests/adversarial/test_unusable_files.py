"""A ledger, responses file or dead-letter file calsink cannot open: one line saying which
and what to do, exit 2, nothing sent — never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

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


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_a_ledger_to_look_path_parameters_up_in_that_cannot_be_opened_is_named(
    command: str, tmp_path: Path
) -> None:
    """A cancel flow takes each booking's uid from the ledger of the flow that booked it."""
    folder = flow_folder(tmp_path)
    (folder / "cancel.yaml").write_text(
        "version: 1\nname: cancels\nsource: {path: leads.csv}\ntransform: {map: {}}\n"
        "destination:\n  api_key_env: CAL_API_KEY\n  template: cancel-booking\n"
        "  params: {uid: {flow: files, key: [email, start]}}\n"
        "delivery: {key: [email, start]}\n"
    )
    not_a_database(folder)
    for ledger in ([], ["--ledger", ".calsink/ledger.db"]):
        result = calsink(command, "cancel.yaml", *ledger, cwd=folder, env=environment("k"))
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert f"cannot open the ledger {folder / '.calsink' / 'ledger.db'}" in result.stderr


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["retry", "status"])
def test_a_dead_letter_file_that_cannot_be_read_is_named_with_what_to_do(
    command: str, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    folder = flow_folder(tmp_path)
    _, path = a_folder_as_the_dead_letters_file(folder)
    url = ["--base-url", sandbox.url] if command == "retry" else []
    result = calsink(command, "flow.yaml", *url, cwd=folder, env=environment(sandbox.api_key))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{path}: the dead-letter file cannot be read (Is a directory)" in result.stderr
    assert sandbox.requests() == []


def a_folder_as_responses_file(folder: Path) -> tuple[str, str]:
    (folder / "out" / "responses.jsonl").mkdir(parents=True)
    return "responses.jsonl", str(folder / "out" / "responses.jsonl")


def a_file_as_the_dead_letters_folder(folder: Path) -> tuple[str, str]:
    with (folder / "flow.yaml").open("a") as flow:
        flow.write("dead_letters: kept/dead-letters.jsonl\n")
    (folder / "kept").write_text("a file where the dead letters' folder goes\n")
    return "dead_letters", str(folder / "kept")


def a_folder_as_the_dead_letters_file(folder: Path) -> tuple[str, str]:
    (folder / "out" / "files.dead-letters.jsonl").mkdir(parents=True)
    return "dead_letters", str(folder / "out" / "files.dead-letters.jsonl")


@pytest.mark.e2e
@pytest.mark.parametrize(
    "breaks",
    [
        a_folder_as_responses_file,
        a_file_as_the_dead_letters_folder,
        a_folder_as_the_dead_letters_file,
    ],
)
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


@pytest.mark.e2e
def test_a_dead_letter_line_broken_by_hand_is_named_kept_and_never_stops_a_run(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    import calsink as library
    from calsink.errors import DeadLetterError

    folder = flow_folder(tmp_path)
    (folder / "leads.csv").write_text(
        "name,email,start\nBad,not-an-email,2030-01-07T15:00:00Z\n"
        "Ada,ada@example.com,2030-01-08T15:00:00Z\n"
    )
    env = environment(sandbox.api_key)
    first = calsink_cli("run", folder, sandbox)
    assert first.returncode == 1, first.stderr  # one rejected
    dead = folder / "out" / "files.dead-letters.jsonl"
    with dead.open("ab") as letters:
        letters.write(b'{"flow": "files", "outcome": "rejected", "reason": "cut sho\n')

    again = calsink_cli("run", folder, sandbox)
    lines = dead.read_bytes().splitlines()
    (number,) = [n for n, line in enumerate(lines, 1) if b"cut sho" in line]  # kept as it was
    broken = f"{dead}:{number}: this dead letter cannot be read"
    assert again.returncode == 1 and "Traceback" not in again.stderr, again.stderr
    assert f"note: {broken}" in again.stdout + again.stderr, again.stderr.splitlines()

    sent_before = len(sandbox.requests())
    for command in ("retry", "status"):
        url = ["--base-url", sandbox.url] if command == "retry" else []
        result = calsink(command, "flow.yaml", *url, cwd=folder, env=env)
        assert result.returncode == 2, result.stderr
        assert broken in result.stderr and "Traceback" not in result.stderr
        assert "fix the line as calsink wrote it, or remove it" in result.stderr
    assert len(sandbox.requests()) == sent_before  # retry sent nothing

    with pytest.raises(DeadLetterError, match=f":{number}: this dead letter cannot be read"):
        list(library.dead_letters(dead))
    skipped: list[DeadLetterError] = []
    readable = list(library.dead_letters(dead, on_unreadable=skipped.append))
    assert [str(letter.position) for letter in readable] == ["leads.csv:2"] and len(skipped) == 1


def calsink_cli(command: str, folder: Path, sandbox: SandboxHandle) -> CompletedProcess[str]:
    return calsink(
        command,
        "flow.yaml",
        "--base-url",
        sandbox.url,
        cwd=folder,
        env=environment(sandbox.api_key),
    )
