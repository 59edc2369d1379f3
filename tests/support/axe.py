"""axe-core for the page tests: installed from the npm registry into tests/.axe once.

The browser suite checks the page with axe-core (MPL-2.0) at every step it screenshots;
a fresh machine gets it with `npm install` on first use (CI installs it in .ci/run).
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
AXE_DIR = Path(__file__).resolve().parent.parent / ".axe"
AXE_FILE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> str:
    """The text of axe.min.js; RuntimeError with the fix when it cannot be had."""
    if not AXE_FILE.exists():
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        # Parallel test workers install it once: the first takes the lock, the others wait.
        with (AXE_DIR / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not AXE_FILE.exists():
                _install()
    return AXE_FILE.read_text(encoding="utf-8")


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"{AXE_FILE} is missing and npm is not installed: the page tests check the "
            f"page with axe-core. Install Node.js's npm, or run "
            f"`npm install --prefix {AXE_DIR} axe-core@{AXE_VERSION}`."
        )
    command = [npm, "install", "--prefix", str(AXE_DIR), "--no-save", "--no-audit"]
    done = subprocess.run(
        [*command, "--no-fund", f"axe-core@{AXE_VERSION}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not AXE_FILE.exists():
        raise RuntimeError(f"`npm install axe-core` failed:\n{done.stderr[-2000:]}")


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (empty: none)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # The page's CSP allows scripts from itself only: Playwright's init scripts bypass it.
        page.evaluate(axe_script())
    found = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
            .map((v) => `${v.id}: ${v.help} `
                + `(${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)"""
    )
    return list(found)
