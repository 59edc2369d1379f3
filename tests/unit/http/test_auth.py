"""`OAuthAccess`: when it renews (on a fake clock), what it stores and never shows, and a
request sent as another credential than its transport's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.sandbox import SandboxHandle

from calsink.credentials import CredentialStore, OAuthGrant
from calsink.http.auth import OAuthAccess, token_url
from calsink.http.transport import Transport

GRANT = OAuthGrant("at-0", "rt-0", "client-1", "secret-1", expires_at=1000.0)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _access(tmp_path: Path, clock: Clock) -> tuple[OAuthAccess, CredentialStore]:
    store = CredentialStore(tmp_path)
    store.add_oauth("acme", GRANT)
    return OAuthAccess(store.get("acme"), store, clock=clock), store


def _answering(*answers: tuple[int, Any]) -> tuple[list[bytes], Any]:
    sent: list[bytes] = []
    queue = list(answers)

    async def post(url: str, body: bytes) -> tuple[int, Any]:
        sent.append(body)
        return queue.pop(0)

    return sent, post


def test_a_short_lived_token_is_renewed_before_it_lapses_not_before_every_request(
    tmp_path: Path,
) -> None:
    clock = Clock(900.0)
    access, store = _access(tmp_path, clock)
    assert not access.due()
    clock.now = 975.0  # within 30 s of the stored expiry
    assert access.due()
    tokens = {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 2}
    sent, post = _answering((200, tokens))
    assert asyncio.run(access.renew(post, "u", access.authorization()))
    assert access.authorization() == "Bearer at-1"
    assert not access.due()  # a 2 s token is renewed 1 s after it came, not at once
    clock.now += 1.0
    assert access.due()
    stored = store.get("acme").oauth
    assert stored == OAuthGrant("at-1", "rt-1", "client-1", "secret-1", expires_at=977.0)
    assert len(sent) == 1 and b'"grant_type":"refresh_token"' in sent[0]


def test_an_older_servers_enveloped_answer_is_read_and_a_refusal_names_what_to_do(
    tmp_path: Path,
) -> None:
    access, _ = _access(tmp_path, Clock(0.0))
    wrapped = {"status": "success", "data": {"access_token": "at-2", "refresh_token": "rt-2"}}
    _, post = _answering(
        (200, wrapped), (400, {"error": "invalid_grant", "error_description": "rt-2"})
    )
    assert asyncio.run(access.renew(post, "u", "Bearer at-0"))
    assert access.authorization() == "Bearer at-2"
    assert not asyncio.run(access.renew(post, "u", "Bearer at-2"))
    refused = access.refused()
    assert refused is not None and "calsink credentials add acme --oauth" in refused
    assert "rt-2" not in refused and "at-2" not in refused
    assert "at-2" not in repr(access) and "rt-2" not in repr(access)
    assert {"at-0", "rt-0", "secret-1", "at-2", "rt-2"} <= set(access.secrets())


def test_the_token_endpoint_is_on_the_api_the_request_went_to() -> None:
    assert token_url("https://api.cal.com/v2/bookings/abc/cancel") == (
        "https://api.cal.com/v2/auth/oauth2/token"
    )
    assert token_url("http://127.0.0.1:5555/proxy/v2/me") == (
        "http://127.0.0.1:5555/proxy/v2/auth/oauth2/token"
    )


def test_a_request_may_go_as_another_credential_than_the_transports(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """The seam a run with many accounts uses: one transport, a credential per request."""
    grant = sandbox.admin("POST", "/_sandbox/oauth", {"uses": 0})
    store = CredentialStore(tmp_path)
    store.add_oauth(
        "acme",
        OAuthGrant(
            grant["access_token"],
            grant["refresh_token"],
            grant["client_id"],
            grant["client_secret"],
        ),
    )
    access = OAuthAccess(store.get("acme"), store)

    async def both() -> tuple[int, int]:
        async with Transport(sandbox.api_key) as transport:
            as_oauth = await transport.send("GET", f"{sandbox.url}/v2/me", auth=access)
            as_key = await transport.send("GET", f"{sandbox.url}/v2/me")
        return as_oauth.status, as_key.status

    assert asyncio.run(both()) == (200, 200)
    assert access.renewals == 1
    sent = [r.get("status") for r in sandbox.requests() if r["path"] == "/v2/me"]
    assert sent == [401, 200, 200]


def test_a_run_paces_an_oauth_credential_from_the_access_tokens_budget_of_500(
    tmp_path: Path,
) -> None:
    """Cal.com throttles access tokens at 500/min, API keys at 120 (throttler-guard.ts
    @42e7dc49): `auto` starts from the credential's own budget until headers tell."""
    from tests.adversarial.harness import write_flow

    from calsink.flow import load_flow
    from calsink.runner import _limiter

    loaded = load_flow(write_flow(tmp_path, "http://127.0.0.1:9", source="leads.csv"))
    access, _ = _access(tmp_path, Clock(0.0))
    assert _limiter(None, loaded, None, access).budget().limit == 500  # type: ignore[arg-type]
    assert _limiter(None, loaded, None, "cal_test_k").budget().limit == 120  # type: ignore[arg-type]


def test_token_fields_are_screened_by_name_in_what_is_kept() -> None:
    """A renewed token is not in the screens opened before it came: an answer that carries
    one (a managed user's tokens, a token answer) is screened by its field's name."""
    from calsink.redact import redact_payload, scrub

    answer = {"data": {"access_token": "at-9", "refresh_token": "rt-9", "client_secret": "s"}}
    for screened in (scrub(answer), redact_payload(answer)):
        assert "at-9" not in str(screened) and "rt-9" not in str(screened)
        assert "'s'" not in str(screened)
