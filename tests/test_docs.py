"""The README promises what the tool does: every command documented, the set-up commands real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.support.cli import calsink

from calsink.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_in_the_readme_and_answers_help(name: str) -> None:
    assert f"`calsink {name}" in README, f"calsink {name} is not documented in README.md"
    result = calsink(name, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_the_readme_first_screen_holds_the_two_set_up_commands_and_ci_runs_the_test_one() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    commands = re.findall(
        r"^(python3 -m pip install uv && uv run [^#\n]+?)\s*#", first_screen, re.M
    )
    assert len(commands) == 2, commands
    demo, tests = commands
    assert demo.endswith("calsink demo")
    assert tests.endswith("pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()
