"""Helpers for the end-to-end delivery tests: a flow of N bookings and the real CLI."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench._csvgen import slots
from tests.support.cli import cli as cli
from tests.support.cli import start_cli as start_cli
from tests.support.cli import summary as summary
from tests.support.sandbox import SandboxHandle

ROOT = Path(__file__).resolve().parents[2]


def copy_examples(folder: Path) -> Path:
    """``folder``, holding a copy of the repository's examples/ (the flows there write their
    files beside them)."""
    shutil.copytree(ROOT / "examples", folder / "examples")
    return folder


def run_flow(folder: Path, sandbox: SandboxHandle, flow: str, *extra: str) -> dict[str, Any]:
    """`calsink run FLOW --json --yes` from ``folder`` against ``sandbox``: its summary; the
    test fails unless it exits 0."""
    result = cli(
        "run", flow, "--json", "--yes", "--base-url", sandbox.url, *extra,
        key=sandbox.api_key, cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, f"{flow}: {result.stdout}{result.stderr}"
    return summary(result)


def run_examples(folder: Path, sandbox: SandboxHandle, names: Iterable[str]) -> None:
    """Run examples/NAME.yaml for each name in turn: each delivers, and nothing fails."""
    for name in names:
        counts = run_flow(folder, sandbox, f"examples/{name}.yaml")
        assert counts["delivered"] >= 1, f"{name}: {counts}"
        assert counts["failed"] == counts["dead"] == counts["rejected"] == 0, f"{name}: {counts}"


def booking_flow(
    folder: Path,
    sandbox: SandboxHandle,
    count: int,
    *,
    name: str = "e2e-book",
    concurrency: int = 8,
    max_attempts: int = 8,
    timeout_s: float = 5,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["name,email,start"]
    rows += [f"Lead {i},lead{i}@example.com,{start}" for i, start in enumerate(slots(count))]
    (folder / "leads.csv").write_text("\n".join(rows) + "\n")
    flow = folder / "flow.yaml"
    flow.write_text(
        f"""version: 1
name: {name}
source: {{path: leads.csv}}
transform:
  map:
    start: "{{start}}"
    eventTypeId: 1
    attendee: {{name: "{{name}}", email: "{{email}}", timeZone: "America/New_York"}}
destination:
  api_key_env: CAL_API_KEY
  base_url: {sandbox.url}
  template: create-booking
delivery: {{key: [email, start], concurrency: {concurrency}, max_attempts: {max_attempts},
           timeout_s: {timeout_s}}}
responses: {{jsonl: out/responses.jsonl}}
dead_letters: out/dead-letters.jsonl
ledger: state/ledger.db
"""
    )
    return flow


def bookings_of(sandbox: SandboxHandle, prefix: str = "lead") -> list[dict[str, Any]]:
    state = sandbox.state()
    found = []
    for booking in state["bookings"]:
        emails = [a.get("email", "") for a in booking.get("attendees", [])]
        if any(e.startswith(prefix) for e in emails):
            found.append(booking)
    return found


def files_text(folder: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace")
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".jsonl", ".yaml", ".csv", ".partial", "")
    )
