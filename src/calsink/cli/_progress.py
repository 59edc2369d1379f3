"""The live progress line of `run` and `retry`: how far, how long still, what the run
waits for — fitted to the terminal by leaving out whole parts, never cutting a word.

The total is known for Parquet (its row count) and estimated for CSV and JSON Lines
files (their lines, counted on the side while the run starts: ``≈``); a pipe, ``--follow``
or a JSON array has none, and the line shows what was read instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsink import LoadedFlow, ProgressEvent

OUTCOMES = ("delivered", "skipped", "rejected", "failed", "dead")
_CHUNK = 1 << 20
_SEPARATOR = " · "


@dataclass
class _Total:
    count: int | None = None
    approximate: bool = False


class ProgressState:
    """The last event of a run and its total, turned into one line of a given width."""

    def __init__(self, total: _Total) -> None:
        self.total = total
        self.event: ProgressEvent | None = None

    def line(self, width: int) -> str:
        parts = self._parts()
        chosen: list[str] = []
        used = 0
        for part in parts:
            extra = len(part) + (len(_SEPARATOR) if chosen else 0)
            if chosen and used + extra > width:
                continue
            chosen.append(part)
            used += extra
        return _SEPARATOR.join(chosen)

    def _parts(self) -> list[str]:
        event = self.event
        if event is None:
            return ["starting"]
        summary = event.summary
        read = summary.read
        total = self.total.count
        parts = [_how_far(read, total, self.total.approximate)]
        waiting = event.blocked_for_s() if event.blocked_for_s else 0.0
        if waiting >= 0.5:
            parts.append(f"waiting for Cal.com's rate limit, resets in {waiting:.0f} s")
        parts += [
            f"{name} {getattr(summary, name):,}"
            for name in OUTCOMES
            if getattr(summary, name) or name == "delivered"
        ]
        if total is not None and event.rate_per_s > 0 and read < total:
            parts.append("ETA " + _duration((total - read) / event.rate_per_s))
        parts.append(f"{event.rate_per_s:,.0f} rec/s")
        if event.in_flight:
            parts.append(f"in flight {event.in_flight}")
        return parts


def _how_far(read: int, total: int | None, approximate: bool) -> str:
    if total is None:
        return f"read {read:,}"
    return f"read {read:,} of {'≈' if approximate else ''}{max(total, read):,}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def count_in_background(loaded: LoadedFlow, limit: int | None, follow: bool) -> _Total:
    """The source's record count, filled in by a thread while the run starts."""
    total = _Total()
    source = loaded.flow.source
    if follow or source.path is None or source.path == "-":
        return total
    from calsink import source_format

    kind = source_format(loaded)
    if kind not in ("csv", "jsonl", "parquet"):
        return total
    path = loaded.resolve(source.path)

    def count() -> None:
        try:
            found, approximate = _count(path, kind)
        except (OSError, ValueError, ImportError):
            return
        total.approximate = approximate
        total.count = found if limit is None else min(found, limit)

    threading.Thread(target=count, name="calsink-count", daemon=True).start()
    return total


def _count(path: Path, kind: str) -> tuple[int, bool]:
    if kind == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows), False
    lines = 0
    last = b"\n"
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(0, lines - (1 if kind == "csv" else 0)), True


@contextmanager
def live_progress(
    enabled: bool, total: _Total | None
) -> Iterator[Callable[[ProgressEvent], None] | None]:
    """A progress line on the terminal while the block runs (None when not enabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress, ProgressColumn, SpinnerColumn
    from rich.text import Text

    from calsink.cli._output import console

    out = console()
    state = ProgressState(total or _Total())

    class LineColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(state.line(max(20, out.width - 3)), no_wrap=True, overflow="crop")

    progress = Progress(SpinnerColumn(), LineColumn(), console=out, transient=True)
    progress.add_task("sending", total=None)

    def update(event: ProgressEvent) -> None:
        state.event = event

    with progress:
        yield update
