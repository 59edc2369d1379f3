"""The responses and dead-letter files hide secrets whether or not a value is walked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from calsink.redact import SecretScreen, redact_payload, scrub
from calsink.responses import ResponseSinks

SECRETS = ["cal_test_0123456789", 'odd"secret\\with\nescapes']
KEYS = st.sampled_from(
    ["name", "uid", "Token", "APIKEY", "api_key", "secret", "TO\u212aEN", "Password", "note", "é"]
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.text(max_size=20),
    st.sampled_from([*SECRETS, f"Bearer {SECRETS[0]}", "x" + SECRETS[1] + "y"]),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_screened_line_is_exactly_the_scrubbed_value(value: Any) -> None:
    line = SecretScreen(SECRETS).dumps(value)
    assert line == orjson.dumps(scrub(value, SECRETS))
    for secret in SECRETS:
        assert secret.encode() not in line
        assert orjson.dumps(secret)[1:-1] not in line


TOKENS = {
    "accessToken": "at_0123456789",
    "refreshToken": "rt_0123456789",
    "clientSecret": "cs_0123456789",
    "authorization": "Basic dXNlcjpwYXNz",
    "apiKey": "k_0123456789",
}


def test_the_responses_file_and_the_preview_hide_the_same_fields(tmp_path: Path) -> None:
    """Cal.com answers a managed user's creation with its accessToken and refreshToken
    (calcom/cal.com@031bc018a32b, apps/api/v2/src/modules/oauth-clients/controllers/
    oauth-client-users/outputs/create-managed-user.output.ts, CreateManagedUserData);
    the preview hid them while the responses file kept them."""
    sinks = ResponseSinks(jsonl=tmp_path / "responses.jsonl")
    sinks.emit({"key": "k", "status": 201, "body": {"data": {**TOKENS, "id": 7}}})
    asyncio.run(sinks.close())
    written = (tmp_path / "responses.jsonl").read_text()
    previewed = orjson.dumps(redact_payload({"data": TOKENS})).decode()
    for field, value in TOKENS.items():
        assert value not in written, f"{field} is in the responses file"
        assert value not in previewed, f"{field} is in the preview"
    assert orjson.loads(written)["body"]["data"]["id"] == 7
