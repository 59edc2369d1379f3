"""Helpers for the adversarial tests: flows written on the fly and the real CLI around them."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.delivery.e2e import slots
from tests.support.cli import cli as cli
from tests.support.cli import environment as environment
from tests.support.cli import start_cli as start_cli
from tests.support.cli import summary as summary
from tests.support.sandbox import SandboxHandle

FAKE_KEY = "cal_test_ADVERSARIAL_fake_key_5f1e7c"
WEBHOOK_SECRET = "whsec_ADVERSARIAL_fake_secret_9b2d44"

BOOKING_MAP = """\
transform:
  map:
    start: "{start}"
    eventTypeId: 1
    attendee: {name: "{name}", email: "{email}", timeZone: "America/New_York"}
"""


def write_flow(
    folder: Path,
    sandbox: SandboxHandle | str,
    *,
    source: str,
    name: str = "adversarial",
    template: str = "create-booking",
    transform: str = BOOKING_MAP,
    key: str = "[email, start]",
    delivery: dict[str, object] | None = None,
    responses: str = "responses: {jsonl: out/responses.jsonl}",
    extra: str = "",
    source_extra: str = "",
) -> Path:
    """A flow file in ``folder`` whose paths (ledger, responses, dead letters) stay inside it."""
    base_url = sandbox if isinstance(sandbox, str) else sandbox.url
    settings: dict[str, object] = {
        "concurrency": 4,
        "max_attempts": 6,
        "timeout_s": 5,
        **(delivery or {}),
    }
    delivery_yaml = ", ".join(f"{name}: {value}" for name, value in settings.items())
    folder.mkdir(parents=True, exist_ok=True)
    flow = folder / "flow.yaml"
    flow.write_text(
        f"""version: 1
name: {name}
source: {{path: {source}{source_extra}}}
{transform}
destination:
  api_key_env: CAL_API_KEY
  base_url: {base_url}
  template: {template}
delivery: {{key: {key}, {delivery_yaml}}}
{responses}
dead_letters: out/dead-letters.jsonl
ledger: state/ledger.db
{extra}
"""
    )
    return flow


def interrupt(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)


def assert_adds_up(counts: dict[str, Any]) -> None:
    """Every record read has exactly one outcome (records an interruption left without one
    are counted apart, as ``unfinished``)."""
    outcomes = ("delivered", "skipped", "rejected", "failed", "dead")
    assert sum(counts[name] for name in outcomes) == counts["read"], counts


def dead_letters(folder: Path) -> list[dict[str, Any]]:
    path = folder / "out" / "dead-letters.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def responses(folder: Path) -> list[dict[str, Any]]:
    path = folder / "out" / "responses.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def where(letter: dict[str, Any]) -> str:
    """A dead letter's position as the user reads it: ``file:line`` or ``file[index]``."""
    position = letter["position"]
    if position.get("line") is not None:
        return f"{position['source']}:{position['line']}"
    return f"{position['source']}[{position['index']}]"


def booked_emails(sandbox: SandboxHandle) -> Counter[str]:
    """How many live bookings each attendee email has in the sandbox."""
    return Counter(
        attendee["email"]
        for booking in sandbox.state()["bookings"]
        if booking["status"] != "cancelled"
        for attendee in booking.get("attendees", [])
    )


def lead_rows(count: int, *, first: int = 0) -> list[tuple[str, str, str]]:
    """(name, email, start) of distinct leads on distinct free slots."""
    starts = slots(first + count)[first:]
    return [(f"Lead {first + i}", f"lead{first + i}@example.com", s) for i, s in enumerate(starts)]


def leads_text(count: int) -> str:
    """A CSV of ``count`` leads (name, email, start), as ``lead_rows`` makes them."""
    return "name,email,start\n" + "".join(f"{n},{e},{s}\n" for n, e, s in lead_rows(count))


def write_leads(folder: Path, count: int) -> list[str]:
    """``count`` leads in ``folder/leads.csv`` (name, email, start); their e-mails."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_text(leads_text(count), encoding="utf-8")
    return [email for _, email, _ in lead_rows(count)]


INPUTS = frozenset({"flow.yaml", "leads.csv", "leads.jsonl", "leads.json", "hooks.jsonl"})


def all_text(folder: Path, *, skip: Path | None = None) -> str:
    """Every file calsink may have written below ``folder`` (ledger bytes included), that
    is every file but the inputs the test wrote."""
    parts = []
    for path in folder.rglob("*"):
        if skip is not None and path.is_relative_to(skip):
            continue
        if path.is_file() and path.name not in INPUTS:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def enveloped(body: Any) -> bool:
    """Whether a responses-file body is Cal.com's success envelope ({status, data})."""
    return isinstance(body, dict) and body.get("status") == "success" and "data" in body


def wait_until_handled(sandbox: SandboxHandle, fault: str, count: int) -> None:
    """Wait until the sandbox has finished the ``count`` requests it held back with ``fault``
    (a slow request is logged once it has been processed), so that its state is final."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        held = [r for r in sandbox.requests() if str(r.get("fault") or "").startswith(fault)]
        if len(held) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the sandbox did not finish its {count} slow requests")
