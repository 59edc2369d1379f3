"""`calsink ui` driven in headless Chromium against the sandbox, as a user would drive it.

Configure a create-booking flow from a CSV, watch the Sample Payload panel follow the
settings, send a test payload, save, activate, and find the bookings in the sandbox.
Screenshots of each step go to $CALSINK_TEST_ARTIFACTS/ui (or the test's tmp_path).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support.page import MAP, add_credential, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def sample(page: Any, number: int) -> Any:
    return page.locator("#sample-list > li").nth(number - 1)


def test_configure_preview_test_save_and_activate_a_booking_flow(
    sandbox: Any, ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    started = time.monotonic()
    page.goto(ui_server)
    expect(page.get_by_label("Endpoint", exact=True)).to_have_value("create-booking")

    # 1. A credential (the key never comes back), the source file and the template's fields.
    add_credential(page, sandbox)
    expect(page.get_by_label("Cal.com API base URL")).to_have_value(sandbox.url)
    assert sandbox.api_key not in page.content()
    page.get_by_label("Flow name").fill("book-demos")
    page.get_by_label("Source file").fill("leads.csv")
    page.get_by_label("Map (YAML", exact=False).fill(MAP)
    expect(page.locator("#template-info")).to_contain_text("Required fields: start, attendee")
    expect(page.locator("#sample-list > li")).to_have_count(3)
    first = sample(page, 1)
    expect(first).to_contain_text("leads.csv:2 POST /v2/bookings")
    expect(first).to_contain_text("1 warning")
    first.locator("summary").click()
    payload = first.get_by_label("Payload of sample 1", exact=False)
    expect(payload).to_have_value(re.compile(r'"internal_id": "crm-1"'))
    expect(first).to_contain_text("internal_id: create-booking does not know this field")
    shot(page, artifacts, "01-configured")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter((e) => e.type !== 'hidden')
            .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                           && !(e.tagName === 'BUTTON' && e.textContent.trim()))
            .map((e) => e.outerHTML)"""
    )
    assert unlabelled == [], "controls without a label"

    # 2. Excluding an attribute changes the sample at once.
    page.get_by_label("Exclude attributes", exact=True).select_option("internal_id")
    page.get_by_role("button", name="Exclude", exact=True).click()
    remove = page.get_by_role("button", name="Remove internal_id from the excluded attributes")
    expect(remove).to_be_visible()
    expect(payload).not_to_have_value(re.compile("internal_id"))
    expect(first).not_to_contain_text("warning")
    shot(page, artifacts, "02-excluded-attribute")

    # 3. A request header in the Advanced tab shows in the sample's request.
    page.get_by_role("tab", name="Advanced").click()
    expect(page.get_by_label(re.compile(r"^URL"))).to_have_value(f"{sandbox.url}/v2/bookings")
    headers = page.get_by_label("Request headers", exact=False)
    expect(headers).to_have_value("cal-api-version:2026-02-25")
    headers.fill("cal-api-version:2026-02-25,x-source:crm")
    expect(sample(page, 1).locator(".request-line")).to_contain_text("x-source: crm")
    shot(page, artifacts, "03-advanced-header")
    page.get_by_role("tab", name="Template").click()
    expect(sample(page, 1).locator(".request-line")).not_to_contain_text("x-source")

    # 4. Send Test Data with an edited payload: Cal.com's 201 and the new booking's uid.
    first = sample(page, 1)
    if first.locator("details").get_attribute("open") is None:
        first.locator("summary").click()
    payload = first.get_by_label("Payload of sample 1", exact=False)
    edited = json.loads(payload.input_value())
    edited["start"] = "2030-01-08T17:00:00Z"
    edited["attendee"]["name"] = "Ada Test"
    edited["attendee"]["email"] = "ada.test@example.com"
    payload.fill(json.dumps(edited, indent=2))
    first.get_by_role("button", name="Send Test Data").click()
    result = first.locator(".result")
    expect(result).to_contain_text("HTTP 201")
    uid = re.search(r"uid (\S+)", result.locator(".status-line").inner_text())
    assert uid is not None
    shot(page, artifacts, "04-test-sent")
    tested = [b for b in sandbox.state()["bookings"] if b["uid"] == uid.group(1)]
    assert len(tested) == 1
    assert tested[0]["attendees"][0]["email"] == "ada.test@example.com"

    # 5. Done saves the flow file and shows its YAML.
    page.get_by_label("Save every API response").check()
    expect(page.get_by_label("Flow file", exact=True)).to_have_value("book-demos.yaml")
    page.get_by_role("button", name="Done").click()
    saved = page.locator("#saved-yaml")
    expect(saved).to_contain_text("template: create-booking")
    expect(saved).to_contain_text("- internal_id")
    written = (workdir / "book-demos.yaml").read_text(encoding="utf-8")
    assert written == saved.inner_text().rstrip("\n") + "\n"
    assert sandbox.api_key not in written
    shot(page, artifacts, "05-saved")

    # 6. Activate runs it: progress, summary, captured responses; the bookings exist. The
    # record sent by Send Test Data is in the ledger: the run skips it.
    page.get_by_role("button", name="Activate").click()
    expect(page.locator("#run-status")).to_contain_text("finished", timeout=30_000)
    summary = page.locator("#run-summary")
    expect(summary.get_by_role("row", name="delivered")).to_contain_text("2")
    expect(summary.get_by_role("row", name="skipped")).to_contain_text("1")
    expect(page.locator("#dead-letters")).to_contain_text("No dead letters")
    responses = page.locator("#responses > li")
    expect(responses).to_have_count(2)
    expect(responses.first).to_contain_text("leads.csv:3 · HTTP 201 · uid ")
    shot(page, artifacts, "06-activated")
    emails = [b["attendees"][0]["email"] for b in sandbox.state()["bookings"] if b.get("attendees")]
    assert sorted(e for e in emails if e.endswith("@example.com") and e != "ada@example.com") == [
        "ada.test@example.com",
        "alan@example.com",
        "grace@example.com",
    ]
    assert "ada@example.com" not in emails, "the tested record is not booked a second time"
    print(f"page walk-through took {time.monotonic() - started:.1f} s")


def test_requests_without_the_token_are_refused(ui_server: str) -> None:
    origin, _, token = ui_server.partition("/?token=")

    def status(path: str, headers: dict[str, str], body: bytes | None = None) -> int:
        request = urllib.request.Request(origin + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    json_headers = {"Content-Type": "application/json"}
    draft = json.dumps({"flow": {}}).encode()
    assert status("/", {}) == 403
    assert status("/?token=wrong", {}) == 403
    assert status("/api/state", {}) == 403
    assert status("/api/preview", json_headers, draft) == 403
    assert status("/api/preview", {**json_headers, "X-Calsink-Token": "wrong"}, draft) == 403
    foreign = {**json_headers, "X-Calsink-Token": token, "Origin": "http://evil.example"}
    assert status("/api/preview", foreign, draft) == 403
    assert status("/api/state", {"X-Calsink-Token": token}) == 200
    assert status(f"/?token={token}", {}) == 200
