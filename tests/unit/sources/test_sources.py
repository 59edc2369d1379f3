from __future__ import annotations

import datetime as dt
import decimal
import io
import re
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from calsink.flow import SourceSettings
from calsink.records import SourceItem
from calsink.sources import SourceError, _json_array, open_source


def read(tmp_path: Path, name: str, content: bytes, **settings: Any) -> list[SourceItem]:
    (tmp_path / name).write_bytes(content)
    return list(open_source(SourceSettings(path=name, **settings), tmp_path))


def outcomes(items: list[SourceItem]) -> list[tuple[str, Any]]:
    """Each item as (position text, record or error)."""
    return [
        (str(item.position), item.record if item.error is None else item.reason) for item in items
    ]


def stdin(content: bytes, **settings: Any) -> list[SourceItem]:
    source = SourceSettings(path="-", **settings)
    return list(open_source(source, Path("."), stdin=io.BytesIO(content)))


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_rows_are_records_of_strings_with_their_line(tmp_path: Path) -> None:
    items = read(tmp_path, "leads.csv", b"\xef\xbb\xbfname,email,n\nAda,ada@x.com,1\nBob,,2\n")
    assert outcomes(items) == [
        ("leads.csv:2", {"name": "Ada", "email": "ada@x.com", "n": "1"}),
        ("leads.csv:3", {"name": "Bob", "email": "", "n": "2"}),
    ]
    assert [item.position.index for item in items] == [0, 1]
    assert items[0].position.source == "leads.csv"


def test_quoted_newlines_and_blank_lines_keep_positions_exact(tmp_path: Path) -> None:
    content = b'a,b\r\n1,"two\r\nlines"\r\n\r\n3,4\r\n"5",""\r\n'
    assert outcomes(read(tmp_path, "x.csv", content)) == [
        ("x.csv:2", {"a": "1", "b": "two\r\nlines"}),
        ("x.csv:5", {"a": "3", "b": "4"}),
        ("x.csv:6", {"a": "5", "b": ""}),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_the_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    content = f'a{delimiter}b\n1{delimiter}"x,y;z|"\n'.encode()
    assert read(tmp_path, "d.csv", content)[0].record == {"a": "1", "b": "x,y;z|"}


def test_a_given_delimiter_and_tsv_files(tmp_path: Path) -> None:
    assert read(tmp_path, "g.csv", b"a;b,c\n1;2,3\n", delimiter=",")[0].record == {
        "a;b": "1;2",
        "c": "3",
    }
    assert read(tmp_path, "t.tsv", b"a\tb\n1\t2\n")[0].record == {"a": "1", "b": "2"}


def test_header_names_are_stripped(tmp_path: Path) -> None:
    assert read(tmp_path, "h.csv", b"first name , email\nAda, a@x\n")[0].record == {
        "first name": "Ada",
        "email": " a@x",
    }


def test_bad_rows_are_rejected_with_their_position_and_good_rows_delivered(
    tmp_path: Path,
) -> None:
    content = (
        b"a,b,c\n"
        b"1,2,3\n"
        b"1,2,3,4,5\n"
        b"1,2\n"
        b'1,"x"y,3\n'
        b"ok\xff,2,3\n"
        b"n,u\x00l,l\n"
        b"7,8,9\n"
        b'10,"never closed,12\n'
        b"13,14,15\n"
    )
    assert outcomes(read(tmp_path, "bad.csv", content)) == [
        ("bad.csv:2", {"a": "1", "b": "2", "c": "3"}),
        ("bad.csv:3", "row has 5 fields but the header has 3"),
        ("bad.csv:4", "row has 2 fields but the header has 3"),
        ("bad.csv:5", "malformed CSV: ',' expected after '\"'"),
        (
            "bad.csv:6",
            "not utf-8 (byte 0xff) in `a` (field 1): set source.encoding, e.g. latin-1 or cp1252",
        ),
        ("bad.csv:7", "a NUL byte in `b` (field 2)"),
        ("bad.csv:8", {"a": "7", "b": "8", "c": "9"}),
        (
            "bad.csv:9",
            "an unbalanced quote in `b` (field 2): lines 9–10 were read as one record; "
            "only line 9 is rejected and reading goes on at line 10; "
            'close the quote, or double it ("") where it is part of the text',
        ),
        ("bad.csv:10", {"a": "13", "b": "14", "c": "15"}),
    ]


def test_a_multiline_field_in_a_row_of_the_wrong_width_is_one_rejection(tmp_path: Path) -> None:
    """Its quotes are balanced, so its second line is not read again as a row of its own."""
    content = b'a,b\n1,"two\nlines",3\n4,5\n'
    assert outcomes(read(tmp_path, "wide.csv", content)) == [
        (
            "wide.csv:2",
            "row has 3 fields but the header has 2 (lines 2–3 were read as one record: "
            "a quoted field holds a line break)",
        ),
        ("wide.csv:4", {"a": "4", "b": "5"}),
    ]


def test_a_bad_byte_at_a_read_boundary_is_caught(tmp_path: Path) -> None:
    header = b"a,b\n"
    filler = b"".join(b"%05d,x\n" % i for i in range(20_000))
    cut = 65_535 - len(header)
    lines_before = filler[:cut].count(b"\n")
    content = header + filler[:cut] + b"\xc3" + filler[cut:]
    items = read(tmp_path, "boundary.csv", content)
    rejected = [(str(item.position), item.reason) for item in items if item.error]
    assert [position for position, _ in rejected] == [f"boundary.csv:{lines_before + 2}"]
    assert rejected[0][1].startswith("not utf-8 (byte 0xc3) in `a` (field 1)")
    assert len(items) == 20_000


def test_a_cut_short_last_row_is_rejected(tmp_path: Path) -> None:
    assert outcomes(read(tmp_path, "cut.csv", b"a,b,c\n1,2,3\n4,5")) == [
        ("cut.csv:2", {"a": "1", "b": "2", "c": "3"}),
        ("cut.csv:3", "row has 2 fields but the header has 3"),
    ]


def test_another_encoding_reads_what_utf8_rejects(tmp_path: Path) -> None:
    items = read(tmp_path, "l.csv", "name\nJosé\n".encode("latin-1"), encoding="latin-1")
    assert outcomes(items) == [("l.csv:2", {"name": "José"})]


def test_utf16_is_refused_unless_declared(tmp_path: Path) -> None:
    content = "name,n\nJosé,1\n".encode("utf-16")
    with pytest.raises(SourceError, match=r"UTF-16 byte-order mark.*source.encoding: utf-16"):
        read(tmp_path, "w.csv", content)
    assert read(tmp_path, "w.csv", content, encoding="utf-16")[0].record == {
        "name": "José",
        "n": "1",
    }


def test_a_ten_megabyte_field_and_a_thousand_columns(tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    items = read(tmp_path, "big.csv", f'a,b\n1,"{big}"\n2,y\n'.encode())
    assert [len(item.record["b"]) for item in items if item.record] == [len(big), 1]
    header = ",".join(f"c{i}" for i in range(1000))
    row = ",".join(str(i) for i in range(1000))
    (item,) = read(tmp_path, "wide.csv", f"{header}\n{row}\n".encode())
    assert item.record is not None
    assert len(item.record) == 1000
    assert item.record["c999"] == "999"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\n\n", "empty.csv: no header row"),
        (b"a,,c\n1,2,3\n", "empty.csv:1: column 2 of the header row has no name"),
        (b"a,b,\n1,2,3\n", "a trailing comma makes an empty last column"),
        (b"email,name,email\n", "'email' (columns 1, 3)"),
        (b'a,"b\n', "empty.csv:1: cannot read the header row"),
        (b"a,\xffb\n", "cannot read the header row: not utf-8 (byte 0xff)"),
    ],
)
def test_an_unusable_header_refuses_the_source(
    tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(SourceError) as caught:
        read(tmp_path, "empty.csv", content)
    assert message in str(caught.value)


def test_a_header_without_rows_yields_nothing(tmp_path: Path) -> None:
    assert read(tmp_path, "h.csv", b"a,b\n") == []


# --- files and settings ------------------------------------------------------------------------


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"leads.csv: no such file .*check source.path"):
        list(open_source(SourceSettings(path="leads.csv"), tmp_path))


def test_an_unknown_extension_needs_a_format(tmp_path: Path) -> None:
    (tmp_path / "leads.txt").write_bytes(b'{"a": 1}\n')
    with pytest.raises(SourceError, match=r"leads.txt: cannot tell the format .*source.format"):
        open_source(SourceSettings(path="leads.txt"), tmp_path)
    items = list(open_source(SourceSettings(path="leads.txt", format="jsonl"), tmp_path))
    assert outcomes(items) == [("leads.txt:1", {"a": 1})]


def test_an_unknown_encoding_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unknown encoding 'klingon'"):
        read(tmp_path, "a.csv", b"a\n1\n", encoding="klingon")


def test_a_calcom_source_is_not_a_file_and_the_error_says_how_to_check_it_offline() -> None:
    with pytest.raises(SourceError, match=re.escape("calsink source bookings -o bookings.jsonl")):
        open_source(SourceSettings(calcom="bookings"), Path("."))


def test_an_absolute_path_ignores_the_base_dir(tmp_path: Path) -> None:
    path = tmp_path / "abs.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    items = list(open_source(SourceSettings(path=str(path)), Path("/nonexistent")))
    assert items[0].record == {"a": 1}
    assert items[0].position.source == str(path)


# --- JSON Lines --------------------------------------------------------------------------------


def test_json_lines_keep_types_and_reject_bad_lines_in_place(tmp_path: Path) -> None:
    content = (
        b'\xef\xbb\xbf{"n": 1, "f": 1.5, "ok": true, "tags": ["a"], "c": {"e": null}}\n'
        b'{"a": 1 "b": 2}\n'
        b"\n"
        b"[1, 2]\n"
        b'{"name": "\xff"}\n'
        b"NaN\n"
        b'{"last": "no newline"}'
    )
    assert outcomes(read(tmp_path, "e.jsonl", content)) == [
        ("e.jsonl:1", {"n": 1, "f": 1.5, "ok": True, "tags": ["a"], "c": {"e": None}}),
        ("e.jsonl:2", "invalid JSON: Expecting ',' delimiter at column 9"),
        ("e.jsonl:4", "expected a JSON object {...} on the line, found an array"),
        (
            "e.jsonl:5",
            "not UTF-8 (byte 0xff at column 11): set source.encoding, e.g. latin-1 or cp1252",
        ),
        ("e.jsonl:6", "invalid JSON: NaN is not JSON"),
        ("e.jsonl:7", {"last": "no newline"}),
    ]


def test_ndjson_and_other_encodings(tmp_path: Path) -> None:
    assert outcomes(read(tmp_path, "a.ndjson", b'{"a": 1}\n')) == [("a.ndjson:1", {"a": 1})]
    content = '{"name": "José"}\n{"bad": \n'.encode("latin-1")
    assert outcomes(read(tmp_path, "l.jsonl", content, encoding="latin-1")) == [
        ("l.jsonl:1", {"name": "José"}),
        ("l.jsonl:2", "invalid JSON: Expecting value at column 9"),
    ]


def test_an_empty_json_lines_file_yields_nothing(tmp_path: Path) -> None:
    assert read(tmp_path, "e.jsonl", b"") == []
    assert read(tmp_path, "e.jsonl", b"\n  \n") == []


# --- JSON arrays -------------------------------------------------------------------------------


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read JSON arrays 5 bytes at a time, so every item crosses a chunk boundary."""
    monkeypatch.setattr(_json_array, "CHUNK", 5)


@pytest.mark.usefixtures("tiny_chunks")
def test_a_json_array_is_read_item_by_item(tmp_path: Path) -> None:
    content = (
        '\ufeff[ {"a": "x]}\\"{["}, {"n": 12345, "nested": {"l": [1, [2]]}},\n'
        '{"u": "Jos\u00e9 \u2603"}, {"f": -1.5e3} ]\n'
    ).encode()
    assert outcomes(read(tmp_path, "a.json", content)) == [
        ("a.json[0]", {"a": 'x]}"{['}),
        ("a.json[1]", {"n": 12345, "nested": {"l": [1, [2]]}}),
        ("a.json[2]", {"u": "José ☃"}),
        ("a.json[3]", {"f": -1500.0}),
    ]


@pytest.mark.usefixtures("tiny_chunks")
def test_an_invalid_item_is_rejected_and_the_rest_delivered(tmp_path: Path) -> None:
    content = b'[{"a": 1}, {"a": [1, 2,}, 5, "s", {"b": "x"}, {"c": tru}, {"d": 4}]'
    items = outcomes(read(tmp_path, "i.json", content))
    assert items[0] == ("i.json[0]", {"a": 1})
    assert items[1][0] == "i.json[1]"
    assert items[1][1].startswith("invalid JSON: ")
    assert items[2:4] == [
        ("i.json[2]", "expected a JSON object {...}, found a number"),
        ("i.json[3]", "expected a JSON object {...}, found a string"),
    ]
    assert items[4] == ("i.json[4]", {"b": "x"})
    assert items[5][0] == "i.json[5]"
    assert items[5][1].startswith("invalid JSON: Expecting value")
    assert items[6] == ("i.json[6]", {"d": 4})
    assert len(items) == 7


@pytest.mark.usefixtures("tiny_chunks")
@pytest.mark.parametrize(
    ("content", "last"),
    [
        (
            b'[{"a": 1}, {"b": "cut',
            ("c.json[1]", "the file ends inside this item: it is cut short"),
        ),
        (
            b'[{"a": 1}, {"b": [1, 2',
            ("c.json[1]", "the file ends inside this item: it is cut short"),
        ),
        (
            b'[{"a": 1},',
            ("c.json[1]", "the file ends before the closing ] of the array: it may be cut short"),
        ),
        (
            b'[{"a": 1}',
            ("c.json[1]", "the file ends before the closing ] of the array: it may be cut short"),
        ),
    ],
)
def test_an_array_cut_short_delivers_what_is_complete(
    tmp_path: Path, content: bytes, last: tuple[str, str]
) -> None:
    assert outcomes(read(tmp_path, "c.json", content)) == [("c.json[0]", {"a": 1}), last]


def test_json_that_is_not_an_array(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"must be a JSON array .* name the file .jsonl"):
        read(tmp_path, "o.json", b'{"a": 1}\n{"a": 2}\n')
    assert read(tmp_path, "o.json", b"") == []
    assert read(tmp_path, "o.json", b" [ ] ") == []


def test_a_large_json_array_is_not_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_json_array, "CHUNK", 64 * 1024)
    path = tmp_path / "many.json"
    with path.open("w") as file:
        file.write("[")
        file.write(",".join(f'{{"i": {i}, "pad": "{"p" * 50}"}}' for i in range(60_000)))
        file.write("]")
    tracemalloc.start()
    try:
        count = sum(1 for item in open_source(SourceSettings(path="many.json"), tmp_path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert path.stat().st_size > 4_000_000
    assert peak < 1_000_000


# --- Parquet -----------------------------------------------------------------------------------


def test_parquet_rows_with_nested_and_null_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "email": ["a@x.com", None, "c@x.com"],
            "n": pa.array([1, None, 3], type=pa.int64()),
            "contact": [{"name": "Ada", "phone": None}, None, {"name": "C", "phone": "+1"}],
            "tags": [["a", "b"], [], None],
            "at": pa.array(
                [dt.datetime(2030, 1, 7, 14, tzinfo=dt.UTC), None, None],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "price": pa.array([decimal.Decimal("12.50"), None, decimal.Decimal("3")]),
            "day": pa.array([dt.date(2030, 1, 7), None, None]),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=2)
    items = list(open_source(SourceSettings(path="p.parquet"), tmp_path))
    assert [str(item.position) for item in items] == [
        "p.parquet[0]",
        "p.parquet[1]",
        "p.parquet[2]",
    ]
    assert items[0].record == {
        "email": "a@x.com",
        "n": 1,
        "contact": {"name": "Ada", "phone": None},
        "tags": ["a", "b"],
        "at": "2030-01-07T14:00:00Z",
        "price": 12.5,
        "day": "2030-01-07",
    }
    assert items[1].record == {
        "email": None,
        "n": None,
        "contact": None,
        "tags": [],
        "at": None,
        "price": None,
        "day": None,
    }
    assert items[2].record is not None
    assert items[2].record["price"] == 3


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pq.write_table(pa.table({"a": [1]}), tmp_path / "p.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(SourceError, match=r"pip install 'calsink\[parquet\]'"):
        open_source(SourceSettings(path="p.parquet"), tmp_path)


def test_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a readable Parquet file"):
        read(tmp_path, "bad.parquet", b"PAR1 this is not parquet")


# --- stdin -------------------------------------------------------------------------------------


def test_stdin_guesses_the_format_from_the_first_byte() -> None:
    assert outcomes(stdin(b'  \n{"a": 1}\n{"a": 2}\n')) == [
        ("stdin:2", {"a": 1}),
        ("stdin:3", {"a": 2}),
    ]
    assert outcomes(stdin(b'[{"a": 1}]')) == [("stdin[0]", {"a": 1})]
    assert outcomes(stdin(b"a;b\n1;2\n")) == [("stdin:2", {"a": "1", "b": "2"})]
    assert stdin(b"") == []


def test_stdin_with_a_format() -> None:
    assert outcomes(stdin(b"a\n{x}\n", format="csv")) == [("stdin:2", {"a": "{x}"})]
    with pytest.raises(SourceError, match="Parquet cannot be read from stdin"):
        stdin(b"PAR1", format="parquet")


def test_stdin_larger_than_the_peek() -> None:
    lines = b"".join(b'{"i": %d}\n' % i for i in range(20_000))
    items = stdin(lines)
    assert len(items) == 20_000
    assert items[-1].record == {"i": 19_999}
    assert str(items[-1].position) == "stdin:20000"


# --- memory ------------------------------------------------------------------------------------


def test_a_large_csv_is_streamed_not_held(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    with path.open("w") as file:
        file.write("first_name,last_name,email,tz,demo_at,event_type_id,status\n")
        for i in range(100_000):
            file.write(
                f"Ada,Lovelace,ada.{i}@example.com,Europe/Berlin,2030-01-07T14:00:00Z,1,demo\n"
            )
    tracemalloc.start()
    try:
        count = 0
        for item in open_source(SourceSettings(path="rows.csv"), tmp_path):
            count += item.record is not None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert path.stat().st_size > 7_000_000
    assert peak < 2_000_000
