"""The progress line of `calsink run` on a real terminal (a pseudo-terminal 80 columns
wide): the total, an ETA and what the run waits for, in whole parts, never cut."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
from pathlib import Path

import pytest
from tests.adversarial.harness import environment, lead_rows, write_flow
from tests.support.cli import command
from tests.support.sandbox import SandboxHandle

pytestmark = pytest.mark.e2e

PART = re.compile(
    r"read [\d,]+( of ≈?[\d,]+)?"
    r"|waiting for Cal\.com's rate limit, resets in \d+ s"
    r"|(delivered|skipped|rejected|failed|dead) [\d,]+"
    r"|ETA \d+ (s|min \d+ s|h \d+ min)"
    r"|[\d,]+ rec/s"
    r"|in flight \d+"
    r"|starting"
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]")


def _run_on_a_terminal(folder: Path, key: str, columns: int) -> str:
    """`calsink run flow.yaml` with stderr on a pseudo-terminal; what the terminal showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**environment(key), "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        command("run", "flow.yaml"),
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    shown = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the run ended
            break
        if not data:
            break
        shown += data
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return ANSI.sub("", shown.decode("utf-8", "replace"))


def test_progress_fits_80_columns_with_the_total_an_eta_and_the_rate_limit_wait(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    rows = lead_rows(40)
    (tmp_path / "leads.csv").write_text(
        "name,email,start\n" + "\n".join(",".join(row) for row in rows) + "\n"
    )
    write_flow(tmp_path, sandbox, source="leads.csv", delivery={"concurrency": 2})
    sandbox.set_faults({"spec": "429=3@1#1:POST /v2/bookings,latency=100ms@1:POST /v2/bookings"})
    try:
        shown = _run_on_a_terminal(tmp_path, sandbox.api_key, 80)
    finally:
        sandbox.clear_faults()
    frames = [
        frame.lstrip("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ").rstrip()
        for frame in re.split(r"[\r\n]", shown)
        if frame.strip()
    ]
    progress = [f for f in frames if f.startswith(("read ", "starting")) and "│" not in f]
    assert progress, shown
    for frame in progress:
        assert len(frame) <= 78, frame
        for part in frame.split(" · "):
            assert PART.fullmatch(part), (part, frame)
    assert any(" of ≈40" in frame for frame in progress), progress
    assert any("waiting for Cal.com's rate limit, resets in" in f for f in progress), progress
    assert any("ETA " in frame for frame in progress), progress
