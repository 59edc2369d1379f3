"""What every command shares: JSON on stdout, human text on stderr, exit codes, flow errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import orjson

if TYPE_CHECKING:
    from rich.console import Console

    from calsink import LoadedFlow

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_ABORTED = 3


def emit_json(obj: Any) -> None:
    """One JSON value on one line of stdout."""
    sys.stdout.buffer.write(orjson.dumps(obj, default=str) + b"\n")
    sys.stdout.buffer.flush()


def console() -> Console:
    """A console on stderr for human output: no markup, no wrapping of long lines."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def say(text: str, *, style: str | None = None) -> None:
    console().print(text, style=style)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    from calsink import hide_secrets

    console().print(f"error: {hide_secrets(message)}", style="bold red")
    raise SystemExit(code)


@contextmanager
def flow_errors() -> Iterator[None]:
    """Turn a flow (or a ledger it reads) that cannot be used into a clear message and exit code
    2, never a traceback."""
    from calsink.errors import (
        FlowError,
        LedgerConnectError,
        RenderConfigError,
        SourceError,
        TransformConfigError,
    )

    try:
        yield
    except (
        FlowError,
        SourceError,
        TransformConfigError,
        RenderConfigError,
        LedgerConnectError,
    ) as exc:
        fail(told(exc), EXIT_USAGE)


def told(error: BaseException) -> str:
    """An error's message with its notes (what became of a run it stopped, say)."""
    return "\n".join([str(error), *getattr(error, "__notes__", ())])


def empty_source_note(loaded: LoadedFlow) -> str | None:
    """A note for a run that read no record: the source file is empty, or holds no rows."""
    path = loaded.flow.source.path
    if path is None or path == "-":
        return None
    file = loaded.resolve(path)
    try:
        size = file.stat().st_size
    except OSError:
        return None
    if size == 0:
        return f"note: {path} is empty (0 bytes): no records to send"
    return f"note: {path} holds no records"


def command_hint() -> str:
    """How to start calsink again, as this process was started: ``uv run calsink`` under
    ``uv run``, ``calsink`` when that is on PATH, else ``python -m calsink``."""
    import os
    import shutil

    if os.environ.get("UV"):
        return "uv run calsink"
    if shutil.which("calsink"):
        return "calsink"
    return "python -m calsink"
