"""Fixtures of the page's tests: `calsink ui` started as a user starts it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The folder `calsink ui` starts in (a test module may give it files)."""
    work = tmp_path / "work"
    work.mkdir()
    return work


@dataclass(frozen=True)
class StartedUi:
    url: str  # as printed, with the token
    pid: int

    @property
    def origin(self) -> str:
        return self.url.partition("/?token=")[0]

    @property
    def token(self) -> str:
        return self.url.partition("/?token=")[2]


@pytest.fixture
def ui_server(started_ui: StartedUi) -> str:
    """The URL `calsink ui` printed."""
    return started_ui.url


@pytest.fixture
def started_ui(workdir: Path, tmp_path: Path) -> Iterator[StartedUi]:
    """`calsink ui` started as a user starts it."""
    env = {**os.environ, "CALSINK_CONFIG_DIR": str(tmp_path / "config"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "calsink", "ui", "--port", "0"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
        if match is None:
            process.kill()
            _, err = process.communicate(timeout=5)
            pytest.fail(f"calsink ui printed {line!r} instead of its URL; stderr: {err}")
        yield StartedUi(match.group(0), process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
