"""The sandbox issues, expires and renews OAuth access tokens as Cal.com does.

Upstream (calcom/cal.com): POST /v2/auth/oauth2/token with grant_type refresh_token
(openapi OAuth2RefreshConfidentialInput → OAuth2TokensDto, docs/api-reference/v2/
openapi.json@a36c1b79); an invalid refresh token is a 400 and a wrong client a 401
(oauth2.controller.e2e-spec.ts@0078a16e, "should return 400 for invalid refresh token",
"should return 401 for wrong client ID with valid refresh token"), with the body
{error, error_description} (OAuth2ErrorHandler.handleTokenError@4a30760e); an access
token that does not validate is a 401 "Invalid Access Token." (ApiAuthStrategy.
accessTokenStrategy@0180bd65); access tokens are throttled at 500/min
(throttler-guard.ts@42e7dc49).
"""

from __future__ import annotations

import json
from typing import Any

from support.sandbox import Response, SandboxHandle, running_sandbox

TOKEN = "/v2/auth/oauth2/token"


def _grant(sandbox: SandboxHandle, **options: Any) -> dict[str, Any]:
    grant: dict[str, Any] = sandbox.admin("POST", "/_sandbox/oauth", options)
    return grant


def _renew(sandbox: SandboxHandle, grant: dict[str, Any], **changes: str) -> Response:
    body = {
        "grant_type": "refresh_token",
        "client_id": grant["client_id"],
        "client_secret": grant["client_secret"],
        "refresh_token": grant["refresh_token"],
        **changes,
    }
    return sandbox.call("POST", TOKEN, body, version=None, api_key=None)


def _me(sandbox: SandboxHandle, token: str) -> Response:
    return sandbox.call("GET", "/v2/me", version=None, api_key=token)


def test_an_access_token_reads_as_the_account_with_its_own_budget_of_500(
    sandbox: SandboxHandle,
) -> None:
    grant = _grant(sandbox)
    assert not grant["access_token"].startswith("cal_")
    answer = _me(sandbox, grant["access_token"])
    assert answer.status == 200
    assert answer.data["email"] == "demo@example.com"
    # throttler-guard.ts@42e7dc49: access tokens 500/min; the key keeps its own limit.
    assert answer.headers["x-ratelimit-limit-default"] == "500"
    assert _me(sandbox, sandbox.api_key).headers["x-ratelimit-limit-default"] == "1000000"


def test_a_refresh_answers_new_tokens_and_spends_the_refresh_token(
    sandbox: SandboxHandle,
) -> None:
    grant = _grant(sandbox)
    renewed = _renew(sandbox, grant)
    assert renewed.status == 200
    tokens = renewed.json  # OAuth2TokensDto@a36c1b79: not wrapped in {status, data}
    assert set(tokens) == {"access_token", "token_type", "refresh_token", "expires_in", "scope"}
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 1800
    assert {k.lower(): v for k, v in renewed.headers.items()}["cache-control"] == "no-store"
    assert tokens["access_token"] != grant["access_token"]
    assert _me(sandbox, tokens["access_token"]).status == 200
    again = _renew(sandbox, grant)
    assert again.status == 400
    assert again.json["error"] == "invalid_grant"
    logged = json.dumps(sandbox.requests())
    assert grant["refresh_token"] not in logged and grant["client_secret"] not in logged


def test_an_unknown_refresh_token_is_400_and_a_wrong_client_401(sandbox: SandboxHandle) -> None:
    grant = _grant(sandbox)
    unknown = _renew(sandbox, grant, refresh_token="not-a-refresh-token")
    assert (unknown.status, unknown.json["error"]) == (400, "invalid_grant")
    secret = _renew(sandbox, grant, client_secret="wrong-secret")
    assert (secret.status, secret.json["error"]) == (401, "invalid_client")
    client = _renew(sandbox, grant, client_id="wrong-client-id")
    assert (client.status, client.json["error"]) == (401, "invalid_client")
    missing = _renew(sandbox, grant, refresh_token="")
    assert (missing.status, missing.json["error"]) == (400, "invalid_request")
    other = _renew(sandbox, grant, grant_type="client_credentials")
    assert (other.status, other.json["error"]) == (400, "unsupported_grant_type")
    assert _renew(sandbox, grant).status == 200


def test_an_expired_access_token_is_answered_401_and_a_renewed_one_works(
    sandbox: SandboxHandle,
) -> None:
    grant = _grant(sandbox, uses=1)
    assert _me(sandbox, grant["access_token"]).status == 200
    expired = _me(sandbox, grant["access_token"])
    assert expired.status == 401
    assert expired.json["error"]["message"] == "Invalid Access Token."
    renewed = _renew(sandbox, grant).json["access_token"]
    assert _me(sandbox, renewed).status == 200
    sandbox.admin("POST", "/_sandbox/oauth/expire")
    assert _me(sandbox, renewed).status == 401


def test_revoked_refresh_tokens_are_refused_like_used_ones(sandbox: SandboxHandle) -> None:
    grant = _grant(sandbox)
    assert sandbox.admin("POST", "/_sandbox/oauth/revoke") == {"revoked": 1}
    refused = _renew(sandbox, grant)
    assert (refused.status, refused.json["error"]) == (400, "invalid_grant")
    assert sandbox.admin("GET", "/_sandbox/oauth")["renewals"] == 0


def test_the_oauth_flag_prints_a_credential_ready_to_store() -> None:
    with running_sandbox("--oauth", "--token-lifetime", "60") as sandbox:
        line = next(x for x in sandbox.output_lines if x.startswith("calsink sandbox oauth"))
        grant = json.loads(line.split(": ", 1)[1])
        assert set(grant) >= {"access_token", "refresh_token", "client_id", "client_secret"}
        assert grant["expires_in"] == 60
        assert _me(sandbox, grant["access_token"]).status == 200
