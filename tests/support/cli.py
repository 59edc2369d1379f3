"""The real CLI as a user runs it: `python -m calsink ...` in a folder, with a key in the
environment, and its `--json` summary read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def command(*args: str) -> list[str]:
    """The argv of ``calsink ARGS`` run by this Python."""
    return [sys.executable, "-m", "calsink", *args]


def environment(key: str | None, **more: str) -> dict[str, str]:
    """This process's environment without colour, with ``CAL_API_KEY`` set to ``key`` (or
    taken out when ``key`` is None), and ``more`` on top."""
    env = {**os.environ, "NO_COLOR": "1", **more}
    env.pop("CAL_API_KEY", None)
    return env if key is None else {**env, "CAL_API_KEY": key}


def calsink(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``calsink ARGS`` run to its end, its output captured; ``env`` is the whole environment
    (by default this process's, without colour)."""
    return subprocess.run(
        command(*args),
        cwd=cwd,
        env=dict(env) if env is not None else {**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def cli(
    *args: str,
    key: str,
    cwd: Path,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``calsink ARGS`` in ``cwd`` with ``key`` as $CAL_API_KEY (and ``env`` on top)."""
    return calsink(
        *args, cwd=cwd, env={**environment(key), **(env or {})}, stdin=stdin, timeout=timeout
    )


def start_cli(
    *args: str, key: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(*args),
        cwd=cwd,
        env={**environment(key), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary(result: subprocess.CompletedProcess[str] | str) -> dict[str, Any]:
    """The ``--json`` summary a run printed (its whole stdout)."""
    data: dict[str, Any] = json.loads(result if isinstance(result, str) else result.stdout)
    return data
