"""No secret at rest, none shown, none sent where the user did not say.

The API key here is made afresh for each test session and looks like a live Cal.com
key. It reaches calsink the hard ways: inside record fields that are part of the
record's key and of its URL, and echoed back by a server in error bodies and response
headers. The ledger, `preview`, `test` and the page must not show or keep it, `retry`
must resend what the source holds (never a redaction mark) under the same ledger keys,
and a manual URL must not carry it to an origin the flow does not name.
"""

from __future__ import annotations

import http.server
import json
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import all_text, cli, lead_rows, write_flow
from tests.support.httpserver import Served
from tests.support.sandbox import SandboxHandle, running_sandbox

pytestmark = pytest.mark.e2e

LIVE_KEY = "cal_" + "live_" + secrets.token_hex(16)

NOTED_BOOKING = """\
transform:
  map:
    start: "{start}"
    eventTypeId: 1
    attendee: {name: "{name}", email: "{email}", timeZone: "America/New_York"}
    metadata: {note: "{note}"}
"""


@pytest.fixture(scope="module")
def live_sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox("--rate-limit", "1000000", api_key=LIVE_KEY) as handle:
        yield handle


class EchoServer(Served):
    """A server that answers every request with ``status`` and echoes the request's
    headers back: in the error message of its body and in an ``X-Echo-Authorization``
    response header (as a misconfigured proxy or a debugging endpoint does)."""

    def __init__(self, host: str = "127.0.0.1", status: int = 400) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                outer.seen.append((self.command, self.path, headers))
                echoed = "; ".join(f"{name}: {value}" for name, value in headers.items())
                body = json.dumps(
                    {"status": "error", "error": {"code": "BAD", "message": echoed}}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Echo-Authorization", headers.get("Authorization", ""))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(Handler, host=host)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def run(*args: str, cwd: Path) -> Any:
    result = cli(*args, key=LIVE_KEY, cwd=cwd, timeout=90)
    shown = result.stdout + result.stderr
    assert LIVE_KEY not in shown, f"the key appears in the output of calsink {' '.join(args)}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_nothing_kept(folder: Path, where: str) -> None:
    kept = all_text(folder)
    assert LIVE_KEY not in kept, f"the key is kept in a file calsink wrote ({where})"
    assert LIVE_KEY[9:] not in kept, f"part of the key is kept in a file ({where})"


def ledger_rows(folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(folder / "state" / "ledger.db") as db:
        return [(str(k), str(s)) for k, s in db.execute("SELECT key, state FROM records")]


def noted_leads(folder: Path, count: int) -> list[str]:
    """A CSV of ``count`` leads whose ``note`` holds the API key; returns the notes."""
    notes = [f"ref {index} {LIVE_KEY}" for index in range(count)]
    lines = ["name,email,start,note"]
    lines += [
        f"{n},{e},{s},{note}" for (n, e, s), note in zip(lead_rows(count), notes, strict=True)
    ]
    (folder / "leads.csv").write_text("\n".join(lines) + "\n")
    return notes


def test_the_ledger_keeps_no_key_and_retry_resends_the_original_records(
    live_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    live_sandbox.reset()
    notes = noted_leads(tmp_path, 3)
    write_flow(
        tmp_path, live_sandbox, source="leads.csv", transform=NOTED_BOOKING, key="[email, note]"
    )
    live_sandbox.set_faults({"rules": [{"kind": "status", "status": 422}]})
    first = run("run", "flow.yaml", "--json", cwd=tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    assert_nothing_kept(tmp_path, "after a run Cal.com refused")
    refused_keys = {key for key, _ in ledger_rows(tmp_path)}
    assert len(refused_keys) == 3

    live_sandbox.clear_faults()
    live_sandbox.clear_requests()
    retried = run("retry", "flow.yaml", "--json", cwd=tmp_path)
    assert retried.returncode == 0, retried.stdout + retried.stderr

    sent = [r for r in live_sandbox.requests() if r["method"] == "POST"]
    sent_notes = sorted(r["json"]["metadata"]["note"] for r in sent)
    assert sent_notes == notes, "retry resent something other than the source records"
    rows = ledger_rows(tmp_path)
    assert {key for key, _ in rows} == refused_keys, "retry wrote rows under new keys"
    assert [state for _, state in rows] == ["delivered"] * 3
    assert_nothing_kept(tmp_path, "after the retry")
    again = run("run", "flow.yaml", "--json", cwd=tmp_path)
    assert json.loads(again.stdout)["skipped"] == 3, again.stdout


def test_retry_refuses_a_redacted_record_the_source_no_longer_holds(
    live_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    live_sandbox.reset()
    noted_leads(tmp_path, 2)
    write_flow(
        tmp_path, live_sandbox, source="leads.csv", transform=NOTED_BOOKING, key="[email, note]"
    )
    live_sandbox.set_faults({"rules": [{"kind": "status", "status": 422}]})
    assert run("run", "flow.yaml", "--json", cwd=tmp_path).returncode == 1
    live_sandbox.clear_faults()
    live_sandbox.clear_requests()
    (tmp_path / "leads.csv").write_text("name,email,start,note\n")  # the rows are gone

    retried = run("retry", "flow.yaml", cwd=tmp_path)
    sent = [r for r in live_sandbox.requests() if r["method"] == "POST"]
    assert sent == [], "retry sent a record calsink only kept redacted"
    assert "leads.csv:2" in retried.stderr and "leads.csv:3" in retried.stderr, retried.stderr
    assert "fix the record" in retried.stderr
    assert len(ledger_rows(tmp_path)) == 2


def test_an_error_that_echoes_the_authorization_header_is_not_kept_or_shown(
    echo: EchoServer, tmp_path: Path
) -> None:
    noted_leads(tmp_path, 1)
    write_flow(tmp_path, echo.origin, source="leads.csv", transform=NOTED_BOOKING)
    assert run("run", "flow.yaml", "--json", cwd=tmp_path).returncode == 1
    assert echo.seen and LIVE_KEY in echo.seen[0][2]["Authorization"]
    assert_nothing_kept(tmp_path, "after an error body that echoed the key")
    for args in (("test", "flow.yaml"), ("test", "flow.yaml", "--json")):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
    shown = json.loads(run("test", "flow.yaml", "--json", cwd=tmp_path).stdout)
    echoed = {name.lower() for name in shown["headers"]}
    assert shown["status"] == 400 and "x-echo-authorization" in echoed, shown


MANUAL_NOTE_URL = """\
transform:
  map: {name: "{name}", note: "{note}"}
"""


def test_preview_and_test_hide_the_key_in_the_url_and_the_record_key(
    echo: EchoServer, tmp_path: Path
) -> None:
    noted_leads(tmp_path, 2)
    flow = write_flow(
        tmp_path, echo.origin, source="leads.csv", transform=MANUAL_NOTE_URL, key="[note]"
    )
    text = flow.read_text().replace(
        "  template: create-booking", "  manual: {method: POST, url: '/v2/things/{note}'}"
    )
    flow.write_text(text)
    previewed = run("preview", "flow.yaml", "--json", cwd=tmp_path)
    assert previewed.returncode == 0, previewed.stdout + previewed.stderr
    for line in previewed.stdout.splitlines():
        shown = json.loads(line)
        assert shown["url"].startswith(f"{echo.origin}/v2/things/"), shown
    run("preview", "flow.yaml", cwd=tmp_path)
    tested = run("test", "flow.yaml", "--json", cwd=tmp_path)
    assert json.loads(tested.stdout)["status"] == 400
    assert LIVE_KEY in echo.seen[-1][1], "the request itself carries the record's value"
    run("test", "flow.yaml", cwd=tmp_path)


def test_the_pages_test_hides_the_key_in_the_url_and_the_echoed_header(
    echo: EchoServer, tmp_path: Path
) -> None:
    from calsink.flow import load_flow
    from calsink.ui import actions

    noted_leads(tmp_path, 1)
    flow = write_flow(
        tmp_path, echo.origin, source="leads.csv", transform=MANUAL_NOTE_URL, key="[note]"
    )
    text = flow.read_text().replace(
        "  template: create-booking", "  manual: {method: POST, url: '/v2/things/{note}'}"
    )
    flow.write_text(text)
    answer = actions.send_test(load_flow(flow), LIVE_KEY, record_index=0, payload=None, yes=False)
    assert answer["status"] == 400
    assert LIVE_KEY in echo.seen[-1][2]["Authorization"]
    assert LIVE_KEY not in json.dumps(answer), answer


def manual_flow(folder: Path, base_url: str, url: str, extra: str = "") -> Path:
    (folder / "leads.csv").write_text("name,note\nAda,hello\n")
    flow = write_flow(folder, base_url, source="leads.csv", transform=MANUAL_NOTE_URL, key="[name]")
    manual = f"  manual: {{method: POST, url: '{url}'}}{extra}"
    flow.write_text(flow.read_text().replace("  template: create-booking", manual))
    return flow


def test_a_manual_url_to_an_origin_the_flow_does_not_name_is_refused_at_load(
    live_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    elsewhere = EchoServer(host="127.0.0.2", status=201)
    try:
        manual_flow(tmp_path, live_sandbox.url, f"{elsewhere.origin}/v2/things")
        for args in (
            ("run", "flow.yaml", "--base-url", live_sandbox.url),
            ("test", "flow.yaml", "--base-url", live_sandbox.url),
            ("preview", "flow.yaml"),
        ):
            result = run(*args, cwd=tmp_path)
            assert result.returncode == 2, result.stdout + result.stderr
            assert elsewhere.origin in result.stderr and "allowed_origins" in result.stderr
        assert elsewhere.seen == [], "the request (and the key) went to an origin nobody named"

        named = f"\n  allowed_origins: ['{elsewhere.origin}']"
        manual_flow(tmp_path, live_sandbox.url, f"{elsewhere.origin}/v2/things", named)
        result = run("run", "flow.yaml", "--json", cwd=tmp_path)
        assert [path for _, path, _ in elsewhere.seen] == ["/v2/things"], result.stderr
    finally:
        elsewhere.close()


def test_a_manual_url_on_cal_coms_origin_follows_the_base_url(
    live_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    live_sandbox.reset()
    manual_flow(tmp_path, "https://api.cal.com", "https://api.cal.com/v2/things?via=manual")
    result = run("run", "flow.yaml", "--json", "--base-url", live_sandbox.url, cwd=tmp_path)
    assert "api.cal.com" not in result.stdout + result.stderr, result.stdout + result.stderr
    paths = [r["path"] for r in live_sandbox.requests() if r["method"] == "POST"]
    assert paths and all(p.startswith("/v2/things") for p in paths), paths
