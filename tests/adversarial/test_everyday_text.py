"""Cleaning a CRM export in the map: text helpers, bounded regular expressions, zone labels."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adversarial.harness import cli, write_flow

KEY = "cal_test_EVERYDAY_text_fake_key"

CLEANING_MAP = """\
transform:
  map:
    start: "iso(when, 'mdy', zone(tz))"
    eventTypeId: "int(match(event, '[0-9]+'))"
    attendee:
      name: "strip(replace(name, '_', ' '))"
      email: "lower(strip(email))"
      timeZone: "zone(tz)"
      phoneNumber: "none_if_empty(sub(phone, '[^0-9+]', ''))"
      language: "default(lang, 'en')"
    metadata:
      domain: "upper(match(email, '@([^.]+)'))"
      tags: "join(split(tags, ';'), ',')"
"""

ROWS = (
    "name,email,when,tz,event,phone,lang,tags\n"
    '"  Ada_Lovelace ", Ada@Example.COM ,12/03/2026 2:30 PM,(GMT+01:00) Europe/Paris,'
    "type #42,+1 (555) 010-2030,, a; b ;\n"
    "Bo,bo@example.org,12/04/2026 09:00,america/new york,7,,fr,\n"
)


def test_the_text_helpers_clean_a_crm_export_as_documented(tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text(ROWS, encoding="utf-8")
    flow = write_flow(
        tmp_path, "http://127.0.0.1:9", source="crm.csv", transform=CLEANING_MAP, key="[email]"
    )
    result = cli("preview", str(flow), "--json", key=KEY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line)["body"] for line in result.stdout.splitlines())
    assert first["start"] == "2026-12-03T13:30:00Z"
    assert first["eventTypeId"] == 42
    assert first["attendee"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "timeZone": "Europe/Paris",
        "phoneNumber": "+15550102030",
        "language": "en",
    }
    assert first["metadata"]["domain"] == "EXAMPLE"
    assert first["metadata"]["tags"] == "a,b"
    assert second["start"] == "2026-12-04T14:00:00Z"
    assert second["attendee"]["timeZone"] == "America/New_York"
    assert second["attendee"]["language"] == "fr"
    assert "phoneNumber" not in second["attendee"]


def test_a_catastrophic_pattern_on_a_hostile_value_costs_that_record_only(
    tmp_path: Path,
) -> None:
    hostile = "a" * 50_000 + "!"
    (tmp_path / "crm.csv").write_text(
        f"name,email,start,code\nAda,ada@example.com,2030-01-07T14:00:00Z,{hostile}\n"
        "Bo,bo@example.com,2030-01-07T15:00:00Z,aaa\n",
        encoding="utf-8",
    )
    transform = """\
transform:
  map:
    start: "{start}"
    eventTypeId: 1
    attendee: {name: "{name}", email: "{email}", timeZone: "UTC"}
    metadata: {code: "match(code, '^(a|aa)+$')"}
"""
    flow = write_flow(tmp_path, "http://127.0.0.1:9", source="crm.csv", transform=transform)
    result = cli("validate", str(flow), "--json", key=KEY, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    rejected = [line for line in lines if line.get("position") == "crm.csv:2"]
    assert rejected, result.stdout
    text = json.dumps(rejected)
    assert "metadata.code" in text
    assert "the pattern backtracks too much on this value" in text
    assert "valid 1 · rejected 1" in result.stderr


def test_a_broken_or_oversized_pattern_refuses_the_flow_when_it_loads(tmp_path: Path) -> None:
    for pattern in ("(unclosed", "a" * 1_001):
        folder = tmp_path / str(len(pattern))
        folder.mkdir()
        (folder / "crm.csv").write_text(
            "name,email,start\nAda,ada@example.com,2030-01-07T14:00:00Z\n", encoding="utf-8"
        )
        transform = f"""\
transform:
  map:
    start: "{{start}}"
    eventTypeId: 1
    attendee: {{name: "match(name, '{pattern}')", email: "{{email}}", timeZone: "UTC"}}
"""
        flow = write_flow(folder, "http://127.0.0.1:9", source="crm.csv", transform=transform)
        result = cli("validate", str(flow), key=KEY, cwd=folder)
        assert result.returncode == 2, result.stderr
        assert "transform.map.attendee.name" in result.stderr
        assert "regular expression" in result.stderr
