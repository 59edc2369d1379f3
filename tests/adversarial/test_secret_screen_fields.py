"""Every secret-looking field name is screened, in any case, wherever it sits in a value."""

from __future__ import annotations

import orjson
import pytest

from calsink.redact import SCREENED, SENSITIVE_FIELDS, SecretScreen

CASINGS = (str.lower, str.upper, str.title, lambda name: name[:1].upper() + name[1:])


@pytest.mark.parametrize("name", sorted(SENSITIVE_FIELDS))
def test_each_secret_field_is_screened_in_any_case(name: str) -> None:
    screen = SecretScreen()
    for casing in CASINGS:
        field = casing(name)
        value = {"status": "success", "data": {"id": 1, "hosts": [{field: "s3cr3t-value"}]}}
        line = screen.dumps(value)
        assert b"s3cr3t-value" not in line, field
        assert orjson.loads(line)["data"]["hosts"][0][field] == SCREENED


@pytest.mark.parametrize("name", ["tokens", "xsecret", "apikeys", "access-token", "pass_word"])
def test_a_field_that_only_resembles_one_is_kept(name: str) -> None:
    value = {"data": {name: "plain"}}
    assert SecretScreen().dumps(value) == orjson.dumps(value)
