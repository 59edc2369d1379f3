"""Malformed sources through the real `calsink run` against the sandbox.

Each bad row must be reported in the dead-letter file with its position and reason,
every good row must become a booking, the summary must add up, and nothing may crash
or hang (every run has a timeout)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.adversarial.harness import (
    assert_adds_up,
    booked_emails,
    cli,
    dead_letters,
    lead_rows,
    summary,
    where,
    write_flow,
)
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e


def csv_lines(rows: list[tuple[str, str, str]]) -> list[str]:
    return [f"{name},{email},{start}" for name, email, start in rows]


def run_flow(folder: Path, sandbox: SandboxHandle, source: str, **flow: str) -> dict[str, object]:
    write_flow(folder, sandbox, source=source, **flow)
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=folder, timeout=90)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stdout + result.stderr
    counts = summary(result)
    assert_adds_up(counts)
    assert counts["exit_code"] == result.returncode
    return counts


def judge(
    folder: Path,
    sandbox: SandboxHandle,
    counts: dict[str, object],
    good: list[tuple[str, str, str]],
    bad: dict[str, str],
) -> None:
    """Good rows booked once each; each bad row dead-lettered at ``position`` with ``reason``."""
    booked = booked_emails(sandbox)
    assert {email: booked[email] for _, email, _ in good} == {email: 1 for _, email, _ in good}
    assert counts["delivered"] == len(good)
    assert counts["rejected"] == len(bad)
    letters = {where(letter): letter for letter in dead_letters(folder)}
    assert set(letters) == set(bad), letters
    for position, reason in bad.items():
        assert letters[position]["outcome"] == "rejected"
        assert reason in letters[position]["reason"], letters[position]
    assert sum(booked.values()) == len(good), "only the good rows were booked"


def test_a_csv_cut_inside_a_quoted_field_delivers_the_rows_before_it(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    good = lead_rows(3)
    text = "\n".join(["name,email,start", *csv_lines(good), '"Lead cut,cut@example.com,2030'])
    (tmp_path / "leads.csv").write_text(text)
    counts = run_flow(tmp_path, sandbox, "leads.csv")
    judge(tmp_path, sandbox, counts, good, {"leads.csv:5": "quoted field"})


def test_wrong_bytes_nul_and_a_bom_cost_only_their_own_rows(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    good = lead_rows(4)
    body = [line.encode() for line in csv_lines(good)]
    latin = "Zoë,zoe@example.com,2030-01-08T15:00:00Z".encode("latin-1")
    nul = b"Nul\x00Name,nul@example.com,2030-01-08T16:00:00Z"
    lines = [b"name,email,start", body[0], latin, body[1], nul, *body[2:]]
    data = codecs.BOM_UTF8 + b"\n".join(lines)
    (tmp_path / "leads.csv").write_bytes(data + b"\n")
    counts = run_flow(tmp_path, sandbox, "leads.csv")
    judge(
        tmp_path,
        sandbox,
        counts,
        good,
        {"leads.csv:3": "not utf-8 (byte 0xeb)", "leads.csv:5": "NUL byte in `name`"},
    )


def test_a_latin1_file_reads_cleanly_once_its_encoding_is_named(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    rows = [("Zoë Çelik", "zoe@example.com", "2030-01-08T15:00:00Z")]
    text = "name,email,start\n" + "\n".join(csv_lines(rows)) + "\n"
    (tmp_path / "leads.csv").write_bytes(text.encode("latin-1"))
    counts = run_flow(tmp_path, sandbox, "leads.csv", source_extra=", encoding: latin-1")
    judge(tmp_path, sandbox, counts, rows, {})
    names = [b["attendees"][0]["name"] for b in sandbox.state()["bookings"] if b["id"] > 0]
    assert "Zoë Çelik" in names


def test_a_utf16_file_read_as_utf8_is_refused_with_the_fix(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    text = "name,email,start\n" + "\n".join(csv_lines(lead_rows(2))) + "\n"
    (tmp_path / "leads.csv").write_bytes(text.encode("utf-16"))
    write_flow(tmp_path, sandbox, source="leads.csv")
    sandbox.clear_requests()
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "source.encoding: utf-16" in result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.requests() == []


def test_a_10_mb_field_and_1000_columns_do_not_stop_the_run(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    good = lead_rows(3)
    extra = [f"c{i}" for i in range(997)]
    header = ",".join(["name", "email", "start", *extra])
    filler = ",".join("x" for _ in extra)
    lines = [header]
    for number, (name, email, start) in enumerate(good):
        wide = filler if number != 1 else "y" * (10 * 1024 * 1024) + filler[1:]
        lines.append(f"{name},{email},{start},{wide}")
    lines.append("short,row@example.com,2030-01-09T15:00:00Z,only-four")
    (tmp_path / "leads.csv").write_text("\n".join(lines) + "\n")
    counts = run_flow(tmp_path, sandbox, "leads.csv")
    judge(
        tmp_path, sandbox, counts, good, {"leads.csv:5": "row has 4 fields but the header has 1000"}
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name,email,start,email", "'email' (columns 2, 4)"),
        ("name,,email,start", "column 2 of the header row has no name"),
    ],
)
def test_duplicate_or_empty_header_names_refuse_the_file_before_sending(
    sandbox: SandboxHandle, tmp_path: Path, header: str, message: str
) -> None:
    cells = ["Lead 0", "", "lead0@example.com", "2030-01-07T14:00:00Z"]
    row = ",".join(cells[: header.count(",") + 1])
    (tmp_path / "leads.csv").write_text(f"{header}\n{row}\n")
    write_flow(tmp_path, sandbox, source="leads.csv")
    sandbox.clear_requests()
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "leads.csv:1" in result.stderr and message in result.stderr
    assert sandbox.requests() == []


@pytest.mark.parametrize("name", ["leads.csv", "leads.jsonl", "leads.json"])
def test_an_empty_file_sends_nothing_and_says_so(
    sandbox: SandboxHandle, tmp_path: Path, name: str
) -> None:
    (tmp_path / name).write_bytes(b"")
    write_flow(tmp_path, sandbox, source=name)
    sandbox.clear_requests()
    result = cli("run", "flow.yaml", "--json", key=sandbox.api_key, cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr
    assert sandbox.requests() == []
    if result.returncode == 2:
        assert name in result.stderr and "empty" in result.stderr
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert summary(result)["read"] == 0


def test_invalid_json_lines_between_valid_ones_are_rejected_one_by_one(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    good = lead_rows(4)
    objects = [json.dumps({"name": n, "email": e, "start": s}) for n, e, s in good]
    lines = [
        objects[0],
        '{"name": "Half", "email": ',
        objects[1],
        "not json at all",
        "",
        objects[2],
        '["a", "list"]',
        objects[3],
        '{"name": "trailing", "email": "t@example.com", "start": "2030-01-09T15:00:00Z"} junk',
    ]
    (tmp_path / "leads.jsonl").write_text("\n".join(lines) + "\n")
    counts = run_flow(tmp_path, sandbox, "leads.jsonl")
    judge(
        tmp_path,
        sandbox,
        counts,
        good,
        {
            "leads.jsonl:2": "JSON",
            "leads.jsonl:4": "JSON",
            "leads.jsonl:7": "object",
            "leads.jsonl:9": "JSON",
        },
    )


def test_a_json_array_cut_short_delivers_the_whole_items_before_the_cut(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    good = lead_rows(3)
    items = [json.dumps({"name": n, "email": e, "start": s}) for n, e, s in good]
    text = "[\n" + ",\n".join(items) + ',\n{"name": "Cut", "email": "cut@exam'
    (tmp_path / "leads.json").write_text(text)
    counts = run_flow(tmp_path, sandbox, "leads.json")
    judge(tmp_path, sandbox, counts, good, {"leads.json[3]": "end"})


def test_parquet_with_nested_and_null_columns(sandbox: SandboxHandle, tmp_path: Path) -> None:
    good = lead_rows(3)
    contacts = [{"name": n, "email": e, "tags": ["a", None]} for n, e, _ in good]
    contacts.insert(1, {"name": "Nobody", "email": None, "tags": None})
    starts = [s for _, _, s in good]
    starts.insert(1, "2030-01-09T15:00:00Z")
    table = pa.table(
        {
            "contact": contacts,
            "start": starts,
            "empty": pa.array([None] * 4, type=pa.null()),
            "score": [1.5, None, 2.5, None],
        }
    )
    pq.write_table(table, tmp_path / "leads.parquet")
    transform = """transform:
  map:
    start: "{start}"
    eventTypeId: 1
    attendee: {name: "{contact.name}", email: "{contact.email}", timeZone: "America/New_York"}
"""
    counts = run_flow(
        tmp_path, sandbox, "leads.parquet", transform=transform, key="[contact.email, start]"
    )
    judge(tmp_path, sandbox, counts, good, {"leads.parquet[1]": "email"})


@pytest.mark.parametrize("name", ["leads.json", "leads.jsonl"])
def test_an_escaped_lone_surrogate_rejects_its_record_not_the_run(
    sandbox: SandboxHandle, tmp_path: Path, name: str
) -> None:
    good = lead_rows(2)
    items = [json.dumps({"name": n, "email": e, "start": s}) for n, e, s in good]
    broken = (
        '{"name": "Bad \\ud800 name", "email": "bad@example.com", "start": "2030-01-09T15:00:00Z"}'
    )
    items.insert(1, broken)
    text = "[" + ",\n".join(items) + "]" if name.endswith(".json") else "\n".join(items)
    (tmp_path / name).write_text(text + "\n")
    counts = run_flow(tmp_path, sandbox, name)
    position = f"{name}[1]" if name.endswith(".json") else f"{name}:2"
    judge(tmp_path, sandbox, counts, good, {position: "lone surrogate \\ud800 in `name`"})
