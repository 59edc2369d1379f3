"""docs/flow.md lists every function an expression can call, each with an example."""

from __future__ import annotations

import re
from pathlib import Path

from calsink.expressions import FUNCTION_HELP

FLOW_DOC = (Path(__file__).resolve().parent.parent / "docs" / "flow.md").read_text("utf-8")


def test_every_function_has_a_row_with_an_example_in_docs_flow_md() -> None:
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `(\w+)\(.*?\)` \|.*\| `(\w+\(.*)$", FLOW_DOC, re.M)
    }
    missing = [name for name in FUNCTION_HELP if name not in rows]
    assert not missing, f"functions without a row in docs/flow.md: {missing}"
    for name, example in rows.items():
        assert example.startswith(f"{name}("), f"the example of {name}() does not call it"
