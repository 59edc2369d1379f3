"""Expressions in `delivery.key` and `params.key`: a Salesforce-like export keyed by
`lower(Who.Email)` is sent once, and a later flow finds its bookings by that key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.adversarial.harness import cli, summary
from tests.delivery.e2e import slots
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def _salesforce_lines(emails: list[str], starts: list[str]) -> str:
    """JSON Lines as a Salesforce export writes them: nested Who, `.000+0000` times."""
    return "".join(
        json.dumps(
            {
                "Who": {"Email": email, "Name": f"Lead {i}"},
                "StartDateTime": start[:-1] + ".000+0000",
            }
        )
        + "\n"
        for i, (email, start) in enumerate(zip(emails, starts, strict=True))
    )


def _flow(folder: Path, name: str, sandbox: SandboxHandle, body: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"""version: 1
name: {name}
source: {{path: {name}.jsonl}}
destination:
  api_key_env: CAL_API_KEY
  base_url: {sandbox.url}
{body}
ledger: state/ledger.db
"""
    )
    return path


BOOK = """\
  template: create-booking
transform:
  map:
    start: "iso(StartDateTime)"
    eventTypeId: 1
    attendee: {name: "{Who.Name}", email: "lower(Who.Email)", timeZone: "UTC"}
delivery: {key: ["lower(Who.Email)", start], max_attempts: 2}
"""

CANCEL = """\
  template: cancel-booking
  params:
    uid: {flow: sf-book, key: ["lower(Who.Email)", "iso(StartDateTime)"]}
transform:
  map: {cancellationReason: "moved to the new CRM"}
delivery: {key: ["lower(Who.Email)"], max_attempts: 2}
"""


def test_key_expressions_send_once_and_find_the_bookings_of_an_earlier_flow(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    starts = slots(2)
    (tmp_path / "sf-book.jsonl").write_text(
        _salesforce_lines(["ADA@EXAMPLE.COM", "Bo@Example.com"], starts)
    )
    _flow(tmp_path, "sf-book", sandbox, BOOK)
    first = cli("run", "sf-book.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first)["delivered"] == 2

    (tmp_path / "sf-book.jsonl").write_text(
        _salesforce_lines(["ada@example.com", "BO@EXAMPLE.COM"], starts)
    )
    again = summary(cli("run", "sf-book.yaml", "--json", key=sandbox.api_key, cwd=tmp_path))
    assert (again["delivered"], again["skipped"]) == (0, 2), "the same people, keyed by lower()"

    (tmp_path / "sf-cancel.jsonl").write_text(
        _salesforce_lines(["Ada@example.COM", "bo@example.com"], starts)
    )
    _flow(tmp_path, "sf-cancel", sandbox, CANCEL)
    cancel = cli("run", "sf-cancel.yaml", "--json", "--yes", key=sandbox.api_key, cwd=tmp_path)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert summary(cancel)["delivered"] == 2
    reasons = [b.get("cancellationReason") for b in sandbox.state()["bookings"]]
    assert reasons.count("moved to the new CRM") == 2


def test_a_key_expression_with_a_typo_refuses_the_flow_when_it_loads(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    (tmp_path / "sf-book.jsonl").write_text(_salesforce_lines(["a@example.com"], slots(1)))
    _flow(tmp_path, "sf-book", sandbox, BOOK.replace('"lower(Who.Email)", start', '"lowr(x)"'))
    result = cli("validate", "sf-book.yaml", key=sandbox.api_key, cwd=tmp_path)
    assert result.returncode == 2
    assert "delivery.key[0]" in result.stderr
    assert "unknown function lowr()" in result.stderr
