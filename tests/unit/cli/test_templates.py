"""`calsink templates` and `calsink init`."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from tests.support.cli import calsink

from calsink.endpoints import TEMPLATES
from calsink.flow import load_flow


def test_templates_lists_all_ten() -> None:
    result = calsink("templates")
    assert result.returncode == 0
    for name, endpoint in TEMPLATES.items():
        line = next(line for line in result.stdout.splitlines() if line.startswith(name + " "))
        assert f"{endpoint.method} {endpoint.path}" in line


def test_templates_name_shows_the_details() -> None:
    result = calsink("templates", "cancel-booking")
    assert result.returncode == 0
    out = result.stdout
    assert "POST /v2/bookings/{uid}/cancel" in out
    assert "2026-02-25" in out
    assert "uid (Booking UID)" in out
    assert "cancellationReason" in out
    assert "destructive" in out
    assert '"uid": "bk_0123456789abcdef"' in out
    booking = calsink("templates", "create-booking").stdout
    assert "attendee may hold   name, email, timeZone, phoneNumber, language" in booking
    schedule = calsink("templates", "create-schedule").stdout
    assert "isDefault: false" in schedule


def test_templates_json() -> None:
    shown = orjson.loads(calsink("templates", "create-webhook", "--json").stdout)
    assert shown["method"] == "POST" and shown["path"] == "/v2/webhooks"
    assert shown["cal_api_version"] is None
    assert shown["defaults"] == {"active": True}


def test_unknown_template_exits_2_and_lists_names() -> None:
    result = calsink("templates", "create-bookings")
    assert result.returncode == 2
    assert "create-booking" in result.stderr


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_init_writes_a_flow_that_loads_and_validates(name: str, tmp_path: Path) -> None:
    result = calsink("init", name, "-o", "flow.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    flow_file = tmp_path / "flow.yaml"
    text = flow_file.read_text()
    assert text.startswith("# calsink flow for the")
    assert f"template: {name}" in text
    loaded = load_flow(flow_file)
    assert loaded.flow.destination.template == name
    validated = calsink("validate", "flow.yaml", cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert "read 1 · valid 1 · rejected 0" in validated.stderr


def test_init_over_an_existing_flow_exits_2_and_names_force(tmp_path: Path) -> None:
    """Whatever the template: the check comes before the template's flow is written."""
    (tmp_path / "flow.yaml").write_text("kept\n")
    again = calsink("init", "create-booking", "-o", "flow.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert (tmp_path / "flow.yaml").read_text() == "kept\n"


def test_init_without_output_prints_the_flow() -> None:
    result = calsink("init", "create-out-of-office")
    assert result.returncode == 0
    assert "template: create-out-of-office" in result.stdout
    assert "path: create-out-of-office.jsonl" in result.stdout


def test_init_into_another_folder_writes_a_flow_that_reads_its_data_from_anywhere(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = calsink("init", "create-booking", "-o", "flows/book.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "flows" / "book-records.jsonl").is_file()
    for cwd, flow in ((tmp_path, "flows/book.yaml"), (elsewhere, "../flows/book.yaml")):
        validated = calsink("validate", flow, cwd=cwd)
        assert validated.returncode == 0, validated.stderr
        assert "read 1 · valid 1 · rejected 0" in validated.stderr
