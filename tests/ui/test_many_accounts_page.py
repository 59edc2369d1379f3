"""The page with a flow whose records name their credential (`credential: "{owner}"`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.ui.test_server import OWN, PORT, TOKEN, booking_draft, call

from calsink.credentials import CredentialStore
from calsink.ui.security import Guard
from calsink.ui.server import UiContext, create_app

KEYS = {"alice": "cal_test_PAGE_alice_51c0", "bob": "cal_test_PAGE_bob_9e2f"}


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    store = CredentialStore(tmp_path / "config")
    for name, key in KEYS.items():
        store.add(name, key)
    monkeypatch.setenv("CALSINK_CONFIG_DIR", str(tmp_path / "config"))
    context = UiContext.open(None, base_dir=tmp_path, store=store)
    return create_app(context, Guard(token=TOKEN, host="127.0.0.1", port=PORT))


def test_the_page_shows_which_credential_sends_each_sample_and_keeps_the_template(
    app: Any, tmp_path: Path
) -> None:
    (tmp_path / "leads.csv").write_text(
        "name,email,demo_at,owner\n"
        "Ada,ada@example.com,2030-01-07T14:00:00Z,alice\n"
        "Bo,bo@example.com,2030-01-07T15:00:00Z,dave\n"
        "Cy,cy@example.com,2030-01-07T16:00:00Z,bob\n",
        encoding="utf-8",
    )
    draft = booking_draft(credential="{owner}")

    status, body = call(app, "POST", "/api/preview", OWN, {"flow": draft, "count": 3})

    assert status == 200, body
    requests = [s for s in body["samples"] if s["kind"] == "request"]
    assert [s["credential"] for s in requests] == ["alice", "bob"]
    [rejection] = [s for s in body["samples"] if s["kind"] == "rejection"]
    assert rejection["position"] == "leads.csv:3"
    assert "stored: alice, bob" in rejection["reason"]
    assert "credential: '{owner}'" in body["yaml"]
    page = str(body)
    assert all(key not in page for key in KEYS.values())


def test_the_preview_reads_the_credential_names_from_the_pages_own_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page opened with a store of its own (not the default one) previews with its names."""
    store = CredentialStore(tmp_path / "page-config")
    for name, key in KEYS.items():
        store.add(name, key)
    CredentialStore(tmp_path / "config").add("zed", "cal_test_PAGE_zed_77aa")
    monkeypatch.setenv("CALSINK_CONFIG_DIR", str(tmp_path / "config"))
    context = UiContext.open(None, base_dir=tmp_path, store=store)
    app = create_app(context, Guard(token=TOKEN, host="127.0.0.1", port=PORT))
    (tmp_path / "leads.csv").write_text(
        "name,email,demo_at,owner\n"
        "Ada,ada@example.com,2030-01-07T14:00:00Z,alice\n"
        "Zed,zed@example.com,2030-01-07T15:00:00Z,zed\n",
        encoding="utf-8",
    )

    status, body = call(
        app, "POST", "/api/preview", OWN, {"flow": booking_draft(credential="{owner}"), "count": 2}
    )

    assert status == 200, body
    [request] = [s for s in body["samples"] if s["kind"] == "request"]
    assert request["credential"] == "alice"
    [rejection] = [s for s in body["samples"] if s["kind"] == "rejection"]
    assert rejection["position"] == "leads.csv:3"
    assert "stored: alice, bob" in rejection["reason"]
