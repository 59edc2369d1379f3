"""Outcomes grouped by reason, as a person reads them: the commonest first, with counts and
the first few positions ("416 rejected: start: expected … (leads.csv:13, leads.csv:19,
leads.csv:22, … 413 more; first found '12/03/2026')").

A reason is grouped by what was expected, not by the value found (each record's value
differs); one example of a value found is shown. Memory is bounded: at most
``MAX_GROUPS`` reasons are told apart, the others are counted together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from calsink.cli._output import console

SHOWN_POSITIONS = 3
MAX_GROUPS = 1_000
_OTHER = "other reasons (see the dead letters, or --all)"
_PROBLEM_START = re.compile(r"; (?=[^;]{1,200}?: expected )")
_FOUND = re.compile(r", found (.*?)(?: \(|$)", re.S)


@dataclass
class _Group:
    outcome: str
    reason: str
    count: int = 0
    positions: list[str] = field(default_factory=list)
    example: str | None = None


class ReasonGroups:
    """Outcomes added one by one; ``print`` shows them grouped by reason."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], _Group] = {}

    def add(self, outcome: str, reason: str, position: str, example: str | None = None) -> None:
        key = (outcome, reason)
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= MAX_GROUPS:
                key = (outcome, _OTHER)
                group = self._groups.setdefault(key, _Group(outcome, _OTHER))
            else:
                group = self._groups[key] = _Group(outcome, reason, example=example)
        group.count += 1
        if len(group.positions) < SHOWN_POSITIONS:
            group.positions.append(position)

    def add_reason_text(self, outcome: str, reason: str, position: str) -> None:
        """A reason as one text ("start: expected X, found 'y' (hint)"): grouped without
        the values found."""
        self.add(outcome, group_reason(reason), position, example_found(reason))

    def __bool__(self) -> bool:
        return bool(self._groups)

    def lines(self) -> list[str]:
        ordered = sorted(self._groups.values(), key=lambda group: -group.count)
        return [_line(group) for group in ordered]

    def print(self) -> None:
        out = console()
        for line in self.lines():
            out.print(line)


def _line(group: _Group) -> str:
    shown = ", ".join(group.positions)
    more = group.count - len(group.positions)
    where = f"{shown}, … {more:,} more" if more else shown
    example = f"; first found {group.example}" if group.example else ""
    return f"{group.count:,} {group.outcome}: {group.reason} ({where}{example})"


def group_reason(reason: str) -> str:
    """``reason`` without the values found, problem by problem."""
    parts = _PROBLEM_START.split(reason)
    return "; ".join(part.split(", found ", 1)[0] for part in parts)[:300]


def example_found(reason: str) -> str | None:
    found = _FOUND.search(reason)
    return found.group(1)[:120] if found else None


def print_run_reasons(path: Path | None, flow: str, run: int | None, *, show_all: bool) -> None:
    """The dead letters one run of ``flow`` wrote, grouped by reason (or each, ``show_all``)."""
    if path is None or run is None or not path.exists():
        return
    from calsink import dead_letters

    out = console()
    groups = ReasonGroups()
    unreadable: list[str] = []
    for letter in dead_letters(path, on_unreadable=lambda error: unreadable.append(str(error))):
        if letter.flow != flow or letter.run != run:
            continue
        position = str(letter.position) if letter.position else "?"
        if show_all:
            out.print(f"{position}  {letter.outcome}: {letter.reason}")
        elif letter.reason.startswith("duplicate of "):
            groups.add(letter.outcome, _DUPLICATE, position)
        else:
            groups.add_reason_text(letter.outcome, letter.reason, position)
    if groups:
        groups.print()
    for problem in unreadable:
        out.print(f"note: {problem}", soft_wrap=True)


_DUPLICATE = "a repeat of an earlier record's delivery key"
