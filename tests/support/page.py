"""Helpers of the page tests: the sample data, screenshots at two widths, a credential."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 400, "height": 800}

LEADS = """\
internal_id,first_name,last_name,email,tz,demo_at,event_type_id
crm-1,Ada,Lovelace,ada@example.com,Europe/London,2030-01-07T14:00:00Z,1
crm-2,Grace,Hopper,grace@example.com,America/New_York,2030-01-07T15:00:00Z,1
crm-3,Alan,Turing,alan@example.com,Europe/London,2030-01-07T16:00:00Z,1
"""

MAP = """\
start: "{demo_at}"
eventTypeId: "int(event_type_id)"
internal_id: "{internal_id}"
attendee:
  name: "{first_name} {last_name}"
  email: "{email}"
  timeZone: "{tz}"
"""


def shot(page: Any, artifacts: Path, name: str) -> None:
    """The whole page at 1280 px and at 400 px wide (the phone layout), each checked by
    axe-core: a step with an accessibility violation fails the test."""
    from support.axe import axe_violations

    for label, viewport in (("1280", WIDE), ("400", NARROW)):
        page.set_viewport_size(viewport)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / f"{name}-{label}.png"), full_page=True)
        assert axe_violations(page) == [], f"axe-core at {label} px, step {name}"
    page.set_viewport_size(WIDE)


def add_credential(page: Any, sandbox: Any, name: str = "sandbox") -> None:
    from playwright.sync_api import expect

    page.get_by_text("Add a credential").click()
    page.get_by_label("Credential name").fill(name)
    page.get_by_label("API key", exact=True).fill(sandbox.api_key)
    page.get_by_label("Base URL of the credential (optional)").fill(sandbox.url)
    page.get_by_role("button", name="Add credential").click()
    expect(page.get_by_label("Credential", exact=True)).to_have_value(name)
