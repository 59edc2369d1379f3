"""Text helpers for cleaning values in expressions: regular expressions with bounds, zones.

Regular expressions run with the ``regex`` module's timeout and on bounded input,
so a pattern that backtracks without end (``(a|aa)+$``) on a hostile value costs
that record, never the run: a pattern is at most ``MAX_PATTERN`` characters, the
text it reads at most ``MAX_TEXT``, and one match gives up after ``TIMEOUT_S``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import regex

MAX_PATTERN = 1_000
MAX_TEXT = 100_000
TIMEOUT_S = 0.25


class PatternError(ValueError):
    """A regular expression that cannot be used at all."""


class TextError(ValueError):
    """A value the helper cannot work on: what was expected and what was found."""

    def __init__(self, expected: str, hint: str | None = None) -> None:
        self.expected = expected
        self.hint = hint
        super().__init__(expected)


@lru_cache(maxsize=256)
def pattern(text: str) -> Any:
    """``text`` compiled; PatternError saying what is wrong with it."""
    if len(text) > MAX_PATTERN:
        raise PatternError(
            f"a regular expression is at most {MAX_PATTERN:,} characters ({len(text):,})"
        )
    try:
        return regex.compile(text, regex.VERSION0)
    except (regex.error, RecursionError, OverflowError) as exc:
        raise PatternError(f"not a valid regular expression {text!r}: {exc}") from None


def search(text: str, expression: str) -> Any:
    """The first match of ``expression`` in ``text``, or None; TextError when it cannot tell."""
    compiled = pattern(expression)
    _check_length(text)
    try:
        return compiled.search(text, timeout=TIMEOUT_S)
    except TimeoutError:
        raise _too_slow(expression) from None


def substitute(text: str, expression: str, replacement: str) -> str:
    compiled = pattern(expression)
    _check_length(text)
    try:
        result: str = compiled.sub(replacement, text, timeout=TIMEOUT_S)
    except TimeoutError:
        raise _too_slow(expression) from None
    except (regex.error, IndexError) as exc:
        raise TextError(f"a replacement that fits {expression!r}", str(exc)) from None
    _check_length(result)
    return result


def _check_length(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise TextError(
            f"a text of at most {MAX_TEXT:,} characters for a regular expression",
            f"it has {len(text):,}",
        )


def _too_slow(expression: str) -> TextError:
    return TextError(
        f"a value {expression!r} can be matched against in {TIMEOUT_S} s",
        "the pattern backtracks too much on this value; make it more specific "
        "(avoid nested repeats such as (a+)+)",
    )


# --- time zones --------------------------------------------------------------------------

_UTC_WORDS = frozenset({"utc", "gmt", "z", "etc/utc", "etc/gmt", "universal", "zulu"})
_CANDIDATE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)+|[A-Za-z]{1,5}")


@lru_cache(maxsize=1)
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def iana_zone(label: str) -> str:
    """The IANA zone a label names: ``(GMT+01:00) Europe/Paris`` → ``Europe/Paris``."""
    text = label.strip()
    if len(text) > 200:
        raise TextError("a time zone label of at most 200 characters", f"it has {len(text):,}")
    zones = _zones_by_lower_name()
    known = zones.get(text.lower().replace(" ", "_"))
    if known is not None:
        return known
    for candidate in _CANDIDATE.findall(text):
        word = candidate.lower()
        if "/" in word and word in zones:
            return zones[word]
    if text.lower() in _UTC_WORDS or re.fullmatch(r"\(?(utc|gmt)([+-]00:?00)?\)?", text.lower()):
        return "UTC"
    raise TextError(
        "a time zone such as Europe/Paris or '(GMT+01:00) Europe/Paris'",
        "an offset alone (GMT+01:00) does not say which zone: summer time differs",
    )
