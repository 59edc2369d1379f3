"""The page's server answers only the holder of this start's token, from its own origin."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from calsink.credentials import CredentialStore
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


def test_the_credential_list_never_carries_a_key(app: Any) -> None:
    status, state = call(app, "GET", "/api/state", OWN)
    assert status == 200
    assert state["credentials"] == [{"name": "sandbox", "base_url": "http://127.0.0.1:1"}]
    assert "cal_test_secret_value_123" not in json.dumps(state)
    status, added = call(
        app, "POST", "/api/credentials", OWN, {"name": "other", "api_key": "cal_live_other_key"}
    )
    assert status == 200
    assert "cal_live_other_key" not in json.dumps(added)
    assert [c["name"] for c in added["credentials"]] == ["other", "sandbox"]
