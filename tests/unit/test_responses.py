"""The responses and dead-letter files hide secrets whether or not a value is walked."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from calsink.responses import SecretScreen, scrub

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
