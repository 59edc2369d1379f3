"""`calsink ui`, second round: what a user relies on most, driven in Chromium.

Each test walks one area of the page as a user would and takes screenshots of each
step at 1280 px and 400 px (see support.page.shot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.adversarial.harness import write_leads

from support.page import shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CANCELS = "uid,reason\nbk-1,moved\nbk-2,ill\n"


def sample(page: Any, number: int) -> Any:
    return page.locator("#sample-list > li").nth(number - 1)


def start_cancel_flow(page: Any, ui_server: str, workdir: Path) -> None:
    from playwright.sync_api import expect

    (workdir / "cancels.csv").write_text(CANCELS, encoding="utf-8")
    page.goto(ui_server)
    expect(page.get_by_label("Endpoint", exact=True)).to_have_value("create-booking")
    page.get_by_label("Flow name").fill("cancel-demos")
    page.get_by_label("Source file").fill("cancels.csv")
    page.get_by_label("Endpoint", exact=True).select_option("cancel-booking")
    expect(sample(page, 1)).to_contain_text("POST /v2/bookings/bk-1/cancel")


def test_an_empty_required_path_field_is_marked_and_not_saved(
    ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    start_cancel_flow(page, ui_server, workdir)
    expect(page.locator("#template-info")).to_contain_text(
        "Required fields: uid (Booking UID, in the path)"
    )
    uid = page.get_by_label("Booking UID", exact=False)
    uid.fill("")
    expect(uid).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#param-uid-error")).to_contain_text("Booking UID is required")
    expect(page.locator("#problems")).to_contain_text("destination.params.uid")
    expect(page.locator("#sample-list > li")).to_have_count(0)
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#status")).to_contain_text("Not saved")
    expect(page.locator("#status")).to_contain_text("Booking UID is required")
    assert not (workdir / "cancel-demos.yaml").exists()
    shot(page, artifacts, "r2-01-empty-path-field")

    uid.fill("{uid}")
    expect(uid).not_to_have_attribute("aria-invalid", "true")
    expect(sample(page, 1)).to_contain_text("POST /v2/bookings/bk-1/cancel")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#saved-yaml")).to_contain_text("uid: '{uid}'")


def test_done_stays_in_the_working_folder_and_asks_before_replacing_another_flow(
    ui_server: str, browser_page: Any, workdir: Path, tmp_path: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    start_cancel_flow(page, ui_server, workdir)
    flow_file = page.get_by_label("Flow file", exact=True)
    status = page.locator("#status")
    for outside in (str(tmp_path / "outside.yaml"), "../outside.yaml", "/etc/calsink.yaml"):
        flow_file.fill(outside)
        page.get_by_role("button", name="Done").click()
        expect(status).to_contain_text("Not saved")
        expect(status).to_contain_text("outside the folder")
        expect(flow_file).to_have_attribute("aria-invalid", "true")
    assert not (tmp_path / "outside.yaml").exists()
    assert not Path("/etc/calsink.yaml").exists()
    shot(page, artifacts, "r2-02-outside-the-folder")

    flow_file.fill("cancel-demos.yaml")
    page.get_by_role("button", name="Done").click()
    expect(status).to_contain_text("Saved cancel-demos.yaml")
    expect(flow_file).not_to_have_attribute("aria-invalid", "true")

    # After a reload the page holds the saved flow; renamed, it would replace that file.
    page.reload()
    expect(page.get_by_label("Flow name")).to_have_value("cancel-demos")
    expect(flow_file).to_have_value("cancel-demos.yaml")
    page.get_by_label("Flow name").fill("cancel-more")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Done").click()
    expect(status).to_contain_text("Not saved: cancel-demos.yaml holds the flow cancel-demos")
    assert asked and "cancel-demos.yaml holds the flow cancel-demos" in asked[0]
    saved = workdir / "cancel-demos.yaml"
    assert "name: cancel-demos\n" in saved.read_text(encoding="utf-8")
    shot(page, artifacts, "r2-03-replace-asked")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Done").click()
    expect(status).to_contain_text("Saved cancel-demos.yaml")
    assert "name: cancel-more\n" in saved.read_text(encoding="utf-8")


def test_each_flow_saved_from_the_page_keeps_its_own_dead_letters(
    ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    start_cancel_flow(page, ui_server, workdir)
    dead = page.get_by_label("Dead letters file", exact=False)
    expect(dead).to_have_value("out/cancel-demos.dead-letters.jsonl")
    page.get_by_label("Flow name").fill("cancel-week")
    expect(dead).to_have_value("out/cancel-week.dead-letters.jsonl")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#saved-yaml")).to_contain_text(
        "dead_letters: out/cancel-week.dead-letters.jsonl"
    )
    shot(page, artifacts, "r2-04-dead-letters-per-flow")

    # A path the user types is kept, and the name no longer moves it.
    dead.fill("out/cancellations/dead.jsonl")
    page.get_by_label("Flow name").fill("cancel-month")
    page.get_by_label("Flow file", exact=True).fill("cancel-month.yaml")
    expect(dead).to_have_value("out/cancellations/dead.jsonl")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#saved-yaml")).to_contain_text(
        "dead_letters: out/cancellations/dead.jsonl"
    )
    assert "out/dead-letters.jsonl" not in (workdir / "cancel-week.yaml").read_text("utf-8")


def right_edges(page: Any) -> list[str]:
    """The visible controls that end beyond the window's right edge."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button, pre')]
                .filter((e) => e.offsetParent !== null)
                .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                .map((e) => e.id || e.outerHTML.slice(0, 80))"""
        )
    )


def test_the_page_fits_a_400_px_screen_and_activate_leads_the_actions(
    ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    from support.page import MAP, NARROW, WIDE

    page = browser_page
    page.set_viewport_size(NARROW)
    page.goto(ui_server)
    page.get_by_label("Flow name").fill("book-demos")
    page.get_by_label("Source file").fill("leads.csv")
    page.get_by_label("Map (YAML", exact=False).fill(MAP)
    expect(page.locator("#sample-list > li")).to_have_count(3)
    sample(page, 1).locator("summary").click()
    page.get_by_text("Add a credential").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    assert right_edges(page) == []

    # Below 600 px the actions stack, full width, and the header does not stay on screen.
    done = page.get_by_role("button", name="Done").bounding_box()
    activate = page.get_by_role("button", name="Activate").bounding_box()
    assert done is not None and activate is not None
    assert activate["y"] >= done["y"] + done["height"]
    header = page.locator("header.top")
    sticky_height = header.evaluate(
        "(e) => getComputedStyle(e).position === 'sticky' ? e.offsetHeight : 0"
    )
    assert sticky_height <= 64
    shot(page, artifacts, "r2-05-narrow")

    # Activate is the prominent action, coloured by its state: waiting for Done, then ready.
    page.set_viewport_size(WIDE)
    button = page.get_by_role("button", name="Activate")
    expect(button).to_have_attribute("data-state", "unsaved")
    waiting = button.evaluate("(e) => getComputedStyle(e).backgroundColor")
    page.get_by_role("button", name="Done").click()
    expect(button).to_have_attribute("data-state", "ready")
    expect(button).to_be_enabled()
    assert button.evaluate("(e) => getComputedStyle(e).backgroundColor") != waiting
    wide_done = page.get_by_role("button", name="Done").bounding_box()
    wide_activate = button.bounding_box()
    assert wide_done is not None and wide_activate is not None
    assert abs(wide_activate["y"] - wide_done["y"]) < wide_done["height"]
    shot(page, artifacts, "r2-06-ready-to-activate")


LEAD_MAP = """\
start: "{start}"
eventTypeId: 1
attendee:
  name: "{name}"
  email: "{email}"
  timeZone: America/New_York
"""


def summary_count(page: Any, outcome: str) -> int:
    return int(page.locator(f"#run-summary tr.outcome-{outcome} td").inner_text())


def save_lead_flow(page: Any, sandbox: Any, ui_server: str, *, capture: bool = False) -> None:
    from playwright.sync_api import expect

    from support.page import add_credential

    page.goto(ui_server)
    add_credential(page, sandbox)
    page.get_by_label("Flow name").fill("book-leads")
    page.get_by_label("Source file").fill("leads.csv")
    page.get_by_label("Map (YAML", exact=False).fill(LEAD_MAP)
    if capture:
        page.get_by_label("Save every API response").check()
    expect(sample(page, 1)).to_contain_text("leads.csv:2 POST /v2/bookings")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#status")).to_contain_text("Saved book-leads.yaml")


def test_a_run_of_200_rows_is_stopped_and_resumed_from_the_page_and_the_counts_add_up(
    sandbox: Any, ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    emails = write_leads(workdir, 200)
    save_lead_flow(page, sandbox, ui_server)

    sandbox.set_faults({"spec": "latency=400ms:POST /v2/bookings"})
    activate = page.locator("#activate")  # "Running…" while it runs
    activate.click()
    status = page.locator("#run-status")
    expect(status).to_contain_text(" of 200 records")
    expect(status).to_contain_text(" left")
    bar = page.locator("#run-progress")
    expect(bar).to_have_attribute("aria-valuemax", "200")
    expect(activate).to_have_attribute("data-state", "running")
    page.wait_for_function(
        "() => Number(document.querySelector('#run-progress').ariaValueNow) >= 10"
    )
    shot(page, artifacts, "r2-07-running")
    page.get_by_role("button", name="Stop").click()
    expect(status).to_contain_text("stopped after")
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(activate).to_have_attribute("data-state", "stopped")
    expect(page.locator("#run")).to_have_attribute("data-state", "stopped")
    stopped_colour = bar.locator(".fill").evaluate("(e) => getComputedStyle(e).backgroundColor")
    first_delivered = summary_count(page, "delivered")
    assert 10 <= first_delivered < 200
    booked = [
        b for b in sandbox.state()["bookings"] if b["attendees"][0]["email"].startswith("lead")
    ]
    assert len(booked) == first_delivered
    shot(page, artifacts, "r2-08-stopped")

    sandbox.clear_faults()
    activate.click()
    expect(status).to_contain_text("finished", timeout=60_000)
    expect(page.locator("#run")).to_have_attribute("data-state", "finished")
    assert summary_count(page, "delivered") == 200 - first_delivered
    assert summary_count(page, "skipped") == first_delivered
    assert summary_count(page, "read") == 200
    finished_colour = bar.locator(".fill").evaluate("(e) => getComputedStyle(e).backgroundColor")
    assert finished_colour != stopped_colour
    expected = emails
    emails = sorted(
        b["attendees"][0]["email"]
        for b in sandbox.state()["bookings"]
        if b["attendees"][0]["email"].startswith("lead")
    )
    assert emails == sorted(expected)
    shot(page, artifacts, "r2-09-resumed")


def test_dead_letters_and_responses_show_during_the_run_and_retry_sends_them_again(
    sandbox: Any, ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    write_leads(workdir, 60)
    save_lead_flow(page, sandbox, ui_server, capture=True)
    sandbox.set_faults({"spec": "latency=500ms:POST /v2/bookings,400#7:POST /v2/bookings"})
    page.locator("#activate").click()
    page.wait_for_function(
        """() => document.querySelector('#run').dataset.state === 'running'
            && document.querySelectorAll('#dead-letters > li:not(.muted)').length > 0
            && document.querySelectorAll('#responses > li:not(.muted)').length > 0"""
    )
    shot(page, artifacts, "r2-10-dead-letters-live")
    expect(page.locator("#run-status")).to_contain_text("finished", timeout=60_000)
    expect(page.locator("#responses")).not_to_contain_text("capture is off")
    expect(page.locator("#dead-letters > li")).to_have_count(7)
    expect(page.locator("#dead-letters > li").first).to_contain_text("failed")
    assert summary_count(page, "failed") == 7
    expect(page.locator("#run")).to_have_attribute("data-state", "partial")

    sandbox.clear_faults()
    retry = page.get_by_role("button", name="Retry dead letters")
    expect(retry).to_be_visible()
    retry.click()
    expect(page.locator("#run-status")).to_contain_text("Retry 2 finished", timeout=60_000)
    assert summary_count(page, "delivered") == 7
    expect(retry).to_be_hidden()
    shot(page, artifacts, "r2-11-retried")


def test_form_says_what_it_changes_follows_the_template_and_keeps_a_saved_flow_ready(
    ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    start_cancel_flow(page, ui_server, workdir)

    # The Map's placeholder is an example of the chosen template, marked as one.
    placeholder = page.get_by_label("Map (YAML", exact=False).get_attribute("placeholder") or ""
    assert placeholder.startswith("# e.g. for cancel-booking")
    assert "cancellationReason" in placeholder and "attendee" not in placeholder

    # Numbers out of range are named, not silently replaced.
    page.get_by_label("Batch records together", exact=False).check()
    size = page.get_by_label("Batch size")
    size.fill("0")
    expect(size).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#batch-size-error")).to_contain_text("greater than or equal to 1")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#status")).to_contain_text("Not saved")
    size.fill("25")
    expect(size).not_to_have_attribute("aria-invalid", "true")
    samples = page.get_by_label("Samples", exact=True)
    samples.fill("5000")
    expect(page.locator("#sample-count-note")).to_contain_text("at most 50")
    shot(page, artifacts, "r2-12-numbers-named")

    # A saved, unchanged flow can be activated after a reload without pressing Done again.
    page.get_by_label("Batch records together", exact=False).uncheck()
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#status")).to_contain_text("Saved cancel-demos.yaml")
    page.reload()
    expect(page.get_by_label("Flow name")).to_have_value("cancel-demos")
    activate = page.locator("#activate")
    expect(activate).to_be_enabled()
    expect(activate).to_have_attribute("data-state", "ready")
    page.get_by_label("Flow name").fill("cancel-other")
    expect(activate).to_be_disabled()


def child_processes(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text(encoding="utf-8")
        children.extend(int(child) for child in text.split())
    return children


def test_test_sends_warn_keep_focus_tell_what_the_ledger_does_and_survive_a_crash(
    sandbox: Any, ui: Any, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    import os
    import re
    import signal
    import time

    from playwright.sync_api import expect

    from support.page import MAP, add_credential

    page = browser_page
    page.goto(ui.url)
    add_credential(page, sandbox)
    page.get_by_label("Flow name").fill("book-demos")
    page.get_by_label("Source file").fill("leads.csv")
    page.get_by_label("Map (YAML", exact=False).fill(MAP)
    first = sample(page, 1)
    first.locator("summary").click()
    expect(first.locator(".test-note")).to_contain_text("makes a real booking in Cal.com")

    # Enter on Send Test Data sends it and leaves the keyboard focus on the button.
    send = first.get_by_role("button", name="Send Test Data")
    send.focus()
    page.keyboard.press("Enter")
    expect(first.locator(".result")).to_contain_text("HTTP 201")
    assert page.evaluate("document.activeElement.textContent") == "Send Test Data"
    expect(first.locator(".ledger-note")).to_contain_text(
        re.compile(r"Activate (skips this record|sends this record again and makes a second)")
    )
    shot(page, artifacts, "r2-13-test-sent")

    # The process making a test send dies: the page says so and the server goes on.
    sandbox.set_faults({"spec": "latency=20s:POST /v2/bookings"})
    second = sample(page, 2)
    second.locator("summary").click()
    second.get_by_role("button", name="Send Test Data").click()
    deadline = time.monotonic() + 20
    while not child_processes(ui.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    children = child_processes(ui.process.pid)
    assert children, "the test send ran in no child process"
    for child in children:
        os.kill(child, signal.SIGSEGV)
    expect(second.locator(".result")).to_contain_text("The test send crashed")
    expect(second.locator(".result")).to_contain_text("killed by signal SIGSEGV")
    shot(page, artifacts, "r2-14-test-send-crashed")
    sandbox.clear_faults()
    assert ui.process.poll() is None
    page.reload()
    expect(page.get_by_label("Endpoint", exact=True)).to_have_value("create-booking")
    page.get_by_label("Source file").fill("leads.csv")
    page.get_by_label("Map (YAML", exact=False).fill(MAP)
    expect(page.locator("#sample-list > li")).to_have_count(3)


def test_a_key_is_checked_when_added_responses_can_go_to_a_webhook_and_endpoints_are_explained(
    sandbox: Any, ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(ui_server)
    credential = page.get_by_label("Credential", exact=True)
    status = page.locator("#status")

    # A wrong key is refused with what Cal.com said; the right one is stored and named.
    page.get_by_text("Add a credential").click()
    page.get_by_label("Credential name").fill("sandbox")
    page.get_by_label("API key", exact=True).fill("cal_test_this_is_not_the_key_0000")
    page.get_by_label("Base URL of the credential (optional)").fill(sandbox.url)
    page.get_by_role("button", name="Add credential").click()
    expect(status).to_contain_text("Not stored: Cal.com refused this API key (401)")
    expect(page.get_by_label("API key", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(credential.locator("option", has_text="sandbox")).to_have_count(0)
    shot(page, artifacts, "r2-15-wrong-key")
    page.get_by_label("API key", exact=True).fill(sandbox.api_key)
    page.get_by_role("button", name="Add credential").click()
    expect(status).to_contain_text("Credential sandbox stored: it works (GET /v2/me answered for")
    expect(credential).to_have_value("sandbox")

    # Responses can go to a webhook as well as to a file.
    page.get_by_label("Flow name").fill("book-demos")
    page.get_by_label("Source file").fill("leads.csv")
    page.get_by_label("Response webhook URL", exact=False).fill("https://hooks.example.com/calsink")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#saved-yaml")).to_contain_text(
        "webhook: https://hooks.example.com/calsink"
    )

    # Every endpoint comes with guidance, not a one-line description.
    endpoint = page.get_by_label("Endpoint", exact=True)
    names = endpoint.locator("option").evaluate_all("(options) => options.map((o) => o.value)")
    for name in names:
        endpoint.select_option(name)
        guidance = page.locator("#template-info .guidance")
        expect(guidance).to_be_visible()
        assert len(guidance.inner_text()) > 150, name
    endpoint.select_option("cancel-booking")
    expect(page.locator("#template-info .guidance")).to_contain_text("uid")
    optional = page.locator("#template-info details.optional")
    expect(optional.locator("summary")).to_have_text("Show all 3 optional fields")
    expect(optional.get_by_text("cancellationReason", exact=False)).to_be_hidden()
    optional.locator("summary").click()
    expect(optional.get_by_text("cancellationReason", exact=False)).to_be_visible()
    shot(page, artifacts, "r2-16-guidance")


def test_an_outage_during_a_run_is_announced_and_the_run_can_be_stopped_and_resumed(
    sandbox: Any, ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    write_leads(workdir, 8)
    save_lead_flow(page, sandbox, ui_server)
    sandbox.set_faults({"spec": "drop-before:POST /v2/bookings"})
    page.locator("#activate").click()
    notice = page.locator("#run-notice")
    expect(notice).to_contain_text("Cal.com cannot be reached", timeout=30_000)
    expect(notice).to_contain_text("keeps retrying")
    shot(page, artifacts, "r2-17-outage")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#run-status")).to_contain_text("stopped after", timeout=30_000)
    expect(notice).to_be_hidden()

    sandbox.clear_faults()
    page.locator("#activate").click()
    expect(page.locator("#run-status")).to_contain_text("finished", timeout=60_000)
    assert summary_count(page, "delivered") == 8


def test_batches_grouped_by_start_show_as_samples_naming_each_of_their_rows(
    ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    rows = ["status,name,email,start"]
    rows += [f"lost,Lost {i},lost{i}@example.com,2030-01-0{i % 3 + 1}T09:00:00Z" for i in range(8)]
    rows += [
        "demo,Ada,ada@example.com,2030-01-07T14:00:00Z",
        "demo,Grace,grace@example.com,2030-01-07T15:00:00Z",
        "demo,Alan,alan@example.com,2030-01-07T14:00:00Z",
        "demo,Edsger,edsger@example.com,2030-01-07T15:00:00Z",
    ]
    (workdir / "pipeline.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = browser_page
    page.goto(ui_server)
    page.get_by_label("Flow name").fill("book-batches")
    page.get_by_label("Source file").fill("pipeline.csv")
    page.get_by_label("Only records where", exact=False).fill("status == 'demo'")
    page.get_by_label("Map (YAML", exact=False).fill(LEAD_MAP)
    requests = page.locator("#sample-list > li.request")
    expect(requests).to_have_count(4)
    expect(requests.first).to_contain_text("pipeline.csv:10 POST /v2/bookings")
    expect(page.locator("#sample-list > li.filtered")).to_have_count(1)
    page.get_by_label("Batch records together", exact=False).check()
    page.get_by_label("Grouping").select_option("start")
    expect(requests).to_have_count(2)
    expect(requests.nth(0)).to_contain_text("batch of 2 (pipeline.csv:10, pipeline.csv:12)")
    expect(requests.nth(1)).to_contain_text("batch of 2 (pipeline.csv:11, pipeline.csv:13)")
    shot(page, artifacts, "r2-18-batches-by-start")


def test_a_faulty_setting_is_marked_where_it_is_typed_with_what_to_do(
    ui_server: str, browser_page: Any, workdir: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(ui_server)
    source = page.get_by_label("Source file")
    source.fill("nope.csv")
    expect(source).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#source-path-error")).to_contain_text("no such file")
    source.fill("leads.csv")
    expect(source).not_to_have_attribute("aria-invalid", "true")

    where = page.get_by_label("Only records where", exact=False)
    where.fill("status ==")
    expect(where).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#where-error")).to_contain_text("not a valid expression")
    where.fill("")

    mapping = page.get_by_label("Map (YAML", exact=False)
    mapping.fill('start: "{demo_when}"\n')
    expect(mapping).to_have_attribute("aria-invalid", "true")
    error = page.locator("#map-error")
    expect(error).to_contain_text("leads.csv:2")
    expect(error).to_contain_text("start: expected a field `demo_when` in the record")
    expect(error).to_contain_text("the record has: internal_id, first_name")
    shot(page, artifacts, "r2-19-marked-inputs")


def test_a_record_without_the_path_field_marks_that_field_not_the_map(
    ui_server: str, browser_page: Any, workdir: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    start_cancel_flow(page, ui_server, workdir)
    page.get_by_label("Source file").fill("leads.csv")
    uid = page.get_by_label("Booking UID", exact=False)
    expect(uid).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#param-uid-error")).to_contain_text("leads.csv:2")
    expect(page.get_by_label("Map (YAML", exact=False)).not_to_have_attribute(
        "aria-invalid", "true"
    )


def test_nothing_typed_before_the_page_has_loaded_its_flow_is_lost(
    ui_server: str, browser_page: Any
) -> None:
    """The fields stay disabled until the page's state has come: a value typed earlier
    would be overwritten by the flow the page then fills in."""
    from playwright.sync_api import expect

    from support.page import MAP

    page = browser_page
    held: list[Any] = []
    page.route("**/api/state*", lambda route: held.append(route), times=1)
    page.goto(ui_server)
    expect(page.get_by_label("Flow name")).to_be_disabled()
    assert held, "the page asks for its state as it opens"
    held[0].continue_()
    page.get_by_label("Flow name").fill("book-demos")
    page.get_by_label("Source file").fill("leads.csv")
    page.get_by_label("Map (YAML", exact=False).fill(MAP)
    expect(page.locator("#sample-list > li")).to_have_count(3)
    expect(page.get_by_label("Flow name")).to_have_value("book-demos")
