"""Secret hunt: every command runs with a recognisable fake API key, response-webhook
secret and Cal.com webhook secret; none of them may appear in stdout, stderr, the
ledger, the response and dead-letter files, previews, the response webhook's deliveries
or the messages of forced failures. Plain http to another host and switching TLS
verification off are refused before anything is sent."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import (
    FAKE_KEY,
    WEBHOOK_SECRET,
    all_text,
    cli,
    lead_rows,
    write_flow,
)
from tests.support.httpserver import Served
from tests.support.sandbox import SandboxHandle, running_sandbox

pytestmark = pytest.mark.e2e

HOOK_SECRET = "whsec_ADVERSARIAL_calcom_hook_3c8e11"
SECRETS = (FAKE_KEY, WEBHOOK_SECRET, HOOK_SECRET)


@pytest.fixture(scope="module")
def keyed_sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox("--rate-limit", "1000000", api_key=FAKE_KEY) as handle:
        yield handle


class Receiver(Served):
    """A response-webhook receiver on loopback that keeps what it is sent."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.deliveries.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(Handler)
        self.url = f"{self.origin}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    handle = Receiver()
    yield handle
    handle.close()


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:12]}… appears in {where}"
    assert FAKE_KEY[8:] not in text, f"part of the API key appears in {where}"


def run_cli(*args: str, cwd: Path, env: dict[str, str], stdin: str | None = None) -> Any:
    result = cli(*args, key=FAKE_KEY, cwd=cwd, env=env, stdin=stdin, timeout=90)
    assert_no_secret(result.stdout + result.stderr, f"the output of calsink {' '.join(args)}")
    return result


def test_no_command_shows_or_writes_a_secret(
    keyed_sandbox: SandboxHandle, tmp_path: Path, receiver: Receiver
) -> None:
    keyed_sandbox.reset()
    config = tmp_path / "config"
    env = {"CALSINK_CONFIG_DIR": str(config), "HOOK_SECRET": WEBHOOK_SECRET}
    rows = lead_rows(4)
    lines = ["name,email,start", *(f"{n},{e},{s}" for n, e, s in rows)]
    lines.append("Sat Urday,sat@example.com,2030-01-12T15:00:00Z")  # outside working hours
    lines.append(f"{FAKE_KEY},,")  # a malformed row that carries the key itself
    (tmp_path / "leads.csv").write_text("\n".join(lines) + "\n")
    write_flow(
        tmp_path,
        keyed_sandbox,
        source="leads.csv",
        responses=(
            "responses: {jsonl: out/responses.jsonl, stdout: true, "
            f"webhook: {{url: '{receiver.url}', secret_env: HOOK_SECRET}}}}"
        ),
    )
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "hooks.jsonl").write_text(
        json.dumps(
            {
                "url": f"{receiver.url}/calcom",
                "secret": HOOK_SECRET,
                "triggers": ["BOOKING_CREATED"],
            }
        )
        + "\n"
    )
    write_flow(
        hooks,
        keyed_sandbox,
        source="hooks.jsonl",
        name="hooks",
        template="create-webhook",
        transform=(
            'transform:\n  map: {subscriberUrl: "{url}", triggers: "{triggers}", '
            'secret: "{secret}"}'
        ),
        key="[url]",
    )

    added = run_cli("credentials", "add", "adversarial", cwd=tmp_path, env=env, stdin=FAKE_KEY)
    assert added.returncode == 0, added.stderr
    store = next(path for path in config.rglob("*") if path.is_file())
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    for args in (
        ("credentials", "list"),
        ("credentials", "list", "--json"),
        ("credentials", "test", "adversarial", "--base-url", keyed_sandbox.url),
    ):
        assert run_cli(*args, cwd=tmp_path, env=env).returncode == 0

    # `calsink test` sends for real and leaves the ledger alone: test a record Cal.com
    # refuses (the Saturday one; the hook's URL once the run has created it).
    for folder, refused in ((tmp_path, 4), (hooks, 0)):
        for args in (
            ("validate", "flow.yaml"),
            ("validate", "flow.yaml", "--json"),
            ("preview", "flow.yaml", "-n", "10"),
            ("preview", "flow.yaml", "-n", "10", "--json"),
            ("run", "flow.yaml", "--json"),
            ("run", "flow.yaml"),
            ("test", "flow.yaml", "--yes", "--record", str(refused)),
            ("test", "flow.yaml", "--yes", "--record", str(refused), "--json"),
            ("status", "flow.yaml"),
            ("status", "flow.yaml", "--json"),
            ("retry", "flow.yaml"),
        ):
            result = run_cli(*args, cwd=folder, env=env)
            assert "Traceback" not in result.stderr, result.stderr
    first = json.loads(run_cli("status", "flow.yaml", "--json", cwd=tmp_path, env=env).stdout)
    assert first["delivered"] == 4 and first["rejected"] + first["failed"] >= 2, first

    # the credentials file is the one place the key is kept (owner-only, checked above)
    assert_no_secret(all_text(tmp_path, skip=config), "a file calsink wrote")
    assert receiver.deliveries, "the response webhook was called"
    for headers, body in receiver.deliveries:
        assert_no_secret(body.decode(), "a response-webhook delivery")
        signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers.get("X-Calsink-Signature-256") in (signature, f"sha256={signature}")


def test_forced_failures_keep_secrets_out_of_their_messages(
    keyed_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    keyed_sandbox.reset()
    (tmp_path / "leads.csv").write_text(
        "name,email,start\n" + "\n".join(f"{n},{e},{s}" for n, e, s in lead_rows(2)) + "\n"
    )
    env = {"HOOK_SECRET": WEBHOOK_SECRET}
    responses = (
        "responses: {jsonl: out/responses.jsonl, "
        "webhook: {url: 'http://127.0.0.1:9/hook', secret_env: HOOK_SECRET}}"
    )
    cases: dict[str, tuple[str, Any]] = {
        "a corrupt ledger": (keyed_sandbox.url, _corrupt_ledger),
        "a responses file that is a directory": (keyed_sandbox.url, _directory_for_responses),
        "an API that does not answer": ("http://127.0.0.1:9", None),
        "a wrong key": (keyed_sandbox.url, "wrong"),
    }
    for name, (base_url, spoil) in cases.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        shutil.copy(tmp_path / "leads.csv", folder / "leads.csv")
        # Two attempts: a retry's message is there to read, without the backoff of six.
        write_flow(
            folder, base_url, source="leads.csv", responses=responses, delivery={"max_attempts": 2}
        )
        key = FAKE_KEY
        if spoil == "wrong":
            key = FAKE_KEY[::-1]
        elif spoil is not None:
            spoil(folder)
        result = cli(
            "run", "flow.yaml", key=key, cwd=folder, env={**env, "CAL_API_KEY": key}, timeout=90
        )
        assert result.returncode != 0, f"{name}: {result.stdout}{result.stderr}"
        assert_no_secret(result.stdout + result.stderr, f"the output for {name}")
        assert key not in result.stdout + result.stderr
        assert_no_secret(all_text(folder), f"the files after {name}")


def _corrupt_ledger(folder: Path) -> None:
    (folder / "state").mkdir()
    (folder / "state" / "ledger.db").write_bytes(b"SQLite format 3\x00" + os.urandom(4096))


def _directory_for_responses(folder: Path) -> None:
    (folder / "out" / "responses.jsonl").mkdir(parents=True)


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("base_url: http://calsink-adversarial.invalid", "plain http"),
        ("base_url: http://10.1.2.3:8080", "plain http"),
        ("verify_tls: false", "TLS verification cannot be turned off"),
    ],
)
def test_plain_http_to_another_host_and_tls_off_are_refused(
    tmp_path: Path, destination: str, message: str
) -> None:
    (tmp_path / "leads.csv").write_text("name,email,start\nA,a@example.com,2030-01-07T14:00:00Z\n")
    flow = write_flow(tmp_path, "https://api.cal.com", source="leads.csv")
    text = flow.read_text()
    if destination.startswith("base_url"):
        text = text.replace("base_url: https://api.cal.com", destination)
    else:
        text = text.replace("  template:", f"  {destination}\n  template:")
    flow.write_text(text)
    for command in (("run", "flow.yaml", "--json"), ("test", "flow.yaml")):
        result = cli(*command, key=FAKE_KEY, cwd=tmp_path, timeout=30)
        assert result.returncode == 2, result.stdout + result.stderr
        assert message in result.stderr
        assert_no_secret(result.stdout + result.stderr, "the refusal")
    assert not (tmp_path / "out" / "responses.jsonl").exists()


def test_a_response_webhook_over_plain_http_to_another_host_is_refused(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("name,email,start\nA,a@example.com,2030-01-07T14:00:00Z\n")
    write_flow(
        tmp_path,
        "http://127.0.0.1:9",
        source="leads.csv",
        responses="responses: {webhook: 'http://hooks.calsink-adversarial.invalid/in'}",
    )
    result = cli("run", "flow.yaml", "--json", key=FAKE_KEY, cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "plain http" in result.stderr
