"""Workers sending with one API key share its budget through the PostgreSQL ledger."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.adversarial.harness import assert_adds_up, booked_emails, lead_rows, start_cli
from tests.adversarial.test_shared_ledger import shared_flow
from tests.support.postgres import fresh_database
from tests.support.sandbox import SandboxHandle

WORKERS = 3
EACH = 8


def test_workers_on_one_key_never_burst_past_its_budget(
    sandbox: SandboxHandle, postgres_url: str, tmp_path: Path
) -> None:
    ledger = fresh_database(postgres_url)
    # The key allows 8 requests a second; the flow says 6 a second (360 a minute). One
    # worker paces itself to that; three must share it, or they send three times as much.
    sandbox.set_rate_limit(8, 1)
    folders = []
    for worker in range(WORKERS):
        folder = tmp_path / f"worker{worker}"
        shared_flow(
            folder,
            sandbox,
            ledger,
            EACH,
            delivery={"concurrency": 8, "rate_limit": 360},
        )
        rows = lead_rows(EACH, first=worker * EACH)
        (folder / "leads.csv").write_text(
            "name,email,start\n" + "".join(f"{n},{e},{s}\n" for n, e, s in rows)
        )
        folders.append(folder)
    sandbox.clear_requests()
    runs = [start_cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=f) for f in folders]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, out + err
        counts = json.loads(out)
        assert_adds_up(counts)
        assert counts["delivered"] == EACH, counts
    statuses = Counter(r["status"] for r in sandbox.requests() if r["path"] != "/health")
    t0 = min(r["time"] for r in sandbox.requests())
    log = [(round(r["time"] - t0, 3), r["status"]) for r in sandbox.requests()]
    assert statuses.get(429, 0) == 0, str(sorted(log))
    total = WORKERS * EACH
    assert booked_emails(sandbox) == Counter({f"lead{i}@example.com": 1 for i in range(total)})
