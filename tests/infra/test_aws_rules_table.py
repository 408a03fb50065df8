"""ARCHITECTURE.md's "AWS rules we rely on" table: every row names a test, and every named test exists."""

from __future__ import annotations

import ast
import re

from tests.infra.harness import ROOT

DOC = ROOT / "ARCHITECTURE.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def table_rows() -> list[str]:
    text = DOC.read_text()
    section = text[text.index("## AWS rules we rely on") :]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [r for r in rows if not r.startswith(("| rule", "| ---"))]


def defined_tests(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_every_row_names_a_test_that_exists() -> None:
    rows = table_rows()
    assert len(rows) >= 10
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 3, row[:80]
        refs = TEST_REF.findall(cells[2])
        assert refs, f"row names no test: {cells[0][:80]}"
        for path, name in refs:
            assert (ROOT / path).is_file(), path
            assert name in defined_tests(path), f"{path}::{name} does not exist"


def test_the_check_catches_a_missing_test() -> None:
    assert "test_no_such_thing" not in defined_tests("tests/infra/test_aws_limits.py")
    assert TEST_REF.findall("`tests/infra/test_aws_limits.py::test_no_such_thing`")
