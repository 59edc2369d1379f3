"""Run `calsink sandbox` as a subprocess for tests, and talk to it over a real socket.

    with running_sandbox("--rate-limit", "1000000") as sandbox:
        response = sandbox.call("GET", "/v2/me")
        assert response.status == 200
        sandbox.set_faults({"rules": [{"kind": "status", "status": 503}]})
        sandbox.requests()   # what reached the server

Only the standard library is used, so any test can import it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY = "cal_test_sandbox_key_for_tests"
READY_PREFIX = "calsink sandbox listening on "
START_TIMEOUT_S = 20.0

VERSIONS = {
    "/v2/bookings": "2024-08-13",
    "/v2/event-types": "2024-06-14",
    "/v2/schedules": "2024-06-11",
    "/v2/slots": "2024-09-04",
}


def default_version(path: str) -> str | None:
    for prefix, version in VERSIONS.items():
        if path.startswith(prefix):
            return version
    return None


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    method: str = ""
    path: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def data(self) -> Any:
        return self.json["data"]


def message(response: Response) -> str:
    """The error's text: in the envelope, or bare for the shared booking handlers' errors."""
    body = response.json
    return str(body["error"]["message"] if "error" in body else body["message"])


MONDAY_9AM = "2030-01-07T14:00:00Z"  # 09:00 America/New_York, free in the seeded schedule


def booking(
    start: str = MONDAY_9AM, event_type_id: int = 1, *, zone: str = "UTC", **extra: Any
) -> dict[str, Any]:
    """A create-booking body for a seeded event type, with Ada as the attendee in ``zone``;
    ``extra`` adds or replaces fields."""
    body: dict[str, Any] = {
        "start": start,
        "eventTypeId": event_type_id,
        "attendee": {"name": "Ada Lovelace", "email": "ada@example.com", "timeZone": zone},
    }
    body.update(extra)
    return body


@dataclass
class SandboxHandle:
    url: str
    api_key: str
    process: subprocess.Popen[str]
    startup_s: float
    stderr_path: str
    output_lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        version: str | None = "default",
        api_key: str | None = "default",
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """One API request. ``version="default"`` sends the route's current cal-api-version,
        ``None`` sends none; ``api_key="default"`` sends the handle's key, ``None`` none."""
        sent: dict[str, str] = {}
        if version == "default":
            version = default_version(path.split("?", 1)[0])
        if version is not None:
            sent["cal-api-version"] = version
        key = self.api_key if api_key == "default" else api_key
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return _request(self.url + path, method, data, sent, timeout, path)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        response = _request(self.url + path, method, data, headers, 30.0, path)
        if response.status != 200:
            raise AssertionError(f"{method} {path} -> {response.status}: {response.body!r}")
        return response.json

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin("GET", "/_sandbox/requests")
        return result

    def clear_requests(self) -> None:
        self.admin("DELETE", "/_sandbox/requests")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "/_sandbox/state")
        return result

    def set_faults(self, rules: Any) -> dict[str, Any]:
        """rules: {"rules": [...], "seed": N}, a list of rules, or {"spec": "503@0.5"}."""
        result: dict[str, Any] = self.admin("PUT", "/_sandbox/faults", rules)
        return result

    def clear_faults(self) -> None:
        self.admin("DELETE", "/_sandbox/faults")

    def set_rate_limit(self, limit: int, window_s: float = 60) -> None:
        self.admin("PUT", "/_sandbox/rate-limit", {"limit": limit, "window_s": window_s})

    def reset(self, *, empty: bool = False) -> None:
        """Back to the seeded account (or an empty one), with no faults and a fresh log."""
        self.admin("POST", "/_sandbox/reset", {"empty": empty})


def _request(
    url: str, method: str, data: bytes | None, headers: dict[str, str], timeout: float, path: str
) -> Response:
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(
                answer.status, dict(answer.headers.items()), answer.read(), method, path
            )
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, dict(error.headers.items()), error.read(), method, path)


def _wait_for_ready(process: subprocess.Popen[str], deadline: float) -> tuple[str, list[str]]:
    assert process.stdout is not None
    lines: list[str] = []
    buffer = ""
    fd = process.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 4096).decode()
            if not chunk:
                break
            buffer += chunk
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                lines.append(line)
                if line.startswith(READY_PREFIX):
                    return line.removeprefix(READY_PREFIX).strip(), lines
        elif process.poll() is not None:
            break
    raise RuntimeError(f"the sandbox did not start; output so far: {lines!r}")


@contextlib.contextmanager
def running_sandbox(
    *extra_args: str, api_key: str | None = DEFAULT_API_KEY, admin: bool = True
) -> Iterator[SandboxHandle]:
    """Start `python -m calsink sandbox --port 0 ...`, wait until it listens, stop it after."""
    args = [sys.executable, "-m", "calsink", "sandbox", "--port", "0"]
    if admin:
        args.append("--admin")
    if api_key is not None:
        args += ["--api-key", api_key]
    args += list(extra_args)
    with tempfile.NamedTemporaryFile("w+", prefix="sandbox-stderr-", delete=False) as stderr:
        stderr_path = stderr.name
    started = time.monotonic()
    with open(stderr_path, "w") as stderr_file:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr_file, text=True)
    try:
        url, lines = _wait_for_ready(process, started + START_TIMEOUT_S)
        startup_s = time.monotonic() - started
        key = api_key
        for line in lines:
            if line.startswith("calsink sandbox api key: "):
                key = line.removeprefix("calsink sandbox api key: ").strip()
        assert key is not None
        yield SandboxHandle(url, key, process, startup_s, stderr_path, lines)
    finally:
        stop(process)
        with contextlib.suppress(OSError):
            os.unlink(stderr_path)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process.stdout is not None:
        process.stdout.close()
