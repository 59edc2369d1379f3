"""The command line and the page stand on the public API only: every import in
src/calsink/cli and src/calsink/ui names `calsink`, a name of `calsink.__all__`, or a
name of a public submodule's `__all__` (docs/python.md, "What is public")."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import calsink

ROOT = Path(__file__).resolve().parents[1]
SKINS = ("cli", "ui")
PUBLIC_MODULES = (
    "calsink.checking",
    "calsink.credentials",
    "calsink.errors",
    "calsink.records",
    "calsink.sandbox",
)
DOC = (ROOT / "docs" / "python.md").read_text()


def skin_files() -> list[Path]:
    return sorted(
        path for skin in SKINS for path in (ROOT / "src" / "calsink" / skin).rglob("*.py")
    )


def private_uses(path: Path) -> Iterator[str]:
    """Each import (or ``calsink.NAME``) in ``path`` that reaches past the public API."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("calsink.") and not _allowed_module(alias.name):
                    yield f"{where}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.level or not (node.module == "calsink" or node.module.startswith("calsink.")):
                continue
            if _skin(node.module):
                continue
            for alias in node.names:
                if not _public(node.module, alias.name):
                    yield f"{where}: from {node.module} import {alias.name}"
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "calsink"
            and node.attr not in calsink.__all__
        ):
            yield f"{where}: calsink.{node.attr}"


def _skin(module: str) -> bool:
    return any(
        module == f"calsink.{skin}" or module.startswith(f"calsink.{skin}.") for skin in SKINS
    )


def _allowed_module(module: str) -> bool:
    return module in PUBLIC_MODULES or _skin(module)


def _public(module: str, name: str) -> bool:
    if module == "calsink":
        return name in calsink.__all__
    if module not in PUBLIC_MODULES:
        return False
    return name in importlib.import_module(module).__all__


def test_the_command_line_and_the_page_import_only_public_names() -> None:
    found = [use for path in skin_files() for use in private_uses(path)]
    assert found == [], "\n".join(found)


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    sample = ROOT / "src" / "calsink" / "cli" / "_sample_private.py"
    sample.write_text(
        "import calsink\nfrom calsink.runner import run_flow\nfrom calsink import run\n"
        "from calsink.errors import FlowError\ncalsink.runner\n"
    )
    try:
        found = list(private_uses(sample))
    finally:
        sample.unlink()
    assert [use.split(": ", 1)[1] for use in found] == [
        "from calsink.runner import run_flow",
        "calsink.runner",
    ]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_each_public_module_is_documented_and_lists_its_names(module: str) -> None:
    names = importlib.import_module(module).__all__
    assert names, f"{module} lists its public names in __all__"
    assert f"`{module}`" in DOC, f"docs/python.md does not name {module}"


@pytest.mark.parametrize("name", sorted(calsink.__all__))
def test_each_public_name_is_documented(name: str) -> None:
    assert callable(getattr(calsink, name)) or getattr(calsink, name) is not None
    assert f"`{name}" in DOC or f"calsink.{name}" in DOC, f"docs/python.md does not name {name}"
