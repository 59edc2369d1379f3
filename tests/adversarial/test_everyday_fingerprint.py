"""`metadata.calsink_key`: written into each booking by default, left out with
`delivery.fingerprint_bookings: false` — and a booking whose answer is lost is still made
once either way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.adversarial.harness import booked_emails, cli, lead_rows, summary, write_flow
from tests.support.sandbox import SandboxHandle

from calsink.flow import load_flow
from calsink.ui import actions

pytestmark = pytest.mark.e2e


def _metadata(sandbox: SandboxHandle) -> list[dict[str, object]]:
    return [b.get("metadata") or {} for b in sandbox.state()["bookings"]]


@pytest.mark.parametrize("fingerprint", [True, False])
def test_the_booking_fingerprint_is_written_unless_turned_off_and_lost_answers_book_once(
    sandbox: SandboxHandle, tmp_path: Path, fingerprint: bool
) -> None:
    rows = lead_rows(4)
    (tmp_path / "leads.csv").write_text(
        "name,email,start\n" + "\n".join(",".join(row) for row in rows) + "\n"
    )
    write_flow(
        tmp_path,
        sandbox,
        source="leads.csv",
        delivery={"fingerprint_bookings": str(fingerprint).lower()},
    )
    preview = cli("preview", "flow.yaml", "--json", "-n", "1", key=sandbox.api_key, cwd=tmp_path)
    body = json.loads(preview.stdout)["body"]
    assert ("calsink_key" in (body.get("metadata") or {})) is fingerprint
    page = actions.preview(load_flow(tmp_path / "flow.yaml"), 1)  # the page's Sample Payload
    page_body = page["samples"][0]["body"]
    assert ("calsink_key" in (page_body.get("metadata") or {})) is fingerprint

    sandbox.set_faults({"spec": "seed=3,drop-after@1#2:POST /v2/bookings"})
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path)
    sandbox.clear_faults()
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result)["delivered"] == 4
    booked = booked_emails(sandbox)
    assert {email: booked[email] for _, email, _ in rows} == {e: 1 for _, e, _ in rows}
    carried = ["calsink_key" in metadata for metadata in _metadata(sandbox)]
    assert carried == [fingerprint] * 4
