"""Fixtures of the page tests: Debian's Chromium, `calsink ui` started as a user starts it,
a working folder with a CSV, and screenshots at 1280 px and 400 px of each step."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.browser import ensure_chromium
from support.page import LEADS, WIDE

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    root = os.environ.get("CALSINK_TEST_ARTIFACTS")
    directory = (Path(root) / "ui") if root else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the page: {directory}")
    return directory


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for a module's tests (each test has a page of its own, in a context of
    its own: no cookie, storage or cache is shared)."""
    try:
        chromium = ensure_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=WIDE)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
    finally:
        context.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The folder `calsink ui` starts in, with a CSV of leads."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "leads.csv").write_text(LEADS, encoding="utf-8")
    return work


@dataclass
class UiHandle:
    url: str  # as printed, with the token
    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def origin(self) -> str:
        return self.url.partition("/?token=")[0]

    @property
    def token(self) -> str:
        return self.url.partition("/?token=")[2]


@pytest.fixture
def ui(workdir: Path, tmp_path: Path) -> Iterator[UiHandle]:
    """`calsink ui` started as a user starts it: the URL it printed, and its process."""
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
        yield UiHandle(match.group(0), process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def ui_server(ui: UiHandle) -> str:
    """The URL `calsink ui` printed."""
    return ui.url
