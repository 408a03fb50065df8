"""ARCHITECTURE.md's profile table is the profiles in infra/settings.py, value for value."""

from __future__ import annotations

import re
from pathlib import Path

from infra.settings import PROFILES, profile_table

DOC = Path(__file__).resolve().parents[2] / "ARCHITECTURE.md"


def documented_profiles() -> dict[str, dict[str, str]]:
    text = DOC.read_text()
    block = re.search(r"<!-- profile-table:start -->(.*?)<!-- profile-table:end -->", text, re.S)
    assert block, "ARCHITECTURE.md has no profile table"
    rows = [line.strip().strip("|").split("|") for line in block.group(1).strip().splitlines()]
    header = [cell.strip() for cell in rows[0]]
    table: dict[str, dict[str, str]] = {env: {} for env in header[1:]}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row]
        for env, value in zip(header[1:], cells[1:], strict=True):
            table[env][cells[0]] = value
    return table


def test_architecture_profile_table_matches_the_code() -> None:
    documented = documented_profiles()
    assert set(documented) == set(PROFILES)
    for row in profile_table():
        env = row.pop("environment")
        assert documented[env] == {k: str(v) for k, v in row.items()}, env


def test_code_layout_names_every_infra_module() -> None:
    """A newcomer finds every component's file (and every infra module) from ARCHITECTURE.md."""
    text = DOC.read_text()
    layout = text[text.index("## Code layout") :]
    layout = layout[: layout.index("\n## ", 1)]
    infra = DOC.parent / "infra"
    modules = [p for p in sorted(infra.rglob("*.py")) if p.name != "__init__.py"]
    missing = [
        p.relative_to(DOC.parent).as_posix()
        for p in modules
        if f"`{p.relative_to(DOC.parent).as_posix()}`" not in layout
    ]
    assert not missing, f"ARCHITECTURE.md's code layout does not name {missing}"
