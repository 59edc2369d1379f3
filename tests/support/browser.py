"""Debian's Chromium for the page tests: found, or installed with apt when this is allowed.

Browsers are never downloaded by a test tool; on a Debian machine where the tests run as
root (CI, a fresh development box) the package is installed once, so the README's one
test command is enough. Elsewhere the message says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> Path:
    """The Chromium binary; raise RuntimeError with the fix when it cannot be had."""
    if CHROMIUM.exists():
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise RuntimeError(
            f"{CHROMIUM} is missing: the page tests drive Debian's Chromium. "
            "Install it with `apt-get install chromium` (CI installs it)."
        )
    print("\ninstalling Debian's chromium for the page tests (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt, "update", "-q"], [apt, "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            step = " ".join(command[1:])
            raise RuntimeError(f"`{step}` failed while installing chromium:\n{done.stderr[-2000:]}")
    if not CHROMIUM.exists():
        raise RuntimeError(f"chromium was installed but {CHROMIUM} is still missing")
    return CHROMIUM
