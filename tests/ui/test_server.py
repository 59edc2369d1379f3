"""The page's server: only the holder of this start's token, from its own origin, drives it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from calsink.credentials import CredentialStore
from calsink.flow import load_flow
from calsink.ui.drafts import load_draft
from calsink.ui.security import Guard
from calsink.ui.server import UiContext, create_app

TOKEN = "t" * 43
PORT = 45678
OWN = {"host": f"127.0.0.1:{PORT}", "x-calsink-token": TOKEN}


@pytest.fixture
def guard() -> Guard:
    return Guard(token=TOKEN, host="127.0.0.1", port=PORT)


def test_a_same_origin_call_with_the_token_passes(guard: Guard) -> None:
    assert guard.check(OWN) is None
    assert guard.check({**OWN, "origin": f"http://127.0.0.1:{PORT}"}) is None
    assert guard.check({**OWN, "sec-fetch-site": "same-origin"}) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"host": f"127.0.0.1:{PORT}"},
        {"host": f"127.0.0.1:{PORT}", "x-calsink-token": ""},
        {"host": f"127.0.0.1:{PORT}", "x-calsink-token": TOKEN[:-1]},
        {"host": f"127.0.0.1:{PORT}", "x-calsink-token": TOKEN + "x"},
    ],
)
def test_a_missing_or_wrong_token_is_refused(guard: Guard, headers: dict[str, str]) -> None:
    refusal = guard.check(headers)
    assert refusal is not None
    assert refusal.status == 403
    assert "token" in refusal.reason


def test_another_sites_page_is_refused_even_with_the_token(guard: Guard) -> None:
    for origin in ("http://evil.example", f"http://127.0.0.1:{PORT + 1}", "null"):
        refusal = guard.check({**OWN, "origin": origin})
        assert refusal is not None and refusal.status == 403, origin
    refusal = guard.check({**OWN, "sec-fetch-site": "cross-site"})
    assert refusal is not None and refusal.status == 403


def test_a_rebound_host_name_is_refused(guard: Guard) -> None:
    refusal = guard.check({**OWN, "host": f"attacker.example:{PORT}"})
    assert refusal is not None and refusal.status == 421


def test_the_page_url_carries_the_token_in_its_query(guard: Guard) -> None:
    headers = {"host": f"127.0.0.1:{PORT}"}
    assert guard.check(headers, query_token=TOKEN) is None
    assert guard.check(headers, query_token="nope") is not None


# --- the same checks, through the app ------------------------------------------------------


def call(
    app: Any, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    path, _, query = path.partition("?")
    raw = b"" if body is None else json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()]
        + ([(b"content-type", b"application/json")] if body is not None else []),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", PORT),
    }
    messages: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    try:
        return status, json.loads(content)
    except ValueError:
        return status, content.decode()


@pytest.fixture
def app(tmp_path: Path, guard: Guard) -> Any:
    store = CredentialStore(tmp_path / "config")
    store.add("sandbox", "cal_test_secret_value_123", "http://127.0.0.1:1")
    context = UiContext.open(None, base_dir=tmp_path, store=store)
    return create_app(context, guard)


def test_every_api_route_needs_the_token(app: Any) -> None:
    host = {"host": f"127.0.0.1:{PORT}"}
    for method, path in [
        ("GET", "/api/state"),
        ("POST", "/api/preview"),
        ("POST", "/api/test"),
        ("POST", "/api/save"),
        ("POST", "/api/activate"),
        ("POST", "/api/credentials"),
        ("DELETE", "/api/credentials/sandbox"),
        ("GET", "/api/run"),
    ]:
        status, body = call(app, method, path, host, body={} if method == "POST" else None)
        assert status == 403, (method, path)
        assert "token" in body["error"]


def test_the_page_itself_needs_the_token(app: Any) -> None:
    status, _ = call(app, "GET", "/", {"host": f"127.0.0.1:{PORT}"})
    assert status == 403
    status, page = call(app, "GET", f"/?token={TOKEN}", {"host": f"127.0.0.1:{PORT}"})
    assert status == 200
    assert "<title>calsink" in page


def test_a_cross_origin_call_with_the_token_changes_nothing(app: Any, tmp_path: Path) -> None:
    headers = {**OWN, "origin": "http://evil.example"}
    status, _ = call(app, "DELETE", "/api/credentials/sandbox", headers)
    assert status == 403
    assert CredentialStore(tmp_path / "config").names() == ["sandbox"]


def test_the_credential_list_never_carries_a_key(app: Any, sandbox: Any) -> None:
    status, state = call(app, "GET", "/api/state", OWN)
    assert status == 200
    assert state["credentials"] == [{"name": "sandbox", "base_url": "http://127.0.0.1:1"}]
    assert "cal_test_secret_value_123" not in json.dumps(state)
    wrong = {"name": "other", "api_key": "cal_live_other_key", "base_url": sandbox.url}
    status, refused = call(app, "POST", "/api/credentials", OWN, wrong)
    assert status == 422
    assert "refused this API key (401)" in refused["problems"][0]
    assert "cal_live_other_key" not in json.dumps(refused)
    right = {**wrong, "api_key": sandbox.api_key}
    status, added = call(app, "POST", "/api/credentials", OWN, right)
    assert status == 200
    assert sandbox.api_key not in json.dumps(added)
    assert [c["name"] for c in added["credentials"]] == ["other", "sandbox"]


# --- what the page's calls answer -------------------------------------------------------------

LEADS = "name,email,demo_at\nAda,ada@example.com,2030-01-07T14:00:00Z\n"


def booking_draft(**destination: object) -> dict[str, object]:
    return {
        "version": 1,
        "name": "book-demos",
        "source": {"path": "leads.csv"},
        "transform": {
            "map": 'start: "{demo_at}"\neventTypeId: 1\n'
            'attendee: {name: "{name}", email: "{email}", timeZone: UTC}\n'
        },
        "destination": {
            "credential": "sandbox",
            "base_url": "http://127.0.0.1:1",
            "template": "create-booking",
            **destination,
        },
    }


def test_an_incomplete_draft_gets_problems_naming_the_setting(app: Any) -> None:
    status, body = call(app, "POST", "/api/preview", OWN, {"flow": {"name": "x"}})
    assert status == 422
    assert "source: required" in body["problems"]
    assert "destination: required" in body["problems"]


def test_the_preview_answers_samples_and_the_yaml_to_save(app: Any, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8")
    status, body = call(app, "POST", "/api/preview", OWN, {"flow": booking_draft(), "count": 3})
    assert status == 200, body
    [only] = body["samples"]
    assert only["body"]["attendee"]["email"] == "ada@example.com"
    assert body["destructive"] is False
    assert "template: create-booking" in body["yaml"]


def test_done_writes_the_flow_file_and_returns_it(app: Any, tmp_path: Path) -> None:
    status, body = call(
        app, "POST", "/api/save", OWN, {"flow": booking_draft(), "path": "flows/book.yaml"}
    )
    assert status == 200, body
    assert body["path"] == "flows/book.yaml"
    assert (tmp_path / "flows" / "book.yaml").read_text(encoding="utf-8") == body["yaml"]


def test_a_flow_saved_to_another_folder_names_the_files_the_page_used(
    app: Any, tmp_path: Path
) -> None:
    status, body = call(
        app, "POST", "/api/save", OWN, {"flow": booking_draft(), "path": "flows/book.yaml"}
    )
    assert status == 200, body
    saved = load_flow(tmp_path / "flows" / "book.yaml")
    page = load_draft(booking_draft(), base_dir=tmp_path)
    for setting in ("source.path", "ledger", "dead_letters_file"):
        in_file = saved.resolve(_setting(saved.flow, setting)).resolve()
        assert in_file == page.resolve(_setting(page.flow, setting)).resolve(), setting
    store = CredentialStore(tmp_path / "config")
    reopened = UiContext.open(tmp_path / "flows" / "book.yaml", base_dir=tmp_path, store=store)
    assert reopened.initial_flow["source"]["path"] == "leads.csv"


def _setting(flow: Any, dotted: str) -> str:
    value = flow
    for part in dotted.split("."):
        value = getattr(value, part)
    return str(value)


def test_a_destructive_test_needs_a_confirmation(app: Any, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("uid\nbk_1\n", encoding="utf-8")
    draft = booking_draft(template="cancel-booking", params={"uid": "{uid}"})
    draft["transform"] = None
    status, body = call(app, "POST", "/api/test", OWN, {"flow": draft, "record_index": 0})
    assert status == 409
    assert "confirm" in body["problems"][0]


def test_activate_runs_only_a_saved_flow(app: Any) -> None:
    status, body = call(app, "POST", "/api/activate", OWN, {})
    assert status == 422
    assert "Done" in body["problems"][0]


def test_a_secret_given_by_reference_never_reaches_the_page_or_a_saved_file(
    tmp_path: Path, guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hook-token-" + "9" * 12
    monkeypatch.setenv("HOOK_TOKEN", secret)
    flow_file = tmp_path / "book.yaml"
    draft = booking_draft()
    draft["responses"] = {"webhook": "http://127.0.0.1:9/hook?token=${HOOK_TOKEN}"}
    flow_file.write_text(
        yaml.safe_dump({k: v for k, v in draft.items() if k != "transform"}), encoding="utf-8"
    )
    (tmp_path / "leads.csv").write_text(
        "name,email,demo_at\nAda,ada@example.com,2030-01-07T14:00:00Z\n", encoding="utf-8"
    )
    store = CredentialStore(tmp_path / "config")
    context = UiContext.open(flow_file, base_dir=tmp_path, store=store)
    shown = json.dumps(context.initial_flow)
    assert "${HOOK_TOKEN}" in shown and secret not in shown
    app = create_app(context, guard)
    status, body = call(app, "POST", "/api/preview", OWN, {"flow": draft, "count": 1})
    assert status == 200, body
    assert secret not in json.dumps(body) and "${HOOK_TOKEN}" in body["yaml"]
    status, body = call(app, "POST", "/api/save", OWN, {"flow": draft, "path": "book.yaml"})
    assert status == 200, body
    written = flow_file.read_text(encoding="utf-8")
    assert "${HOOK_TOKEN}" in written and secret not in written
    assert load_flow(flow_file).flow.responses.webhook == (
        f"http://127.0.0.1:9/hook?token={secret}"
    ), "a run still reads the value from the environment"
