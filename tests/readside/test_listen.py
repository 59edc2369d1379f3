"""`calsink listen`: signed deliveries from the sandbox arrive; forged and unsigned ones do not."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from readside.helpers import KEY_ENV, calsink
from support.httpserver import Served
from support.rawhttp import exchange, status_of
from support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

SECRET_ENV = "READSIDE_WEBHOOK_SECRET"
SECRET = "whsec_readside_test_secret"
READY = "calsink listen listening on "


class Listener:
    def __init__(self, process: subprocess.Popen[str], url: str, banner: list[str]) -> None:
        self.process = process
        self.url = url
        self.banner = banner

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, "\n".join(self.banner) + "\n" + err


@contextlib.contextmanager
def listening(*args: str, secret: str | None = SECRET) -> Iterator[Listener]:
    env = dict(os.environ)
    if secret is not None:
        env[SECRET_ENV] = secret
    process = subprocess.Popen(
        [sys.executable, "-m", "calsink", "listen", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    banner: list[str] = []
    pending = ""
    deadline = time.monotonic() + 20
    url = None
    descriptor = process.stderr.fileno()
    while url is None and time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 0.1)
        if not ready:
            continue
        chunk = os.read(descriptor, 4096).decode()
        if not chunk:
            break
        pending += chunk
        while "\n" in pending and url is None:
            line, pending = pending.split("\n", 1)
            banner.append(line)
            if line.startswith(READY):
                url = line.removeprefix(READY).strip()
    if pending:
        banner.append(pending)
    try:
        assert url is not None, f"the listener did not start: {banner}"
        yield Listener(process, url, banner)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def post(url: str, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Cal-Signature-256"] = signature
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        with error:
            return error.code


def wait_for_lines(path: Path, count: int, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    found: list[dict] = []
    while time.monotonic() < deadline:
        if path.exists():
            found = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            if len(found) >= count:
                return found
        time.sleep(0.1)
    return found


@contextlib.contextmanager
def raw_recorder() -> Iterator[tuple[str, list[tuple[bytes, str | None]]]]:
    """A plain HTTP server that keeps each POST's raw body and signature header."""
    seen: list[tuple[bytes, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append((body, self.headers.get("X-Cal-Signature-256")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    with Served(Handler) as served:
        yield f"{served.origin}/raw", seen


def write_flows(tmp: Path, sandbox: SandboxHandle, hook_urls: list[str]) -> tuple[Path, Path]:
    hooks = tmp / "webhooks.jsonl"
    hooks.write_text(
        "".join(
            json.dumps({"subscriberUrl": url, "triggers": ["BOOKING_CREATED"], "secret": SECRET})
            + "\n"
            for url in hook_urls
        )
    )
    leads = tmp / "leads.csv"
    leads.write_text(
        "name,email,start\n"
        "Ana Lima,ana@example.com,2030-01-07T14:00:00Z\n"
        "Bo Chen,bo@example.com,2030-01-07T15:00:00Z\n"
    )
    common = (
        f"destination:\n  api_key_env: {KEY_ENV}\n  base_url: {sandbox.url}\n"
        f"ledger: {tmp / 'ledger.db'}\ndead_letters: {tmp / 'dead.jsonl'}\n"
    )
    hook_flow = tmp / "hooks.yaml"
    hook_flow.write_text(
        f"version: 1\nname: listen-hooks\nsource: {{path: {hooks}}}\n"
        + common.replace("destination:\n", "destination:\n  template: create-webhook\n")
    )
    booking_flow = tmp / "book.yaml"
    booking_flow.write_text(
        f"version: 1\nname: listen-bookings\nsource: {{path: {leads}}}\n"
        "transform:\n  map:\n    start: '{start}'\n    eventTypeId: 1\n"
        "    attendee: {name: '{name}', email: '{email}', timeZone: UTC}\n"
        + common.replace("destination:\n", "destination:\n  template: create-booking\n")
    )
    return hook_flow, booking_flow


def test_signed_deliveries_for_a_flows_bookings_arrive_and_verify(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    with (
        raw_recorder() as (raw_url, raw_seen),
        listening("--secret-env", SECRET_ENV, "-o", str(out)) as listener,
    ):
        hook_flow, booking_flow = write_flows(tmp_path, sandbox, [listener.url + "/cal", raw_url])
        made = calsink("run", str(hook_flow), "--json", sandbox=sandbox)
        assert made.returncode == 0, made.stderr
        booked = calsink("run", str(booking_flow), "--json", sandbox=sandbox)
        assert booked.returncode == 0, booked.stderr
        assert json.loads(booked.stdout)["delivered"] == 2

        events = wait_for_lines(out, 2)
        forged = json.dumps({"triggerEvent": "BOOKING_CREATED", "payload": {"uid": "x"}}).encode()
        assert post(listener.url + "/cal", forged, "0" * 64) == 401
        assert post(listener.url + "/cal", forged, None) == 401
        assert post(listener.url + "/cal", forged, "no-secret-provided") == 401
        code, stderr = listener.stop()

    uids = {b["uid"] for b in sandbox.state()["bookings"]}
    assert len(events) == 2
    assert {e["trigger"] for e in events} == {"BOOKING_CREATED"}
    assert {e["body"]["payload"]["uid"] for e in events} == uids
    assert all(e["signature_valid"] is True and e["path"] == "/cal" for e in events)
    assert len(wait_for_lines(out, 3, timeout=0.5)) == 2  # nothing refused was written
    assert len(raw_seen) == 2
    for body, signature in raw_seen:
        assert signature == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert code == 0
    assert "refused POST /cal (401): wrong X-Cal-Signature-256" in stderr
    assert "refused POST /cal (401): missing X-Cal-Signature-256" in stderr
    assert "2 delivery(ies) accepted, 3 refused" in stderr
    assert SECRET not in stderr


def test_without_a_secret_only_unsigned_deliveries_are_taken_and_it_says_so(
    tmp_path: Path,
) -> None:
    out = tmp_path / "events.jsonl"
    body = json.dumps({"triggerEvent": "BOOKING_CANCELLED", "payload": {"uid": "u1"}}).encode()
    signed = hmac.new(b"some secret", body, hashlib.sha256).hexdigest()
    with listening("-o", str(out), secret=None) as listener:
        assert post(listener.url + "/", body, "no-secret-provided") == 200
        assert post(listener.url + "/", body, signed) == 401
        assert post(listener.url + "/", body, None) == 401
        code, stderr = listener.stop()

    assert "WARNING: no --secret-env given" in stderr
    (event,) = wait_for_lines(out, 1)
    assert event["trigger"] == "BOOKING_CANCELLED"
    assert event["signature_valid"] is False
    assert event["body"] == {"triggerEvent": "BOOKING_CANCELLED", "payload": {"uid": "u1"}}
    assert code == 0


def test_a_secret_env_that_is_not_set_is_refused() -> None:
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "calsink", "listen", "--port", "0", "--secret-env", SECRET_ENV],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"${SECRET_ENV}, which is not set" in result.stderr


def test_a_100_kb_header_gets_431_and_an_oversized_body_413_without_a_traceback(
    tmp_path: Path,
) -> None:
    out = tmp_path / "events.jsonl"
    with listening("-o", str(out)) as listener:
        origin = listener.url
        host = origin.removeprefix("http://")
        big_header = (
            f"POST /hook HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * 100_000}\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        answer = exchange(origin, big_header)
        assert status_of(answer) == 431, answer[:300]
        declared = f"POST /hook HTTP/1.1\r\nHost: {host}\r\nContent-Length: 800000000\r\n\r\n"
        answer = exchange(origin, declared.encode(), (b" " * 65536 for _ in range(64)))
        assert status_of(answer) == 413, answer[:300]
        assert post(origin + "/", b"{}", "no-secret-provided") == 200  # still answering
        code, stderr = listener.stop()
    assert "Traceback" not in stderr, stderr
    assert code == 0
