"""The page (`calsink ui`) with a stored OAuth credential whose access token has lapsed:
a run and a test send renew it once through POST /v2/auth/oauth2/token, store the new
tokens, and deliver; no token ever comes back in the page's answers.

Upstream (calcom/cal.com): an access token that does not validate is a 401 "Invalid
Access Token." (ApiAuthStrategy.accessTokenStrategy, api-auth.strategy.ts@0180bd65);
the renewal is openapi OAuth2RefreshConfidentialInput → OAuth2TokensDto
(docs/api-reference/v2/openapi.json@a36c1b79).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import booked_emails
from tests.ui.conftest import UiHandle

from calsink.credentials import CredentialStore, OAuthGrant
from support.page import MAP
from support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

EMAILS = ["ada@example.com", "grace@example.com", "alan@example.com"]  # support.page.LEADS
RUN_WAIT_S = 120.0


def _page(ui: UiHandle, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One call to the page's API, as its own script makes it (same origin, with the token)."""
    request = urllib.request.Request(
        ui.origin + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"x-calsink-token": ui.token, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=RUN_WAIT_S) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def _stored_lapsed_grant(sandbox: SandboxHandle, tmp_path: Path) -> dict[str, Any]:
    """An OAuth client's tokens stored as credential `acme`, its access token expired."""
    grant: dict[str, Any] = sandbox.admin("POST", "/_sandbox/oauth", {})
    CredentialStore(tmp_path / "config").add_oauth(
        "acme",
        OAuthGrant(
            access_token=grant["access_token"],
            refresh_token=grant["refresh_token"],
            client_id=grant["client_id"],
            client_secret=grant["client_secret"],
        ),
        sandbox.url,
    )
    sandbox.admin("POST", "/_sandbox/oauth/expire")
    return grant


def _draft(sandbox: SandboxHandle) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "book-demos",
        "source": {"path": "leads.csv"},
        "transform": {"map": MAP},
        "destination": {
            "credential": "acme",
            "base_url": sandbox.url,
            "template": "create-booking",
        },
    }


def _renewals(sandbox: SandboxHandle) -> int:
    return int(sandbox.admin("GET", "/_sandbox/oauth")["renewals"])


def _secrets(tmp_path: Path, grant: dict[str, Any]) -> list[str]:
    """The tokens the page had: the first ones and those the renewal stored."""
    stored = json.loads((tmp_path / "config" / "credentials.json").read_text())["acme"]
    parts = ("access_token", "refresh_token", "client_secret")
    return sorted({*(grant[p] for p in parts), *(stored[p] for p in parts)})


def _finished_run(ui: UiHandle) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_WAIT_S
    while True:
        status, answer = _page(ui, "GET", "/api/run")
        assert status == 200, answer
        run: dict[str, Any] = answer["run"]
        if run["state"] not in {"running", "stopping"} or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def test_a_page_run_renews_a_lapsed_access_token_once_and_delivers_every_record(
    sandbox: SandboxHandle, ui: UiHandle, tmp_path: Path
) -> None:
    grant = _stored_lapsed_grant(sandbox, tmp_path)
    before = _renewals(sandbox)
    status, saved = _page(ui, "POST", "/api/save", {"path": "flow.yaml", "flow": _draft(sandbox)})
    assert status == 200, saved

    status, started = _page(ui, "POST", "/api/activate", {"path": "flow.yaml"})
    assert status == 200, started
    run = _finished_run(ui)

    assert run["state"] == "finished", run["error"]
    assert run["report"]["delivered"] == 3, run["report"]
    assert run["dead_letters"] == []
    assert booked_emails(sandbox) == dict.fromkeys(EMAILS, 1)
    assert _renewals(sandbox) == before + 1
    assert CredentialStore(tmp_path / "config").get("acme").api_key != grant["access_token"]
    shown = json.dumps([saved, started, run])
    assert all(secret not in shown for secret in _secrets(tmp_path, grant))


def test_a_page_test_send_renews_a_lapsed_access_token_and_stores_the_new_one(
    sandbox: SandboxHandle, ui: UiHandle, tmp_path: Path
) -> None:
    grant = _stored_lapsed_grant(sandbox, tmp_path)
    before = _renewals(sandbox)

    status, answer = _page(
        ui, "POST", "/api/test", {"flow": _draft(sandbox), "record_index": 0, "key": None}
    )

    assert status == 200, answer
    assert answer["result"]["status"] == 201, answer["result"]
    assert answer["result"]["ok"] is True
    assert booked_emails(sandbox) == {"ada@example.com": 1}
    assert _renewals(sandbox) == before + 1
    assert CredentialStore(tmp_path / "config").get("acme").api_key != grant["access_token"]
    shown = json.dumps(answer)
    assert all(secret not in shown for secret in _secrets(tmp_path, grant))


def test_a_refused_renewal_in_the_page_says_what_to_do_and_shows_no_token(
    sandbox: SandboxHandle, ui: UiHandle, tmp_path: Path
) -> None:
    grant = _stored_lapsed_grant(sandbox, tmp_path)
    sandbox.admin("POST", "/_sandbox/oauth/revoke")

    status, answer = _page(
        ui, "POST", "/api/test", {"flow": _draft(sandbox), "record_index": 0, "key": None}
    )

    assert status == 200, answer
    assert answer["result"]["ok"] is False
    assert "calsink credentials add acme --oauth" in answer["result"]["error"]
    shown = json.dumps(answer)
    assert booked_emails(sandbox) == {}
    assert all(secret not in shown for secret in _secrets(tmp_path, grant))


@pytest.fixture
def key_in_env(sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sandbox's API key in $CAL_PAGE_KEY of the page's process (started after this)."""
    monkeypatch.setenv("CAL_PAGE_KEY", sandbox.api_key)
    return "CAL_PAGE_KEY"


def test_a_page_test_send_with_a_key_from_the_environment_still_sends_it(
    sandbox: SandboxHandle, key_in_env: str, ui: UiHandle
) -> None:
    draft = _draft(sandbox)
    draft["destination"] = {**draft["destination"], "credential": None, "api_key_env": key_in_env}

    status, answer = _page(ui, "POST", "/api/test", {"flow": draft, "record_index": 0})

    assert status == 200, answer
    assert answer["result"]["status"] == 201, answer["result"]
    assert booked_emails(sandbox) == {"ada@example.com": 1}
    assert sandbox.api_key not in json.dumps(answer)
