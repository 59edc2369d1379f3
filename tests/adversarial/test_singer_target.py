"""target-calsink: a real tap from PyPI (tap-jsonl) piped into the real console script, the
sandbox as Cal.com; STATE written only once the ledger holds what it covers; SCHEMA
messages checked against what the flow reads."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import booked_emails, lead_rows, write_flow
from tests.support.sandbox import SandboxHandle

import calsink
from calsink.singer import TargetCalsink

BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flows' ledgers are where the target runs, as for `calsink status` here."""
    monkeypatch.chdir(tmp_path)


def keyless_flow(folder: Path, sandbox: SandboxHandle | str) -> Path:
    """A booking flow without `delivery.key`: the stream's key_properties give it."""
    flow = write_flow(folder, sandbox, source="-", key="[email]")
    flow.write_text(flow.read_text().replace("key: [email], ", ""))
    return flow


def leads_jsonl(folder: Path, count: int, *, without: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "leads.jsonl"
    with path.open("w") as out:
        for name, email, start in lead_rows(count):
            row = {"name": name, "email": email, "start": start}
            row.pop(without or "", None)
            out.write(json.dumps(row) + "\n")
    return path


def pipe(
    tmp_path: Path, data: Path, target_config: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    """tap-jsonl | target-calsink, as a shell would run them."""
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(
        json.dumps(
            {
                "path": str(data / "*.jsonl"),
                "stream_name": "leads",
                "primary_keys": ["email"],
                "emit_state_every": 2,
            }
        )
    )
    config = tmp_path / "target.json"
    config.write_text(json.dumps(target_config))
    tap = f"'{BIN / 'tap-jsonl'}' --config '{tap_config}'"
    command = f"{tap} | '{BIN / 'target-calsink'}' --config '{config}'"
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def states(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.e2e
def test_a_tap_piped_into_target_calsink_books_each_record_once_and_writes_its_state(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    data = leads_jsonl(tmp_path / "data", 5).parent
    flow = keyless_flow(tmp_path, sandbox)
    config = {"flows": {"leads": str(flow)}, "api_key": sandbox.api_key}

    first = pipe(tmp_path, data, config)
    again = pipe(tmp_path, data, config)

    assert first.returncode == 0, first.stderr[-3000:]
    assert again.returncode == 0, again.stderr[-3000:]
    assert booked_emails(sandbox) == {f"lead{i}@example.com": 1 for i in range(5)}
    written = states(first.stdout)
    assert written and "bookmarks" in written[-1], first.stdout
    status = calsink.status(flow)
    assert status.counts == {"delivered": 5}, status.to_json()  # key_properties as the key
    assert sandbox.api_key not in first.stdout + first.stderr


@pytest.mark.e2e
def test_no_state_is_written_when_the_records_before_it_could_not_be_sent(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    data = leads_jsonl(tmp_path / "data", 3).parent
    flow = keyless_flow(tmp_path, sandbox)

    result = pipe(tmp_path, data, {"flows": {"leads": str(flow)}, "api_key": "cal_wrong_key_1"})

    assert result.returncode != 0
    assert states(result.stdout) == [], "no STATE without the outcomes it covers"
    assert "the run stopped" in result.stderr
    assert not booked_emails(sandbox)


@pytest.mark.e2e
def test_a_state_reaches_stdout_only_once_the_ledger_holds_the_records_before_it(
    sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = keyless_flow(tmp_path, sandbox)
    rows = [{"name": n, "email": e, "start": s} for n, e, s in lead_rows(6)]
    schema = {
        "type": "SCHEMA",
        "stream": "leads",
        "key_properties": ["email"],
        "schema": {"properties": {name: {"type": "string"} for name in rows[0]}},
    }
    messages = [schema]
    for done, row in enumerate(rows, 1):
        messages.append({"type": "RECORD", "stream": "leads", "record": row})
        if done % 2 == 0:
            messages.append({"type": "STATE", "value": {"sent": done}})
    seen: list[tuple[int, int]] = []

    class Probe(io.StringIO):
        """stdout; at each STATE, what the flow's ledger holds as delivered."""

        def write(self, text: str) -> int:
            for line in text.splitlines():
                if line.strip():
                    delivered = calsink.status(flow).counts.get("delivered", 0)
                    seen.append((json.loads(line)["sent"], delivered))
            return len(text)

    monkeypatch.setattr(sys, "stdout", Probe())
    target = TargetCalsink(
        config={"flows": {"leads": str(flow)}, "api_key": sandbox.api_key, "batch_size_rows": 2}
    )
    target.listen(file_input=io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))

    assert seen, "the target wrote a STATE"
    assert all(delivered >= sent for sent, delivered in seen), seen
    assert seen[-1][0] == 6
    assert booked_emails(sandbox) == {f"lead{i}@example.com": 1 for i in range(6)}


@pytest.mark.e2e
def test_a_schema_without_a_field_the_flow_reads_stops_the_target_naming_both(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    data = leads_jsonl(tmp_path / "data", 2, without="start").parent
    flow = keyless_flow(tmp_path, sandbox)

    result = pipe(tmp_path, data, {"flows": {"leads": str(flow)}, "api_key": sandbox.api_key})

    assert result.returncode != 0
    assert (
        "stream 'leads': flow 'adversarial' reads `start`, which the stream's SCHEMA does not have"
        in result.stderr
    ), result.stderr[-3000:]
    assert not booked_emails(sandbox)


def test_a_stream_without_key_properties_needs_a_flow_with_a_key(tmp_path: Path) -> None:
    flow = keyless_flow(tmp_path, "http://127.0.0.1:9")
    target = TargetCalsink(config={"flows": {"leads": str(flow)}})
    schema = {"type": "SCHEMA", "stream": "leads", "schema": {"properties": {}}}

    with pytest.raises(ValueError, match=r"no `delivery\.key` and the stream no key_properties"):
        target.listen(file_input=io.StringIO(json.dumps(schema) + "\n"))


def test_without_a_map_the_schema_must_hold_the_templates_required_fields_and_params(
    tmp_path: Path,
) -> None:
    flow = {
        "version": 1,
        "name": "cancel-from-tap",
        "source": {"path": "-"},
        "destination": {
            "template": "cancel-booking",
            "params": {"uid": "{booking_uid}"},
            "base_url": "http://127.0.0.1:9",
        },
        "delivery": {"key": ["booking_uid"], "allow_destructive": True},
    }
    target = TargetCalsink(config={"flow": flow})
    schema = {
        "type": "SCHEMA",
        "stream": "cancellations",
        "schema": {"properties": {"uid": {"type": "string"}}},
    }

    with pytest.raises(ValueError) as refused:
        target.listen(file_input=io.StringIO(json.dumps(schema) + "\n"))

    assert "flow 'cancel-from-tap' reads `booking_uid`" in str(refused.value)
    assert "(it has: uid)" in str(refused.value)
