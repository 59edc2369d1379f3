"""A flow's relative paths (source, ledger, dead letters, responses) are relative to the
flow file's directory, whatever directory `calsink` is started from: one flow file run
from two working directories has one ledger beside it and sends each record's effect once."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.adversarial.harness import (
    assert_adds_up,
    booked_emails,
    cli,
    lead_rows,
    summary,
    write_flow,
)
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

LEADS = 12


def flow_with_default_outputs(folder: Path, sandbox: SandboxHandle) -> Path:
    """A flow reading ``leads.csv`` beside it, with the ledger and dead letters left at their
    defaults and the responses written to a relative path."""
    rows = lead_rows(LEADS)
    lines = ["name,email,start", *(f"{n},{e},{s}" for n, e, s in rows)]
    lines.append("Bad Lead,bad@example.com,not-a-time")
    folder.mkdir(parents=True)
    (folder / "leads.csv").write_text("\n".join(lines) + "\n")
    flow = write_flow(folder, sandbox, source="leads.csv")
    kept = [
        line
        for line in flow.read_text().splitlines()
        if not line.startswith(("dead_letters:", "ledger:"))
    ]
    flow.write_text("\n".join(kept) + "\n")
    return flow


def files_below(folder: Path) -> list[Path]:
    return sorted(path.relative_to(folder) for path in folder.rglob("*") if path.is_file())


def test_one_flow_run_from_two_working_directories_keeps_one_ledger_beside_it(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    flow = flow_with_default_outputs(flows, sandbox)
    first_cwd, second_cwd = flows / "a", tmp_path / "b"
    first_cwd.mkdir()
    second_cwd.mkdir()

    first = cli("run", "../flow.yaml", "--json", key=sandbox.api_key, cwd=first_cwd)
    second = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=second_cwd)

    first_counts, second_counts = summary(first), summary(second)
    assert_adds_up(first_counts)
    assert_adds_up(second_counts)
    assert (first_counts["delivered"], first_counts["rejected"]) == (LEADS, 1), first.stdout
    assert second_counts["delivered"] == 0, second.stdout
    assert second_counts["skipped"] == LEADS, second.stdout
    emails = [email for _, email, _ in lead_rows(LEADS)]
    assert booked_emails(sandbox) == dict.fromkeys(emails, 1)

    assert files_below(first_cwd) == []
    assert files_below(second_cwd) == []
    written = files_below(flows)
    assert Path(".calsink/ledger.db") in written, written
    assert Path("out/responses.jsonl") in written, written
    assert any("dead-letters" in path.name for path in written), written
    assert first_counts["ledger"] == second_counts["ledger"] == str(flows / ".calsink/ledger.db")
