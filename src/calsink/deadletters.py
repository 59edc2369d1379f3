"""Dead letters: every rejected, failed or dead record with its reason, as JSON Lines
(and every record skipped as a repeat of an earlier one of its run, "duplicate of ...").

Each line holds the outcome, the reason (and field, for rejections), Cal.com's
status and message, the attempts, the record's key and position, the source record
and the request that was sent (body only; never a header). `calsink retry` reads the
file back with `read_dead_letters`.

Dead letters belong to their flow: each entry names the flow and the run (the ledger's
run id) that wrote it, and a flow without a ``dead_letters:`` key writes to
``out/<flow name>.dead-letters.jsonl`` (`dead_letters_path`). `calsink retry` takes only
its own flow's entries.

The file keeps what is still waiting. A run writes its entries to ``<file>.partial``;
when it ends, the file becomes the earlier entries of records this run did not settle
(it never read them: a ``--limit`` run, a retry of a few) followed by this run's own,
renamed over the file in one step. A record that ends in an outcome in a later run
loses its earlier entry; entries of other flows in a shared file are kept as they were.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from calsink.records import Position
from calsink.redact import SecretScreen

if TYPE_CHECKING:
    from calsink.flow import LoadedFlow


class DeadLetterError(ValueError):
    """A line of a dead-letter file that cannot be read (edited by hand, say); the message
    names the file and line and what to do."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One line of the dead-letter file, read back."""

    outcome: str
    reason: str
    key: str | None
    position: Position | None
    record: Any
    request: dict[str, Any] | None
    status: int | None
    attempts: int
    flow: str | None = None
    run: int | None = None
    flow_file: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeadLetter:
        position = data.get("position")
        return cls(
            outcome=str(data.get("outcome", "")),
            reason=str(data.get("reason", "")),
            key=data.get("key"),
            position=position_from_json(position) if isinstance(position, dict) else None,
            record=data.get("record"),
            request=data.get("request"),
            status=data.get("status"),
            attempts=int(data.get("attempts") or 0),
            flow=data.get("flow"),
            run=data.get("run"),
            flow_file=data.get("flow_file"),
        )


def position_from_json(data: dict[str, Any]) -> Position:
    return Position(
        source=str(data.get("source", "")), index=int(data.get("index") or 0), line=data.get("line")
    )


def dead_letters_path(loaded: LoadedFlow) -> Path:
    """The flow's dead-letter file: ``dead_letters:``, else ``out/<name>.dead-letters.jsonl``."""
    return loaded.resolve(loaded.flow.dead_letters_file)


class Settled:
    """The source positions that got an outcome in one run (a bit per index, per source)."""

    def __init__(self) -> None:
        self._bits: dict[str, bytearray] = {}

    def add(self, position: Position) -> None:
        bits = self._bits.get(position.source)
        if bits is None:
            bits = self._bits[position.source] = bytearray()
        byte = position.index >> 3
        if byte >= len(bits):
            bits.extend(bytes(byte + 1 - len(bits) + len(bits) // 2))
        bits[byte] |= 1 << (position.index & 7)

    def __contains__(self, position: Position) -> bool:
        bits = self._bits.get(position.source)
        byte = position.index >> 3
        return (
            bits is not None and byte < len(bits) and bool(bits[byte] & (1 << (position.index & 7)))
        )


class DeadLetterWriter:
    """Writes the dead letters of one run of ``flow``; `close` publishes them under ``path``
    after the earlier entries still waiting (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        flow: str = "",
        run: int | None = None,
        flow_file: Path | None = None,
        secrets: Iterable[str] = (),
        shared: bool = False,
    ) -> None:
        self.path = path
        self.flow = flow
        self.run = run
        self.flow_file = None if flow_file is None else str(flow_file)
        # Runs of a flow on a shared ledger may write beside each other at once: each to
        # its own partial file, published one at a time.
        self.shared = shared
        suffix = f".run{run}.partial" if shared else ".partial"
        self.partial = path.with_name(path.name + suffix)
        self.__screen = SecretScreen(secrets)
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():  # the file is rewritten at the end: refuse before anything is sent
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        self._file: IO[bytes] = open(self.partial, "wb")  # noqa: SIM115 - closed by close()

    def write(
        self,
        *,
        outcome: str,
        reason: str,
        position: Position | None,
        key: str | None = None,
        field: str | None = None,
        record: Any = None,
        request: dict[str, Any] | None = None,
        status: int | None = None,
        error: str | None = None,
        attempts: int = 0,
        flow: str | None = None,
    ) -> None:
        entry = {
            "flow": flow or self.flow,
            "run": self.run,
            "flow_file": self.flow_file,
            "outcome": outcome,
            "reason": reason,
            "field": field,
            "status": status,
            "error": error,
            "attempts": attempts,
            "key": key,
            "position": position.to_json() if position else None,
            "record": record,
            "request": request,
        }
        self._file.write(self.__screen.dumps(entry) + b"\n")
        self._file.flush()
        self.count += 1

    def close(self, settled: Settled | None = None) -> None:
        """Publish the file: the entries still waiting from earlier runs (records of this
        flow that ``settled`` does not hold, and every entry of another flow), then this
        run's."""
        self._file.close()
        with _publishing(self.path, self.shared):
            self._publish(settled)

    def _publish(self, settled: Settled | None) -> None:
        merged = self.path.with_name(self.path.name + ".merging")
        with open(merged, "wb") as out:
            for _, line in _numbered_lines(self.path):
                entry = _entry_or_none(line)
                # a line that cannot be read is kept as it is: never dropped unseen
                if entry is None or _still_waiting(entry, self.flow, settled or Settled()):
                    out.write(line)
            with open(self.partial, "rb") as mine:
                shutil.copyfileobj(mine, out)
        os.replace(merged, self.path)
        self.partial.unlink(missing_ok=True)


@contextlib.contextmanager
def _publishing(path: Path, shared: bool) -> Iterator[None]:
    """Hold the dead-letter file's lock (when runs may publish at once) while it is rewritten."""
    if not shared:
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield  # the lock goes with the file


def _still_waiting(entry: dict[str, Any], flow: str, settled: Settled) -> bool:
    if entry.get("flow") != flow:
        return True
    position = entry.get("position")
    return not isinstance(position, dict) or position_from_json(position) not in settled


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    if not path.exists():
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:  # a folder at the path, no permission to read
        raise DeadLetterError(
            f"{path}: the dead-letter file cannot be read ({exc.strerror or exc}); point "
            "`dead_letters:` at the file, or move what is at that path aside"
        ) from None
    with handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, line if line.endswith(b"\n") else line + b"\n"


def _entry_or_none(line: bytes) -> dict[str, Any] | None:
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def read_dead_letters(
    path: Path, *, on_unreadable: Callable[[DeadLetterError], None] | None = None
) -> Iterator[DeadLetter]:
    """The dead letters in ``path`` (nothing when the file does not exist). A line that
    cannot be read raises DeadLetterError, or is handed to ``on_unreadable`` and passed by."""
    for number, line in _numbered_lines(path):
        entry = _entry_or_none(line)
        try:
            if entry is None:
                raise ValueError("not a JSON object")
            letter = DeadLetter.from_json(entry)
        except (ValueError, TypeError) as exc:
            error = DeadLetterError(
                f"{path}:{number}: this dead letter cannot be read ({exc}); fix the line as "
                "calsink wrote it, or remove it if its record needs no retry"
            )
            if on_unreadable is None:
                raise error from None
            on_unreadable(error)
            continue
        yield letter


def waiting_by_run(path: Path, flow: str) -> dict[int | None, int]:
    """How many of ``flow``'s dead letters in ``path`` wait for a retry (rejected, failed
    or dead: a repeat of a record is listed, but has nothing to wait for), per run."""
    found: dict[int | None, int] = {}
    for letter in read_dead_letters(path):
        if letter.flow == flow and letter.outcome in ("rejected", "failed", "dead"):
            found[letter.run] = found.get(letter.run, 0) + 1
    return found
