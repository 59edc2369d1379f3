"""Dates as real exports write them, read by `calsink preview` and `calsink validate`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adversarial.harness import cli, write_flow

KEY = "cal_test_EVERYDAY_dates_fake_key"

DATES_MAP = """\
transform:
  map:
    start: "iso(when, '{fmt}'{zone})"
    eventTypeId: 1
    attendee: {{name: "{{name}}", email: "{{email}}", timeZone: "America/New_York"}}
"""


def _preview_starts(folder: Path, rows: str, fmt: str, zone: str = "") -> list[str]:
    folder.mkdir(parents=True)
    (folder / "leads.csv").write_text("name,email,when\n" + rows, encoding="utf-8")
    flow = write_flow(
        folder,
        "http://127.0.0.1:9",
        source="leads.csv",
        transform=DATES_MAP.format(fmt=fmt, zone=f", '{zone}'" if zone else ""),
    )
    result = cli("preview", str(flow), "--json", "-n", "10", key=KEY, cwd=folder)
    assert result.returncode == 0, result.stderr + result.stdout
    return [json.loads(line)["body"]["start"] for line in result.stdout.splitlines()]


def test_us_day_first_epoch_and_strptime_dates_become_utc_instants(tmp_path: Path) -> None:
    us = "Ada,ada@example.com,12/03/2026 14:30\nBo,bo@example.com,12/03/2026 2:30 PM\n"
    assert _preview_starts(tmp_path / "us", us, "mdy", "America/New_York") == [
        "2026-12-03T19:30:00Z",
        "2026-12-03T19:30:00Z",
    ]
    day_first = "Ada,ada@example.com,03.12.2026 14:30\nBo,bo@example.com,03/12/2026\n"
    assert _preview_starts(tmp_path / "dmy", day_first, "dmy", "Europe/Paris") == [
        "2026-12-03T13:30:00Z",
        "2026-12-02T23:00:00Z",
    ]
    epoch = "Ada,ada@example.com,1796308200000\n"
    assert _preview_starts(tmp_path / "ms", epoch, "epoch_ms") == ["2026-12-03T14:30:00Z"]
    seconds = "Ada,ada@example.com,1796308200\n"
    assert _preview_starts(tmp_path / "s", seconds, "epoch") == ["2026-12-03T14:30:00Z"]
    written = "Ada,ada@example.com,2026-12-03 14h30\n"
    assert _preview_starts(tmp_path / "fmt", written, "%Y-%m-%d %Hh%M", "UTC") == [
        "2026-12-03T14:30:00Z"
    ]


def test_iso_reads_salesforce_times_and_space_separated_dates(tmp_path: Path) -> None:
    rows = "Ada,ada@example.com,2026-12-03T14:30:00.000+0000\n"
    folder = tmp_path / "sf"
    folder.mkdir()
    (folder / "leads.csv").write_text("name,email,when\n" + rows, encoding="utf-8")
    transform = DATES_MAP.replace("iso(when, '{fmt}'{zone})", "iso(when)").format()
    flow = write_flow(folder, "http://127.0.0.1:9", source="leads.csv", transform=transform)
    result = cli("preview", str(flow), "--json", key=KEY, cwd=folder)
    assert json.loads(result.stdout)["body"]["start"] == "2026-12-03T14:30:00Z"
    spaced = "Ada,ada@example.com,2026-12-03 14:30\n"
    assert _preview_starts(tmp_path / "spaced", spaced, "%Y-%m-%d %H:%M", "Europe/Paris") == [
        "2026-12-03T13:30:00Z"
    ]


def test_a_bad_date_names_the_format_expected_the_value_and_what_is_wrong(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "leads.csv").write_text(
        "name,email,when\nAda,ada@example.com,2027-23-06T14:30+01:00\n"
        "Bo,bo@example.com,12/03/2026 14:30\nCy,cy@example.com,1800480600000\n",
        encoding="utf-8",
    )
    transform = DATES_MAP.replace("iso(when, '{fmt}'{zone})", "iso(when)").format()
    flow = write_flow(folder, "http://127.0.0.1:9", source="leads.csv", transform=transform)
    result = cli("validate", str(flow), "--json", key=KEY, cwd=folder)
    assert result.returncode == 1
    text = result.stdout
    assert "'2027-23-06T14:30+01:00'" in text
    assert "month must be in 1..12" in text
    assert "without an offset" not in text
    assert "iso(x, 'mdy', zone) for US month/day/year" in text
    assert "iso(x, 'epoch_ms')" in text

    us = folder / "us"
    us.mkdir()
    (us / "leads.csv").write_text(
        "name,email,when\nAda,ada@example.com,23/06/2026 14:30\n", encoding="utf-8"
    )
    us_map = DATES_MAP.format(fmt="mdy", zone=", 'America/New_York'")
    flow = write_flow(us, "http://127.0.0.1:9", source="leads.csv", transform=us_map)
    result = cli("validate", str(flow), key=KEY, cwd=us)
    assert result.returncode == 1
    assert "leads.csv:2" in result.stderr
    assert "a US date, month first" in result.stderr
    assert "'23/06/2026 14:30'" in result.stderr
    assert "23 is not a month: for day-first dates use 'dmy'" in result.stderr


def test_the_readme_flow_example_books_a_us_style_crm_export(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A flow in one minute", 1)[1]
    flow_text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "'mdy'" in flow_text
    (tmp_path / "flow.yaml").write_text(flow_text, encoding="utf-8")
    (tmp_path / "crm-export.csv").write_text(
        "first_name,last_name,email,tz,demo_at,event_type_id,status\n"
        "Ada,Lovelace, Ada@Example.com ,(GMT-05:00) America/New_York,12/03/2026 2:30 PM,1,demo\n"
        "Bo,Smith,bo@example.com,(GMT+01:00) Europe/Paris,12/04/2026 09:00,1,lost\n",
        encoding="utf-8",
    )
    result = cli("preview", "flow.yaml", "--json", key=KEY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (body,) = (json.loads(line)["body"] for line in result.stdout.splitlines())
    assert body["start"] == "2026-12-03T19:30:00Z"
    assert body["attendee"]["email"] == "ada@example.com"
    assert body["attendee"]["timeZone"] == "America/New_York"
    assert json.loads(result.stdout)["key"] == '["ada@example.com","2026-12-03T19:30:00Z"]'
