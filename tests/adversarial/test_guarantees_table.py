"""Every promise in the README's Guarantees table names tests that exist in this suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def guarantees_rows() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "`" in line]


def named_tests(row: str) -> list[tuple[str, str]]:
    cell = row.rstrip(" |").rsplit("|", 1)[1]
    found: list[tuple[str, str]] = []
    current = ""
    for reference in re.findall(r"`([^`]+)`", cell):
        file, _, name = reference.rpartition("::")
        current = file or current
        found.append((current, name))
    return found


def test_each_guarantee_is_backed_by_a_test_of_this_suite() -> None:
    rows = guarantees_rows()
    assert len(rows) >= 15
    for row in rows:
        tests = named_tests(row)
        assert tests, row
        for file, name in tests:
            source = HERE / file
            assert source.exists(), f"{file} (named in the README) does not exist"
            functions = {
                node.name
                for node in ast.walk(ast.parse(source.read_text()))
                if isinstance(node, ast.FunctionDef)
            }
            assert name in functions, f"{file}::{name} (named in the README) does not exist"
