"""The flow file: what a user sees when it is right, and when it is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.cli import calsink

from calsink.flow import FlowError, FlowReference, load_flow, parse_flow

GOOD = """\
version: 1
name: book-demos
source:
  path: examples/leads.csv
transform:
  where: "status == 'demo'"
  map:
    start: "{demo_at}"
    attendee:
      name: "{first_name} {last_name}"
destination:
  api_key_env: CAL_API_KEY
  template: create-booking
  params: {uid: {flow: book-demos, key: [email, start]}}
delivery:
  key: [email, start]
responses:
  jsonl: out/${RUN_ID}/responses.jsonl
"""


def test_a_good_flow_loads_with_environment_values_filled_in() -> None:
    flow = parse_flow(GOOD, environ={"RUN_ID": "r42"})
    assert flow.name == "book-demos"
    assert flow.responses.jsonl == "out/r42/responses.jsonl"
    assert flow.delivery.concurrency == 8
    assert flow.delivery.rate_limit == "auto"
    assert flow.destination.unknown_fields == "warn"
    reference = flow.destination.params["uid"]
    assert isinstance(reference, FlowReference)
    assert reference.key == ["email", "start"]


def test_a_missing_environment_variable_names_the_key_and_line() -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow(GOOD, environ={})
    assert "line 18: `responses.jsonl` refers to ${RUN_ID}, which is not set" in str(caught.value)


def test_a_dollar_can_be_written_literally() -> None:
    flow = parse_flow(GOOD.replace("${RUN_ID}", "$${RUN_ID}"), environ={})
    assert flow.responses.jsonl == "out/${RUN_ID}/responses.jsonl"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("unknown_fields", "  unknown_fields: maybe\n"),
            "line 12: `destination.unknown_fields`: Input should be 'warn', 'reject' or 'drop'",
        ),
        (
            ("concurrency", "  concurency: 4\n"),
            "`delivery.concurency`: unknown key; allowed here: allow_destructive, concurrency",
        ),
        (
            ("rate", "  rate_limit: 0\n"),
            "`delivery.rate_limit`: expected 'auto' or a number of requests per minute ≥ 1",
        ),
    ],
)
def test_a_bad_key_is_named_with_its_line_and_what_is_allowed(
    change: tuple[str, str], expected: str
) -> None:
    where = "destination:\n" if change[0] == "unknown_fields" else "delivery:\n"
    text = GOOD.replace(where, where + change[1], 1)
    with pytest.raises(FlowError) as caught:
        parse_flow(text, environ={"RUN_ID": "x"})
    assert expected in str(caught.value)


def test_template_and_manual_are_exclusive() -> None:
    text = GOOD.replace(
        "  template: create-booking\n",
        "  template: create-booking\n  manual: {method: POST, url: 'https://api.cal.com/v2/x'}\n",
    )
    with pytest.raises(FlowError) as caught:
        parse_flow(text, environ={"RUN_ID": "x"})
    assert "give exactly one of `template` and `manual`" in str(caught.value)


def test_yaml_syntax_errors_give_the_line() -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow("version: 1\nname: [unclosed\n")
    assert "not valid YAML" in str(caught.value)
    assert "line " in str(caught.value)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow("version: 1\nname: a\nname: b\n")
    assert "line 3: `name` is given twice" in str(caught.value)


def test_a_missing_file_is_a_flow_error(tmp_path: Path) -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(tmp_path / "nope.yaml")
    assert "cannot read the file" in str(caught.value)


def test_tls_verification_cannot_be_turned_off() -> None:
    text = GOOD.replace(
        "  template: create-booking\n", "  template: create-booking\n  verify_tls: false\n"
    )
    with pytest.raises(FlowError) as caught:
        parse_flow(text, environ={"RUN_ID": "x"})
    assert "TLS verification cannot be turned off" in str(caught.value)


def test_schema_command_prints_a_json_schema_that_describes_every_section() -> None:
    result = calsink("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["title"] == "calsink flow file"
    assert set(schema["properties"]) >= {
        "version",
        "name",
        "source",
        "transform",
        "destination",
        "delivery",
        "responses",
        "dead_letters",
        "ledger",
    }
    assert "unknown_fields" in json.dumps(schema)


def test_a_flow_file_that_is_not_utf8_is_named_with_its_line_and_what_to_do(
    tmp_path: Path,
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_bytes(b"version: 1\nname: caf\xe9-bookings\n")  # saved as Latin-1
    with pytest.raises(FlowError) as raised:
        load_flow(flow)
    assert raised.value.problems == [
        "line 2: the file is not UTF-8 text (byte 0xe9); save it as UTF-8"
    ]
    shown = calsink("validate", str(flow))
    assert shown.returncode == 2 and "Traceback" not in shown.stderr, shown.stderr
    assert "line 2: the file is not UTF-8 text (byte 0xe9); save it as UTF-8" in shown.stderr


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            "responses: {jsonl: out/all.jsonl}\ndead_letters: ./out/all.jsonl\n",
            "`dead_letters` and `responses.jsonl`",
        ),
        ("responses: {jsonl: .calsink/ledger.db}\n", "`ledger` and `responses.jsonl`"),
        ("dead_letters: state.db\nledger: state.db\n", "`dead_letters` and `ledger`"),
    ],
)
def test_two_settings_naming_one_file_are_refused(extra: str, named: str) -> None:
    minimal = (
        "version: 1\nname: files\nsource: {path: leads.csv}\n"
        "destination: {api_key_env: CAL_API_KEY, template: create-booking}\n"
    )
    parse_flow(minimal)  # each setting its own file by default
    with pytest.raises(FlowError) as raised:
        parse_flow(minimal + extra)
    assert any(f"{named} name the same file" in problem for problem in raised.value.problems)
