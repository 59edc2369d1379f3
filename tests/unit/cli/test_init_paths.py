"""`calsink init -o PATH` where PATH cannot be written: one clear line, no traceback."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import calsink


def test_a_flow_path_under_a_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("a file, not a folder\n")
    result = calsink("init", "create-booking", "-o", "notes/book.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "cannot write the flow at notes/book.yaml" in result.stderr
    assert "choose a path in a folder you can write to" in result.stderr
    assert "Errno" not in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "notes").read_text() == "a file, not a folder\n"
