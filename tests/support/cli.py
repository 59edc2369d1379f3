"""The real CLI as a user runs it: `python -m calsink ...` in a folder, with a key in the
environment, and its `--json` summary read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def environment(key: str, **more: str) -> dict[str, str]:
    return {**os.environ, "CAL_API_KEY": key, "NO_COLOR": "1", **more}


def cli(
    *args: str,
    key: str,
    cwd: Path,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calsink", *args],
        cwd=cwd,
        env={**environment(key), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def start_cli(
    *args: str, key: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "calsink", *args],
        cwd=cwd,
        env={**environment(key), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data
