"""SeenKeys: exact answers whether a key sits in memory or in a sorted run on disk."""

from __future__ import annotations

import random

import pytest

from calsink.deliver import seen
from calsink.deliver.seen import SeenKeys


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of 100 keys and blocks of 8, so that a few thousand keys span many runs."""
    monkeypatch.setattr(seen, "_RECENT", 100)
    monkeypatch.setattr(seen, "_BLOCK", 8)


@pytest.mark.usefixtures("small_runs")
def test_every_key_is_new_once_and_repeated_after_whether_recent_or_spilled() -> None:
    keys = [f'["user{i}@example.com","2030-01-07T14:{i % 60:02d}:00Z"]' for i in range(3_000)]
    chooser = random.Random(7)
    seen_keys = SeenKeys()
    try:
        assert all(seen_keys.add(key) for key in keys)
        assert len(seen_keys._runs) == 30, "the keys were spilled into sorted runs"
        repeats = chooser.sample(keys, 500)
        assert not any(seen_keys.add(key) for key in repeats)
        fresh = [f"other-{i}" for i in range(2_000)]
        assert all(seen_keys.add(key) for key in fresh), "no new key is taken for a repeat"
        assert not any(seen_keys.add(key) for key in fresh)
    finally:
        seen_keys.close()


@pytest.mark.usefixtures("small_runs")
def test_keys_that_differ_only_in_one_character_or_odd_text_stay_distinct() -> None:
    keys = ["a", "b", "A", "", "é", "\ud800", '["1"]', "[1]", "x" * 10_000]
    keys += [f"k{i}" for i in range(250)]
    seen_keys = SeenKeys()
    try:
        assert [seen_keys.add(key) for key in keys] == [True] * len(keys)
        assert [seen_keys.add(key) for key in keys] == [False] * len(keys)
    finally:
        seen_keys.close()


@pytest.mark.usefixtures("small_runs")
def test_a_repeat_names_where_its_key_was_first_seen_whether_recent_or_spilled() -> None:
    from calsink.records import Position

    seen_keys = SeenKeys()
    try:
        for number in range(1_000):
            source = "a.csv" if number % 2 else "b.jsonl"
            line = number + 2 if number % 2 else None
            assert seen_keys.first(f"key{number}", Position(source, number, line)) is None
        assert len(seen_keys._runs) == 10, "the keys were spilled into sorted runs"
        assert seen_keys.first("key7", Position("c.csv", 5000, 9)) == Position("a.csv", 7, 9)
        assert seen_keys.first("key8", Position("c.csv", 5001)) == Position("b.jsonl", 8, None)
        assert seen_keys.first("key999", Position("c.csv", 5002)) == Position("a.csv", 999, 1001)
    finally:
        seen_keys.close()
