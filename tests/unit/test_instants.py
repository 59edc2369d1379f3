from __future__ import annotations

import datetime as dt

import pytest

from calsink.instants import InstantError, is_instant, normalise_instant


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2030-01-07T14:00:00Z", "2030-01-07T14:00:00Z"),
        ("2030-01-07T14:00:00z", "2030-01-07T14:00:00Z"),
        ("2030-01-07T09:00:00-05:00", "2030-01-07T14:00:00Z"),
        ("2030-01-07 15:00:00+01:00", "2030-01-07T14:00:00Z"),
        ("2030-01-07T15:00+01:00", "2030-01-07T14:00:00Z"),
        ("2030-01-07T14:00:00.000Z", "2030-01-07T14:00:00Z"),
        ("2030-01-07T14:00:00.123456Z", "2030-01-07T14:00:00.123Z"),
        ("2030-01-07T23:30:00-05:00", "2030-01-08T04:30:00Z"),
        ("  2030-01-07T14:00:00Z  ", "2030-01-07T14:00:00Z"),
        (dt.datetime(2030, 1, 7, 14, 0, tzinfo=dt.UTC), "2030-01-07T14:00:00Z"),
    ],
)
def test_instants_become_utc_with_whole_seconds(value: object, expected: str) -> None:
    assert normalise_instant(value) == expected
    assert is_instant(value)


def test_a_naive_time_is_read_in_the_given_zone() -> None:
    assert normalise_instant("2030-01-07T09:00:00", "America/New_York") == "2030-01-07T14:00:00Z"
    assert normalise_instant("2030-07-07T09:00:00", "Europe/Berlin") == "2030-07-07T07:00:00Z"
    assert normalise_instant("2030-01-07T14:00:00Z", "Asia/Tokyo") == "2030-01-07T14:00:00Z"


def test_a_naive_time_without_a_zone_is_ambiguous() -> None:
    with pytest.raises(InstantError) as caught:
        normalise_instant("2030-01-07T09:00:00")
    message = str(caught.value)
    assert "with an offset or Z" in message
    assert "iso(x, 'Europe/Berlin')" in message
    assert not is_instant("2030-01-07T09:00:00")


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("2030-01-07", "the date '2030-01-07' without a time"),
        ("tomorrow", "'tomorrow'"),
        ("", "''"),
        (None, "nothing (null)"),
        (1767225600, "int 1767225600"),
        ("2030-13-07T09:00:00Z", "'2030-13-07T09:00:00Z'"),
        (dt.date(2030, 1, 7), "the date 2030-01-07 without a time"),
    ],
)
def test_what_is_not_an_instant_is_named(value: object, found: str) -> None:
    with pytest.raises(ValueError, match="expected an ISO 8601 date-time") as caught:
        normalise_instant(value)
    assert isinstance(caught.value, InstantError)
    assert caught.value.found == found
    assert not is_instant(value)


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        normalise_instant("2030-01-07T09:00:00", "Mars/Olympus")
