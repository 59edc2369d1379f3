"""OAuth credentials: an access token that lapses mid-run is renewed once, through
POST /v2/auth/oauth2/token, and no record is lost, sent twice or counted as failed; a
refresh token Cal.com refuses stops the run with what to do; no token is ever shown.

Upstream (calcom/cal.com): the renewal body and answer are openapi
OAuth2RefreshConfidentialInput → OAuth2TokensDto (docs/api-reference/v2/openapi.json
@a36c1b79); access tokens have their own budget of 500 requests a minute
(apps/api/v2/src/lib/throttler-guard.ts@42e7dc49).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import (
    FAKE_KEY,
    all_text,
    assert_adds_up,
    booked_emails,
    cli,
    dead_letters,
    summary,
    write_flow,
    write_leads,
)
from tests.support.sandbox import SandboxHandle

from calsink.credentials import CredentialStore
from calsink.http.auth import OAuthAccess
from calsink.http.transport import Transport

pytestmark = pytest.mark.e2e


def _grant(sandbox: SandboxHandle, **options: Any) -> dict[str, Any]:
    grant: dict[str, Any] = sandbox.admin("POST", "/_sandbox/oauth", options)
    return grant


def _store(tmp_path: Path, sandbox: SandboxHandle, grant: dict[str, Any]) -> dict[str, str]:
    """`calsink credentials add acme --oauth` with the tokens on stdin; the env to use it."""
    env = {"CALSINK_CONFIG_DIR": str(tmp_path / "config")}
    added = cli(
        "credentials",
        "add",
        "acme",
        "--oauth",
        "--base-url",
        sandbox.url,
        key=FAKE_KEY,
        cwd=tmp_path,
        env=env,
        stdin=json.dumps(grant),
    )
    assert added.returncode == 0, added.stderr
    return env


def _flow(folder: Path, sandbox: SandboxHandle, count: int, **delivery: object) -> list[str]:
    emails = write_leads(folder, count)
    flow = write_flow(folder, sandbox, source="leads.csv", delivery=delivery or None)
    flow.write_text(flow.read_text().replace("api_key_env: CAL_API_KEY", "credential: acme"))
    return emails


def _run(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return cli("run", "flow.yaml", "--json", *args, key=FAKE_KEY, cwd=folder, env=env)


def _statuses(sandbox: SandboxHandle, path: str) -> list[int]:
    return [int(r["status"]) for r in sandbox.requests() if r["path"] == path]


def _secrets(tmp_path: Path, grant: dict[str, Any]) -> list[str]:
    """Every token and secret the run had: the first ones and the renewed ones."""
    stored = json.loads((tmp_path / "config" / "credentials.json").read_text())["acme"]
    parts = ("access_token", "refresh_token", "client_secret")
    return sorted({*(grant[p] for p in parts), *(stored[p] for p in parts)})


def _assert_hidden(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_a_token_that_lapses_mid_run_is_renewed_once_and_every_record_sent_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    grant = _grant(sandbox, uses=10)  # the first access token stops after 10 requests
    env = _store(tmp_path, sandbox, grant)
    folder = tmp_path / "run"
    emails = _flow(folder, sandbox, 25)
    result = _run(folder, env)
    assert result.returncode == 0, result.stderr
    counts = summary(result)
    assert counts["delivered"] == 25 and counts["failed"] == 0 and counts["dead"] == 0
    assert_adds_up(counts)
    assert booked_emails(sandbox) == dict.fromkeys(emails, 1)
    assert sandbox.admin("GET", "/_sandbox/oauth")["renewals"] == 1
    assert 401 in _statuses(sandbox, "/v2/bookings")
    assert dead_letters(folder) == []
    stored = CredentialStore(tmp_path / "config").get("acme")
    assert stored.oauth is not None and stored.api_key != grant["access_token"]
    secrets = _secrets(tmp_path, grant)
    _assert_hidden(secrets, result.stdout, result.stderr, all_text(folder))


def test_a_stored_expiry_that_has_passed_renews_before_sending(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    grant = _grant(sandbox)
    env = _store(tmp_path, sandbox, {**grant, "expires_in": -60})
    folder = tmp_path / "run"
    emails = _flow(folder, sandbox, 5)
    result = _run(folder, env)
    assert result.returncode == 0, result.stderr
    assert booked_emails(sandbox) == dict.fromkeys(emails, 1)
    assert sandbox.admin("GET", "/_sandbox/oauth")["renewals"] == 1
    assert 401 not in _statuses(sandbox, "/v2/bookings")


def test_many_requests_refused_together_make_one_renewal(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Eight workers, a token that works once: every request in flight with it gets 401."""
    grant = _grant(sandbox, uses=1)
    env = _store(tmp_path, sandbox, grant)
    folder = tmp_path / "run"
    emails = _flow(folder, sandbox, 40, concurrency=8)
    result = _run(folder, env)
    assert result.returncode == 0, result.stderr
    assert summary(result)["delivered"] == 40
    assert booked_emails(sandbox) == dict.fromkeys(emails, 1)
    assert sandbox.admin("GET", "/_sandbox/oauth")["renewals"] == 1
    assert 401 in _statuses(sandbox, "/v2/bookings")


def test_twenty_requests_refused_at_once_wait_for_a_single_renewal(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """A token that never works: all twenty requests are refused, one asks for new tokens,
    the others wait for it, and all twenty are answered with the renewed token."""
    grant = _grant(sandbox, uses=0)
    _store(tmp_path, sandbox, grant)
    # Each answer takes 200 ms: all twenty are on their way before the first refusal is back.
    sandbox.set_faults({"spec": "latency=200ms:GET /v2/me"})
    store = CredentialStore(tmp_path / "config")
    access = OAuthAccess(store.get("acme"), store)

    async def twenty() -> list[int]:
        async with Transport(access, connections=20) as transport:
            answers = await asyncio.gather(
                *(transport.send("GET", f"{sandbox.url}/v2/me") for _ in range(20))
            )
        return [answer.status for answer in answers]

    assert asyncio.run(twenty()) == [200] * 20
    assert _statuses(sandbox, "/v2/me").count(401) == 20
    assert _statuses(sandbox, "/v2/auth/oauth2/token") == [200]
    assert access.renewals == 1


def test_two_processes_on_one_credential_share_a_renewal_instead_of_spending_it_twice(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Cal.com spends a refresh token when it renews: a second process holding the old one
    takes the tokens the first one stored instead of being refused."""
    grant = _grant(sandbox, uses=0)
    _store(tmp_path, sandbox, grant)
    # Each answer takes 200 ms: all twenty are on their way before the first refusal is back.
    sandbox.set_faults({"spec": "latency=200ms:GET /v2/me"})
    store = CredentialStore(tmp_path / "config")
    first, second = OAuthAccess(store.get("acme"), store), OAuthAccess(store.get("acme"), store)

    async def me(access: OAuthAccess) -> int:
        async with Transport(access) as transport:
            return (await transport.send("GET", f"{sandbox.url}/v2/me")).status

    assert asyncio.run(me(first)) == 200
    assert asyncio.run(me(second)) == 200
    assert second.refused() is None
    assert _statuses(sandbox, "/v2/auth/oauth2/token") == [200]


def test_a_revoked_refresh_token_stops_the_run_with_what_to_do_and_loses_nothing(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    grant = _grant(sandbox, uses=4)
    env = _store(tmp_path, sandbox, grant)
    sandbox.admin("POST", "/_sandbox/oauth/revoke")
    folder = tmp_path / "run"
    emails = _flow(folder, sandbox, 12)
    stopped = _run(folder, env)
    assert stopped.returncode == 3
    said = stopped.stdout + stopped.stderr
    assert "refused to renew the OAuth access token of credential 'acme'" in said
    assert "calsink credentials add acme --oauth" in said
    first = summary(stopped)
    assert first["delivered"] < 12
    _assert_hidden(_secrets(tmp_path, grant), said, all_text(folder))
    # The user stores new tokens and runs again: every record is sent, none twice.
    _store(tmp_path, sandbox, _grant(sandbox))
    again = _run(folder, env)
    assert again.returncode == 0, again.stderr
    assert booked_emails(sandbox) == dict.fromkeys(emails, 1)


def test_credentials_list_and_test_show_the_kind_and_never_a_token(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    grant = _grant(sandbox, uses=0)
    env = _store(tmp_path, sandbox, grant)
    listed = cli("credentials", "list", key=FAKE_KEY, cwd=tmp_path, env=env)
    assert "acme" in listed.stdout and "OAuth" in listed.stdout
    as_json = cli("credentials", "list", "--json", key=FAKE_KEY, cwd=tmp_path, env=env)
    assert json.loads(as_json.stdout)["kind"] == "oauth"
    tested = cli("credentials", "test", "acme", key=FAKE_KEY, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr
    assert "works — demo <demo@example.com>" in tested.stdout and "(OAuth)" in tested.stdout
    assert sandbox.admin("GET", "/_sandbox/oauth")["renewals"] == 1
    texts = (listed.stdout, listed.stderr, as_json.stdout, tested.stdout, tested.stderr)
    _assert_hidden(_secrets(tmp_path, grant), *texts)


def test_calsink_test_sends_with_an_oauth_credential_renewing_its_token(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    grant = _grant(sandbox, uses=0)
    env = _store(tmp_path, sandbox, grant)
    folder = tmp_path / "run"
    emails = _flow(folder, sandbox, 2)
    sent = cli("test", "flow.yaml", "--json", key=FAKE_KEY, cwd=folder, env=env)
    assert sent.returncode == 0, sent.stderr
    assert booked_emails(sandbox) == {emails[0]: 1}
    assert sandbox.admin("GET", "/_sandbox/oauth")["renewals"] == 1
    _assert_hidden(_secrets(tmp_path, grant), sent.stdout, sent.stderr, all_text(folder))


def test_calsink_test_with_a_revoked_refresh_token_says_what_to_do(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    grant = _grant(sandbox, uses=0)
    env = _store(tmp_path, sandbox, grant)
    sandbox.admin("POST", "/_sandbox/oauth/revoke")
    folder = tmp_path / "run"
    _flow(folder, sandbox, 1)
    for args in ((), ("--json",)):
        sent = cli("test", "flow.yaml", *args, key=FAKE_KEY, cwd=folder, env=env)
        said = sent.stdout + sent.stderr
        assert sent.returncode == 3, said
        if args:
            assert json.loads(sent.stdout)["status"] == 401
        else:
            assert "HTTP 401" in said
        assert "calsink credentials add acme --oauth" in said
        _assert_hidden(_secrets(tmp_path, grant), said, all_text(folder))
    assert not booked_emails(sandbox)


def test_calsink_source_reads_with_an_oauth_credential_renewing_its_token(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    grant = _grant(sandbox, uses=0)
    env = _store(tmp_path, sandbox, grant)
    read = cli("source", "me", "--credential", "acme", key=FAKE_KEY, cwd=tmp_path, env=env)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.splitlines()[0])["email"] == "demo@example.com"
    assert sandbox.admin("GET", "/_sandbox/oauth")["renewals"] == 1
    _assert_hidden(_secrets(tmp_path, grant), read.stdout, read.stderr)


def test_oauth_tokens_missing_a_part_are_refused_naming_the_part_only(tmp_path: Path) -> None:
    env = {"CALSINK_CONFIG_DIR": str(tmp_path / "config")}
    tokens = {"access_token": "at-SECRET-1", "refresh_token": "rt-SECRET-2", "client_id": "c"}
    added = cli(
        "credentials",
        "add",
        "acme",
        "--oauth",
        key=FAKE_KEY,
        cwd=tmp_path,
        env=env,
        stdin=json.dumps(tokens),
    )
    assert added.returncode == 2
    assert "the OAuth client_secret is missing" in added.stderr
    assert "SECRET" not in added.stdout + added.stderr
